//! A re-key stopped part way and carried on by later invocations, each in
//! a container of its own: the pairs the tenant's state names for them are
//! in S3, not in the `/tmp` of the invocation that wrote them.

use crate::common::*;
use oneroster::EntityKind;
use roster::roles::*;
use roster::store::ArchiveReason;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rekey_stopped_part_way_carries_on_in_another_container() {
    let world = World::new().await;
    // Limits no re-key of a whole school passes without a person: this
    // one is applied as the exact keys pair it.
    let mut tenant = world.tenant("d1").await;
    tenant.hold = Some(roster::tenant::HoldThresholds {
        max_archive_percent: 100.0,
        max_school_archive_percent: 100.0,
        ..Default::default()
    });
    world.ingest.store.put_tenant(&tenant).await.unwrap();
    let folder = world.district("district", 150);
    let first = world
        .put_file("inbound/d1/first.zip", &world.zip_of(&folder))
        .await;
    let out = world
        .ingest
        .handle(decode(first).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(out[0].outcome, "applied", "{out:?}");
    // Every student under a new sourcedId, identifiers and state ids kept:
    // more writes than one chunk of the store's.
    testkit::rekey_in_package(&folder, "stu-", "new-");
    let mut event = world
        .put_file("inbound/d1/rekeyed.zip", &world.zip_of(&folder))
        .await;
    // Each invocation's deadline has already come: it stops after a chunk,
    // and its container's /tmp goes with it.
    let (mut stops, mut runs) = (0, Vec::new());
    let last = loop {
        let out = world
            .ingest
            .handle(decode(event).unwrap(), Some(Instant::now()))
            .await
            .unwrap();
        runs.extend(out[0].run_id.clone());
        if out[0].outcome != "continued" {
            break out;
        }
        stops += 1;
        assert_eq!(world.scratch_left(), Vec::<String>::new(), "stop {stops}");
        let state = world.ingest.store.get_state("d1").await.unwrap();
        let named = state.rekey_in_progress.expect("the re-key is named");
        let key = named
            .strip_prefix(&format!("s3://{}/", world.bucket))
            .unwrap_or_else(|| panic!("the pairs are in S3, not {named}"));
        assert!(world.keys(key).await.contains(&key.to_string()), "{key}");
        event = world.next_continuation().await;
        assert!(stops < 400, "the re-key never finished");
    };
    assert!(
        stops >= 2,
        "stopped {stops} times: once linking, then writing"
    );
    assert_eq!(last[0].outcome, "applied", "{last:?}");
    for run_id in &runs {
        let run = world.ingest.store.get_run(run_id).await.unwrap().unwrap();
        let lost = run.warnings.iter().find(|w| w.contains("stopped part way"));
        assert_eq!(lost, None, "run {run_id}");
    }
    for n in 1..=150 {
        let (old, new) = (format!("stu-{n:06}"), format!("new-{n:06}"));
        let kind = EntityKind::Users;
        let stored = world.ingest.store.get_entity("d1", kind, &old);
        let old_e = stored.await.unwrap().unwrap();
        assert_eq!(
            old_e.archive.and_then(|a| a.reason),
            Some(ArchiveReason::Rekeyed),
            "{kind} {old}"
        );
        assert_eq!(old_e.rekey.rekeyed_to.as_deref(), Some(new.as_str()));
        let stored = world.ingest.store.get_entity("d1", kind, &new);
        let new_e = stored.await.unwrap().unwrap();
        assert_eq!(new_e.first_seen_at, old_e.first_seen_at, "{kind} {new}");
    }
    let state = world.ingest.store.get_state("d1").await.unwrap();
    assert_eq!(state.rekey_in_progress, None);
}
