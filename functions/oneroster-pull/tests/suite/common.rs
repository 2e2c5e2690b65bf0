//! Test support: the project's local OneRoster server, generated districts,
//! and clients for moto (Secrets Manager) and DynamoDB Local.
#![allow(dead_code)]

pub use testkit::servers::Server;

pub use testkit::servers::{control, district_package as district, oneroster_server as start};

#[allow(unused_imports)]
pub use testkit::{secrets_client, sqs_client, unique};

pub async fn dynamo_store() -> roster_dynamodb::DynamoStore {
    testkit::dynamo_store("pull").await
}

/// A puller on DynamoDB Local for tenant `d1`, whose API at `url` is
/// reached with `secret_json` (stored on moto under a name of its own,
/// returned): pages of 200, a full pull every 7 days, the version from the
/// URL, unless `edit` changes the tenant.
pub async fn puller_for(
    url: &str,
    secret_json: &str,
    scratch: std::path::PathBuf,
    edit: impl FnOnce(&mut roster::TenantConfig),
) -> (oneroster_pull::Puller<roster_dynamodb::DynamoStore>, String) {
    use roster::roles::*;
    let secrets = secrets_client();
    let secret_name = format!("roster/tenants/{}", unique("d1"));
    secrets
        .create_secret()
        .name(&secret_name)
        .secret_string(secret_json)
        .send()
        .await
        .expect("secret on moto");
    let store = dynamo_store().await;
    let mut tenant = roster::TenantConfig::new("d1").unwrap();
    tenant.connections = vec![roster::Connection::Api];
    tenant.api = Some(roster::ApiSettings {
        oneroster_version: None,
        url: url.to_string(),
        secret_name: secret_name.clone(),
        page_size: 200,
        full_every_days: 7,
    });
    edit(&mut tenant);
    store.put_tenant(&tenant).await.unwrap();
    let puller = oneroster_pull::Puller {
        store,
        secrets,
        config: oneroster_pull::PullConfig::default(),
        scratch,
        secret_prefix: Some("roster/tenants/".into()),
        continuations: None,
        notices: None,
        run_files: None,
    };
    (puller, secret_name)
}
