//! A re-key a pull stops part way, carried on by later invocations, each in
//! a container of its own: the pairs the tenant's state names for them are
//! in the run-files bucket, not in the `/tmp` of the invocation that wrote
//! them.

use crate::common::*;
use crate::lambda::{
    deadline, event, setup, stopping_after_each_chunk, with_run_files, GOOD_SECRET,
};
use oneroster::EntityKind;
use oneroster_pull::PullInvocation;
use roster::roles::*;
use roster::store::ArchiveReason;
use roster::RunStatus;
use std::time::{Duration, Instant};

/// A copy of the package `from` as `to`, every student under a new
/// sourcedId (`stu-` becomes `new-`), identifiers and state ids kept.
fn rekeyed_copy(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            to.join(path.file_name().unwrap()),
            text.replace("stu-", "new-"),
        )
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rekey_a_pull_stops_part_way_carries_on_in_another_container() {
    let (mut puller, _server, dir, _) = setup(60, GOOD_SECRET, "the-secret").await;
    let (_, bucket) = with_run_files(&mut puller).await;
    let first = puller.handle(event(oneroster_pull::RequestedMode::Full), deadline());
    let first = first.await.unwrap();
    assert_eq!(first.status, RunStatus::Applied, "{}", first.message);

    // The district's SIS gives every student a new sourcedId; its API is
    // now served from that roster. No person is needed to apply it.
    let rekeyed = dir.path().join("rekeyed");
    rekeyed_copy(&dir.path().join("district"), &rekeyed);
    let server = start(&rekeyed, "oauth1", "district-key", "the-secret");
    let mut tenant = puller.store.get_tenant("d1").await.unwrap().unwrap();
    tenant.api.as_mut().unwrap().url = server.url.clone();
    tenant.hold = Some(roster::tenant::HoldThresholds {
        max_archive_percent: 100.0,
        max_school_archive_percent: 100.0,
        ..Default::default()
    });
    puller.store.put_tenant(&tenant).await.unwrap();
    // Time enough to pull, none left to apply: each invocation stops after
    // a chunk (of links, or of writes).
    let (sqs, queue) = stopping_after_each_chunk(&mut puller).await;

    let (mut request, mut stops, mut runs) =
        (event(oneroster_pull::RequestedMode::Full), 0, vec![]);
    let last = loop {
        // Each invocation in a container of its own: an empty /tmp.
        puller.scratch = dir.path().join(format!("container-{stops}"));
        let deadline = Some(Instant::now() + Duration::from_secs(30));
        let run = puller.handle(request, deadline).await.unwrap();
        runs.push(run.run_id.clone());
        if run.status != RunStatus::Continued {
            break run;
        }
        stops += 1;
        let state = puller.store.get_state("d1").await.unwrap();
        let named = state.rekey_in_progress.expect("the re-key is named");
        assert!(
            named.starts_with(&format!("s3://{bucket}/processed/d1/")),
            "the pairs are in S3, not {named}"
        );
        request = next_continuation(&sqs, &queue).await;
        assert!(stops < 100, "the re-key never finished");
    };
    assert_eq!(last.status, RunStatus::Applied, "{}", last.message);
    assert!(stops >= 2, "stopped {stops} times: linking, then writing");
    for run_id in &runs {
        let run = puller.store.get_run(run_id).await.unwrap().unwrap();
        let lost = run.warnings.iter().find(|w| w.contains("stopped part way"));
        assert_eq!(lost, None, "run {run_id}");
    }
    for n in 1..=60 {
        let (old, new) = (format!("stu-{n:06}"), format!("new-{n:06}"));
        let kind = EntityKind::Users;
        let old_e = puller.store.get_entity("d1", kind, &old).await.unwrap();
        let old_e = old_e.unwrap();
        let reason = old_e.archive.and_then(|a| a.reason);
        assert_eq!(reason, Some(ArchiveReason::Rekeyed), "{old}");
        assert_eq!(old_e.rekey.rekeyed_to.as_deref(), Some(new.as_str()));
        let new_e = puller.store.get_entity("d1", kind, &new).await.unwrap();
        assert_eq!(new_e.unwrap().first_seen_at, old_e.first_seen_at, "{new}");
    }
    let state = puller.store.get_state("d1").await.unwrap();
    assert_eq!(state.rekey_in_progress, None);
}

/// The pull request of the continuation message `queue` holds.
async fn next_continuation(sqs: &aws_sdk_sqs::Client, queue: &str) -> oneroster_pull::PullEvent {
    let received = sqs.receive_message().queue_url(queue).send().await.unwrap();
    let message = received.messages().first().cloned();
    let message = message.expect("a continuation message");
    sqs.delete_message()
        .queue_url(queue)
        .receipt_handle(message.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    let records =
        serde_json::json!({"Records": [{"eventSource": "aws:sqs", "body": message.body()}]});
    let invocation: PullInvocation = serde_json::from_value(records).unwrap();
    invocation.requests().remove(0)
}
