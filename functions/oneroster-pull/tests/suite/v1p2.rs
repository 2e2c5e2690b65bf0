//! A district whose API is OneRoster 1.2 (OAuth 2 client credentials with
//! the 1.2 scopes), pulled by the function onto DynamoDB Local: users carry
//! their roles, the scopes follow the tenant's demographics, a re-pull
//! writes nothing.

use crate::common::*;
use crate::lambda::{deadline, event};
use oneroster::{EntityKind, OneRosterVersion};
use oneroster_pull::RequestedMode;
use oneroster_rest::version::{SCOPE_DEMOGRAPHICS, SCOPE_ROSTER, SCOPE_ROSTER_CORE};
use roster::roles::*;
use roster::RunStatus;
use std::sync::{Arc, Mutex};

#[test]
fn a_1p2_district_is_pulled_with_its_scopes_and_a_re_pull_writes_nothing() {
    // Every thread of the runtime (its blocking ones too, where a sync
    // plans) logs into `logs`.
    let logs = Logs::default();
    let dispatch = logs.dispatch();
    let on_start = dispatch.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || std::mem::forget(tracing::dispatcher::set_default(&on_start)))
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || runtime.block_on(pull_twice(&logs)));
    let logs = logs.text();
    assert!(logs.contains("OAuth 2 scopes requested"), "{logs}");
    testkit::v1p2::assert_no_secret("the logs", &logs);
}

/// The test's pulls: a full one, then a full and a delta that write nothing.
async fn pull_twice(logs: &Logs) {
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        &testkit::v1p2::package(dir.path()),
        "oauth2",
        "client-1",
        "cc-secret",
    );
    let secret = format!(
        r#"{{"auth":"oauth2","token_url":"{}/token","client_id":"client-1","client_secret":"cc-secret"}}"#,
        server.url
    );
    let scratch = dir.path().join("scratch");
    let (puller, _) = puller_for(&server.url, &secret, scratch, |tenant| {
        tenant.demographics = true;
        let api = tenant.api.as_mut().expect("an API tenant");
        api.oneroster_version = Some(OneRosterVersion::V1p2);
        api.page_size = 2;
    })
    .await;

    let first = puller
        .handle(event(RequestedMode::Full), deadline())
        .await
        .unwrap();
    assert_eq!(first.status, RunStatus::Applied, "{}", first.message);
    assert_eq!(
        control(&server, "/_stats", None)["scopes"],
        serde_json::json!([SCOPE_ROSTER_CORE, SCOPE_ROSTER, SCOPE_DEMOGRAPHICS])
    );
    let teacher = puller
        .store
        .get_entity("d1", EntityKind::Users, "t1")
        .await
        .unwrap()
        .expect("the teacher is stored");
    let text = teacher.sis.text().to_string();
    assert!(
        text.contains("\"role\":\"teacher\"") && text.contains("ext:coach"),
        "{text}"
    );
    assert!(puller
        .store
        .get_entity("d1", EntityKind::Demographics, "st1")
        .await
        .unwrap()
        .is_some());
    // The server sends each user's `password` and `userProfiles[].credentials`:
    // no stored record, run record or log line holds them.
    for id in ["adm1", "st1", "t1"] {
        let user = puller.store.get_entity("d1", EntityKind::Users, id).await;
        let user = user.unwrap().expect("an imported user");
        testkit::v1p2::assert_no_secret(&format!("user {id}"), &format!("{user:?}"));
    }
    let stored = puller.store.get_run(&first.run_id).await.unwrap().unwrap();
    testkit::v1p2::assert_no_secret("the run record", &serde_json::to_string(&stored).unwrap());

    for mode in [RequestedMode::Full, RequestedMode::Delta] {
        let again = puller.handle(event(mode), deadline()).await.unwrap();
        assert_eq!(again.status, RunStatus::Applied, "{}", again.message);
        assert_eq!(again.items_written, 0, "{mode:?}: {}", again.message);
    }
    assert!(!logs.text().is_empty(), "the pulls' logs are captured");
}

/// The log lines (JSON, debug and up) of the threads that use [`Logs::dispatch`].
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn dispatch(&self) -> tracing::Dispatch {
        let logs = self.clone();
        tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .json()
                .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
                .with_writer(move || logs.clone())
                .finish(),
        )
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
