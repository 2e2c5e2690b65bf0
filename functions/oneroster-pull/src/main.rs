//! The oneroster-pull Lambda: clients built once; each event is
//! `{"tenant": "...", "mode": "full" | "delta" | "auto"}`.

use cloud::env::required;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use oneroster_pull::{PullConfig, PullFailure, Puller};
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
    let mut results = Vec::new();
    for request in oneroster_pull::decode(event.payload)? {
        match puller.handle(request, deadline).await {
            Ok(run) => results.push(serde_json::json!({
                "run_id": run.run_id,
                "status": run.status.as_str(),
                "message": run.message
            })),
            Err(e @ PullFailure::Retryable(_)) | Err(e @ PullFailure::Permanent(_)) => {
                return Err(e.into())
            }
        }
    }
    Ok(Value::Array(results))
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
        continue_queue: std::env::var("CONTINUE_QUEUE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .map(|url| (aws_sdk_sqs::Client::new(&sdk), url)),
    };
    lambda_runtime::run(service_fn(|event| handler(&puller, event))).await
}
