//! A district whose API is OneRoster 1.2 (OAuth 2 client credentials with
//! the 1.2 scopes), pulled by the function onto DynamoDB Local: users carry
//! their roles, the scopes follow the tenant's demographics, a re-pull
//! writes nothing.

use crate::common::*;
use crate::lambda::{deadline, event};
use oneroster::{EntityKind, OneRosterVersion};
use oneroster_pull::{PullConfig, Puller, RequestedMode};
use oneroster_rest::version::{SCOPE_DEMOGRAPHICS, SCOPE_ROSTER, SCOPE_ROSTER_CORE};
use roster::roles::*;
use roster::{ApiSettings, Connection, RunStatus, TenantConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1p2_district_is_pulled_with_its_scopes_and_a_re_pull_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        &testkit::v1p2::package(dir.path()),
        "oauth2",
        "client-1",
        "cc-secret",
    );
    let secrets = secrets_client();
    let secret_name = format!("roster/tenants/{}", unique("d12"));
    let secret = format!(
        r#"{{"auth":"oauth2","token_url":"{}/token","client_id":"client-1","client_secret":"cc-secret"}}"#,
        server.url
    );
    secrets
        .create_secret()
        .name(&secret_name)
        .secret_string(secret)
        .send()
        .await
        .expect("secret on moto");
    let store = dynamo_store().await;
    let mut tenant = TenantConfig::new("d1").unwrap();
    tenant.connections = vec![Connection::Api];
    tenant.demographics = true;
    tenant.api = Some(ApiSettings {
        url: server.url.clone(),
        oneroster_version: Some(OneRosterVersion::V1p2),
        secret_name,
        page_size: 2,
        full_every_days: 7,
    });
    store.put_tenant(&tenant).await.unwrap();
    let puller = Puller {
        store,
        secrets,
        config: PullConfig::default(),
        scratch: dir.path().join("scratch"),
        secret_prefix: Some("roster/tenants/".into()),
        continuations: None,
        notices: None,
        run_files: None,
    };

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
    for secret in testkit::v1p2::SECRETS {
        assert!(!text.contains(secret));
    }

    for mode in [RequestedMode::Full, RequestedMode::Delta] {
        let again = puller.handle(event(mode), deadline()).await.unwrap();
        assert_eq!(again.status, RunStatus::Applied, "{}", again.message);
        assert_eq!(again.items_written, 0, "{mode:?}: {}", again.message);
    }
}
