//! `rosterctl runs show RUN --changes FILE`: a held run's changes as a CSV
//! file for the district — on SQLite with a local plan, and on DynamoDB Local
//! with the plan kept in S3 (moto).

use roster::roles::*;
use std::collections::HashSet;
use std::path::Path;
use testkit::cli::Cli;

/// (exit code, stdout followed by stderr), on the emulators.
fn rosterctl(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl"))
        .dir(dir)
        .aws()
        .run(args);
    (out.code, out.combined())
}

fn first_json(out: &str) -> serde_json::Value {
    serde_json::from_str(out.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// What the held delivery changes: the student it renames and the users it drops.
struct Held {
    renamed: String,
    dropped: Vec<String>,
    /// Every given and family name the district sent, before and after.
    names: HashSet<String>,
}

/// Generates a district, syncs it with `store` (store arguments), then
/// renames one student and drops the second half of the users: a held sync.
/// Returns the applied run, the held run and what changed.
fn held_run(d: &Path, store: &[&str]) -> (String, String, Held) {
    let gen = [
        "generate",
        "--students",
        "300",
        "--seed",
        "3",
        "--out",
        "district",
    ];
    assert_eq!(rosterctl(d, &gen).0, 0);
    let sync = [&["sync", "district", "--tenant", "t1", "--json"], store].concat();
    let (code, out) = rosterctl(d, &sync);
    assert_eq!(code, 0, "{out}");
    let applied = first_json(&out)["run_id"].as_str().unwrap().to_string();

    let path = d.join("district/users.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (id, given, family, role) = (
        col("sourcedId"),
        col("givenName"),
        col("familyName"),
        col("role"),
    );
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let mut names: HashSet<String> = rows
        .iter()
        .flat_map(|r| [r[given].clone(), r[family].clone()])
        .collect();
    let dropped: Vec<String> = rows
        .split_off(rows.len() / 2)
        .into_iter()
        .map(|r| r[id].clone())
        .collect();
    let student = rows.iter_mut().find(|r| r[role] == "student").unwrap();
    student[given] = "Zebediah".into();
    student[family] = "Quackenbush".into();
    names.extend(["Zebediah".to_string(), "Quackenbush".to_string()]);
    let renamed = student[id].clone();
    let mut writer = csv::Writer::from_path(&path).unwrap();
    writer.write_record(&headers).unwrap();
    rows.iter().for_each(|r| writer.write_record(r).unwrap());
    writer.flush().unwrap();

    let (code, out) = rosterctl(d, &sync);
    assert_eq!(code, 1, "{out}");
    let held = first_json(&out);
    assert_eq!(held["status"], "held", "{held}");
    let held = held["run_id"].as_str().unwrap().to_string();
    (
        applied,
        held,
        Held {
            renamed,
            dropped,
            names,
        },
    )
}

/// Checks the changes file `file` against what the held delivery changed.
fn check_changes(file: &Path, held: &Held) -> usize {
    let mut reader = csv::Reader::from_path(file).unwrap();
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        headers,
        [
            "type",
            "sourcedId",
            "action",
            "reason",
            "fields_changed",
            "schools"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let row = |id: &str| {
        rows.iter()
            .find(|r| r[0] == "users" && r[1] == id)
            .unwrap_or_else(|| panic!("no row for user {id}"))
    };
    assert_eq!(
        row(&held.renamed)[2..5],
        ["update", "", "familyName;givenName"]
    );
    assert_eq!(row(&held.dropped[0])[2..5], ["archive", "absent", ""]);
    assert!(
        !row(&held.dropped[0])[5].is_empty(),
        "an archived user names its schools"
    );
    let archives: Vec<&Vec<String>> = rows.iter().filter(|r| r[2] == "archive").collect();
    assert!(archives.len() > 25, "{} archives", archives.len());
    for r in archives {
        assert!(r[0] == "users" && held.dropped.contains(&r[1]), "{r:?}");
    }
    for cell in rows.iter().flatten() {
        assert!(
            !held.names.contains(cell),
            "a name value in the file: {cell}"
        );
    }
    let text = std::fs::read_to_string(file).unwrap();
    assert!(
        !text.contains("Zebediah") && !text.contains("Quackenbush"),
        "{text}"
    );
    rows.len()
}

#[test]
fn a_held_runs_changes_name_fields_and_never_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (applied, run_id, held) = held_run(d, &[]);

    let (code, out) = rosterctl(d, &["runs", "show", &run_id, "--changes", "changes.csv"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("status held"), "the run is shown too: {out}");
    let rows = check_changes(&d.join("changes.csv"), &held);
    let summary = format!(
        "wrote {rows} rows to changes.csv (0 inserts, 1 updates, {} archives)",
        rows - 1
    );
    assert!(out.contains(&summary), "{out}");

    // Only a held run has changes waiting; nothing is written.
    let (code, out) = rosterctl(d, &["runs", "show", &applied, "--changes", "applied.csv"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "run {applied} is applied; only a held run has changes waiting"
        )),
        "{out}"
    );
    assert!(!d.join("applied.csv").exists());

    // A held run whose plan is gone.
    let (_, out) = rosterctl(d, &["runs", "show", &run_id, "--json"]);
    let plan = d.join(first_json(&out)["plan_ref"].as_str().unwrap());
    std::fs::remove_file(plan).unwrap();
    let (code, out) = rosterctl(d, &["runs", "show", &run_id, "--changes", "gone.csv"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("run {run_id} is held, but its plan")) && out.contains("is gone"),
        "{out}"
    );
    assert!(!d.join("gone.csv").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_dynamodb_a_plan_kept_in_s3_is_fetched_and_one_expired_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let table = testkit::unique("changes");
    let (_, run_id, held) = held_run(d, &["--dynamodb", &table, "--create-table"]);

    // Move the plan to S3, as csv-ingest keeps it, and point the run at it.
    let store = roster_dynamodb::DynamoStore::new(
        testkit::dynamodb_client(&testkit::dynamodb()),
        table.clone(),
    );
    let mut run = store.get_run(&run_id).await.unwrap().unwrap();
    let local = d.join(run.plan_ref.as_deref().unwrap());
    let s3 = testkit::s3_client();
    let bucket = testkit::unique("plans");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = format!("processed/t1/{run_id}/plan.jsonl");
    let body = std::fs::read(&local).unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key(&key)
        .body(body.into())
        .send()
        .await
        .unwrap();
    std::fs::remove_file(&local).unwrap();
    run.plan_ref = Some(format!("s3://{bucket}/{key}"));
    store.put_run(&run).await.unwrap();

    let show = |file: &str| {
        [
            "runs",
            "show",
            &run_id,
            "--dynamodb",
            &table,
            "--changes",
            file,
        ]
        .map(String::from)
    };
    let args = show("changes.csv");
    let (code, out) = rosterctl(d, &args.each_ref().map(String::as_str));
    assert_eq!(code, 0, "{out}");
    let rows = check_changes(&d.join("changes.csv"), &held);
    assert!(
        out.contains(&format!("wrote {rows} rows to changes.csv")),
        "{out}"
    );

    // The bucket's lifecycle rule expired the plan.
    s3.delete_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let args = show("expired.csv");
    let (code, out) = rosterctl(d, &args.each_ref().map(String::as_str));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("its plan s3://{bucket}/{key} is gone")),
        "{out}"
    );
    assert!(!d.join("expired.csv").exists());
}
