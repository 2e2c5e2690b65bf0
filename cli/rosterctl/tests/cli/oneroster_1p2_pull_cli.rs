//! A district's OneRoster 1.2 API as an operator meets it: `rosterctl pull`
//! of the local server's 1.2 binding onto the embedded store, the same
//! district pulled as 1.1 and 1.2 into two tenants, and `tenants check`
//! naming the version the server answers.

use std::path::Path;
use testkit::cli::Cli;
use testkit::servers::{oneroster_server, oneroster_server_of};

fn rosterctl(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl"))
        .dir(dir)
        .aws()
        .run(args);
    let text = if out.code == 0 || out.stdout.starts_with('{') {
        out.stdout
    } else {
        out.stdout + &out.stderr
    };
    (out.code, text)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

const V1P2: &str = "/ims/oneroster/rostering/v1p2";

#[test]
fn a_1p2_api_pulls_with_roles_folded_into_users_and_a_re_pull_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let api = oneroster_server(&testkit::v1p2::package(d), "oauth2", "c1", "cs");
    let token_url = format!("{}/token", api.url);
    let pull = |mode: &str| {
        let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl"))
            .dir(d)
            .aws()
            .run(&[
                "pull",
                "--tenant",
                "t12",
                "--api-url",
                &api.url,
                "--oneroster-version",
                "1.2",
                "--token-url",
                &token_url,
                "--client-id",
                "c1",
                "--client-secret",
                "cs",
                "--page-size",
                "2",
                "--mode",
                mode,
                "--json",
            ]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        testkit::v1p2::assert_no_secret("the output", &(out.stdout.clone() + &out.stderr));
        let run = json(&out.stdout);
        assert_eq!(run["status"], "applied", "{run}");
        run
    };
    let first = pull("full");
    assert!(first["items_written"].as_u64().unwrap() > 5, "{first}");

    let show = |id: &str| {
        let (code, out) = rosterctl(d, &["users", "show", "--tenant", "t12", id, "--json"]);
        assert_eq!(code, 0, "{out}");
        json(&out)["sis"].clone()
    };
    let teacher = show("t1");
    assert_eq!(teacher["role"], "teacher");
    assert_eq!(teacher["orgSourcedIds"], serde_json::json!(["d1", "s1"]));
    assert_eq!(teacher["roles"][0]["sourcedId"], "t1-1");
    assert_eq!(teacher["roles"][1]["role"], "ext:coach");
    assert_eq!(teacher["pronouns"], "he/him");
    assert_eq!(teacher["preferredGivenName"], "Tom", "{teacher}");
    assert_eq!(teacher["primaryOrgSourcedId"], "s1", "{teacher}");
    let admin = show("adm1");
    assert_eq!(admin["role"], "administrator");
    assert_eq!(admin["roles"][0]["role"], "districtAdministrator");
    let (code, _) = rosterctl(d, &["users", "show", "--tenant", "t12", "cn1"]);
    assert_eq!(code, 1, "a counselor is not imported");
    // The server sends each user's `password` and `userProfiles[].credentials`:
    // neither the store nor the run's files (report, page, before-image) hold them.
    let db_files = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path());
    for db in db_files.filter(|p| p.to_string_lossy().contains("roster.db")) {
        testkit::v1p2::assert_no_secret_in(&db);
    }
    assert!(testkit::v1p2::assert_no_secret_in(&d.join("runs")) >= 3);
    let (code, shown) = rosterctl(d, &["users", "show", "--tenant", "t12", "adm1", "--json"]);
    assert_eq!(code, 0, "{shown}");
    testkit::v1p2::assert_no_secret("users show adm1", &shown);

    // A re-pull writes nothing: full, and a delta (its roles.csv holds the
    // roles of the users it delivers).
    assert_eq!(pull("full")["items_written"], 0);
    assert_eq!(pull("delta")["items_written"], 0);
}

/// Every user id of a generated package.
fn user_ids(package: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(package.join("users.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().trim_matches('"').to_string())
        .collect()
}

#[test]
fn the_same_district_pulled_as_1p1_and_1p2_is_stored_alike() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, out) = rosterctl(d, &["generate", "--students", "30", "--out", "district"]);
    assert_eq!(code, 0, "{out}");
    let api = oneroster_server(&d.join("district"), "oauth1", "k", "s");
    let url_1p2 = format!("{}{V1P2}", api.url);
    for (tenant, url) in [("old", api.url.as_str()), ("new", url_1p2.as_str())] {
        let (code, out) = rosterctl(
            d,
            &[
                "pull",
                "--tenant",
                tenant,
                "--api-url",
                url,
                "--key",
                "k",
                "--secret",
                "s",
                "--json",
            ],
        );
        assert_eq!(code, 0, "{tenant}: {out}");
        assert_eq!(json(&out)["status"], "applied", "{tenant}: {out}");
    }
    let ids = user_ids(&d.join("district"));
    assert!(ids.len() > 30);
    let mut compared = 0;
    for id in &ids {
        let show = |tenant: &str| {
            let (code, out) = rosterctl(d, &["users", "show", "--tenant", tenant, id, "--json"]);
            (code, (code == 0).then(|| json(&out)["sis"].clone()))
        };
        let (old, new) = (show("old"), show("new"));
        assert_eq!(old.0, new.0, "{id} is imported alike");
        let (Some(old), Some(new)) = (old.1, new.1) else {
            continue;
        };
        for (field, value) in old.as_object().unwrap() {
            assert_eq!(&new[field], value, "{id}.{field}");
        }
        // Roles are kept where they say more than `role` and the orgs: an
        // administrator's 1.2 role names which kind.
        let administrator = old["role"] == "administrator";
        assert_eq!(new["roles"].is_array(), administrator, "the roles of {id}");
        compared += 1;
    }
    assert!(compared > 30, "{compared} users compared");
}

/// `tenants check --json`'s `api connection` line.
fn api_line(d: &Path, tenant: &str) -> (i32, serde_json::Value) {
    let (code, out) = rosterctl(d, &["tenants", "check", tenant, "--json"]);
    let report = json(out.lines().next().unwrap_or_default());
    let line = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["topic"] == "api connection")
        .unwrap_or_else(|| panic!("{report}"))
        .clone();
    (code, line)
}

#[test]
fn tenants_check_names_the_version_the_server_answers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let package = testkit::v1p2::package(d);
    let only_1p2 = oneroster_server_of(&package, "bearer", "k", "TOKEN", "1.2");
    let tenant = testkit::unique("v12");
    let (code, out) = rosterctl(
        d,
        &[
            "tenants",
            "add",
            &tenant,
            "--connection",
            "api",
            "--api-url",
            &only_1p2.url,
            "--api-token",
            "TOKEN",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let (code, line) = api_line(d, &tenant);
    assert_eq!(code, 1);
    assert_eq!(line["status"], "fail", "{line}");
    assert_eq!(
        line["detail"],
        format!(
            "the server answers OneRoster 1.2 at {}{V1P2}; this tenant is set to 1.1",
            only_1p2.url
        )
    );
    assert!(line["next"].as_str().unwrap().contains(&format!(
        "rosterctl tenants update {tenant} --oneroster-version 1.2"
    )));

    let (code, out) = rosterctl(
        d,
        &["tenants", "update", &tenant, "--oneroster-version", "1.2"],
    );
    assert_eq!(code, 0, "{out}");
    let (_, line) = api_line(d, &tenant);
    assert_eq!(line["status"], "ok", "{line}");
    assert!(
        line["detail"]
            .as_str()
            .unwrap()
            .ends_with("succeeded: the server answers OneRoster 1.2"),
        "{line}"
    );

    // A URL naming 1.1's path for a tenant set to 1.2 is refused, clearly.
    let url_1p1 = format!("{}/ims/oneroster/v1p1", only_1p2.url);
    let (code, out) = rosterctl(d, &["tenants", "update", &tenant, "--api-url", &url_1p1]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("ends in the OneRoster 1.1 path (/ims/oneroster/v1p1) but the tenant is set to OneRoster 1.2"),
        "{out}"
    );
    assert!(!out.contains("TOKEN"), "{out}");
}

/// A 1.2 district onboarded with OAuth 2 client credentials: the secret is
/// stored as the pull function reads it, never printed, and `tenants check`
/// gets a token with it and names 1.2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1p2_tenant_with_oauth2_client_credentials_is_stored_and_checks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let package = testkit::v1p2::package(d);
    let api = oneroster_server_of(&package, "oauth2", "client-7", "CS-Very-Secret", "1.2");
    let tenant = testkit::unique("o2");
    let url = format!("{}{V1P2}", api.url);
    let token_url = format!("{}/token", api.url);
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl"))
        .dir(d)
        .aws()
        .env("ONEROSTER_API_SECRET", "CS-Very-Secret")
        .run(&[
            "tenants",
            "add",
            &tenant,
            "--connection",
            "api",
            "--api-url",
            &url,
            "--api-token-url",
            &token_url,
            "--api-client-id",
            "client-7",
            "--json",
        ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!(out.stdout.clone() + &out.stderr).contains("CS-Very-Secret"));
    let report = json(&out.stdout);
    assert_eq!(report["secret"], format!("created roster/tenants/{tenant}"));

    let secret = testkit::stored_secret(&format!("roster/tenants/{tenant}")).await;
    assert_eq!(
        secret,
        serde_json::json!({"auth": "oauth2", "token_url": token_url, "client_id": "client-7", "client_secret": "CS-Very-Secret"})
    );

    let (_, line) = api_line(d, &tenant);
    assert_eq!(line["status"], "ok", "{line}");
    assert_eq!(
        line["detail"],
        format!("credentials present; a test request to {url} succeeded: the server answers OneRoster 1.2")
    );
    assert!(!line.to_string().contains("CS-Very-Secret"));

    // Incomplete or mixed credentials are refused before anything is stored.
    for (flags, says) in [
        (
            &["--api-token-url", token_url.as_str()][..],
            "--api-client-id",
        ),
        (
            &["--api-client-id", "c", "--api-token", "T"][..],
            "cannot be used with",
        ),
    ] {
        let args = [&["tenants", "update", tenant.as_str()][..], flags].concat();
        let (code, out) = rosterctl(d, &args);
        assert_eq!(code, 2, "{out}");
        assert!(out.contains(says), "{out}");
    }
}

/// A 1.2 user whose `roles[]` breaks a rule (two primary roles at one org):
/// the findings name the user record the district sent and the role's place
/// in its `roles[]`, never a line of the generated roles.csv.
#[test]
fn a_broken_role_is_told_as_the_user_record_that_held_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let package = testkit::v1p2::package(d);
    let roles = package.join("roles.csv");
    let mut text = std::fs::read_to_string(&roles).unwrap();
    text.push_str("r7,active,,st1,primary,teacher,,,s1,\n");
    std::fs::write(&roles, text).unwrap();
    let api = oneroster_server(&package, "oauth2", "c1", "cs");
    let token_url = format!("{}/token", api.url);
    let (code, out) = rosterctl(
        d,
        &[
            "pull",
            "--tenant",
            "t12",
            "--api-url",
            &format!("{}{V1P2}", api.url),
            "--token-url",
            &token_url,
            "--client-id",
            "c1",
            "--client-secret",
            "cs",
            "--page-size",
            "2",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let run = json(&out);
    let errors = run["errors"].as_array().unwrap();
    let on = |file: &str| {
        errors
            .iter()
            .find(|e| e["file"] == file && e["code"] == "multiple_primary_roles")
            .unwrap_or_else(|| panic!("no {file} finding: {out}"))
    };
    // The user, st1, is the fourth by sourcedId: on the page at offset 2.
    let role = on("roles");
    assert_eq!(
        role["record"],
        serde_json::json!({"collection": "users", "offset": 2, "sourcedId": "st1", "field": "roles[1]"}),
        "{out}"
    );
    assert!(role["line"].is_null(), "{out}");
    assert!(
        role["message"]
            .as_str()
            .unwrap()
            .contains("(the first is at users record `st1` (page at offset 2), roles[0])"),
        "{out}"
    );
    let user = on("users");
    assert_eq!(user["record"]["sourcedId"], "st1", "{out}");
    assert!(
        user["message"]
            .as_str()
            .unwrap()
            .contains("(users record `st1` (page at offset 2), roles[1] multiple_primary_roles)"),
        "{out}"
    );
    assert!(
        !out.contains("roles.csv") && !out.contains("at line"),
        "{out}"
    );

    let report = std::fs::read_to_string(d.join(run["report_ref"].as_str().unwrap())).unwrap();
    assert!(report.contains("\"field\": \"roles[1]\""), "{report}");
    assert!(
        !report.contains("roles.csv") && !report.contains("at line"),
        "{report}"
    );
}
