//! `rosterctl users forget` and `rosterctl tenants retain` as an operator runs
//! them: on the embedded store and on DynamoDB Local, the person's personal
//! fields erased and said so, the next delivery bringing them back, old local
//! run folders deleted with the retention.

use chrono::{Duration, Utc};
use oneroster::EntityKind;
use roster::roles::*;
use std::path::Path;
use testkit::cli::Cli;

/// (exit code, stdout and stderr), on the emulators.
fn rosterctl(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl"))
        .dir(dir)
        .aws()
        .run(args);
    (out.code, out.combined())
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// Generates and syncs a district into tenant t1 on `store`; the sourcedId,
/// email and given name of a user who has an email.
fn synced(d: &Path, store: &[&str]) -> (String, String, String) {
    let gen = [
        "generate",
        "--students",
        "60",
        "--seed",
        "3",
        "--out",
        "district",
    ];
    assert_eq!(rosterctl(d, &gen).0, 0);
    let sync = [&["sync", "district", "--tenant", "t1", "--json"], store].concat();
    let (code, out) = rosterctl(d, &sync);
    assert_eq!(code, 0, "{out}");
    let mut reader = csv::Reader::from_path(d.join("district/users.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (id, email, given) = (col("sourcedId"), col("email"), col("givenName"));
    let row = reader
        .records()
        .map(Result::unwrap)
        .find(|r| !r[email].is_empty())
        .expect("a user with an email");
    (
        row[id].to_string(),
        row[email].to_string(),
        row[given].to_string(),
    )
}

/// Forgets a user through the CLI on `store`, checks what is stored and said,
/// and that a re-delivery brings the person back.
fn forget_end_to_end(d: &Path, store: &[&str]) {
    let (id, email, given) = synced(d, store);
    let forget = [
        &["users", "forget", "--tenant", "t1", &id, "--by", "dpo@t1"],
        store,
    ]
    .concat();
    let (code, out) = rosterctl(d, &forget);
    assert_eq!(code, 0, "{out}");
    for said in [
        format!("user {id} of tenant t1: erased the personal data of 1 user(s)"),
        "The next delivery brings this person's data back if the district's file still has them"
            .into(),
        format!("remove user {id} at the source"),
    ] {
        assert!(out.contains(&said), "`{said}` missing from: {out}");
    }
    assert!(!out.contains(&email) && !out.contains(&given), "{out}");

    let show = [&["users", "show", "--tenant", "t1", &id, "--json"], store].concat();
    let (code, out) = rosterctl(d, &show);
    assert_eq!(code, 0, "{out}");
    let user = json(&out);
    assert!(
        user["sis"]["email"].is_null() && user["sis"]["givenName"].is_null(),
        "{out}"
    );
    assert_eq!(user["sis"]["sourcedId"], id.as_str());
    assert!(user["sis"]["role"].is_string());
    assert_eq!(user["erasure"]["cause"], "forget");
    assert_eq!(user["erasure"]["by"], "dpo@t1");
    assert_eq!(user["archived"], false);

    let explain = [&["explain", "--tenant", "t1", &id], store].concat();
    let (_, out) = rosterctl(d, &explain);
    assert!(
        out.contains("personal data erased on") && out.contains("at the district's request"),
        "{out}"
    );

    let runs = [&["runs", "list", "--tenant", "t1", "--json"], store].concat();
    let (_, out) = rosterctl(d, &runs);
    let newest = &json(&out)[0];
    assert_eq!(
        (newest["source"]["kind"].as_str(), newest["status"].as_str()),
        (Some("forget"), Some("applied"))
    );
    assert_eq!(newest["counts"]["users"]["erased"], 1);

    let (code, out) = rosterctl(
        d,
        &[&["users", "forget", "--tenant", "t1", "nobody"], store].concat(),
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("tenant `t1` has no user `nobody`; nothing was erased"),
        "{out}"
    );
    let (code, out) = rosterctl(d, &forget);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing more to erase"), "{out}");

    let sync = [&["sync", "district", "--tenant", "t1", "--json"], store].concat();
    let (code, out) = rosterctl(d, &sync);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json(&out)["counts"]["users"]["updated"], 1, "{out}");
    let back = json(&rosterctl(d, &show).1);
    assert_eq!(back["sis"]["email"], email.as_str());
    assert!(back["erasure"].is_null());
}

#[test]
fn users_forget_erases_one_person_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    forget_end_to_end(dir.path(), &[]);
}

#[test]
fn users_forget_erases_one_person_on_dynamodb() {
    let dir = tempfile::tempdir().unwrap();
    let table = testkit::unique("forget");
    forget_end_to_end(dir.path(), &["--dynamodb", &table, "--create-table"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_retain_erases_people_archived_past_the_retention_and_old_run_folders() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (id, email, _) = synced(d, &[]);
    let (code, out) = rosterctl(
        d,
        &["tenants", "update", "t1", "--retain-archived-days", "30"],
    );
    assert_eq!(code, 0, "{out}");
    let shown = json(&rosterctl(d, &["tenants", "show", "t1", "--json"]).1);
    assert_eq!(
        (
            shown["retain_archived_days"].as_u64(),
            shown["retain_archived_days_in_force"].as_u64()
        ),
        (Some(30), Some(30))
    );
    let status = json(&rosterctl(d, &["tenants", "status", "--json"]).1);
    assert_eq!(status[0]["retain_archived_days"], 30);
    {
        let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
        store
            .archive_by_hand(
                "t1",
                EntityKind::Users,
                &id,
                Utc::now() - Duration::days(31),
            )
            .await
            .unwrap();
    }
    let old_run = d.join("runs/t1/20200101T000000000Z-0000abcd");
    std::fs::create_dir_all(&old_run).unwrap();
    std::fs::write(
        old_run.join("report.json"),
        format!("{{\"value\":\"{email}\"}}"),
    )
    .unwrap();
    let kept_runs = std::fs::read_dir(d.join("runs/t1")).unwrap().count() - 1;
    assert!(kept_runs >= 1);

    let (code, out) = rosterctl(d, &["tenants", "retain", "t1", "--dry-run"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("dry run: 1 user(s)") && out.contains("1 run folder(s)"),
        "{out}"
    );
    assert!(old_run.exists());

    let (code, out) = rosterctl(d, &["tenants", "retain", "t1"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("retention 30 days (the tenant's own)"),
        "{out}"
    );
    assert!(
        out.contains("erased the personal data of 1 user(s)"),
        "{out}"
    );
    assert!(out.contains("deleted 1 local run folder(s)"), "{out}");
    assert!(!old_run.exists());
    assert_eq!(
        std::fs::read_dir(d.join("runs/t1")).unwrap().count(),
        kept_runs
    );
    let user = json(&rosterctl(d, &["users", "show", "--tenant", "t1", &id, "--json"]).1);
    assert_eq!(user["erasure"]["cause"], "retention");
    assert_eq!(user["erasure"]["days"], 30);
    assert!(user["sis"]["email"].is_null());
    let runs = json(&rosterctl(d, &["runs", "list", "--tenant", "t1", "--json"]).1);
    assert_eq!(runs[0]["source"]["kind"], "retention");

    let (code, out) = rosterctl(d, &["tenants", "retain", "t1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nobody is past the retention"), "{out}");

    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl"))
        .dir(d)
        .env("RETAIN_ARCHIVED_DAYS", "a year")
        .run(&["tenants", "retain", "t1"]);
    assert_eq!(out.code, 2, "{}", out.combined());
    assert!(
        out.combined().contains("RETAIN_ARCHIVED_DAYS"),
        "{}",
        out.combined()
    );
}
