//! The production store under faults (DynamoDB only): the same runs on two
//! tables of DynamoDB Local, one directly and one through a proxy
//! (`testkit::faults`) that throttles, fails, returns half of batches
//! unprocessed, loses answers to applied writes and adds latency. After a
//! first load, a 1% change, a hold and its approval, a revert and a killed
//! run, each store holds the same records; a clean re-sync of the faulted
//! table writes nothing; the run records count the retries.

use crate::common::*;
use oneroster::EntityKind;
use roster::revert::{RevertOutcome, RevertRequest};
use roster::*;
use std::sync::Arc;
use std::time::Duration;
use testkit::faults::{dynamo_store_through, FaultPlan, FaultProxy};

/// The two stores hold the same records (content digest and archive state).
async fn same_records(clean: &DynamoStore, faulted: &DynamoStore, step: &str) {
    let (want, got) = (state_of(clean, "d1").await, state_of(faulted, "d1").await);
    assert!(!want.is_empty(), "{step}: the clean store holds records");
    assert!(want == got, "{step}: the faulted store differs");
}

/// Syncs `district` on both stores; both runs end `status`.
async fn sync_both(
    stores: (&DynamoStore, &DynamoStore),
    bench: &Bench,
    district: &District,
    status: RunStatus,
) -> (RunRecord, RunRecord) {
    let mut runs = Vec::new();
    for store in [stores.0, stores.1] {
        let t = store.get_tenant("d1").await.unwrap().expect("tenant d1");
        let run = sync(store, bench, &t, district, None).await;
        assert_eq!(run.status, status, "{}", run.message);
        runs.push(run);
    }
    let faulted = runs.pop().unwrap();
    (runs.pop().unwrap(), faulted)
}

async fn approve(store: &DynamoStore, bench: &Bench, held: &RunRecord) -> RunRecord {
    let run = Engine::new(store, &bench.artifacts)
        .approve(&held.run_id, "ops@vendor")
        .await
        .expect("the approval runs");
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    run
}

async fn revert(store: &DynamoStore, bench: &Bench, run: &RunRecord) -> RunRecord {
    let request = RevertRequest {
        force: false,
        by: "tester".into(),
    };
    match Engine::new(store, &bench.artifacts)
        .revert(&run.run_id, &request)
        .await
        .expect("the revert runs")
    {
        RevertOutcome::Run(run) => {
            assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
            *run
        }
        other => panic!("not applied: {other:?}"),
    }
}

fn retries(run: &RunRecord) -> u64 {
    run.store_usage.expect("DynamoDB counts").retries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_run_under_faults_ends_as_without_them() {
    // 5% of requests each throttled, failed or unanswered, a third of
    // batches halved, up to 3 ms added to each.
    let plan = FaultPlan {
        half_unprocessed: 0.3,
        ..FaultPlan::mixed(38, 0.05, Duration::from_millis(3))
    };
    let proxy = FaultProxy::start(&testkit::dynamodb(), plan).await;
    let clean = dynamo().await;
    let faulted = dynamo_store_through(&proxy, "roster-faults").await;
    let stores = (&clean, &faulted);
    tenant(&clean, "d1").await;
    tenant(&faulted, "d1").await;
    let bench = Bench::new();
    let mut runs = Vec::new();

    let district = District::new(200, 8);
    let (first, faulted_first) = sync_both(stores, &bench, &district, RunStatus::Applied).await;
    assert_eq!(faulted_first.items_written, first.items_written);
    same_records(&clean, &faulted, "first load").await;
    runs.push(faulted_first);

    // 1% change: 2 of 200 students renamed.
    let mut changed = district.clone();
    changed.students[0].given = "Renamed0".into();
    changed.students[100].given = "Renamed100".into();
    let (_, faulted_change) = sync_both(stores, &bench, &changed, RunStatus::Applied).await;
    assert_eq!(faulted_change.items_written, 2);
    same_records(&clean, &faulted, "1% change").await;
    runs.push(faulted_change);

    // 60 of 209 users gone: held, then approved.
    let mut truncated = changed.clone();
    truncated.students.truncate(140);
    let (held, faulted_held) = sync_both(stores, &bench, &truncated, RunStatus::Held).await;
    same_records(&clean, &faulted, "held").await;
    let approved = approve(&clean, &bench, &held).await;
    let faulted_approved = approve(&faulted, &bench, &faulted_held).await;
    assert_eq!(faulted_approved.items_written, approved.items_written);
    same_records(&clean, &faulted, "approval").await;
    runs.push(faulted_approved.clone());

    // The approved run reverted: its archives undone.
    revert(&clean, &bench, &approved).await;
    let faulted_revert = revert(&faulted, &bench, &faulted_approved).await;
    assert_eq!(faulted_revert.items_written, approved.items_written);
    same_records(&clean, &faulted, "revert").await;
    runs.push(faulted_revert);

    // A run killed after 40 writes, then run again.
    let mut next = changed.clone();
    for s in next.students.iter_mut().take(120) {
        s.given.push_str("-y");
    }
    let t = clean.get_tenant("d1").await.unwrap().unwrap();
    let clean_next = sync(&clean, &bench, &t, &next, None).await;
    assert_eq!(clean_next.items_written, 120, "{}", clean_next.message);
    let faulted = Arc::new(faulted);
    let killer = Faulty::new(faulted.clone(), 40);
    let path = bench.package(&next);
    let mut engine = Engine::new(&killer, &bench.artifacts);
    engine.options.chunk = 20;
    let killed = engine
        .sync_package(&t, &path, source(&path), Delivered::now(None))
        .await;
    assert!(killed.is_err(), "the run is killed halfway");
    let again = sync(faulted.as_ref(), &bench, &t, &next, None).await;
    assert_eq!(again.status, RunStatus::Applied, "{}", again.message);
    assert_eq!(again.items_written, 120 - 40, "only what was left");
    same_records(&clean, &faulted, "killed run, run again").await;
    runs.push(again);

    // Without the proxy, a re-sync of the faulted table finds nothing to write.
    let direct = DynamoStore::new(
        testkit::dynamodb_client(&testkit::dynamodb()),
        faulted.table(),
    );
    let resync = sync(&direct, &bench, &t, &next, None).await;
    assert_eq!(resync.items_written, 0, "{:?}", resync.counts);
    assert_eq!(counts(&resync, EntityKind::Users).unchanged, 209);

    // Every kind of fault happened, and each was retried at most once: the
    // SDK's retries and the store's re-sends together are the faults, less
    // the few whose caller had stopped waiting (`has_records` stops at the
    // first partition holding a record; a run's lease keeper stops with it).
    let injected = proxy.injected();
    assert!(
        injected.throttled > 0
            && injected.server_errors > 0
            && injected.half_unprocessed > 0
            && injected.lost_answers > 0,
        "{injected:?}"
    );
    let counted = faulted.usage().expect("DynamoDB counts").retries;
    let faults = injected.faults();
    assert!(
        counted <= faults && counted >= faults - faults / 20,
        "{counted} retries for {injected:?}"
    );
    for run in &runs {
        let stored = faulted.get_run(&run.run_id).await.unwrap().unwrap();
        assert_eq!(stored.store_usage, run.store_usage, "kept on the record");
        let usage = run.store_usage.unwrap();
        assert!(
            usage.retries <= usage.requests / 2,
            "bounded: {usage:?} ({})",
            run.source.kind
        );
    }
    let recorded: u64 = runs.iter().map(retries).sum();
    println!(
        "{injected:?}; {counted} retries counted by the store, {recorded} on the run records: {:?}",
        runs.iter().map(retries).collect::<Vec<_>>()
    );
    assert!(recorded > 0, "the run records count the retries");
    assert_eq!(retries(&resync), 0, "no faults, no retries");
}
