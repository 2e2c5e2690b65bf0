//! The csv-ingest Lambda: builds its clients once, then decodes each event
//! and hands it to the ingest. Errors that retrying may fix fail the
//! invocation (Lambda retries, then the on-failure queue); rejected packages
//! are reported and the invocation succeeds.

use csv_ingest::event::decode;
use csv_ingest::{Ingest, IngestConfig};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use roster::DynamoStore;
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

async fn handler(ingest: &Ingest, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let deadline_ms = event.context.deadline;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let deadline = (deadline_ms > now_ms)
        .then(|| Instant::now() + Duration::from_millis(deadline_ms - now_ms));
    let invocation = decode(event.payload)?;
    let outcomes = ingest.handle(invocation, deadline).await?;
    Ok(serde_json::to_value(outcomes)?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    cloud::init_tracing();
    let config = IngestConfig::from_env()?;
    let sdk = cloud::sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(std::env::var_os("AWS_ENDPOINT_URL").is_some())
            .build(),
    );
    let ingest = Ingest {
        s3,
        sqs: aws_sdk_sqs::Client::new(&sdk),
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table.clone()),
        config,
        scratch: std::env::temp_dir().join("csv-ingest"),
    };
    lambda_runtime::run(service_fn(|event| handler(&ingest, event))).await
}
