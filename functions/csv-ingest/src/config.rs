//! The function's configuration, from the environment, checked at start-up.

use cloud::env::{optional, parsed_or, required, ConfigError};
use std::time::Duration;

/// Configuration of csv-ingest.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// DynamoDB table (`ROSTER_TABLE`).
    pub table: String,
    /// The inbound bucket (`INBOUND_BUCKET`), for the periodic sweep.
    pub bucket: String,
    /// A loose-file set older than this is moved aside as incomplete (`INCOMPLETE_SET_MINUTES`, default 120).
    pub incomplete_window: Duration,
    /// Stop applying this long before the Lambda deadline and continue in a new invocation (`CONTINUE_MARGIN_SECONDS`, default 120).
    pub continue_margin: Duration,
    /// Queue that carries continuations and deferred work (`CONTINUE_QUEUE_URL`; without it, Lambda's retries are used).
    pub continue_queue_url: Option<String>,
    /// How long to wait for another run of the same tenant before deferring (`TENANT_WAIT_SECONDS`, default 60).
    pub tenant_wait: Duration,
    /// The sweep counts tenants whose last applied run is older than this many
    /// days (`OVERDUE_SYNC_DAYS`, default 3) into the `TenantsOverdue` metric.
    pub overdue_days: u32,
    /// The run-notice topic (`NOTICE_TOPIC_ARN`): districts' contacts hear of
    /// rejected, held, failed and stale runs (and applied ones if asked).
    /// Without it, no notices are sent.
    pub notice_topic_arn: Option<String>,
}

impl IngestConfig {
    /// Reads the configuration; the error names the variable.
    pub fn from_env() -> Result<IngestConfig, ConfigError> {
        Ok(IngestConfig {
            table: required("ROSTER_TABLE")?,
            bucket: required("INBOUND_BUCKET")?,
            incomplete_window: Duration::from_secs(
                60 * parsed_or("INCOMPLETE_SET_MINUTES", 120u64, "a number of minutes")?,
            ),
            continue_margin: Duration::from_secs(parsed_or(
                "CONTINUE_MARGIN_SECONDS",
                120u64,
                "a number of seconds",
            )?),
            continue_queue_url: optional("CONTINUE_QUEUE_URL"),
            tenant_wait: Duration::from_secs(parsed_or(
                "TENANT_WAIT_SECONDS",
                60u64,
                "a number of seconds",
            )?),
            overdue_days: parsed_or("OVERDUE_SYNC_DAYS", 3u32, "a number of days")?,
            notice_topic_arn: optional("NOTICE_TOPIC_ARN"),
        })
    }
}
