//! The function's configuration, from the environment, checked at start-up.

use cloud::env::{optional, parsed_optional, parsed_or, required, ConfigError};
use roster::YearlyWindow;
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
    /// The largest delivery (a zip, or a loose set's files together) the
    /// function downloads, in bytes (`MAX_DELIVERY_MB`, default
    /// [`DEFAULT_MAX_DELIVERY_MB`]): below the function's ephemeral storage,
    /// which must also hold the run's plan and before-images. A larger one is
    /// rejected before a byte of it is downloaded.
    pub max_delivery_bytes: u64,
    /// The deployment's yearly pause window for tenants without windows of
    /// their own (`DEFAULT_PAUSE_WINDOW`, `MM-DD..MM-DD`; unset or empty: none).
    /// The sweep delivers again the newest delivery it paused when it ends.
    pub default_pause: Option<YearlyWindow>,
    /// Days an archived person keeps their personal data, for tenants
    /// without their own retention (`RETAIN_ARCHIVED_DAYS`, default 365; 0:
    /// off); the daily retention pass erases it after.
    pub retain_archived_days: u32,
}

/// The default of `MAX_DELIVERY_MB`: 9 GiB of the function's 10 GiB of
/// ephemeral storage (template.yaml), leaving 1 GiB for the run's files.
pub const DEFAULT_MAX_DELIVERY_MB: u64 = 9 * 1024;

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
            max_delivery_bytes: parsed_or(
                "MAX_DELIVERY_MB",
                DEFAULT_MAX_DELIVERY_MB,
                "a number of MiB",
            )?
            .saturating_mul(1024 * 1024),
            default_pause: parsed_optional(
                roster::tenant::DEFAULT_PAUSE_WINDOW_VAR,
                cloud::env::DEFAULT_PAUSE_WINDOW_EXPECTED,
            )?,
            retain_archived_days: parsed_or(
                roster::retention::RETAIN_ARCHIVED_DAYS_VAR,
                roster::retention::DEFAULT_RETAIN_ARCHIVED_DAYS,
                "a number of days (0: retention off)",
            )?,
        })
    }
}
