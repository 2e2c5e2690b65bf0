//! The pull function end to end: tenant config and runs in DynamoDB Local,
//! the credentials in Secrets Manager (moto), the district's API served by the
//! local OneRoster server (oauthlib-verified signatures).

use crate::common::*;
use oneroster::EntityKind;
use oneroster_pull::{PullConfig, PullEvent, Puller, RequestedMode};
use roster::roles::*;
use roster::{Connection, RunStatus};
use roster_dynamodb::DynamoStore;
use std::time::{Duration, Instant};

/// The district's credentials as the server knows them, and a stale copy.
pub const GOOD_SECRET: &str = r#"{"auth":"oauth1","key":"district-key","secret":"the-secret"}"#;
const STALE_SECRET: &str = r#"{"auth":"oauth1","key":"district-key","secret":"stale-secret"}"#;

pub async fn setup(
    students: u32,
    secret_json: &str,
    server_secret: &str,
) -> (Puller<DynamoStore>, Server, tempfile::TempDir, String) {
    setup_with(students, secret_json, server_secret, |_| {}).await
}

/// [`setup`], the district's package edited by `edit` before it is served.
async fn setup_with(
    students: u32,
    secret_json: &str,
    server_secret: &str,
    edit: impl FnOnce(&std::path::Path),
) -> (Puller<DynamoStore>, Server, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let package = district(dir.path(), students);
    edit(&package);
    let server = start(&package, "oauth1", "district-key", server_secret);
    let scratch = dir.path().join("scratch");
    let (puller, secret_name) = puller_for(&server.url, secret_json, scratch, |_| {}).await;
    (puller, server, dir, secret_name)
}

pub fn event(mode: RequestedMode) -> PullEvent {
    PullEvent {
        tenant: "d1".into(),
        mode,
        continuation: 0,
    }
}

pub fn deadline() -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(600))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_pull_applies_a_full_then_a_delta() {
    let (puller, _server, _dir, _) = setup(
        80,
        r#"{"auth":"oauth1","key":"district-key","secret":"the-secret"}"#,
        "the-secret",
    )
    .await;
    let first = puller
        .handle(event(RequestedMode::Auto), deadline())
        .await
        .unwrap();
    assert_eq!(first.status, RunStatus::Applied, "{}", first.message);
    assert_eq!(first.source.kind, "api");
    assert!(first.items_written > 500);
    assert!(puller
        .store
        .get_entity("d1", EntityKind::Users, "stu-000001")
        .await
        .unwrap()
        .is_some());
    let state = puller.store.get_state("d1").await.unwrap();
    assert!(state.last_full_pull_at.is_some() && state.last_pull_started_at.is_some());

    // Next time, by the cadence: a delta (the filter is signed and accepted), nothing new.
    let second = puller
        .handle(event(RequestedMode::Auto), deadline())
        .await
        .unwrap();
    assert_eq!(second.status, RunStatus::Applied, "{}", second.message);
    assert_eq!(second.items_written, 0);
    assert!(
        second.counts.values().all(|c| c.archived == 0),
        "a delta never archives absent records"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_pull_keeps_its_before_images_in_s3_for_revert() {
    let (mut puller, _server, dir, _) = setup(20, GOOD_SECRET, "the-secret").await;
    let (s3, bucket) = with_run_files(&mut puller).await;
    let run = puller
        .handle(event(RequestedMode::Full), deadline())
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    let key = format!("processed/d1/{}/before.jsonl.gz", run.run_id);
    let expected = format!("s3://{bucket}/{key}");
    assert_eq!(run.before_ref.as_deref(), Some(expected.as_str()));
    let stored = puller.store.get_run(&run.run_id).await.unwrap().unwrap();
    assert_eq!(stored.before_ref.as_deref(), Some(expected.as_str()));
    assert_eq!(
        testkit::s3_tags(&bucket, &key).await,
        vec![("roster-file".to_string(), "before-images".to_string())]
    );
    // The images are the run's: one per record it wrote.
    let body = s3
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let local = dir.path().join("before.jsonl.gz");
    std::fs::write(&local, body.body.collect().await.unwrap().into_bytes()).unwrap();
    let images = roster::before::read_images(&local).unwrap().count();
    assert_eq!(images as u64, run.items_written);
    assert!(
        !dir.path()
            .join("scratch/runs/d1")
            .join(&run.run_id)
            .exists(),
        "the local copy is gone with /tmp's other files"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_credentials_fail_the_run_clearly_and_apply_nothing() {
    let (puller, _server, _dir, _) = setup(
        20,
        r#"{"auth":"oauth1","key":"district-key","secret":"stale-secret"}"#,
        "the-secret",
    )
    .await;
    let run = puller
        .handle(event(RequestedMode::Full), deadline())
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(
        run.message.contains("credentials rejected"),
        "{}",
        run.message
    );
    assert!(!run.message.contains("stale-secret"));
    assert!(puller
        .store
        .get_entity("d1", EntityKind::Users, "stu-000001")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        puller
            .store
            .get_run(&run.run_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        RunStatus::Failed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_district_hears_of_a_failed_pull_and_never_its_secret() {
    use testkit::notices::{attribute, notice_topic, received, sns_client, tenant_listener};
    let (mut puller, _server, _dir, _) = setup(20, STALE_SECRET, "the-secret").await;
    let topic = notice_topic().await;
    puller.notices = Some(cloud::sns::Topic::new(sns_client(), topic.clone()));
    let mut tenant = puller.store.get_tenant("d1").await.unwrap().unwrap();
    tenant.notify_emails = vec!["data@d1.example.org".into()];
    puller.store.put_tenant(&tenant).await.unwrap();
    let d1 = tenant_listener(&topic, "d1").await;
    let other = tenant_listener(&topic, "d2").await;
    let run = puller
        .handle(event(RequestedMode::Full), deadline())
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    let heard = received(&d1).await;
    assert_eq!(heard.len(), 1, "{heard:#?}");
    assert_eq!(attribute(&heard[0], "tenant"), Some("d1"));
    assert_eq!(attribute(&heard[0], "outcome"), Some("failed"));
    let body = heard[0]["Message"].as_str().unwrap();
    assert!(body.contains(&run.run_id), "{body}");
    assert!(
        body.contains("Application Key, Secret or API URL"),
        "{body}"
    );
    for secret in ["stale-secret", "district-key", "the-secret"] {
        assert!(!body.contains(secret), "{body}");
    }
    assert!(received(&other).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incomplete_pull_applies_nothing() {
    // More users than one page (200), so the faulty second page matters.
    let (puller, server, _dir, _) = setup(
        300,
        r#"{"auth":"oauth1","key":"district-key","secret":"s"}"#,
        "s",
    )
    .await;
    control(&server, "/_faults", Some(r#"{"short_page": "users"}"#));
    let run = puller
        .handle(event(RequestedMode::Full), deadline())
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(
        run.message.contains("users is incomplete"),
        "{}",
        run.message
    );
    for kind in EntityKind::ALL {
        assert!(
            puller
                .store
                .load_summaries("d1", kind)
                .await
                .unwrap()
                .is_empty(),
            "{kind} written from a partial pull"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_malformed_secret_is_a_clear_failure() {
    let (puller, _server, _dir, name) = setup(
        10,
        r#"{"auth":"oauth1","key":"k","secret":"SECRET-VALUE"}"#,
        "x",
    )
    .await;
    puller
        .secrets
        .put_secret_value()
        .secret_id(&name)
        .secret_string(r#"{"auth":"oauth1","key":"k","secret":SECRET-VALUE}"#)
        .send()
        .await
        .unwrap();
    let run = puller
        .handle(event(RequestedMode::Full), deadline())
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(
        run.message.contains(&name) && !run.message.contains("SECRET-VALUE"),
        "{}",
        run.message
    );

    let mut tenant = puller.store.get_tenant("d1").await.unwrap().unwrap();
    tenant.api.as_mut().unwrap().secret_name = "roster/tenants/no-such-secret".into();
    puller.store.put_tenant(&tenant).await.unwrap();
    let run = puller
        .handle(event(RequestedMode::Full), deadline())
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(
        run.message.contains("no-such-secret") && run.message.contains("ResourceNotFound"),
        "{}",
        run.message
    );

    // A secret outside the function's prefix is never requested.
    tenant.api.as_mut().unwrap().secret_name = "prod/database/password".into();
    puller.store.put_tenant(&tenant).await.unwrap();
    let run = puller
        .handle(event(RequestedMode::Full), deadline())
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(
        run.message.contains("not under the prefix"),
        "{}",
        run.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_without_the_api_connection_is_not_pulled() {
    let (puller, _server, _dir, _) = setup(10, r#"{"auth":"bearer","token":"t"}"#, "x").await;
    let mut tenant = puller.store.get_tenant("d1").await.unwrap().unwrap();
    tenant.connections = vec![Connection::Sftp];
    puller.store.put_tenant(&tenant).await.unwrap();
    let run = puller
        .handle(event(RequestedMode::Auto), deadline())
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Rejected);
    assert!(puller
        .handle(
            PullEvent {
                tenant: "ghost".into(),
                mode: RequestedMode::Auto,
                continuation: 0,
            },
            deadline()
        )
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_that_reaches_the_deadline_continues_through_the_queue() {
    let (mut puller, _server, _dir, _) = setup(
        120,
        r#"{"auth":"oauth1","key":"district-key","secret":"s"}"#,
        "s",
    )
    .await;
    // Time enough to pull, none left to apply: the engine stops after its first chunk.
    let (sqs, url) = stopping_after_each_chunk(&mut puller).await;
    let first = puller
        .handle(
            event(RequestedMode::Full),
            Some(Instant::now() + Duration::from_secs(30)),
        )
        .await
        .unwrap();
    assert_eq!(first.status, RunStatus::Continued, "{}", first.message);
    assert_eq!(first.items_written, 100);
    let message = sqs
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap()
        .messages()
        .first()
        .cloned()
        .expect("a continuation message");
    let body: serde_json::Value = serde_json::from_str(message.body().unwrap()).unwrap();
    assert_eq!(body["continuation"], 1);
    assert_eq!(body["mode"], "full");
    let next = serde_json::from_value::<oneroster_pull::PullInvocation>(
        serde_json::json!({"Records": [{"eventSource": "aws:sqs", "body": message.body()}]}),
    )
    .unwrap()
    .requests()
    .remove(0);
    puller.config = PullConfig::default();
    let second = puller.handle(next, deadline()).await.unwrap();
    assert_eq!(second.status, RunStatus::Applied, "{}", second.message);
    let unchanged: u64 = second.counts.values().map(|c| c.unchanged).sum();
    assert_eq!(
        unchanged, first.items_written,
        "what the first invocation wrote is not rewritten"
    );
}

/// A continuation queue on moto for `puller` (its client and URL), and
/// margins under which an invocation given 30 s has time to pull and none
/// to apply: it stops after each chunk (100 writes, or of links).
pub async fn stopping_after_each_chunk(
    puller: &mut Puller<DynamoStore>,
) -> (aws_sdk_sqs::Client, String) {
    let sqs = sqs_client();
    let queue = sqs.create_queue().queue_name(unique("pull-continue"));
    let url = queue.send().await.unwrap().queue_url.unwrap();
    let queue = cloud::continuation::ContinuationQueue::new(sqs.clone(), url.clone());
    puller.continuations = Some(queue);
    puller.config.pull_margin = Duration::from_secs(5);
    puller.config.apply_margin = Duration::from_secs(60);
    puller.config.write_chunk = 100;
    (sqs, url)
}

/// A run-files bucket on moto for `puller`.
pub async fn with_run_files(puller: &mut Puller<DynamoStore>) -> (aws_sdk_s3::Client, String) {
    let s3 = testkit::s3_client();
    let bucket = unique("inbound");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    puller.run_files = Some(oneroster_pull::RunFilesBucket {
        s3: s3.clone(),
        bucket: bucket.clone(),
    });
    (s3, bucket)
}

async fn object_text(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    let body = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("s3://{bucket}/{key}: {e:?}"));
    String::from_utf8(body.body.collect().await.unwrap().into_bytes().to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_demographics_are_left_out_with_a_warning_and_a_notice() {
    use testkit::notices::{notice_topic, received, sns_client, tenant_listener};
    let (mut puller, server, _dir, _) = setup(30, GOOD_SECRET, "the-secret").await;
    let (s3, bucket) = with_run_files(&mut puller).await;
    let topic = notice_topic().await;
    puller.notices = Some(cloud::sns::Topic::new(sns_client(), topic.clone()));
    let mut tenant = puller.store.get_tenant("d1").await.unwrap().unwrap();
    assert!(!tenant.demographics, "opt-in");
    tenant.demographics = true;
    tenant.notify_emails = vec!["data@d1.example.org".into()];
    puller.store.put_tenant(&tenant).await.unwrap();
    let listener = tenant_listener(&topic, "d1").await;
    let first = puller
        .handle(event(RequestedMode::Full), deadline())
        .await
        .unwrap();
    assert_eq!(first.status, RunStatus::Applied, "{}", first.message);
    let stored = first.counts["demographics"].inserted;
    assert!(stored > 0, "{:?}", first.counts);

    for status in [404, 403] {
        control(
            &server,
            "/_faults",
            Some(&format!(r#"{{"decline": {{"demographics": {status}}}}}"#)),
        );
        let run = puller
            .handle(event(RequestedMode::Full), deadline())
            .await
            .unwrap();
        assert_eq!(run.status, RunStatus::Applied, "{status}: {}", run.message);
        assert!(
            run.counts
                .get("demographics")
                .is_none_or(|c| c.archived == 0 && c.inserted == 0),
            "{status}: {:?}",
            run.counts
        );
        let kept = puller
            .store
            .load_summaries("d1", EntityKind::Demographics)
            .await
            .unwrap();
        assert_eq!(kept.len() as u64, stored);
        assert!(kept.iter().all(|s| !s.archived), "absent archives nothing");
        let note = format!("answered HTTP {status} for demographics");
        assert!(
            run.delivery_notes.iter().any(|n| n.contains(&note)),
            "{:?}",
            run.delivery_notes
        );
        let report = object_text(
            &s3,
            &bucket,
            &format!("processed/d1/{}/report.json", run.run_id),
        )
        .await;
        assert!(
            report.contains("collection_declined") && report.contains(&note),
            "{report}"
        );
        let heard = received(&listener).await;
        let body = heard
            .iter()
            .filter_map(|m| m["Message"].as_str())
            .find(|b| b.contains(&run.run_id))
            .unwrap_or_else(|| panic!("no notice of {}: {heard:#?}", run.run_id));
        assert!(body.contains(&note), "{body}");
    }

    // A required collection the API does not serve still fails the pull, clearly.
    control(&server, "/_faults", Some(r#"{"decline": {"users": 404}}"#));
    let run = puller
        .handle(event(RequestedMode::Full), deadline())
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(
        run.message
            .contains("users at offset 0: HTTP 404 Not Found")
            && run.message.contains("nothing applied"),
        "{}",
        run.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_runs_report_and_page_are_kept_in_s3_naming_the_records_sent() {
    let wizard = std::sync::Mutex::new(String::new());
    let (mut puller, _server, dir, _) = setup_with(40, GOOD_SECRET, "the-secret", |package| {
        let path = package.join("users.csv");
        let text = std::fs::read_to_string(&path).unwrap();
        let line = text.lines().find(|l| l.contains(",\"student\",")).unwrap();
        *wizard.lock().unwrap() = line.split(',').next().unwrap().trim_matches('"').into();
        let broken = line.replace(",\"student\",", ",\"wizard\",");
        std::fs::write(&path, text.replace(line, &broken)).unwrap();
    })
    .await;
    let student = wizard.into_inner().unwrap();
    let (s3, bucket) = with_run_files(&mut puller).await;
    let run = puller
        .handle(event(RequestedMode::Full), deadline())
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    let folder = format!("processed/d1/{}/", run.run_id);
    let expected = format!("s3://{bucket}/{folder}report.json");
    assert_eq!(run.report_ref.as_deref(), Some(expected.as_str()));
    let stored = puller.store.get_run(&run.run_id).await.unwrap().unwrap();
    assert_eq!(stored.report_ref.as_deref(), Some(expected.as_str()));
    let error = stored
        .errors
        .iter()
        .find(|e| e.code == "invalid_enum")
        .unwrap_or_else(|| panic!("{:?}", stored.errors));
    let record = error.record.as_ref().expect("the record sent");
    assert_eq!(
        (record.collection.as_str(), record.sourced_id.as_str()),
        ("users", student.as_str())
    );
    assert_eq!(error.line, None);

    let report: serde_json::Value =
        serde_json::from_str(&object_text(&s3, &bucket, &format!("{folder}report.json")).await)
            .unwrap();
    assert_eq!(report["run"]["run_id"], run.run_id.as_str());
    let errors = report["validation"]["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["record"]["sourcedId"] == student.as_str()
                && e["record"]["collection"] == "users"
                && e["record"]["offset"].is_u64()),
        "{errors:#?}"
    );
    assert!(!report.to_string().contains(".csv:"), "{report}");
    let page = object_text(&s3, &bucket, &format!("{folder}report.html")).await;
    assert!(
        page.contains(&student) && page.contains("page at offset"),
        "{page}"
    );
    assert!(!page.contains(".csv:"), "{page}");
    assert!(
        !dir.path()
            .join("scratch/runs/d1")
            .join(&run.run_id)
            .exists(),
        "the local copy is gone with /tmp's other files"
    );
}
