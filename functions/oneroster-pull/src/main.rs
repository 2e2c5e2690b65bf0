//! The oneroster-pull Lambda: clients built once; each typed event
//! (`PullInvocation`, decoded by the runtime) is a schedule's
//! `{"tenant": "...", "mode": "full" | "delta" | "auto"}` or continuations.

use cloud::continuation::ContinuationQueue;
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use oneroster_pull::{PullConfig, PullFunctionConfig, PullInvocation, Puller, RunFilesBucket};
use roster_dynamodb::DynamoStore;
use serde_json::Value;

async fn handler(
    puller: &Puller<DynamoStore>,
    event: LambdaEvent<PullInvocation>,
) -> Result<Value, Diagnostic> {
    let deadline = cloud::lambda::deadline(&event.context);
    let mut results = Vec::new();
    for request in event.payload.requests() {
        let run = puller
            .handle(request, deadline)
            .await
            .map_err(cloud::lambda::failed)?;
        results.push(serde_json::json!({
            "run_id": run.run_id,
            "status": run.status.as_str(),
            "message": run.message
        }));
    }
    Ok(Value::Array(results))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    cloud::init_tracing();
    let config = PullFunctionConfig::from_env()?;
    let sdk = cloud::sdk_config().await;
    let puller = Puller {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table),
        secrets: aws_sdk_secretsmanager::Client::new(&sdk),
        config: PullConfig {
            progress: present::progress_log::LoggedProgress::every(std::time::Duration::from_secs(
                5,
            )),
            ..PullConfig::default()
        },
        scratch: std::env::temp_dir().join("oneroster-pull"),
        secret_prefix: config.secret_prefix,
        continuations: config
            .continue_queue_url
            .map(|url| ContinuationQueue::new(aws_sdk_sqs::Client::new(&sdk), url)),
        notices: config
            .notice_topic_arn
            .map(|arn| cloud::sns::Topic::new(aws_sdk_sns::Client::new(&sdk), arn)),
        run_files: config.run_files_bucket.map(|bucket| RunFilesBucket {
            s3: cloud::s3_client(&sdk),
            bucket,
        }),
    };
    lambda_runtime::run(service_fn(|event| handler(&puller, event))).await
}
