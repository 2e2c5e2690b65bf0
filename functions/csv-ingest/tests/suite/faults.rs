//! csv-ingest with S3 behind a fault-injecting proxy (testkit::moto_faults):
//! transient errors are retried and the run completes; a move that fails for
//! good is finished by the event's retry into the same run; a delivery that
//! cannot be read ends in a failed run; a re-key whose pairs cannot be kept
//! is retried, not lost. After each, the bucket holds the delivery in
//! exactly one place and the run's report once.

use crate::common::*;
use csv_ingest::ItemOutcome;
use roster::roles::*;
use roster::RunStatus;
use serde_json::Value;
use std::time::{Duration, Instant};
use testkit::moto_faults::{Fault, MotoFaults, Op};

async fn handle(world: &World, event: Value) -> Result<Vec<ItemOutcome>, csv_ingest::Failure> {
    world
        .ingest
        .handle(
            decode(event).expect("event decodes"),
            Some(Instant::now() + Duration::from_secs(600)),
        )
        .await
}

/// A world whose ingest reaches S3 through a fault proxy.
async fn world_with_faults() -> (World, MotoFaults) {
    let mut world = World::new().await;
    world.tenant("d1").await;
    let faults = MotoFaults::start();
    world.ingest.s3 = faults.s3_client();
    (world, faults)
}

/// Every key of the bucket outside `inbound/`, and the number of runs of d1.
async fn filed(world: &World) -> (Vec<String>, Vec<String>, usize) {
    let runs = world.ingest.store.list_runs(Some("d1"), 20).await.unwrap();
    let mut done = world.keys("processed/").await;
    done.extend(world.keys("rejected/").await);
    (world.keys("inbound/").await, done, runs.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_s3_errors_are_retried_and_the_run_completes() {
    let (world, faults) = world_with_faults().await;
    let zip = world.zip_of(&world.district("district", 30));
    let event = world.put_file("inbound/d1/export.zip", &zip).await;
    // One of each on the delivery's way: its download, the report, the move.
    faults.inject(
        Op::GetObject,
        "inbound/d1/export.zip",
        Fault::slow_down(),
        1,
    );
    faults.inject(Op::PutObject, "report.json", Fault::internal_error(), 1);
    faults.inject(Op::PutObject, "before.jsonl.gz", Fault::Reset, 1);
    faults.inject(Op::CopyObject, "inbound/d1/export.zip", Fault::Reset, 1);
    faults.inject(
        Op::DeleteObject,
        "inbound/d1/export.zip",
        Fault::slow_down(),
        2,
    );
    let out = handle(&world, event)
        .await
        .expect("the SDK's retries absorb them");
    assert_eq!(out[0].outcome, "applied", "{out:?}");
    let run_id = out[0].run_id.clone().unwrap();
    for (op, target, injected) in [
        (Op::GetObject, "inbound/d1/export.zip", 1),
        (Op::PutObject, "report.json", 1),
        (Op::PutObject, "before.jsonl.gz", 1),
        (Op::CopyObject, "inbound/d1/export.zip", 1),
        (Op::DeleteObject, "inbound/d1/export.zip", 2),
    ] {
        assert_eq!(faults.injected(op, target), injected, "{op:?} {target}");
        assert_eq!(
            faults.requests(op, target),
            injected + 1,
            "{op:?} {target}: retried until it went through, once"
        );
    }
    let (inbound, done, runs) = filed(&world).await;
    assert!(inbound.is_empty(), "{inbound:?}");
    let folder = format!("processed/d1/{run_id}/");
    assert_eq!(
        done,
        [
            "before.jsonl.gz",
            "export.zip",
            "report.html",
            "report.json"
        ]
        .map(|f| format!("{folder}{f}")),
    );
    assert_eq!(runs, 1);
    assert_eq!(world.scratch_left(), Vec::<String>::new());
}

/// The delete after the copy fails past the SDK's retries: the invocation
/// fails (retryable), the delivery is in `processed/` and still in
/// `inbound/`. Lambda's retry of the event finishes the move into the same
/// run's folder: it does not run the delivery again (a second run would
/// copy it into a second folder, with a second report).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_that_keeps_failing_is_finished_by_the_retry_into_the_same_run() {
    let (world, faults) = world_with_faults().await;
    let zip = world.zip_of(&world.district("district", 30));
    let event = world.put_file("inbound/d1/export.zip", &zip).await;
    faults.always(
        Op::DeleteObject,
        "inbound/d1/export.zip",
        Fault::slow_down(),
    );
    let error = handle(&world, event.clone())
        .await
        .expect_err("the move fails the invocation");
    assert!(error.is_retryable(), "{error}");
    assert!(
        error.chain().contains("DeleteObject s3://") && error.chain().contains("SlowDown"),
        "{}",
        error.chain()
    );
    let attempts = faults.requests(Op::DeleteObject, "inbound/d1/export.zip");
    assert_eq!(attempts, 3, "the SDK's standard retries: 3 attempts");
    let runs = world.ingest.store.list_runs(Some("d1"), 5).await.unwrap();
    assert_eq!(runs.len(), 1);
    let first = runs[0].run_id.clone();
    assert_eq!(runs[0].status, RunStatus::Applied);

    faults.heal();
    let out = handle(&world, event.clone()).await.expect("the retry");
    assert_eq!(out[0].outcome, "applied", "{out:?}");
    assert_eq!(
        out[0].run_id.as_deref(),
        Some(first.as_str()),
        "the same run"
    );
    assert_eq!(
        out[0].moved_to.as_deref(),
        Some(format!("processed/d1/{first}/export.zip").as_str())
    );
    let (inbound, done, runs) = filed(&world).await;
    assert!(inbound.is_empty(), "{inbound:?}");
    assert_eq!(
        done,
        [
            "before.jsonl.gz",
            "export.zip",
            "report.html",
            "report.json"
        ]
        .map(|f| format!("processed/d1/{first}/{f}")),
        "the delivery in one place, the report once"
    );
    assert_eq!(runs, 1, "the delivery was not run again");
    // And a duplicate of the event after that is only a duplicate.
    assert_eq!(handle(&world, event).await.unwrap()[0].outcome, "duplicate");
}

/// A loose set whose copies stop half-way on a refusal (403): the invocation
/// fails for good, some files are filed and the rest still in `inbound/`
/// (the manifest among the filed ones). The retry, once the refusal is
/// lifted, files the rest into the same run; it does not wait for a
/// manifest that has already gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loose_set_whose_moves_stop_half_way_is_filed_whole_by_the_retry() {
    let (world, faults) = world_with_faults().await;
    let folder = world.district("loose", 30);
    let mut events = Vec::new();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        events.push(
            world
                .put_file(&format!("inbound/d1/set/{name}"), &path)
                .await,
        );
        names.push(name);
    }
    names.sort();
    assert!(names.contains(&"users.csv".to_string()) && names.last().unwrap() == "users.csv");
    faults.always(
        Op::CopyObject,
        "inbound/d1/set/users.csv",
        Fault::access_denied(),
    );
    let error = handle(&world, events[0].clone())
        .await
        .expect_err("the refused copy fails the invocation");
    assert!(!error.is_retryable(), "{error}");
    assert!(
        error.chain().contains("CopyObject") && error.chain().contains("AccessDenied"),
        "{}",
        error.chain()
    );
    assert_eq!(
        faults.requests(Op::CopyObject, "users.csv"),
        1,
        "a refusal is not retried"
    );
    assert_eq!(world.keys("inbound/").await, ["inbound/d1/set/users.csv"]);
    let first = world.ingest.store.list_runs(Some("d1"), 5).await.unwrap()[0]
        .run_id
        .clone();

    faults.heal();
    let out = handle(&world, events[0].clone()).await.expect("the retry");
    assert_eq!(out[0].outcome, "applied", "{out:?}");
    assert_eq!(out[0].run_id.as_deref(), Some(first.as_str()));
    // The other files' events: nothing left to do.
    for event in &events[1..] {
        let out = handle(&world, event.clone()).await.unwrap();
        assert!(
            ["waiting", "duplicate"].contains(&out[0].outcome.as_str()),
            "{out:?}"
        );
    }
    let (inbound, done, runs) = filed(&world).await;
    assert!(inbound.is_empty(), "{inbound:?}");
    let mut expected: Vec<String> = names
        .iter()
        .map(|n| format!("processed/d1/{first}/set/{n}"))
        .collect();
    for f in ["before.jsonl.gz", "report.html", "report.json"] {
        expected.push(format!("processed/d1/{first}/{f}"));
    }
    expected.sort();
    assert_eq!(done, expected, "every file once, in the run's folder");
    assert_eq!(runs, 1);
}

/// A delivery the function may not read (403 on GetObject): no retry, a
/// `failed` run naming the operation and the refusal, the object left in
/// `inbound/` and nothing filed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_cannot_be_read_ends_in_a_failed_run() {
    let (world, faults) = world_with_faults().await;
    let zip = world.zip_of(&world.district("district", 20));
    let event = world.put_file("inbound/d1/locked.zip", &zip).await;
    faults.always(
        Op::GetObject,
        "inbound/d1/locked.zip",
        Fault::access_denied(),
    );
    let error = handle(&world, event)
        .await
        .expect_err("the invocation fails");
    assert!(!error.is_retryable(), "{error}");
    assert_eq!(
        faults.requests(Op::GetObject, "locked.zip"),
        1,
        "not retried"
    );
    let runs = world.ingest.store.list_runs(Some("d1"), 5).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].status, RunStatus::Failed);
    let expected = format!(
        "GetObject s3://{}/inbound/d1/locked.zip: AccessDenied",
        world.bucket
    );
    assert!(runs[0].message.contains(&expected), "{}", runs[0].message);
    let (inbound, done, _) = filed(&world).await;
    assert_eq!(inbound, ["inbound/d1/locked.zip"]);
    assert!(done.is_empty(), "{done:?}");
    assert_eq!(world.scratch_left(), Vec::<String>::new());

    // Refused at its size check (HeadObject: an answer without a body, so without a code).
    let event = world.put_file("inbound/d1/headless.zip", &zip).await;
    faults.always(
        Op::HeadObject,
        "inbound/d1/headless.zip",
        Fault::access_denied(),
    );
    let error = handle(&world, event)
        .await
        .expect_err("the invocation fails");
    assert!(!error.is_retryable(), "{error}");
    let runs = world.ingest.store.list_runs(Some("d1"), 5).await.unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let expected = format!(
        "HeadObject s3://{}/inbound/d1/headless.zip: HTTP 403",
        world.bucket
    );
    assert!(
        runs.iter()
            .any(|r| r.status == RunStatus::Failed && r.message.contains(&expected)),
        "{runs:?}"
    );
}

/// The real binary, its S3 through the proxy (`AWS_ENDPOINT_URL_S3`): the
/// refused read fails the invocation as `Permanent`, and the logs name the
/// failure (operation, object, error code) in a line of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_binary_logs_the_failure_it_reports() {
    let (world, faults) = world_with_faults().await;
    let zip = world.zip_of(&world.district("district", 20));
    let event = world.put_file("inbound/d1/locked.zip", &zip).await;
    faults.always(
        Op::GetObject,
        "inbound/d1/locked.zip",
        Fault::access_denied(),
    );
    let tmp = tempfile::tempdir().unwrap();
    let (api, mut child) = crate::bootstrap::start_binary_with(
        &world,
        tmp.path(),
        &[("AWS_ENDPOINT_URL_S3", faults.endpoint.as_str())],
    );
    let posted = api.invoke(event, Duration::from_secs(120));
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    let posted = posted.unwrap_or_else(|e| panic!("{e}; logs:\n{logs}"));
    assert!(!posted.ok, "{}", posted.body);
    assert_eq!(posted.body["errorType"], "Permanent", "{}", posted.body);
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let named = |message: &str| {
        lines.iter().any(|l| {
            l["message"] == message
                && l["error"].as_str().is_some_and(|e| {
                    e.contains("GetObject s3://") && e.contains("locked.zip: AccessDenied")
                })
        })
    };
    assert!(named("invocation failed"), "{logs}");
    assert!(named("delivery unreadable: run failed"), "{logs}");
    assert!(!logs.contains("testing"), "no credentials in the logs");
}

/// The pairs of a re-key cannot be kept in S3 (throttled past the SDK's
/// retries): the run stops before any link or write and fails as
/// retryable, the delivery stays in `inbound/`, and the event's retry
/// applies the re-key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rekey_whose_pairs_cannot_be_kept_is_retried_not_lost() {
    let (world, faults) = world_with_faults().await;
    let folder = world.district("district", 60);
    let first = world
        .put_file("inbound/d1/first.zip", &world.zip_of(&folder))
        .await;
    assert_eq!(handle(&world, first).await.unwrap()[0].outcome, "applied");
    testkit::rekey_in_package(&folder, "stu-000001", "new-000001");
    let event = world
        .put_file("inbound/d1/rekeyed.zip", &world.zip_of(&folder))
        .await;
    faults.always(Op::PutObject, "rekey-in-progress.json", Fault::slow_down());
    let error = handle(&world, event.clone())
        .await
        .expect_err("the pairs cannot be kept");
    assert!(error.is_retryable(), "{}", error.chain());
    assert!(
        error.chain().contains("re-key in progress"),
        "{}",
        error.chain()
    );
    assert_eq!(world.keys("inbound/").await, ["inbound/d1/rekeyed.zip"]);
    let stored = world
        .ingest
        .store
        .get_entity("d1", oneroster::EntityKind::Users, "stu-000001");
    let old = stored.await.unwrap().unwrap();
    assert!(old.archive.is_none() && old.rekey.rekeyed_to.is_none());

    faults.heal();
    let out = handle(&world, event).await.expect("the retry");
    assert_eq!(out[0].outcome, "applied", "{out:?}");
    let stored = world
        .ingest
        .store
        .get_entity("d1", oneroster::EntityKind::Users, "stu-000001");
    let old = stored.await.unwrap().unwrap();
    assert_eq!(old.rekey.rekeyed_to.as_deref(), Some("new-000001"));
}
