//! `sso-callback` Lambda: ClassLink single sign-on for teachers.
//!
//! In Lambda (`AWS_LAMBDA_RUNTIME_API` set) the router is served by
//! `lambda_http` (HTTP API or Function URL events). Anywhere else the same
//! router serves on `SSO_LOCAL_ADDR` (default `127.0.0.1:8787`) for local
//! development, against DynamoDB (`ROSTER_TABLE`) or a SQLite roster
//! (`ROSTER_DB`, for example the main job's `target/demo/roster.db`).

use cloud::env::required;
use lambda_http::Error;
use roster_dynamodb::DynamoStore;
use roster_sqlite::SqliteStore;
use sso_callback::app::{router, App, SsoStore};
use sso_callback::config::SsoConfig;
use sso_callback::oidc::ClassLink;
use sso_callback::secrets::CachedSecret;
use std::sync::Arc;

async fn serve<S: SsoStore>(
    store: S,
    config: SsoConfig,
    sdk: &aws_config::SdkConfig,
) -> Result<(), Error> {
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let app = Arc::new(App {
        store,
        classlink: ClassLink::new(config.clone())?,
        client_secret: CachedSecret::new(secrets.clone(), config.client_secret_id.clone()),
        redeem_secret: CachedSecret::new(secrets, config.redeem_secret_id.clone()),
        config,
    });
    let routes = router(app);
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return lambda_http::run(routes).await;
    }
    let addr = std::env::var("SSO_LOCAL_ADDR").unwrap_or_else(|_| "127.0.0.1:8787".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!(addr, "not in Lambda: serving on a local port");
    axum::serve(listener, routes).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    cloud::init_tracing();
    let config = SsoConfig::from_env()?;
    let sdk = cloud::sdk_config().await;
    match std::env::var("ROSTER_DB").ok().filter(|p| !p.is_empty()) {
        Some(path) if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() => {
            serve(SqliteStore::open(path.as_ref())?, config, &sdk).await
        }
        _ => {
            let table = required("ROSTER_TABLE")?;
            let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
            serve(store, config, &sdk).await
        }
    }
}
