//! csv-ingest end to end through the real handler, against moto (S3, SQS)
//! and DynamoDB Local.

use crate::common::*;
use csv_ingest::ItemOutcome;
use oneroster::EntityKind;
use roster::roles::*;
use roster::RunStatus;
use serde_json::Value;
use std::time::{Duration, Instant};

async fn handle(world: &World, event: Value) -> Result<Vec<ItemOutcome>, csv_ingest::Failure> {
    world
        .ingest
        .handle(
            decode(event).expect("event decodes"),
            Some(Instant::now() + Duration::from_secs(600)),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_upload_is_applied_and_filed_with_its_report() {
    let world = World::new().await;
    world.tenant("d1").await;
    let zip = world.zip_of(&world.district("district", 60));
    let event = world.put_file("inbound/d1/district.zip", &zip).await;
    let out = handle(&world, event).await.unwrap();
    assert_eq!(out[0].outcome, "applied", "{out:?}");
    let run_id = out[0].run_id.clone().unwrap();
    assert!(
        world.keys("inbound/").await.is_empty(),
        "nothing left in inbound/"
    );
    let processed = world.keys("processed/d1/").await;
    assert_eq!(
        processed,
        vec![
            format!("processed/d1/{run_id}/before.jsonl.gz"),
            format!("processed/d1/{run_id}/district.zip"),
            format!("processed/d1/{run_id}/report.html"),
            format!("processed/d1/{run_id}/report.json")
        ],
        "the delivery, its report (JSON and page) and the run's before-images"
    );
    let report = world
        .get_json(&format!("processed/d1/{run_id}/report.json"))
        .await;
    assert_eq!(report["run"]["status"], "applied");
    assert_eq!(report["validation"]["ok"], true);
    let run = world.ingest.store.get_run(&run_id).await.unwrap().unwrap();
    assert_eq!(run.source.kind, "csv");
    assert!(run
        .source
        .reference
        .starts_with(&format!("s3://{}/inbound/d1/district.zip", world.bucket)));
    assert!(
        run.generated_at.is_some(),
        "the object's time is the generation time"
    );
    assert!(world
        .ingest
        .store
        .get_entity("d1", EntityKind::Users, "stu-000001")
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        world.scratch_left(),
        Vec::<String>::new(),
        "nothing in /tmp"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_event_is_processed_once() {
    let world = World::new().await;
    world.tenant("d1").await;
    let zip = world.zip_of(&world.district("district", 30));
    let event = world.put_file("inbound/d1/export.zip", &zip).await;
    let first = handle(&world, event.clone()).await.unwrap();
    let second = handle(&world, event).await.unwrap();
    assert_eq!(first[0].outcome, "applied");
    assert_eq!(second[0].outcome, "duplicate");
    assert_eq!(
        world
            .ingest
            .store
            .list_runs(Some("d1"), 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // A re-upload with new content is a new delivery and a new run.
    let event = world.put_file("inbound/d1/export.zip", &zip).await;
    let third = handle(&world, event).await.unwrap();
    assert_eq!(third[0].outcome, "applied");
    assert_eq!(
        world
            .ingest
            .store
            .list_runs(Some("d1"), 10)
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_with_spaces_and_plus_signs_are_decoded() {
    let world = World::new().await;
    world.tenant("d1").await;
    let zip = world.zip_of(&world.district("district", 20));
    let key = "inbound/d1/Roster Export+2026 (1).zip";
    let event = world.put_file(key, &zip).await;
    assert!(
        event
            .to_string()
            .contains("Roster+Export%2B2026+%281%29.zip"),
        "encoded as S3 does: {event}"
    );
    let out = handle(&world, event).await.unwrap();
    assert_eq!(out[0].outcome, "applied", "{out:?}");
    assert_eq!(out[0].key, key);
    assert!(out[0]
        .moved_to
        .as_deref()
        .unwrap()
        .ends_with("/Roster Export+2026 (1).zip"));
    assert!(world.keys("inbound/").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_or_disabled_tenant_is_moved_aside_never_imported() {
    let world = World::new().await;
    let zip = world.zip_of(&world.district("district", 20));
    let event = world.put_file("inbound/nobody/export.zip", &zip).await;
    let out = handle(&world, event).await.unwrap();
    assert_eq!(out[0].outcome, "moved_aside");
    let rejected = world.keys("rejected/nobody/").await;
    assert_eq!(
        rejected.len(),
        3,
        "the upload, report.json, report.html: {rejected:?}"
    );
    assert!(rejected.iter().any(|k| k.ends_with("report.html")));
    let report_key = rejected
        .iter()
        .find(|k| k.ends_with("report.json"))
        .unwrap();
    assert!(world.get_json(report_key).await["reason"]
        .as_str()
        .unwrap()
        .contains("not configured"));
    assert!(world
        .ingest
        .store
        .get_entity("nobody", EntityKind::Users, "stu-000001")
        .await
        .unwrap()
        .is_none());

    let mut t = world.tenant("sleepy").await;
    t.enabled = false;
    world.ingest.store.put_tenant(&t).await.unwrap();
    let event = world.put_file("inbound/sleepy/export.zip", &zip).await;
    let out = handle(&world, event).await.unwrap();
    assert_eq!(out[0].outcome, "moved_aside");
    let api_only = roster::TenantConfig {
        connections: vec![roster::Connection::Api],
        ..world.tenant("apionly").await
    };
    world.ingest.store.put_tenant(&api_only).await.unwrap();
    let event = world.put_file("inbound/apionly/export.zip", &zip).await;
    assert_eq!(
        handle(&world, event).await.unwrap()[0].outcome,
        "moved_aside"
    );
    assert!(world.keys("inbound/").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_package_is_moved_to_rejected_with_a_report_naming_the_line() {
    let world = World::new().await;
    world.tenant("d1").await;
    let folder = world.district("district", 20);
    let users = std::fs::read(folder.join("users.csv")).unwrap();
    let mut broken = users.clone();
    let at = broken.iter().position(|b| *b == b'\n').unwrap() + 40;
    broken[at] = 0xFF; // not UTF-8, on line 2
    std::fs::write(folder.join("users.csv"), broken).unwrap();
    let zip = world.zip_of(&folder);
    let event = world.put_file("inbound/d1/bad.zip", &zip).await;
    let out = handle(&world, event)
        .await
        .expect("a bad package is not a failed invocation");
    assert_eq!(out[0].outcome, "rejected");
    let run_id = out[0].run_id.clone().unwrap();
    let report = world
        .get_json(&format!("rejected/d1/{run_id}/report.json"))
        .await;
    let error = &report["validation"]["errors"][0];
    assert_eq!(error["code"], "not_utf8");
    // Beside it, the page a district's data manager reads.
    let page = world
        .ingest
        .s3
        .get_object()
        .bucket(&world.bucket)
        .key(format!("rejected/d1/{run_id}/report.html"))
        .send()
        .await
        .expect("report.html beside report.json");
    assert_eq!(page.content_type(), Some("text/html; charset=utf-8"));
    let page = String::from_utf8(page.body.collect().await.unwrap().into_bytes().to_vec()).unwrap();
    assert!(
        page.contains("<main>") && page.contains("users.csv"),
        "{page}"
    );
    assert!(
        page.contains(oneroster::explain::explain("not_utf8").unwrap()),
        "{page}"
    );
    assert_eq!(error["file"], "users");
    assert_eq!(error["line"], 2);
    assert!(
        world
            .keys(&format!("rejected/d1/{run_id}/bad.zip"))
            .await
            .len()
            == 1
    );
    assert!(
        world
            .ingest
            .store
            .get_entity("d1", EntityKind::Users, "stu-000001")
            .await
            .unwrap()
            .is_none(),
        "nothing applied"
    );
    assert_eq!(
        world.scratch_left(),
        Vec::<String>::new(),
        "nothing in /tmp"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loose_files_in_any_order_and_racing_events_make_exactly_one_run() {
    let world = World::new().await;
    world.tenant("d1").await;
    let folder = world.district("loose", 40);
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.reverse(); // users, orgs, manifest, ... — manifest is not last
    let mut events = Vec::new();
    // The first files arrive alone: the set is incomplete, nothing runs.
    let first = world
        .put_file(
            &format!(
                "inbound/d1/2026-11-28/{}",
                files[0].file_name().unwrap().to_str().unwrap()
            ),
            &files[0],
        )
        .await;
    assert_eq!(
        handle(&world, first.clone()).await.unwrap()[0].outcome,
        "waiting"
    );
    events.push(first);
    for f in &files[1..] {
        events.push(
            world
                .put_file(
                    &format!(
                        "inbound/d1/2026-11-28/{}",
                        f.file_name().unwrap().to_str().unwrap()
                    ),
                    f,
                )
                .await,
        );
    }
    // Every event fires at once (S3 may deliver them in any order, concurrently).
    let world = std::sync::Arc::new(world);
    let tasks: Vec<_> = events
        .into_iter()
        .map(|e| {
            let w = world.clone();
            tokio::spawn(async move { handle(&w, e).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.extend(t.await.unwrap());
    }
    let applied: Vec<_> = outcomes.iter().filter(|o| o.outcome == "applied").collect();
    assert_eq!(applied.len(), 1, "exactly one run: {outcomes:?}");
    assert_eq!(
        world
            .ingest
            .store
            .list_runs(Some("d1"), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let run_id = applied[0].run_id.clone().unwrap();
    let processed = world.keys(&format!("processed/d1/{run_id}/")).await;
    assert_eq!(
        processed.len(),
        files.len() + 3,
        "every file, the report (JSON and page) and the before-images: {processed:?}"
    );
    assert!(world.keys("inbound/").await.is_empty());
    assert_eq!(
        world.scratch_left(),
        Vec::<String>::new(),
        "nothing in /tmp"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incomplete_set_is_moved_aside_by_the_sweep_after_the_window() {
    let mut world = World::new().await;
    world.tenant("d1").await;
    let folder = world.district("partial", 10);
    let event = world
        .put_file("inbound/d1/drop/manifest.csv", &folder.join("manifest.csv"))
        .await;
    assert_eq!(handle(&world, event).await.unwrap()[0].outcome, "waiting");
    let event = world
        .put_file("inbound/d1/drop/users.csv", &folder.join("users.csv"))
        .await;
    assert_eq!(handle(&world, event).await.unwrap()[0].outcome, "waiting");
    // Within the window the sweep leaves it alone.
    assert!(world
        .ingest
        .sweep(chrono::Utc::now())
        .await
        .unwrap()
        .is_empty());
    world.ingest.config.incomplete_window = Duration::from_secs(60);
    let swept = world
        .ingest
        .sweep(chrono::Utc::now() + chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(swept.len(), 1);
    assert!(world.keys("inbound/").await.is_empty());
    let run = world
        .ingest
        .store
        .list_runs(Some("d1"), 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(run.status, RunStatus::Rejected);
    assert!(run.message.contains("incomplete"), "{}", run.message);
    assert_eq!(
        world
            .keys(&format!("rejected/d1/{}/", run.run_id))
            .await
            .len(),
        4,
        "the files, report.json and report.html"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_and_stale_packages_are_reported_not_retried() {
    let world = World::new().await;
    world.tenant("d1").await;
    let folder = world.district("district", 300);
    let zip = world.zip_of(&folder);
    let event = world.put_file("inbound/d1/full.zip", &zip).await;
    let applied = handle(&world, event).await.unwrap();
    assert_eq!(applied[0].outcome, "applied");
    // The applied run's before-images are kept beside its report, tagged for expiry.
    let first = applied[0].run_id.clone().unwrap();
    let run = world.ingest.store.get_run(&first).await.unwrap().unwrap();
    let key = format!("processed/d1/{first}/before.jsonl.gz");
    assert_eq!(
        run.before_ref.as_deref(),
        Some(format!("s3://{}/{key}", world.bucket).as_str())
    );
    assert_eq!(
        testkit::s3_tags(&world.bucket, &key).await,
        vec![("roster-file".to_string(), "before-images".to_string())]
    );

    let users = std::fs::read_to_string(folder.join("users.csv")).unwrap();
    let lines: Vec<&str> = users.lines().collect();
    std::fs::write(
        folder.join("users.csv"),
        lines[..lines.len() / 2].join("\n") + "\n",
    )
    .unwrap();
    let truncated = world.zip_of(&folder);
    let event = world.put_file("inbound/d1/truncated.zip", &truncated).await;
    let out = handle(&world, event).await.unwrap();
    assert_eq!(out[0].outcome, "held");
    let run_id = out[0].run_id.clone().unwrap();
    let files = world.keys(&format!("processed/d1/{run_id}/")).await;
    assert!(
        files.iter().any(|k| k.ends_with("plan.jsonl")),
        "the held plan is kept: {files:?}"
    );
    let run = world.ingest.store.get_run(&run_id).await.unwrap().unwrap();
    assert!(run.plan_ref.unwrap().starts_with("s3://"));

    // A package generated before the last applied bulk is stale. Move the
    // state ahead of the next upload (within the clocks' skew: a stored time
    // further ahead would not be believed).
    let mut state = world.ingest.store.get_state("d1").await.unwrap();
    state.last_bulk_generated_at = Some(chrono::Utc::now() + chrono::Duration::minutes(2));
    put_state_as_a_run(&world.ingest.store, "d1", &state).await;
    let event = world.put_file("inbound/d1/old.zip", &zip).await;
    let out = handle(&world, event).await.unwrap();
    assert_eq!(out[0].outcome, "stale");
    assert_eq!(
        world.scratch_left(),
        Vec::<String>::new(),
        "nothing in /tmp"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_fails_the_invocation_and_leaves_the_object_in_place() {
    // DynamoDB on a closed port: every store call fails as retryable.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}")
    };
    let world = World::with_dynamodb(&dead).await;
    let zip = world.zip_of(&world.district("district", 20));
    let event = world.put_file("inbound/d1/export.zip", &zip).await;
    let error = handle(&world, event)
        .await
        .expect_err("the invocation fails");
    assert!(error.is_retryable(), "{error}");
    assert_eq!(
        world.keys("inbound/").await,
        vec!["inbound/d1/export.zip".to_string()],
        "left for the retry"
    );
    assert!(world.keys("processed/").await.is_empty() && world.keys("rejected/").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_run_continues_in_a_fresh_invocation_through_the_queue() {
    let world = World::new().await;
    world.tenant("d1").await;
    let zip = world.zip_of(&world.district("district", 200));
    let event = world.put_file("inbound/d1/big.zip", &zip).await;
    // The deadline has already come: the run stops after its first chunk.
    let out = world
        .ingest
        .handle(decode(event).unwrap(), Some(Instant::now()))
        .await
        .unwrap();
    assert_eq!(out[0].outcome, "continued", "{out:?}");
    let first_run = world
        .ingest
        .store
        .get_run(out[0].run_id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first_run.status, RunStatus::Continued);
    assert!(first_run.items_written > 0);
    assert_eq!(
        world.keys("inbound/").await.len(),
        1,
        "the object waits for the continuation"
    );
    assert_eq!(
        world.scratch_left(),
        Vec::<String>::new(),
        "the before-images went to S3, not left in /tmp"
    );

    let sqs_event = world.next_continuation().await;
    let out = handle(&world, sqs_event).await.unwrap();
    assert_eq!(out[0].outcome, "applied", "{out:?}");
    let second_run = world
        .ingest
        .store
        .get_run(out[0].run_id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    let inserted: u64 = second_run.counts.values().map(|c| c.inserted).sum();
    let unchanged: u64 = second_run.counts.values().map(|c| c.unchanged).sum();
    assert_eq!(
        unchanged, first_run.items_written,
        "applied work is not redone"
    );
    assert_eq!(second_run.items_written, inserted);
    assert!(world.keys("inbound/").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_loose_set_uploaded_again_the_next_day_is_a_new_run() {
    let world = World::new().await;
    world.tenant("d1").await;
    let folder = world.district("daily", 30);
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for day in 0..2 {
        let mut outcomes = Vec::new();
        for f in &files {
            // S3 times have one-second resolution: make the second upload a later one.
            if day == 1 && f == &files[0] {
                tokio::time::sleep(Duration::from_millis(1100)).await;
            }
            let key = format!("inbound/d1/{}", f.file_name().unwrap().to_str().unwrap());
            let event = world.put_file(&key, f).await;
            outcomes.extend(handle(&world, event).await.unwrap());
        }
        let applied: Vec<_> = outcomes.iter().filter(|o| o.outcome == "applied").collect();
        assert_eq!(applied.len(), 1, "day {day}: {outcomes:?}");
        assert!(
            world.keys("inbound/").await.is_empty(),
            "day {day}: the set was filed"
        );
    }
    assert_eq!(
        world
            .ingest
            .store
            .list_runs(Some("d1"), 10)
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_counts_tenants_overdue_for_a_sync() {
    let world = World::new().await;
    let now = chrono::Utc::now();
    for (tenant, days_ago) in [("fresh", 1), ("stale", 5), ("new", -1)] {
        world.tenant(tenant).await;
        if days_ago >= 0 {
            let state = roster::TenantState {
                last_applied_at: Some(now - chrono::Duration::days(days_ago)),
                ..Default::default()
            };
            put_state_as_a_run(&world.ingest.store, tenant, &state).await;
        }
    }
    let overdue = world.ingest.report_overdue_tenants(now).await.unwrap();
    assert_eq!(
        overdue,
        ["stale"],
        "a tenant that never synced is not overdue"
    );
    // The sweep reports them too (and succeeds).
    world.ingest.sweep(now).await.unwrap();
}

/// Writes a tenant's state as a run does: under the tenant's lease.
async fn put_state_as_a_run<S: roster::Store>(
    store: &S,
    tenant: &str,
    state: &roster::TenantState,
) {
    let taken = store
        .acquire_lease(tenant, "test", chrono::Utc::now(), Duration::from_secs(60))
        .await
        .unwrap();
    let roster::LeaseOutcome::Acquired { lease, .. } = taken else {
        panic!("no run holds the lease of {tenant}: {taken:?}");
    };
    store.put_state(tenant, state, &lease).await.unwrap();
    store.release_lease(tenant, &lease).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_over_the_size_limit_is_rejected_unread_and_the_district_told() {
    use testkit::notices::{attribute, notice_topic, received, sns_client, tenant_listener};
    let mut world = World::new().await;
    let topic = notice_topic().await;
    world.ingest.notices = Some(cloud::sns::Topic::new(sns_client(), topic.clone()));
    let mut t = world.tenant("d1").await;
    t.notify_emails = vec!["data@d1.example.org".into()];
    world.ingest.store.put_tenant(&t).await.unwrap();
    let listener = tenant_listener(&topic, "d1").await;
    let zip = world.zip_of(&world.district("district", 20));
    let size = std::fs::metadata(&zip).unwrap().len();
    world.ingest.config.max_delivery_bytes = size - 1;
    // The scratch space is a file: writing anything locally would fail the invocation.
    std::fs::write(&world.ingest.scratch, b"not a folder").unwrap();
    let event = world.put_file("inbound/d1/big.zip", &zip).await;
    let out = handle(&world, event)
        .await
        .expect("a refusal is not a failed invocation");
    assert_eq!(out[0].outcome, "rejected", "{out:?}");
    let run_id = out[0].run_id.clone().unwrap();
    let run = world.ingest.store.get_run(&run_id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Rejected);
    assert!(
        run.message.contains("big.zip is ")
            && run.message.contains(&format!("({size} bytes)"))
            && run.message.contains(&format!("({} bytes)", size - 1))
            && run.message.contains("MAX_DELIVERY_MB"),
        "names the size and the limit: {}",
        run.message
    );
    assert_eq!(
        (run.errors[0].file.as_str(), run.errors[0].code.as_str()),
        ("big.zip", "archive_too_large")
    );
    assert_eq!(
        world.keys(&format!("rejected/d1/{run_id}/")).await,
        ["big.zip", "report.html", "report.json"].map(|f| format!("rejected/d1/{run_id}/{f}"))
    );
    assert_eq!(
        out[0].moved_to.as_deref(),
        Some(format!("rejected/d1/{run_id}/big.zip").as_str())
    );
    assert!(world.keys("inbound/").await.is_empty());
    let heard = received(&listener).await;
    assert_eq!(heard.len(), 1, "{heard:#?}");
    assert_eq!(attribute(&heard[0], "outcome"), Some("rejected"));
    let body = heard[0]["Message"].as_str().unwrap();
    assert!(
        body.contains("big.zip line - column -: archive_too_large"),
        "{body}"
    );

    // At the limit exactly, a delivery is read.
    std::fs::remove_file(&world.ingest.scratch).unwrap();
    world.ingest.config.max_delivery_bytes = size;
    let event = world.put_file("inbound/d1/fits.zip", &zip).await;
    assert_eq!(handle(&world, event).await.unwrap()[0].outcome, "applied");
    assert_eq!(world.scratch_left(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loose_set_over_the_size_limit_is_rejected_unread() {
    let mut world = World::new().await;
    world.tenant("d1").await;
    let folder = world.district("loose", 20);
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    // Each file fits; together they do not.
    world.ingest.config.max_delivery_bytes = total - 1;
    let mut outcomes = Vec::new();
    for f in &files {
        let key = format!(
            "inbound/d1/drop/{}",
            f.file_name().unwrap().to_str().unwrap()
        );
        let event = world.put_file(&key, f).await;
        outcomes.extend(handle(&world, event).await.unwrap());
    }
    let rejected: Vec<_> = outcomes
        .iter()
        .filter(|o| o.outcome == "rejected")
        .collect();
    assert_eq!(rejected.len(), 1, "{outcomes:?}");
    let run_id = rejected[0].run_id.clone().unwrap();
    let run = world.ingest.store.get_run(&run_id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Rejected);
    assert!(
        run.message
            .contains(&format!("the set's {} files", files.len()))
            && run.message.contains(&format!("({total} bytes)"))
            && run.message.contains(&format!("({} bytes)", total - 1)),
        "{}",
        run.message
    );
    assert_eq!(run.errors[0].code, "archive_too_large");
    assert_eq!(
        world.keys(&format!("rejected/d1/{run_id}/")).await.len(),
        files.len() + 2,
        "every file, report.json and report.html"
    );
    assert!(world.keys("inbound/").await.is_empty());
    assert_eq!(world.scratch_left(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_gone_before_its_download_leaves_nothing_behind() {
    let world = World::new().await;
    world.tenant("d1").await;
    let zip = world.zip_of(&world.district("district", 20));
    let event = world.put_file("inbound/d1/gone.zip", &zip).await;
    let version = event["Records"][0]["s3"]["object"]["versionId"]
        .as_str()
        .unwrap()
        .to_string();
    // That version is deleted before the event is handled.
    world
        .ingest
        .s3
        .delete_object()
        .bucket(&world.bucket)
        .key("inbound/d1/gone.zip")
        .version_id(version)
        .send()
        .await
        .unwrap();
    let out = handle(&world, event).await.unwrap();
    assert_eq!(out[0].outcome, "duplicate", "{out:?}");
    assert_eq!(world.scratch_left(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_off_midway_fails_the_invocation_and_leaves_nothing_behind() {
    const BUDGET: usize = 4 * 1024;
    let mut world = World::new().await;
    world.tenant("d1").await;
    let zip = world.zip_of(&world.district("district", 300));
    let size = std::fs::metadata(&zip).unwrap().len();
    assert!(size > 4 * BUDGET as u64, "{size}");
    let event = world.put_file("inbound/d1/cut.zip", &zip).await;
    // S3 through a proxy that drops each connection after 4 KiB.
    world.ingest.s3 = s3_client_via(&cutting_proxy(BUDGET));
    let error = handle(&world, event)
        .await
        .expect_err("a download cut off fails the invocation");
    assert!(error.is_retryable(), "{error}");
    assert!(
        error.to_string().contains("reading s3://"),
        "the download failed: {error}"
    );
    assert_eq!(
        world.scratch_left(),
        Vec::<String>::new(),
        "no partial download left for the next invocation"
    );
    world.ingest.s3 = s3_client();
    assert_eq!(
        world.keys("inbound/").await,
        ["inbound/d1/cut.zip"],
        "left for the retry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leftovers_of_a_killed_process_are_cleared_at_start() {
    let world = World::new().await;
    let left = world.ingest.scratch.join("work-old/runs/d1/r1");
    std::fs::create_dir_all(&left).unwrap();
    std::fs::write(left.join("before.jsonl.gz"), b"personal data").unwrap();
    world.ingest.clear_scratch().unwrap();
    assert!(!world.ingest.scratch.exists());
    world
        .ingest
        .clear_scratch()
        .expect("nothing to clear is fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_is_bounded_by_the_size_checked_before_it() {
    let world = World::new().await;
    world.put("inbound/d1/big.zip", vec![b'x'; 100]).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("big.zip");
    let download = |max| {
        cloud::s3::download(
            &world.ingest.s3,
            &world.bucket,
            "inbound/d1/big.zip",
            None,
            &dest,
            max,
        )
    };
    // Replaced by a larger object since its size was checked: not read whole.
    let failure = download(99).await.expect_err("larger than checked");
    assert!(failure.is_retryable(), "{failure}");
    assert!(
        failure
            .to_string()
            .contains("holds 100 bytes or more, more than the 99 checked"),
        "{failure}"
    );
    let read = download(100).await.unwrap().expect("the object is there");
    assert_eq!(read.bytes, 100);
}

/// A delivery during a pause window is filed and reported, not applied; when
/// the window is over, the sweep delivers the newest one of the window again
/// (once), and that applies. The older one of the window never does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_delivery_of_a_pause_window_is_applied_when_it_ends() {
    let world = World::new().await;
    let mut tenant = world.tenant("d1").await;
    let today = chrono::Utc::now().date_naive();
    let window = format!(
        "{}..{}",
        today - chrono::Duration::days(1),
        today + chrono::Duration::days(1)
    );
    tenant.pause = vec![roster::PauseWindow::parse(&window, "UTC").unwrap()];
    world.ingest.store.put_tenant(&tenant).await.unwrap();
    let deadline = || Some(Instant::now() + Duration::from_secs(600));
    let mut runs = Vec::new();
    for (name, students) in [("older", 20), ("newer", 30)] {
        let zip = world.zip_of(&world.district(name, students));
        let event = world
            .put_file(&format!("inbound/d1/{name}.zip"), &zip)
            .await;
        let out = world
            .ingest
            .handle(decode(event).unwrap(), deadline())
            .await
            .unwrap();
        assert_eq!(out[0].outcome, "paused", "{out:?}");
        runs.push(out[0].run_id.clone().unwrap());
    }
    assert!(world
        .ingest
        .store
        .get_state("d1")
        .await
        .unwrap()
        .last_applied_run
        .is_none());
    let kept = world.keys(&format!("processed/d1/{}/", runs[1])).await;
    assert!(
        kept.iter().any(|k| k.ends_with("newer.zip"))
            && kept.iter().any(|k| k.ends_with("report.html")),
        "{kept:?}"
    );

    // Still paused: nothing is delivered again.
    let now = chrono::Utc::now();
    assert!(world
        .ingest
        .deliver_after_pause(now)
        .await
        .unwrap()
        .is_empty());
    tenant.pause.clear();
    world.ingest.store.put_tenant(&tenant).await.unwrap();
    let again = world.ingest.deliver_after_pause(now).await.unwrap();
    assert_eq!(
        again,
        ["inbound/d1/newer.zip"],
        "the newest of the window, once"
    );
    assert!(
        world
            .ingest
            .deliver_after_pause(now)
            .await
            .unwrap()
            .is_empty(),
        "it waits in inbound/: not copied twice"
    );

    let event = s3_event(&world.bucket, "inbound/d1/newer.zip", None, None);
    let out = world
        .ingest
        .handle(decode(event).unwrap(), deadline())
        .await
        .unwrap();
    assert_eq!(out[0].outcome, "applied", "{out:?}");
    assert_eq!(
        world
            .ingest
            .store
            .load_summaries("d1", EntityKind::Users)
            .await
            .unwrap()
            .iter()
            .filter(|u| u.sourced_id.starts_with("stu-"))
            .count(),
        30
    );
    assert!(
        world
            .ingest
            .deliver_after_pause(now)
            .await
            .unwrap()
            .is_empty(),
        "applied: no longer due"
    );
}

/// The deployment's yearly default window (`DEFAULT_PAUSE_WINDOW`) pauses a
/// tenant without windows of its own; when it has ended, the sweep delivers
/// the paused delivery again, as for a tenant's own window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_paused_by_the_default_window_is_applied_when_it_ends() {
    let mut world = World::new().await;
    // Month-days around today, wide enough for any time zone.
    let today = chrono::Utc::now().date_naive();
    let yearly = |from: i64, to: i64| {
        let md = |d: chrono::NaiveDate| d.format("%m-%d").to_string();
        let text = format!(
            "{}..{}",
            md(today + chrono::Duration::days(from)),
            md(today + chrono::Duration::days(to))
        );
        roster::YearlyWindow::parse(&text).unwrap()
    };
    world.ingest.config.default_pause = Some(yearly(-3, 3));
    world.tenant("d1").await;
    let zip = world.zip_of(&world.district("summer", 20));
    let deadline = Some(Instant::now() + Duration::from_secs(600));
    // A tenant's first load is never paused by the default window.
    let first = world.put_file("inbound/d1/first.zip", &zip).await;
    let out = world
        .ingest
        .handle(decode(first).unwrap(), deadline)
        .await
        .unwrap();
    assert_eq!(out[0].outcome, "applied", "{out:?}");
    let event = world.put_file("inbound/d1/summer.zip", &zip).await;
    let out = world
        .ingest
        .handle(decode(event).unwrap(), deadline)
        .await
        .unwrap();
    assert_eq!(out[0].outcome, "paused", "{out:?}");
    let now = chrono::Utc::now();
    assert!(
        world
            .ingest
            .deliver_after_pause(now)
            .await
            .unwrap()
            .is_empty(),
        "still in the default window"
    );

    // The window (as the deployment now has it) ended days ago.
    world.ingest.config.default_pause = Some(yearly(-20, -3));
    let again = world.ingest.deliver_after_pause(now).await.unwrap();
    assert_eq!(again, ["inbound/d1/summer.zip"]);
    let event = s3_event(&world.bucket, "inbound/d1/summer.zip", None, None);
    let out = world
        .ingest
        .handle(decode(event).unwrap(), deadline)
        .await
        .unwrap();
    assert_eq!(out[0].outcome, "applied", "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rekey_applied_keeps_its_pairs_in_s3_for_a_revert() {
    let world = World::new().await;
    world.tenant("d1").await;
    let folder = world.district("district", 60);
    let event = world
        .put_file("inbound/d1/first.zip", &world.zip_of(&folder))
        .await;
    assert_eq!(handle(&world, event).await.unwrap()[0].outcome, "applied");
    // Two students under new sourcedIds, their identifiers and state ids kept.
    testkit::rekey_in_package(&folder, "stu-000001", "new-000001");
    testkit::rekey_in_package(&folder, "stu-000002", "new-000002");
    let event = world
        .put_file("inbound/d1/rekeyed.zip", &world.zip_of(&folder))
        .await;
    let out = handle(&world, event).await.unwrap();
    assert_eq!(out[0].outcome, "applied", "{out:?}");
    let run_id = out[0].run_id.clone().unwrap();
    let run = world.ingest.store.get_run(&run_id).await.unwrap().unwrap();
    let rekey = run.rekey.expect("the re-key is applied");
    assert_eq!(rekey.applied, Some(2));
    let folder = format!("s3://{}/processed/d1/{run_id}/", world.bucket);
    assert_eq!(
        rekey.applied_ref,
        Some(format!("{folder}rekey-applied.json"))
    );
    assert_eq!(rekey.mapping_ref, Some(format!("{folder}rekey.csv")));
    let keys = world.keys(&format!("processed/d1/{run_id}/")).await;
    for file in ["rekey-applied.json", "rekey.csv"] {
        assert!(
            keys.contains(&format!("processed/d1/{run_id}/{file}")),
            "{keys:?}"
        );
    }
    assert_eq!(
        world.scratch_left(),
        Vec::<String>::new(),
        "nothing in /tmp"
    );
}
