//! `rosterctl runs approve` of a run whose plan a Lambda kept in S3 (moto).

use roster::roles::*;
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

/// A 300-student district synced as `t1` in `d`, then delivered again
/// with half its users gone (and `edit` made to it): the held run.
fn a_held_run(d: &Path, edit: impl FnOnce(&Path)) -> serde_json::Value {
    assert_eq!(
        rosterctl(d, &["generate", "--students", "300", "--out", "district"]).0,
        0
    );
    assert_eq!(rosterctl(d, &["sync", "district", "--tenant", "t1"]).0, 0);
    let users = std::fs::read_to_string(d.join("district/users.csv")).unwrap();
    let lines: Vec<&str> = users.lines().collect();
    std::fs::write(
        d.join("district/users.csv"),
        lines[..lines.len() / 2].join("\n") + "\n",
    )
    .unwrap();
    edit(&d.join("district"));
    let (code, out) = rosterctl(d, &["sync", "district", "--tenant", "t1", "--json"]);
    assert_eq!(code, 1, "{out}");
    serde_json::from_str(out.lines().next().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_plan_kept_in_s3_is_fetched_and_applied() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let held = a_held_run(d, |_| {});
    let run_id = held["run_id"].as_str().unwrap().to_string();
    let local_plan = std::path::PathBuf::from(held["plan_ref"].as_str().unwrap());
    let local_plan = if local_plan.is_absolute() {
        local_plan
    } else {
        d.join(local_plan)
    };

    // Move the plan to S3, as csv-ingest keeps it, and point the run at it.
    let s3 = testkit::s3_client();
    let bucket = testkit::unique("plans");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = format!("processed/t1/{run_id}/plan.jsonl");
    s3.put_object()
        .bucket(&bucket)
        .key(&key)
        .body(std::fs::read(&local_plan).unwrap().into())
        .send()
        .await
        .unwrap();
    std::fs::remove_file(&local_plan).unwrap();
    let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
    let mut run = store.get_run(&run_id).await.unwrap().unwrap();
    run.plan_ref = Some(format!("s3://{bucket}/{key}"));
    store.put_run(&run).await.unwrap();
    drop(store);

    let (code, out) = rosterctl(d, &["runs", "approve", &run_id, "--by", "ops", "--json"]);
    assert_eq!(code, 0, "{out}");
    let approved: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(approved["status"], "applied");
    assert!(approved["items_written"].as_u64().unwrap() > 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_images_kept_in_s3_are_fetched_for_a_revert() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        rosterctl(d, &["generate", "--students", "40", "--out", "district"]).0,
        0
    );
    assert_eq!(rosterctl(d, &["sync", "district", "--tenant", "t1"]).0, 0);
    // The district drops three students.
    let users = std::fs::read_to_string(d.join("district/users.csv")).unwrap();
    let kept: Vec<&str> = users
        .lines()
        .filter(|l| {
            !["\"stu-000001\",", "\"stu-000002\",", "\"stu-000003\","]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    assert_eq!(kept.len(), users.lines().count() - 3);
    std::fs::write(d.join("district/users.csv"), kept.join("\n") + "\n").unwrap();
    let (code, out) = rosterctl(d, &["sync", "district", "--tenant", "t1", "--json"]);
    assert_eq!(code, 0, "{out}");
    let change: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let run_id = change["run_id"].as_str().unwrap().to_string();
    assert_eq!(change["counts"]["users"]["archived"], 3);
    let local = std::path::PathBuf::from(change["before_ref"].as_str().unwrap());
    let local = if local.is_absolute() {
        local
    } else {
        d.join(local)
    };

    // Move the before-images to S3, as csv-ingest keeps them.
    let s3 = testkit::s3_client();
    let bucket = testkit::unique("runs");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = format!("processed/t1/{run_id}/before.jsonl.gz");
    s3.put_object()
        .bucket(&bucket)
        .key(&key)
        .body(std::fs::read(&local).unwrap().into())
        .send()
        .await
        .unwrap();
    std::fs::remove_file(&local).unwrap();
    let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
    let mut run = store.get_run(&run_id).await.unwrap().unwrap();
    run.before_ref = Some(format!("s3://{bucket}/{key}"));
    store.put_run(&run).await.unwrap();
    drop(store);

    let (code, out) = rosterctl(d, &["runs", "revert", &run_id, "--json"]);
    assert_eq!(code, 0, "{out}");
    let reverted: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(reverted["status"], "applied", "{reverted}");
    assert_eq!(reverted["counts"]["users"]["unarchived"], 3);
}

/// Moves the local run file `reference` (relative to `d` or absolute) to
/// `bucket` under `key`, as csv-ingest keeps it: its S3 URI.
async fn move_to_s3(d: &Path, reference: &str, bucket: &str, key: &str) -> String {
    let local = d.join(reference);
    testkit::s3_client()
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(std::fs::read(&local).unwrap().into())
        .send()
        .await
        .unwrap();
    std::fs::remove_file(&local).unwrap();
    format!("s3://{bucket}/{key}")
}

/// In `d`: a district synced, then synced with two students re-keyed (the
/// exact pairs applied), the run's before-images and pairs moved to S3 as a
/// function keeps them. The run's id, and the pairs' bucket and key.
async fn a_rekey_run_in_s3(d: &Path) -> (String, String, String) {
    assert_eq!(
        rosterctl(d, &["generate", "--students", "40", "--out", "district"]).0,
        0
    );
    assert_eq!(rosterctl(d, &["sync", "district", "--tenant", "t1"]).0, 0);
    rekey_two_students(&d.join("district"));
    let (code, out) = rosterctl(d, &["sync", "district", "--tenant", "t1", "--json"]);
    assert_eq!(code, 0, "{out}");
    let change: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let run_id = change["run_id"].as_str().unwrap().to_string();
    assert_eq!(change["rekey"]["applied"], 2, "{change}");

    let bucket = testkit::s3_bucket("runs").await;
    let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
    let mut run = store.get_run(&run_id).await.unwrap().unwrap();
    let folder = format!("processed/t1/{run_id}");
    let images = run.before_ref.clone().unwrap();
    run.before_ref =
        Some(move_to_s3(d, &images, &bucket, &format!("{folder}/before.jsonl.gz")).await);
    let rekey = run.rekey.as_mut().unwrap();
    let pairs = rekey.applied_ref.clone().unwrap();
    let key = format!("{folder}/rekey-applied.json");
    rekey.applied_ref = Some(move_to_s3(d, &pairs, &bucket, &key).await);
    store.put_run(&run).await.unwrap();
    (run_id, bucket, key)
}

/// `runs revert RUN --json` in `d`: the revert's run, and whether the old
/// record `stu-000001` is back and still linked.
async fn revert_in(d: &Path, run_id: &str) -> (serde_json::Value, bool) {
    let (code, out) = rosterctl(d, &["runs", "revert", run_id, "--json"]);
    assert_eq!(code, 0, "{out}");
    let reverted: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(reverted["status"], "applied", "{reverted}");
    let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
    let old = store
        .get_entity("t1", oneroster::EntityKind::Users, "stu-000001")
        .await
        .unwrap()
        .unwrap();
    assert!(old.archive.is_none(), "the old record is back");
    (reverted, old.rekey.rekeyed_to.is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rekey_kept_in_s3_is_unlinked_by_its_revert() {
    let dir = tempfile::tempdir().unwrap();
    let (run_id, _, _) = a_rekey_run_in_s3(dir.path()).await;
    let (reverted, linked) = revert_in(dir.path(), &run_id).await;
    let message = reverted["message"].as_str().unwrap();
    assert!(message.contains("re-key pairs unlinked"), "{message}");
    assert!(!linked, "unlinked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revert_whose_rekey_pairs_are_gone_warns_and_keeps_the_links() {
    let dir = tempfile::tempdir().unwrap();
    let (run_id, bucket, key) = a_rekey_run_in_s3(dir.path()).await;
    testkit::s3_client()
        .delete_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let (reverted, linked) = revert_in(dir.path(), &run_id).await;
    let warnings = reverted["warnings"].to_string();
    assert!(warnings.contains("could not be read"), "{reverted}");
    assert!(linked, "the links are left as they are");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_file_is_fetched_to_a_private_temporary_file_removed_after_use() {
    use std::os::unix::fs::PermissionsExt;
    let s3 = testkit::s3_client();
    let bucket = testkit::unique("runs");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = "processed/t1/r1/plan.jsonl";
    s3.put_object()
        .bucket(&bucket)
        .key(key)
        .body(b"{\"kind\":\"users\"}\n".to_vec().into())
        .send()
        .await
        .unwrap();
    let uri = format!("s3://{bucket}/{key}");
    let first = rosterctl::runs_cmd::fetch_run_file(&s3, &uri)
        .await
        .unwrap();
    let second = rosterctl::runs_cmd::fetch_run_file(&s3, &uri)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&first).unwrap(), b"{\"kind\":\"users\"}\n");
    let mode = std::fs::metadata(&first).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "only its owner reads it: {mode:o}");
    let name = first.file_name().unwrap().to_str().unwrap().to_string();
    assert_ne!(
        name,
        format!("rosterctl-plan-{}.jsonl", std::process::id()),
        "not named by the process id"
    );
    assert!(
        name.starts_with("rosterctl-run-file-") && name.len() >= "rosterctl-run-file-".len() + 6,
        "{name}"
    );
    assert_ne!(
        Some(name.as_str()),
        second.file_name().and_then(|n| n.to_str()),
        "a new name each time"
    );
    let path = first.to_path_buf();
    drop(first);
    assert!(!path.exists(), "removed after use");
    let gone = rosterctl::runs_cmd::fetch_run_file(&s3, &format!("s3://{bucket}/nothing.jsonl"))
        .await
        .unwrap_err();
    assert!(gone.contains("is gone"), "{gone}");
}

/// Names `pairs` in tenant `t1`'s state as a re-key in progress, kept in S3
/// as a function keeps it: the bucket.
async fn rekey_in_progress_in_s3(
    d: &Path,
    pairs: &[(oneroster::EntityKind, roster::rekey::Pair)],
) -> String {
    let bucket = testkit::s3_bucket("runs").await;
    let s3 = testkit::s3_client();
    let key = "processed/t1/20261207T000000000Z-stopped/rekey-in-progress.json";
    let body = serde_json::to_vec(pairs).unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap();
    let reference = format!("s3://{bucket}/{key}");
    let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
    let now = chrono::Utc::now();
    let ttl = std::time::Duration::from_secs(60);
    let roster::store::LeaseOutcome::Acquired { lease, .. } =
        store.acquire_lease("t1", "test", now, ttl).await.unwrap()
    else {
        panic!("the tenant is free");
    };
    let mut state = store.get_state("t1").await.unwrap();
    state.rekey_in_progress = Some(reference);
    store.put_state("t1", &state, &lease).await.unwrap();
    store.release_lease("t1", &lease).await.unwrap();
    bucket
}

/// Gives the user row of `from` in `users.csv` the sourcedId `to` and ids
/// of its own (no exact key pairs them), and its enrollments and
/// demographics `to`.
fn rename_user(district: &Path, from: &str, to: &str) {
    let path = district.join("users.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|c| c == name).unwrap();
    let (id, user_ids, identifier) = (column("sourcedId"), column("userIds"), column("identifier"));
    let mut writer = csv::Writer::from_path(district.join("users.renamed")).unwrap();
    writer.write_record(&header).unwrap();
    for row in reader.records() {
        let mut row: Vec<String> = row.unwrap().iter().map(String::from).collect();
        if row[id] == from {
            row[id] = to.into();
            row[user_ids] = "{StateID:XX9999999}".into();
            row[identifier] = "999999".into();
        }
        writer.write_record(&row).unwrap();
    }
    writer.flush().unwrap();
    std::fs::rename(district.join("users.renamed"), &path).unwrap();
    for file in ["enrollments.csv", "demographics.csv"] {
        let path = district.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_carries_on_a_rekey_a_function_stopped_in_s3() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Held (half the users gone), with one student under a new sourcedId
    // that only the stopped re-key pairs.
    let held = a_held_run(d, |district| {
        rename_user(district, "stu-000001", "new-000001")
    });
    let run_id = held["run_id"].as_str().unwrap().to_string();
    let pair = roster::rekey::Pair {
        old: "stu-000001".into(),
        new: "new-000001".into(),
        key: roster::rekey::MatchKey::Identifier,
    };
    rekey_in_progress_in_s3(d, &[(oneroster::EntityKind::Users, pair)]).await;

    let (code, out) = rosterctl(
        d,
        &["runs", "approve", &run_id, "--by", "ops@vendor", "--json"],
    );
    assert_eq!(code, 0, "{out}");
    let approved: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(approved["rekey"]["applied"], 1, "{}", approved["message"]);
    assert!(
        !approved["warnings"].to_string().contains("are gone"),
        "{}",
        approved["warnings"]
    );
    let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
    let old = store
        .get_entity("t1", oneroster::EntityKind::Users, "stu-000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        old.archive.and_then(|a| a.reason),
        Some(roster::store::ArchiveReason::Rekeyed)
    );
    assert_eq!(old.rekey.rekeyed_to.as_deref(), Some("new-000001"));
    assert_eq!(store.get_state("t1").await.unwrap().rekey_in_progress, None);
}

/// The re-key pairs kept in S3 as `bucket`'s `key`: (old, new) sourcedIds.
async fn pairs_in_s3(bucket: &str, key: &str) -> Vec<(String, String)> {
    let bytes = testkit::s3_object(bucket, key).await;
    let pairs: Vec<(oneroster::EntityKind, roster::rekey::Pair)> =
        serde_json::from_slice(&bytes).unwrap();
    let mut pairs: Vec<_> = pairs.into_iter().map(|(_, p)| (p.old, p.new)).collect();
    pairs.sort();
    pairs
}

/// A folder holding a 40-student district, synced as `t1`.
fn a_synced_district() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let generate = ["generate", "--students", "40", "--out", "district"];
    assert_eq!(rosterctl(dir.path(), &generate).0, 0);
    let sync = ["sync", "district", "--tenant", "t1"];
    assert_eq!(rosterctl(dir.path(), &sync).0, 0);
    dir
}

/// Gives the students `stu-000001` and `stu-000002` of `district` new
/// sourcedIds, their other ids kept: exact keys pair them.
fn rekey_two_students(district: &Path) {
    testkit::rekey_in_package(district, "stu-000001", "new-000001");
    testkit::rekey_in_package(district, "stu-000002", "new-000002");
}

fn the_pairs() -> Vec<(String, String)> {
    [("stu-000001", "new-000001"), ("stu-000002", "new-000002")]
        .map(|(old, new)| (old.to_string(), new.to_string()))
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_keeps_its_rekey_in_progress_beside_the_held_plan_in_s3() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let held = a_held_run(d, rekey_two_students);
    let run_id = held["run_id"].as_str().unwrap().to_string();
    let bucket = testkit::s3_bucket("runs").await;
    let folder = format!("processed/t1/{run_id}");
    let plan = held["plan_ref"].as_str().unwrap();
    let plan = move_to_s3(d, plan, &bucket, &format!("{folder}/plan.jsonl")).await;
    let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
    let mut run = store.get_run(&run_id).await.unwrap().unwrap();
    run.plan_ref = Some(plan);
    store.put_run(&run).await.unwrap();

    let (code, out) = rosterctl(d, &["runs", "approve", &run_id, "--by", "ops", "--json"]);
    assert_eq!(code, 0, "{out}");
    let approved: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(approved["rekey"]["applied"], 2, "{}", approved["message"]);
    // Named in the state while the approval linked and wrote, where a
    // function carrying it on reads it: beside the plan.
    let key = format!("{folder}/rekey-in-progress.json");
    assert_eq!(pairs_in_s3(&bucket, &key).await, the_pairs());
    assert_eq!(store.get_state("t1").await.unwrap().rekey_in_progress, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_carries_on_a_rekey_a_function_stopped_in_s3_and_keeps_its_own_there() {
    let dir = a_synced_district();
    let d = dir.path();
    // The stopped re-key pairs a student no exact key pairs; this delivery
    // re-keys two more.
    let district = d.join("district");
    rename_user(&district, "stu-000003", "new-000003");
    rekey_two_students(&district);
    let stopped = roster::rekey::Pair {
        old: "stu-000003".into(),
        new: "new-000003".into(),
        key: roster::rekey::MatchKey::Identifier,
    };
    let bucket = rekey_in_progress_in_s3(d, &[(oneroster::EntityKind::Users, stopped)]).await;

    let (code, out) = rosterctl(d, &["sync", "district", "--tenant", "t1", "--json"]);
    assert_eq!(code, 0, "{out}");
    let run: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(run["rekey"]["applied"], 3, "{}", run["message"]);
    let run_id = run["run_id"].as_str().unwrap();
    let key = format!("processed/t1/{run_id}/rekey-in-progress.json");
    let mut expected = the_pairs();
    expected.push(("stu-000003".into(), "new-000003".into()));
    let kept = pairs_in_s3(&bucket, &key).await;
    assert_eq!(kept, expected, "this run's pairs and the stopped one's");
    let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
    let old = store
        .get_entity("t1", oneroster::EntityKind::Users, "stu-000003")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.rekey.rekeyed_to.as_deref(), Some("new-000003"));
    assert_eq!(store.get_state("t1").await.unwrap().rekey_in_progress, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_given_a_run_files_bucket_keeps_its_rekey_in_progress_there() {
    a_sync_keeps_its_rekey_in_progress_in_a_bucket_given(|cli, bucket, args| {
        cli.run(&[args, &["--run-files-bucket", bucket]].concat())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_in_an_environment_naming_the_bucket_keeps_its_rekey_in_progress_there() {
    a_sync_keeps_its_rekey_in_progress_in_a_bucket_given(|cli, bucket, args| {
        cli.env("ROSTER_RUN_FILES_BUCKET", bucket).run(args)
    })
    .await;
}

/// A sync re-keying two students, with a new bucket given by `sync`
/// (which runs `rosterctl` with the bucket and these arguments), keeps the
/// pairs there.
async fn a_sync_keeps_its_rekey_in_progress_in_a_bucket_given(
    sync: impl FnOnce(Cli, &str, &[&str]) -> testkit::cli::Output,
) {
    let dir = a_synced_district();
    let d = dir.path();
    rekey_two_students(&d.join("district"));
    let bucket = testkit::s3_bucket("runs").await;

    let cli = Cli::new(env!("CARGO_BIN_EXE_rosterctl")).dir(d).aws();
    let args = ["sync", "district", "--tenant", "t1", "--json"];
    let out = sync(cli, &bucket, &args);
    assert_eq!(out.code, 0, "{}", out.combined());
    let run: serde_json::Value = serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(run["rekey"]["applied"], 2, "{}", run["message"]);
    let run_id = run["run_id"].as_str().unwrap();
    let key = format!("processed/t1/{run_id}/rekey-in-progress.json");
    assert_eq!(pairs_in_s3(&bucket, &key).await, the_pairs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lasting_file_is_named_by_its_copy_in_s3_and_read_back_from_there() {
    use roster::Artifacts;
    use std::io::ErrorKind;
    let dir = tempfile::tempdir().unwrap();
    let s3 = testkit::s3_client();
    let bucket = testkit::s3_bucket("runs").await;
    let local = || roster::LocalArtifacts::new(dir.path().join("runs"));
    let lasting = Some((s3.clone(), bucket.clone()));
    let files = cloud::run_files::LastingInS3::wrap(local(), lasting, dir.path()).unwrap();
    let name = "rekey-in-progress.json";
    let path = files.scratch("t1", "r1", name).unwrap();
    std::fs::write(&path, b"[]").unwrap();

    let kept = files.keep_lasting("t1", "r1", name, &path).await.unwrap();
    let key = format!("processed/t1/r1/{name}");
    assert_eq!(
        kept,
        format!("s3://{bucket}/{key}"),
        "named by its copy in S3"
    );
    std::fs::remove_dir_all(dir.path().join("runs")).unwrap();
    let fetched = files.fetch_lasting(&kept).await.unwrap();
    assert_eq!(std::fs::read(&fetched).unwrap(), b"[]", "read back from S3");
    let folder = std::fs::metadata(fetched.parent().unwrap()).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::mode(&folder.permissions()) & 0o777;
    assert_eq!(mode, 0o700, "only its owner enters the folder: {mode:o}");
    let elsewhere = files.fetch_lasting("s3://another-bucket/x.json").await;
    assert_eq!(elsewhere.unwrap_err().kind(), ErrorKind::PermissionDenied);
    s3.delete_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let gone = files.fetch_lasting(&kept).await.unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound, "{gone}");

    drop(files);
    // Without a bucket: kept locally, and a file in S3 is not told as gone.
    let files = cloud::run_files::LastingInS3::wrap(local(), None, dir.path()).unwrap();
    let path = files.scratch("t1", "r2", name).unwrap();
    std::fs::write(&path, b"[]").unwrap();
    let kept = files.keep_lasting("t1", "r2", name, &path).await.unwrap();
    assert!(!kept.starts_with("s3://"), "{kept}");
    let unread = files.fetch_lasting(&format!("s3://{bucket}/{key}")).await;
    assert_eq!(unread.unwrap_err().kind(), ErrorKind::Unsupported);
    drop(files);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("runs")],
        "no temporary folder is left"
    );
}
