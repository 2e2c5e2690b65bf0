//! The oneroster-pull Lambda: clients built once; each event is
//! `{"tenant": "...", "mode": "full" | "delta" | "auto"}`.

use cloud::env::required;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use oneroster_pull::{PullConfig, PullEvent, PullFailure, Puller};
use roster::DynamoStore;
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

async fn handler(puller: &Puller<DynamoStore>, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let deadline_ms = event.context.deadline;
    let deadline = (deadline_ms > now_ms)
        .then(|| Instant::now() + Duration::from_millis(deadline_ms - now_ms));
    let request: PullEvent = serde_json::from_value(event.payload)?;
    match puller.handle(request, deadline).await {
        Ok(run) => Ok(
            serde_json::json!({"run_id": run.run_id, "status": run.status.as_str(), "message": run.message}),
        ),
        Err(e @ PullFailure::Retryable(_)) | Err(e @ PullFailure::Permanent(_)) => Err(e.into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    cloud::init_tracing();
    let table = required("ROSTER_TABLE")?;
    let sdk = cloud::sdk_config().await;
    let puller = Puller {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table),
        secrets: aws_sdk_secretsmanager::Client::new(&sdk),
        config: PullConfig::default(),
        scratch: std::env::temp_dir().join("oneroster-pull"),
        secret_prefix: std::env::var("TENANT_SECRET_PREFIX")
            .ok()
            .filter(|p| !p.is_empty()),
    };
    lambda_runtime::run(service_fn(|event| handler(&puller, event))).await
}
