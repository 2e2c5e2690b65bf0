//! The roster commands as an operator runs them: the real binary on a SQLite
//! database in a temporary folder — exit codes, JSON fields, human output.

use std::path::Path;
use testkit::cli::Cli;

fn rosterctl(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl")).dir(dir).run(args);
    (out.code, out.stdout)
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn generate(dir: &Path, name: &str, students: &str) -> String {
    let (code, out) = rosterctl(
        dir,
        &[
            "generate",
            "--students",
            students,
            "--seed",
            "3",
            "--out",
            name,
        ],
    );
    assert_eq!(code, 0, "{out}");
    name.to_string()
}

#[test]
fn sync_then_resync_writes_nothing_and_reports_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkg = generate(d, "district.zip", "200");
    let (code, out) = rosterctl(d, &["sync", &pkg, "--tenant", "springfield", "--json"]);
    assert_eq!(code, 0, "{out}");
    let first = json(&out);
    assert_eq!(first["status"], "applied");
    assert!(first["items_written"].as_u64().unwrap() > 1000);
    assert!(
        d.join("roster.db").is_file(),
        "default store is ./roster.db"
    );
    let run_id = first["run_id"].as_str().unwrap().to_string();
    let report = first["report_ref"].as_str().unwrap();
    assert!(
        d.join(report).is_file() || Path::new(report).is_file(),
        "report kept at {report}"
    );

    let (code, out) = rosterctl(d, &["sync", &pkg, "--tenant", "springfield", "--json"]);
    assert_eq!(code, 0);
    let second = json(&out);
    assert_eq!(second["items_written"], 0);
    assert_eq!(
        second["counts"]["users"]["unchanged"],
        first["counts"]["users"]["inserted"]
    );

    let (code, out) = rosterctl(d, &["runs", "list", "--json"]);
    assert_eq!(code, 0);
    let runs = json(&out);
    assert_eq!(runs.as_array().unwrap().len(), 2);
    assert_eq!(runs[1]["run_id"], run_id.as_str(), "newest first");
    let (code, out) = rosterctl(d, &["runs", "show", &run_id]);
    assert_eq!(code, 0);
    assert!(
        out.contains("status applied") && out.contains("enrollments"),
        "{out}"
    );
    let (code, _) = rosterctl(d, &["runs", "show", "no-such-run"]);
    assert_eq!(code, 1);
}

#[test]
fn dry_run_plans_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkg = generate(d, "district", "60");
    let (code, out) = rosterctl(d, &["sync", &pkg, "--tenant", "t1", "--dry-run", "--json"]);
    assert_eq!(code, 0, "{out}");
    let run = json(&out);
    assert_eq!(run["status"], "planned");
    assert_eq!(run["items_written"], 0);
    assert!(run["counts"]["users"]["inserted"].as_u64().unwrap() > 60);
    let (_, out) = rosterctl(d, &["runs", "list", "--json"]);
    assert_eq!(json(&out).as_array().unwrap().len(), 0);
}

#[test]
fn a_held_sync_exits_1_and_approval_applies_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkg = generate(d, "full", "300");
    assert_eq!(rosterctl(d, &["sync", &pkg, "--tenant", "t1"]).0, 0);
    // Drop half of the users: a mass archive.
    let users = std::fs::read_to_string(d.join("full/users.csv")).unwrap();
    let lines: Vec<&str> = users.lines().collect();
    let kept: Vec<&str> = lines.iter().take(lines.len() / 2).copied().collect();
    std::fs::write(d.join("full/users.csv"), kept.join("\n") + "\n").unwrap();
    let (code, out) = rosterctl(d, &["sync", &pkg, "--tenant", "t1", "--json"]);
    assert_eq!(code, 1, "held is a refusal: {out}");
    let held = json(&out);
    assert_eq!(held["status"], "held");
    assert!(held["hold"]["users"]["would_archive"].as_u64().unwrap() > 25);
    let run_id = held["run_id"].as_str().unwrap();

    let (code, out) = rosterctl(d, &["runs", "approve", run_id, "--by", "tester", "--json"]);
    assert_eq!(code, 0, "{out}");
    let approved = json(&out);
    assert_eq!(approved["status"], "applied");
    assert_eq!(approved["decided_by"], "tester");
    let (code, _) = rosterctl(d, &["runs", "discard", run_id]);
    assert_eq!(code, 1, "only held runs can be discarded");
}

#[test]
fn users_show_admins_and_tenant_status() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkg = generate(d, "district.zip", "100");
    assert_eq!(rosterctl(d, &["sync", &pkg, "--tenant", "t1"]).0, 0);

    let (code, out) = rosterctl(d, &["tenants", "status", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(json(&out)[0]["has_primary_admin"], false);
    let (_, human) = rosterctl(d, &["tenants", "status"]);
    assert!(
        human.contains("not usable until one is promoted"),
        "{human}"
    );

    let (code, out) = rosterctl(d, &["admins", "promote", "--tenant", "t1", "stu-000001"]);
    assert_eq!(code, 1, "a student cannot be promoted: {out}");
    let (code, _) = rosterctl(d, &["admins", "promote", "--tenant", "t1", "nobody"]);
    assert_eq!(code, 1);
    let (code, out) = rosterctl(
        d,
        &["admins", "promote", "--tenant", "t1", "adm-0001", "--json"],
    );
    assert_eq!(code, 0, "{out}");

    let (code, out) = rosterctl(
        d,
        &["users", "show", "--tenant", "t1", "adm-0001", "--json"],
    );
    assert_eq!(code, 0);
    let user = json(&out);
    for field in ["sis", "archived", "archived_by", "primary_admin"] {
        assert!(user.get(field).is_some(), "{field} missing: {user}");
    }
    assert_eq!(user["primary_admin"], true);
    assert_eq!(user["archived"], false);
    assert_eq!(user["sis"]["role"], "administrator");

    // A re-sync keeps the promotion.
    assert_eq!(rosterctl(d, &["sync", &pkg, "--tenant", "t1"]).0, 0);
    let (_, out) = rosterctl(
        d,
        &["users", "show", "--tenant", "t1", "adm-0001", "--json"],
    );
    assert_eq!(json(&out)["primary_admin"], true);
    let (_, out) = rosterctl(d, &["tenants", "status", "--tenant", "t1", "--json"]);
    assert_eq!(json(&out)[0]["primary_admins"][0], "adm-0001");

    let (code, _) = rosterctl(d, &["admins", "demote", "--tenant", "t1", "adm-0001"]);
    assert_eq!(code, 0);
    let (code, _) = rosterctl(d, &["users", "show", "--tenant", "t1", "ghost"]);
    assert_eq!(code, 1);
}

#[test]
fn rejected_and_stale_packages_exit_1_and_bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkg = generate(d, "district", "50");
    let (code, _) = rosterctl(
        d,
        &[
            "sync",
            &pkg,
            "--tenant",
            "t1",
            "--generated-at",
            "2026-06-01T00:00:00Z",
        ],
    );
    assert_eq!(code, 0);
    let (code, out) = rosterctl(
        d,
        &[
            "sync",
            &pkg,
            "--tenant",
            "t1",
            "--generated-at",
            "2026-05-01T00:00:00Z",
            "--json",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(json(&out)["status"], "stale");

    std::fs::remove_file(d.join("district/users.csv")).unwrap();
    let (code, out) = rosterctl(d, &["sync", &pkg, "--tenant", "t1", "--json"]);
    assert_eq!(code, 1);
    assert_eq!(json(&out)["status"], "rejected");

    assert_eq!(
        rosterctl(d, &["sync", "missing.zip", "--tenant", "t1"]).0,
        2
    );
    assert_eq!(
        rosterctl(d, &["sync", &pkg, "--tenant", "Bad Tenant!"]).0,
        2
    );
    assert_eq!(rosterctl(d, &["sync", &pkg]).0, 2, "--tenant is required");
}

/// Stamps every file of a package folder with `time`.
fn stamp(folder: &Path, time: std::time::SystemTime) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let file = std::fs::File::options()
            .write(true)
            .open(entry.unwrap().path())
            .unwrap();
        file.set_modified(time).unwrap();
    }
}

#[test]
fn a_folder_stamped_in_the_future_is_judged_by_when_it_was_received() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkg = generate(d, "district", "50");
    // An unzip stamped the files a year ahead.
    let year = std::time::Duration::from_secs(365 * 86_400);
    stamp(&d.join("district"), std::time::SystemTime::now() + year);
    let (code, out) = rosterctl(d, &["sync", &pkg, "--tenant", "t1", "--json"]);
    assert_eq!(code, 0, "{out}");
    let run = json(&out);
    let generated: chrono::DateTime<chrono::Utc> =
        run["generated_at"].as_str().unwrap().parse().unwrap();
    assert!(generated <= chrono::Utc::now(), "{generated}");
    assert!(
        run["calendar_notes"]
            .to_string()
            .contains("later than the delivery's receipt"),
        "{}",
        run["calendar_notes"]
    );
    // The district's next delivery, stamped as it arrives, is not stale.
    stamp(&d.join("district"), std::time::SystemTime::now());
    let (code, out) = rosterctl(d, &["sync", &pkg, "--tenant", "t1", "--json"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json(&out)["status"], "applied");
}

#[test]
fn sso_audit_lists_a_districts_sign_in_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let now = chrono::Utc::now();
    {
        let store = roster_sqlite::SqliteStore::open(&dir.path().join("roster.db")).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        for (i, (tenant, outcome)) in [
            (Some("d1"), "signed_in"),
            (Some("d1"), "not_in_roster"),
            (None, "not_set_up"),
        ]
        .into_iter()
        .enumerate()
        {
            let audit = roster::SignInAudit {
                at: now + chrono::Duration::seconds(i as i64),
                request_id: format!("ref-{i}"),
                tenant: tenant.map(String::from),
                classlink_tenant_id: Some("4242".into()),
                classlink_user_id: Some(format!("90{i}")),
                sourced_id: (outcome == "signed_in").then(|| "t1".to_string()),
                matched_by: None,
                outcome: outcome.into(),
                expires_at: now + chrono::Duration::days(90),
            };
            runtime
                .block_on(roster::SignInAudits::put_sign_in_audit(&store, &audit))
                .unwrap();
        }
    }
    let (code, out) = rosterctl(dir.path(), &["sso", "audit", "--tenant", "d1", "--json"]);
    assert_eq!(code, 0, "{out}");
    let attempts = json(&out)["attempts"].as_array().unwrap().clone();
    let outcomes: Vec<&str> = attempts
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["not_in_roster", "signed_in"]);
    let (code, out) = rosterctl(dir.path(), &["sso", "audit"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("unrecognised districts"), "{out}");
    assert!(out.contains("not_set_up") && out.contains("ref-2"), "{out}");
    assert!(!out.contains("signed_in"), "{out}");
}

#[test]
fn a_rollover_applies_and_says_what_ended() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let first = generate(d, "year-0", "600");
    let (code, out) = rosterctl(
        d,
        &[
            "generate",
            "--students",
            "600",
            "--seed",
            "3",
            "--rollovers",
            "1",
            "--out",
            "year-1",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let sync = |pkg: &str, at: &str| {
        rosterctl(
            d,
            &[
                "sync",
                pkg,
                "--tenant",
                "t1",
                "--generated-at",
                at,
                "--json",
            ],
        )
    };
    assert_eq!(sync(&first, "2026-09-01T06:00:00Z").0, 0);
    let (code, out) = sync("year-1", "2027-08-20T06:00:00Z");
    assert_eq!(code, 0, "the rollover applies without approval: {out}");
    let run = json(&out);
    assert_eq!(run["status"], "applied");
    assert_eq!(run["counts"]["academicSessions"]["ended"], 7);
    assert!(run["counts"]["classes"]["ended"].as_u64().unwrap() > 100);
    assert_eq!(run["counts"]["classes"]["archived"], 0);
    let words = run["rollover"].as_str().unwrap();
    assert!(
        words.contains("of school year 2026–2027 archived as ended"),
        "{words}"
    );

    // The human view shows the ended column and the rollover line.
    let run_id = run["run_id"].as_str().unwrap();
    let (code, shown) = rosterctl(d, &["runs", "show", run_id]);
    assert_eq!(code, 0);
    assert!(shown.contains(" ended "), "{shown}");
    assert!(shown.contains(words), "{shown}");

    // A student who left: archived as absent.
    let students = |folder: &str| -> std::collections::HashSet<String> {
        std::fs::read_to_string(d.join(folder).join("users.csv"))
            .unwrap()
            .lines()
            .filter(|l| l.contains(r#""student""#))
            .map(|l| l.split(',').next().unwrap().trim_matches('"').to_string())
            .collect()
    };
    let next = students("year-1");
    let leaver = students("year-0")
        .into_iter()
        .find(|s| !next.contains(s))
        .unwrap();
    let (code, out) = rosterctl(d, &["users", "show", "--tenant", "t1", &leaver, "--json"]);
    assert_eq!(code, 0, "{out}");
    let user = json(&out);
    assert_eq!(
        (user["archived"].clone(), user["archive_reason"].clone()),
        (true.into(), "absent".into())
    );
    let (_, text) = rosterctl(d, &["users", "show", "--tenant", "t1", &leaver]);
    assert!(text.contains("reason: absent"), "{text}");
}

#[test]
fn users_list_shows_each_users_state_and_provisional_lists_the_teachers_made_at_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkg = generate(d, "district.zip", "30");
    assert_eq!(rosterctl(d, &["sync", &pkg, "--tenant", "t1"]).0, 0);
    // A sign-in provisions a teacher (as sso-callback does, on the same store).
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use roster::ProvisionalUsers;
        let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
        let content = roster::SisContent::from_value(serde_json::json!({
            "sourcedId": "tch-new", "role": "teacher", "email": "new@d.example", "givenName": "New"
        }));
        assert!(store
            .provision_user("t1", "tch-new", &content, chrono::Utc::now(), "sso:req-1")
            .await
            .unwrap());
    });

    let (code, out) = rosterctl(
        d,
        &["users", "list", "--tenant", "t1", "--provisional", "--json"],
    );
    assert_eq!(code, 0, "{out}");
    let listed = json(&out);
    assert_eq!(
        listed["provisional"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
    assert_eq!(listed["provisional"][0]["sourcedId"], "tch-new");
    assert_eq!(listed["provisional"][0]["email"], "new@d.example");
    assert_eq!(listed["provisional"][0]["first_seen_run"], "sso:req-1");
    let (_, human) = rosterctl(d, &["users", "list", "--tenant", "t1", "--provisional"]);
    assert!(
        human.contains("1 provisional user(s) in tenant t1"),
        "{human}"
    );
    assert!(
        human.contains("tch-new") && human.contains("Unenrolled Users"),
        "{human}"
    );

    let (code, out) = rosterctl(d, &["users", "list", "--tenant", "t1", "--json"]);
    assert_eq!(code, 0, "{out}");
    let all = json(&out);
    let users = all["users"].as_array().unwrap();
    let state_of = |id: &str| {
        users
            .iter()
            .find(|u| u["sourcedId"] == id)
            .map(|u| u["state"].clone())
    };
    assert_eq!(state_of("tch-new"), Some("provisional".into()));
    assert_eq!(state_of("adm-0001"), Some("active".into()));
    assert!(users.len() > 30, "students, teachers and the administrator");
    let (_, out) = rosterctl(d, &["users", "show", "--tenant", "t1", "tch-new", "--json"]);
    assert_eq!(json(&out)["provisional"], true);

    let (code, out) = rosterctl(d, &["users", "list", "--tenant", "nowhere"]);
    assert_eq!(code, 1);
    assert!(out.contains("rosterctl tenants add nowhere"), "{out}");
}

#[test]
fn runs_revert_undoes_an_applied_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkg = generate(d, "district", "40");
    assert_eq!(rosterctl(d, &["sync", &pkg, "--tenant", "t1"]).0, 0);
    let (_, shown) = rosterctl(
        d,
        &["users", "show", "--tenant", "t1", "stu-000001", "--json"],
    );
    let given = json(&shown)["sis"]["givenName"].clone();
    // The district renames a student.
    let users = std::fs::read_to_string(d.join("district/users.csv")).unwrap();
    let renamed: Vec<String> = users
        .lines()
        .map(|l| {
            if l.starts_with("\"stu-000001\",") {
                l.replace(&format!("\"{}\"", given.as_str().unwrap()), "\"Renamed\"")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(d.join("district/users.csv"), renamed.join("\n") + "\n").unwrap();
    let (code, out) = rosterctl(d, &["sync", &pkg, "--tenant", "t1", "--json"]);
    assert_eq!(code, 0, "{out}");
    let change = json(&out);
    assert_eq!(change["counts"]["users"]["updated"], 1);
    let run_id = change["run_id"].as_str().unwrap().to_string();

    let (code, out) = rosterctl(d, &["runs", "revert", &run_id, "--dry-run", "--json"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json(&out)["status"], "planned");
    assert_eq!(json(&out)["counts"]["users"]["updated"], 1);
    let (code, out) = rosterctl(d, &["runs", "revert", &run_id, "--by", "ops", "--json"]);
    assert_eq!(code, 0, "{out}");
    let revert = json(&out);
    assert_eq!(revert["status"], "applied");
    assert_eq!(revert["reverts"], run_id.as_str());
    assert_eq!(revert["source"]["kind"], "revert");
    assert_eq!(revert["items_written"], 1);
    let (_, shown) = rosterctl(
        d,
        &["users", "show", "--tenant", "t1", "stu-000001", "--json"],
    );
    assert_eq!(
        json(&shown)["sis"]["givenName"],
        given,
        "the name as before"
    );
    let (_, text) = rosterctl(d, &["runs", "show", &run_id]);
    assert!(text.contains("reverted by run"), "{text}");

    let (code, out) = rosterctl(d, &["runs", "revert", &run_id]);
    assert_eq!(code, 0);
    assert!(out.contains("reverted already"), "{out}");
    let (code, out) = rosterctl(d, &["runs", "revert", "no-such-run"]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn history_lists_the_runs_that_wrote_a_record_and_what_each_changed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkg = generate(d, "district", "40");
    assert_eq!(rosterctl(d, &["sync", &pkg, "--tenant", "t1"]).0, 0);
    let users_csv = d.join("district/users.csv");
    let original = std::fs::read_to_string(&users_csv).unwrap();
    let (_, shown) = rosterctl(
        d,
        &["users", "show", "--tenant", "t1", "stu-000001", "--json"],
    );
    let given = json(&shown)["sis"]["givenName"]
        .as_str()
        .unwrap()
        .to_string();
    let rewrite = |change: &dyn Fn(&str) -> Option<String>| {
        let lines: Vec<String> = original.lines().filter_map(change).collect();
        std::fs::write(&users_csv, lines.join("\n") + "\n").unwrap();
    };
    // Run 2 renames the student; run 3 leaves them out (archived).
    rewrite(&|l| {
        Some(if l.starts_with("\"stu-000001\",") {
            l.replace(&format!("\"{given}\""), "\"Renamed\"")
        } else {
            l.to_string()
        })
    });
    assert_eq!(rosterctl(d, &["sync", &pkg, "--tenant", "t1"]).0, 0);
    rewrite(&|l| (!l.starts_with("\"stu-000001\",")).then(|| l.to_string()));
    assert_eq!(rosterctl(d, &["sync", &pkg, "--tenant", "t1"]).0, 0);

    let (code, out) = rosterctl(
        d,
        &["users", "history", "--tenant", "t1", "stu-000001", "--json"],
    );
    assert_eq!(code, 0, "{out}");
    let history = json(&out);
    let rows = history["history"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{history:#}");
    assert_eq!(rows[0]["archive"], "archived");
    assert_eq!(rows[0]["changes"], serde_json::json!([]));
    assert_eq!(rows[1]["archive"], serde_json::Value::Null);
    assert_eq!(
        rows[1]["changes"],
        serde_json::json!([{"field": "givenName", "hidden": true}])
    );
    assert_eq!(rows[2]["archive"], "inserted");
    let fields: Vec<&str> = rows[2]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"role") && fields.contains(&"familyName"),
        "{fields:?}"
    );
    let role = rows[2]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "role")
        .unwrap();
    assert_eq!(role["to"], "student", "non-personal values are shown");
    assert!(
        !out.contains(&given) && !out.contains("Renamed"),
        "no names: {out}"
    );
    let runs = json(&rosterctl(d, &["runs", "list", "--tenant", "t1", "--json"]).1);
    let newest: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    let listed: Vec<&str> = rows.iter().map(|r| r["run_id"].as_str().unwrap()).collect();
    assert_eq!(listed, newest[..3].to_vec(), "newest first");

    let (code, text) = rosterctl(
        d,
        &[
            "records",
            "history",
            "--tenant",
            "t1",
            "--kind",
            "users",
            "stu-000001",
        ],
    );
    assert_eq!(code, 0);
    assert!(text.contains("givenName changed"), "{text}");
    let (code, out) = rosterctl(
        d,
        &[
            "records",
            "history",
            "--tenant",
            "t1",
            "--kind",
            "pupils",
            "stu-000001",
        ],
    );
    assert_eq!(code, 2);
    assert!(out.contains("not a OneRoster type"), "{out}");
}

#[test]
fn history_never_shows_a_birth_date_but_shows_the_listed_fields() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkg = generate(d, "district", "20");
    // Demographics are opt-in: this district shares them.
    let add = ["tenants", "add", "t1", "--demographics", "true"];
    assert_eq!(rosterctl(d, &add).0, 0);
    assert_eq!(rosterctl(d, &["sync", &pkg, "--tenant", "t1"]).0, 0);
    // The district corrects one student's birth date.
    let demographics = d.join("district/demographics.csv");
    let original = std::fs::read_to_string(&demographics).unwrap();
    let header: Vec<&str> = original
        .lines()
        .next()
        .unwrap()
        .split(',')
        .map(|h| h.trim_matches('"'))
        .collect();
    let at = header.iter().position(|h| *h == "birthDate").unwrap();
    let row = original
        .lines()
        .find(|l| l.starts_with("\"stu-000001\","))
        .unwrap();
    let born = row
        .split(',')
        .nth(at)
        .unwrap()
        .trim_matches('"')
        .to_string();
    assert_eq!(born.len(), 10, "{row}");
    let corrected = "2001-02-03";
    let fields: Vec<String> = row
        .split(',')
        .enumerate()
        .map(|(i, f)| {
            if i == at {
                format!("\"{corrected}\"")
            } else {
                f.to_string()
            }
        })
        .collect();
    std::fs::write(&demographics, original.replace(row, &fields.join(","))).unwrap();
    assert_eq!(rosterctl(d, &["sync", &pkg, "--tenant", "t1"]).0, 0);

    let args = [
        "records",
        "history",
        "--tenant",
        "t1",
        "--kind",
        "demographics",
        "stu-000001",
    ];
    let (code, text) = rosterctl(d, &args);
    assert_eq!(code, 0, "{text}");
    let (code, out) = rosterctl(d, &[&args[..], &["--json"]].concat());
    assert_eq!(code, 0, "{out}");
    for shown in [&text, &out] {
        assert!(
            !shown.contains(&born) && !shown.contains(corrected),
            "a birth date shown: {shown}"
        );
    }
    assert!(text.contains("birthDate changed"), "{text}");
    assert!(text.contains("sourcedId: - → stu-000001"), "{text}");
    let history = json(&out);
    let rows = history["history"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{history:#}");
    assert_eq!(
        rows[0]["changes"],
        serde_json::json!([{"field": "birthDate", "hidden": true}])
    );
    let inserted = rows[1]["changes"].as_array().unwrap();
    assert!(
        inserted.contains(&serde_json::json!({"field": "sourcedId", "to": "stu-000001"})),
        "{inserted:?}"
    );
    assert!(
        inserted.contains(&serde_json::json!({"field": "birthDate", "hidden": true})),
        "{inserted:?}"
    );
}

#[test]
fn a_district_may_name_contacts_for_run_notices() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, out) = rosterctl(
        d,
        &[
            "tenants",
            "add",
            "t1",
            "--connection",
            "sftp",
            "--notify-email",
            "Data@District.org, it@district.org",
            "--notify-applied",
            "true",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let (_, shown) = rosterctl(d, &["tenants", "show", "t1", "--json"]);
    let shown = json(&shown);
    assert_eq!(
        shown["notify_emails"],
        serde_json::json!(["data@district.org", "it@district.org"])
    );
    assert_eq!(shown["notify_applied"], true);
    let (code, out) = rosterctl(d, &["tenants", "update", "t1", "--notify-email", "nobody"]);
    assert_eq!(code, 2);
    assert!(out.contains("`nobody` is not an email address"), "{out}");
    assert_eq!(
        rosterctl(d, &["tenants", "update", "t1", "--notify-email", ""]).0,
        0
    );
    let (_, shown) = rosterctl(d, &["tenants", "show", "t1", "--json"]);
    assert!(json(&shown).get("notify_emails").is_none(), "cleared");
}

#[test]
fn a_connection_or_role_that_is_not_one_is_a_usage_error_naming_the_allowed_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| Cli::new(env!("CARGO_BIN_EXE_rosterctl")).dir(d).run(args);
    let out = run(&["tenants", "add", "t1", "--connection", "pigeon", "--json"]);
    assert_eq!(out.code, 2, "{}", out.combined());
    assert!(
        out.stderr
            .contains("invalid value 'pigeon' for '--connection <CONNECTION>'"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("[possible values: sftp, api, both]"),
        "{}",
        out.stderr
    );
    let out = run(&["tenants", "add", "t1", "--roles", "student,janitor"]);
    assert_eq!(out.code, 2, "{}", out.combined());
    assert!(
        out.stderr
            .contains("invalid value 'student,janitor' for '--roles <ROLES>'")
            && out.stderr.contains("expected some of administrator, aide"),
        "{}",
        out.stderr
    );
    assert!(
        !d.join("roster.db").exists(),
        "a refused command creates no database"
    );
}

/// The deployment's default pause window (`DEFAULT_PAUSE_WINDOW`) pauses a
/// tenant without windows of its own, and status and check say it is the
/// deployment's; a tenant with its own windows is not paused by it; an
/// invalid value fails the command, naming it.
#[test]
fn the_deployment_default_pause_window_pauses_tenants_without_windows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkg = generate(d, "district.zip", "100");
    let with_default = |value: &str, args: &[&str]| {
        let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl"))
            .dir(d)
            .env("DEFAULT_PAUSE_WINDOW", value)
            .run(args);
        (out.code, out.stdout)
    };
    // Every day of the year: whatever today is.
    let all_year = "01-01..12-31";

    // A tenant's first load is never paused by the default window.
    let (code, out) = with_default(all_year, &["sync", &pkg, "--tenant", "t1", "--json"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json(&out)["status"], "applied", "{out}");
    let (code, out) = with_default(all_year, &["sync", &pkg, "--tenant", "t1", "--json"]);
    assert_eq!(code, 1, "{out}");
    let run = json(&out);
    assert_eq!(run["status"], "paused", "{out}");
    let message = run["message"].as_str().unwrap();
    assert!(
        message.contains("pause window") && message.contains("(America/New_York)"),
        "{message}"
    );

    let (code, out) = with_default(all_year, &["tenants", "status", "--json"]);
    assert_eq!(code, 0, "{out}");
    let row = &json(&out)[0];
    assert_eq!(row["default_pause"], all_year, "{row}");
    assert!(
        row["paused_now"]
            .as_str()
            .is_some_and(|w| w.ends_with("(America/New_York)")),
        "{row}"
    );
    let (_, human) = with_default(all_year, &["tenants", "status"]);
    assert!(
        human.contains("pause: 01-01..12-31 yearly (deployment default)")
            && human.contains("paused by the deployment's default pause window"),
        "{human}"
    );
    let (_, out) = with_default(all_year, &["tenants", "check", "t1", "--json"]);
    let report = json(&out);
    let pause = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["topic"] == "pause")
        .unwrap_or_else(|| panic!("no pause line: {report}"));
    assert_eq!(pause["status"], "warn", "{pause}");
    assert!(
        pause["detail"]
            .as_str()
            .unwrap()
            .contains("pause: 01-01..12-31 yearly (deployment default, America/New_York)"),
        "{pause}"
    );

    // An invalid value is refused, by name, before anything is done.
    for args in [
        &["tenants", "status"][..],
        &["tenants", "check", "t1"],
        &["sync", &pkg, "--tenant", "t1"],
    ] {
        let (code, out) = with_default("06-31..08-10", args);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(
            out.contains("DEFAULT_PAUSE_WINDOW") && out.contains("`06-31`"),
            "{args:?}: {out}"
        );
    }

    // Windows of its own (none of them now) replace the default.
    let (code, out) = rosterctl(
        d,
        &[
            "tenants",
            "update",
            "t1",
            "--pause",
            "2020-06-15..2020-08-10",
            "--timezone",
            "America/Chicago",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let (code, out) = with_default(all_year, &["sync", &pkg, "--tenant", "t1", "--json"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json(&out)["status"], "applied");
    let (_, out) = with_default(all_year, &["tenants", "status", "--json"]);
    let row = &json(&out)[0];
    assert!(
        row["default_pause"].is_null() && row["paused_now"].is_null(),
        "{row}"
    );
}
