//! AWS plumbing shared by the Lambdas and the CLI, below everything else that
//! talks to AWS: configuration read from the environment (with clear errors
//! naming the variable), the SDK configuration (honouring `AWS_ENDPOINT_URL`
//! and the per-service `AWS_ENDPOINT_URL_<SERVICE>` so the same binaries run
//! against local emulators), the one failure type and SDK error classifier,
//! JSON tracing, CloudWatch embedded-metric-format lines, Lambda event
//! payloads read once for typed events and, behind
//! features, the Lambda deadline (`lambda`), the continuation queue (`sqs`)
//! the S3 client (`s3`), Secrets Manager (`secrets`) and the run-notice topic
//! (`sns`).

#[cfg(feature = "sqs")]
pub mod continuation;
pub mod env;
pub mod event;
pub mod failure;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod metrics;
#[cfg(feature = "s3")]
pub mod run_files;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "secrets")]
pub mod secrets;
#[cfg(feature = "sns")]
pub mod sns;

pub use failure::{classify, Failure, Retry};

/// The SDK configuration from the environment (region, credentials, endpoints).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// An S3 client from `sdk`. Path-style addressing when an endpoint is set
/// (`AWS_ENDPOINT_URL[_S3]`: an emulator has no per-bucket host names).
#[cfg(feature = "s3")]
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let emulated = env::optional("AWS_ENDPOINT_URL_S3").is_some()
        || env::optional("AWS_ENDPOINT_URL").is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(emulated)
            .build(),
    )
}

/// Initialises `tracing`: JSON lines in Lambda (or when `LOG_FORMAT=json`),
/// human-readable otherwise; the level from `RUST_LOG` (default `info`).
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some()
        || std::env::var("LOG_FORMAT").is_ok_and(|f| f == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .without_time()
            .with_current_span(false)
            .try_init()
    } else {
        builder.try_init()
    };
}
