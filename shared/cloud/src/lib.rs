//! AWS plumbing shared by the Lambdas: configuration read from the
//! environment (with clear errors naming the variable), the SDK
//! configuration (honouring `AWS_ENDPOINT_URL` and the per-service
//! `AWS_ENDPOINT_URL_<SERVICE>` so the same binaries run against local
//! emulators), JSON tracing, and CloudWatch embedded-metric-format lines.

pub mod env;
pub mod metrics;
pub mod runs;

/// The SDK configuration from the environment (region, credentials, endpoints).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
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
