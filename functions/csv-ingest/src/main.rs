//! The csv-ingest Lambda: builds its clients once, then hands each typed
//! event (`IngestEvent`, decoded by the runtime) to the ingest. Errors that
//! retrying may fix fail the invocation (Lambda retries, then the on-failure
//! queue); rejected packages are reported and the invocation succeeds.

use cloud::continuation::ContinuationQueue;
use cloud::Failure;
use csv_ingest::event::IngestEvent;
use csv_ingest::{Ingest, IngestConfig};
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use roster_dynamodb::DynamoStore;
use serde_json::Value;

async fn handler(
    ingest: &Ingest<DynamoStore>,
    event: LambdaEvent<IngestEvent>,
) -> Result<Value, Diagnostic> {
    let deadline = cloud::lambda::deadline(&event.context);
    let invocation = event
        .payload
        .into_invocation()
        .map_err(|e| Failure::permanent(e.to_string()))?;
    let outcomes = ingest
        .handle(invocation, deadline)
        .await
        .map_err(cloud::lambda::failed)?;
    serde_json::to_value(outcomes).map_err(|e| {
        Failure::permanent("encoding the outcomes")
            .because(e)
            .into()
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    cloud::init_tracing();
    let config = IngestConfig::from_env()?;
    let sdk = cloud::sdk_config().await;
    let ingest = Ingest {
        s3: cloud::s3_client(&sdk),
        continuations: config
            .continue_queue_url
            .clone()
            .map(|url| ContinuationQueue::new(aws_sdk_sqs::Client::new(&sdk), url)),
        notices: config
            .notice_topic_arn
            .clone()
            .map(|arn| cloud::sns::Topic::new(aws_sdk_sns::Client::new(&sdk), arn)),
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table.clone()),
        config,
        scratch: std::env::temp_dir().join("csv-ingest"),
    };
    ingest.clear_scratch()?;
    lambda_runtime::run(service_fn(|event| handler(&ingest, event))).await
}
