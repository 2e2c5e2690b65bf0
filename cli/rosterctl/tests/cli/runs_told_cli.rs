//! After `rosterctl runs approve|discard|revert`: the district told through
//! the run-notice topic (moto SNS, read by an SQS listener with the tenant's
//! filter policy), and the run's page rendered again where its report is
//! kept: the runs folder, or S3 beside csv-ingest's `report.json` (moto).

use roster::roles::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use testkit::cli::Cli;
use testkit::notices::{attribute, notice_topic, received, tenant_listener};

/// (exit code, stdout followed by stderr), on the emulators, with no topic
/// from the environment.
fn rosterctl(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl"))
        .dir(dir)
        .aws()
        .env("ROSTER_NOTICE_TOPIC_ARN", "")
        .run(args);
    (out.code, out.combined())
}

fn first_json(out: &str) -> Value {
    serde_json::from_str(out.lines().next().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// A path the CLI printed, relative to its working folder `d`.
fn in_dir(d: &Path, path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() {
        p
    } else {
        d.join(p)
    }
}

/// A synced district `t1` of `students` students whose contacts are one address.
async fn district(d: &Path, students: &str) {
    assert_eq!(
        rosterctl(
            d,
            &["generate", "--students", students, "--out", "district"]
        )
        .0,
        0
    );
    assert_eq!(rosterctl(d, &["sync", "district", "--tenant", "t1"]).0, 0);
    let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
    let mut tenant = store.get_tenant("t1").await.unwrap().unwrap();
    tenant.notify_emails = vec!["data@t1.k12.example".into()];
    store.put_tenant(&tenant).await.unwrap();
}

/// Keeps only the first half of the district's users: a held sync.
fn halve_users(d: &Path) -> (String, PathBuf) {
    let users = std::fs::read_to_string(d.join("district/users.csv")).unwrap();
    let lines: Vec<&str> = users.lines().collect();
    std::fs::write(
        d.join("district/users.csv"),
        lines[..lines.len() / 2].join("\n") + "\n",
    )
    .unwrap();
    let (code, out) = rosterctl(d, &["sync", "district", "--tenant", "t1", "--json"]);
    assert_eq!(code, 1, "{out}");
    let held = first_json(&out);
    assert_eq!(held["status"], "held");
    let report = in_dir(d, held["report_ref"].as_str().unwrap());
    let page = report.with_file_name("report.html");
    (held["run_id"].as_str().unwrap().to_string(), page)
}

/// Drops three students: an applied run archiving them.
fn drop_three(d: &Path) -> Value {
    let users = std::fs::read_to_string(d.join("district/users.csv")).unwrap();
    let kept: Vec<&str> = users
        .lines()
        .filter(|l| {
            !["\"stu-000001\",", "\"stu-000002\",", "\"stu-000003\","]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    std::fs::write(d.join("district/users.csv"), kept.join("\n") + "\n").unwrap();
    let (code, out) = rosterctl(d, &["sync", "district", "--tenant", "t1", "--json"]);
    assert_eq!(code, 0, "{out}");
    first_json(&out)
}

/// The one notification a listener got.
async fn the_notification(queue: &str) -> Value {
    let got = received(queue).await;
    assert_eq!(got.len(), 1, "{got:?}");
    got.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_a_held_run_tells_the_district_and_renders_its_page_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    district(d, "300").await;
    let (run_id, page) = halve_users(d);
    let before = std::fs::read_to_string(&page).unwrap();
    assert!(before.contains("<strong>Held.</strong>"), "{before}");
    let topic = notice_topic().await;
    let listener = tenant_listener(&topic, "t1").await;

    let (code, out) = rosterctl(
        d,
        &[
            "runs",
            "approve",
            &run_id,
            "--by",
            "ops",
            "--notice-topic-arn",
            &topic,
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let approved = first_json(&out);
    assert_eq!(approved["status"], "applied");
    assert_eq!(approved["notice"]["published"], true, "{approved}");
    assert_eq!(
        in_dir(d, approved["pages"][0].as_str().unwrap()),
        page,
        "{approved}"
    );

    let n = the_notification(&listener).await;
    assert_eq!(attribute(&n, "tenant"), Some("t1"));
    assert_eq!(attribute(&n, "outcome"), Some("applied"));
    let subject = n["Subject"].as_str().unwrap();
    assert!(
        subject.contains(&run_id) && subject.contains("applied"),
        "{subject}"
    );
    let message = n["Message"].as_str().unwrap();
    assert!(
        message.contains("held, then approved by our team and applied"),
        "{message}"
    );
    assert!(
        !message.contains("ops"),
        "never the operator's name: {message}"
    );

    let after = std::fs::read_to_string(&page).unwrap();
    assert!(after.contains("<strong>Applied.</strong>"), "{after}");
    assert!(
        after.contains("held, then approved by our team and applied"),
        "{after}"
    );
    assert!(!after.contains("<strong>Held.</strong>"), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discarding_with_no_topic_says_what_was_not_published_and_renders_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    district(d, "300").await;
    let (run_id, page) = halve_users(d);

    let (code, out) = rosterctl(d, &["runs", "discard", &run_id, "--by", "ops"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("notice: not published: no notice topic: give --notice-topic-arn")
            && out.contains("the district's 1 contact(s) were not told"),
        "{out}"
    );
    let shown = page.strip_prefix(d).unwrap().display().to_string();
    assert!(out.contains(&format!("page: {shown}\n")), "{out}");
    let after = std::fs::read_to_string(&page).unwrap();
    assert!(after.contains("<strong>Discarded.</strong>"), "{after}");
    assert!(after.contains("then discarded by our team"), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverting_a_run_tells_the_district_and_renders_its_local_page_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    district(d, "40").await;
    let change = drop_three(d);
    let run_id = change["run_id"].as_str().unwrap();
    let page = in_dir(d, change["report_ref"].as_str().unwrap()).with_file_name("report.html");
    assert!(std::fs::read_to_string(&page)
        .unwrap()
        .contains("<strong>Applied.</strong>"));
    let topic = notice_topic().await;
    let listener = tenant_listener(&topic, "t1").await;

    let (code, out) = rosterctl(
        d,
        &[
            "runs",
            "revert",
            run_id,
            "--notice-topic-arn",
            &topic,
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let revert = first_json(&out);
    let revert_id = revert["run_id"].as_str().unwrap();
    assert_eq!(revert["notice"]["published"], true, "{revert}");

    let n = the_notification(&listener).await;
    assert_eq!(attribute(&n, "outcome"), Some("reverted"));
    let message = n["Message"].as_str().unwrap();
    assert!(
        message.contains(&format!("This run undid run {run_id}")),
        "{message}"
    );

    let after = std::fs::read_to_string(&page).unwrap();
    assert!(after.contains("<strong>Reverted.</strong>"), "{after}");
    assert!(
        after.contains(&format!("undone by run {revert_id}")),
        "{after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverting_a_lambda_run_renders_its_page_again_in_s3() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    district(d, "40").await;
    let change = drop_three(d);
    let run_id = change["run_id"].as_str().unwrap().to_string();

    // Keep the run's report in S3 as csv-ingest does ({"run", "validation"},
    // the page beside it), and point the run at it.
    let s3 = testkit::s3_client();
    let bucket = testkit::unique("runs");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let folder = format!("processed/t1/{run_id}/");
    let validation: Value = serde_json::from_slice(
        &std::fs::read(in_dir(d, change["report_ref"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let report = serde_json::json!({"run": change, "validation": validation});
    for (name, body) in [
        ("report.json", report.to_string()),
        ("report.html", "<p>Applied.</p>".to_string()),
    ] {
        s3.put_object()
            .bucket(&bucket)
            .key(format!("{folder}{name}"))
            .body(body.into_bytes().into())
            .send()
            .await
            .unwrap();
    }
    let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
    let mut run = store.get_run(&run_id).await.unwrap().unwrap();
    run.report_ref = Some(format!("s3://{bucket}/{folder}report.json"));
    store.put_run(&run).await.unwrap();
    drop(store);
    let topic = notice_topic().await;
    let listener = tenant_listener(&topic, "t1").await;

    let (code, out) = rosterctl(
        d,
        &["runs", "revert", &run_id, "--notice-topic-arn", &topic],
    );
    assert_eq!(code, 0, "{out}");
    let page_uri = format!("s3://{bucket}/{folder}report.html");
    assert!(out.contains(&format!("page: {page_uri}")), "{out}");
    assert!(
        out.contains(&format!("notice: published to {topic}")),
        "{out}"
    );
    assert_eq!(
        attribute(&the_notification(&listener).await, "outcome"),
        Some("reverted")
    );

    let get = |key: String| {
        let s3 = s3.clone();
        let bucket = bucket.clone();
        async move {
            let object = s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap();
            String::from_utf8(object.body.collect().await.unwrap().to_vec()).unwrap()
        }
    };
    let page = get(format!("{folder}report.html")).await;
    assert!(page.contains("<strong>Reverted.</strong>"), "{page}");
    assert!(page.contains("undone by run"), "{page}");
    assert!(page.contains("users.csv"), "the findings kept: {page}");
    let kept: Value = serde_json::from_str(&get(format!("{folder}report.json")).await).unwrap();
    assert!(kept["run"]["reverted_by"].is_string(), "{kept}");
    assert_eq!(kept["validation"], validation, "the validation kept");
}
