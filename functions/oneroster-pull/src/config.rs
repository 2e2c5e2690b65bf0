//! The function's configuration, from the environment, checked at start-up.

use cloud::env::{optional, parsed_optional, required, ConfigError};

/// Configuration of oneroster-pull.
#[derive(Debug, Clone)]
pub struct PullFunctionConfig {
    /// DynamoDB table (`ROSTER_TABLE`).
    pub table: String,
    /// Tenants' API secrets must be named with this prefix
    /// (`TENANT_SECRET_PREFIX`); the function's IAM policy grants nothing else.
    pub secret_prefix: Option<String>,
    /// Where a pull that reaches the deadline continues (`CONTINUE_QUEUE_URL`).
    pub continue_queue_url: Option<String>,
    /// The run-notice topic (`NOTICE_TOPIC_ARN`); without it, no notices are sent.
    pub notice_topic_arn: Option<String>,
    /// The bucket that keeps runs' held plans and before-images (`RUN_FILES_BUCKET`).
    pub run_files_bucket: Option<String>,
    /// The deployment's yearly pause window for tenants without windows of
    /// their own (`DEFAULT_PAUSE_WINDOW`), checked here so that an invalid one
    /// stops the function at start-up; the engine reads it
    /// (`SyncOptions::default`).
    pub default_pause: Option<roster::YearlyWindow>,
}

impl PullFunctionConfig {
    /// Reads the configuration; the error names the variable.
    pub fn from_env() -> Result<PullFunctionConfig, ConfigError> {
        Ok(PullFunctionConfig {
            table: required("ROSTER_TABLE")?,
            secret_prefix: optional("TENANT_SECRET_PREFIX"),
            continue_queue_url: optional("CONTINUE_QUEUE_URL"),
            notice_topic_arn: optional("NOTICE_TOPIC_ARN"),
            run_files_bucket: optional("RUN_FILES_BUCKET"),
            default_pause: parsed_optional(
                roster::tenant::DEFAULT_PAUSE_WINDOW_VAR,
                cloud::env::DEFAULT_PAUSE_WINDOW_EXPECTED,
            )?,
        })
    }
}
