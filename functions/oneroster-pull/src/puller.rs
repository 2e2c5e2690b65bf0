//! One scheduled (or on-demand) pull of a tenant's OneRoster API: the tenant's
//! API settings, the credentials from Secrets Manager, then the shared
//! pull-and-sync (`roster::api`). A partial pull applies nothing.

use crate::secret::ApiSecret;
use chrono::Utc;
use roster::api::pull_and_sync;
pub use roster::api::{PullConfig, RequestedMode};
use roster::{Connection, RunRecord, RunSource, RunStatus, Store, StoreError, SyncError};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Instant;

/// The invocation: `{"tenant": "...", "mode": "full" | "delta" | "auto"}` (mode optional).
/// Continuations carry the mode the interrupted run used and their count.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct PullEvent {
    /// Tenant id.
    pub tenant: String,
    /// Requested mode (default: by the tenant's cadence).
    #[serde(default)]
    pub mode: RequestedMode,
    /// How many times this pull has been continued.
    #[serde(default)]
    pub continuation: u32,
}

/// Continuations before giving up.
const MAX_CONTINUATIONS: u32 = 20;

/// A failure the invocation should surface (the store, or Secrets Manager, unreachable).
#[derive(Debug, thiserror::Error)]
pub enum PullFailure {
    /// Retrying may help.
    #[error("retryable: {0}")]
    Retryable(String),
    /// It will not.
    #[error("{0}")]
    Permanent(String),
}

impl From<StoreError> for PullFailure {
    fn from(e: StoreError) -> Self {
        if e.is_retryable() {
            PullFailure::Retryable(e.to_string())
        } else {
            PullFailure::Permanent(e.to_string())
        }
    }
}

impl From<SyncError> for PullFailure {
    fn from(e: SyncError) -> Self {
        if e.is_retryable() {
            PullFailure::Retryable(e.to_string())
        } else {
            PullFailure::Permanent(e.to_string())
        }
    }
}

/// The pull function's clients and settings.
pub struct Puller<S: Store> {
    /// The roster store.
    pub store: S,
    /// Secrets Manager.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// Settings.
    pub config: PullConfig,
    /// Local scratch space (`/tmp`).
    pub scratch: PathBuf,
    /// Tenants' secrets must be named with this prefix (`TENANT_SECRET_PREFIX`);
    /// the function's IAM policy grants nothing else.
    pub secret_prefix: Option<String>,
    /// Where a pull that reached the deadline continues (`CONTINUE_QUEUE_URL`).
    pub continue_queue: Option<(aws_sdk_sqs::Client, String)>,
}

impl<S: Store> Puller<S> {
    /// Runs one pull; returns its run record (also stored). Pull failures
    /// (credentials rejected, incomplete collections, an unreadable secret)
    /// are `failed` runs, not errors.
    pub async fn handle(
        &self,
        event: PullEvent,
        deadline: Option<Instant>,
    ) -> Result<RunRecord, PullFailure> {
        let started = Instant::now();
        let run = self.handle_inner(event, deadline).await?;
        cloud::runs::emit("oneroster-pull", &run, started.elapsed(), None);
        Ok(run)
    }

    async fn handle_inner(
        &self,
        event: PullEvent,
        deadline: Option<Instant>,
    ) -> Result<RunRecord, PullFailure> {
        let tenant = self.store.get_tenant(&event.tenant).await?.ok_or_else(|| {
            PullFailure::Permanent(format!("tenant `{}` is not configured", event.tenant))
        })?;
        let reference = tenant
            .api
            .as_ref()
            .map(|a| a.url.clone())
            .unwrap_or_default();
        let mut run = RunRecord::start(
            &tenant.tenant,
            RunSource {
                kind: "api".into(),
                reference,
            },
            Utc::now(),
        );
        if event.continuation >= MAX_CONTINUATIONS {
            run.finish(
                RunStatus::Failed,
                format!("the pull was continued {MAX_CONTINUATIONS} times without finishing; giving up (the next schedule starts afresh)"),
                Utc::now(),
            );
            self.store.put_run(&run).await?;
            return Ok(run);
        }
        let Some(api) = tenant
            .api
            .clone()
            .filter(|_| tenant.enabled && tenant.uses(Connection::Api))
        else {
            run.finish(RunStatus::Rejected, "the tenant is disabled or has no OneRoster API connection configured; nothing was pulled", Utc::now());
            self.store.put_run(&run).await?;
            return Ok(run);
        };
        if let Some(prefix) = &self.secret_prefix {
            if !api.secret_name.starts_with(prefix.as_str()) {
                run.finish(
                    RunStatus::Failed,
                    format!("the tenant's API secret `{}` is not under the prefix `{prefix}` this function may read; store it as `{prefix}{}`", api.secret_name, tenant.tenant),
                    Utc::now(),
                );
                self.store.put_run(&run).await?;
                return Ok(run);
            }
        }
        let secret = match self.read_secret(&api.secret_name).await {
            Ok(s) => s,
            Err(PullFailure::Permanent(message)) => {
                run.finish(RunStatus::Failed, message, Utc::now());
                self.store.put_run(&run).await?;
                return Ok(run);
            }
            Err(e) => return Err(e),
        };
        let run = pull_and_sync(
            &self.store,
            &tenant,
            &api,
            secret.auth(),
            event.mode,
            deadline,
            &self.config,
            &self.scratch,
        )
        .await?;
        if run.status == RunStatus::Continued {
            self.continue_later(&event, &run).await?;
        }
        Ok(run)
    }

    /// A run that reached the deadline continues in a fresh invocation: the
    /// next one pulls again and re-plans, so what was written is not rewritten.
    async fn continue_later(&self, event: &PullEvent, run: &RunRecord) -> Result<(), PullFailure> {
        let Some((sqs, url)) = &self.continue_queue else {
            return Err(PullFailure::Retryable(format!(
                "run {} must continue and no CONTINUE_QUEUE_URL is set",
                run.run_id
            )));
        };
        // A full pull continues as a full pull (a delta would not archive what is absent).
        let full = run.counts.values().any(|c| c.archived > 0) || event.mode == RequestedMode::Full;
        let next = PullEvent {
            tenant: event.tenant.clone(),
            mode: if full {
                RequestedMode::Full
            } else {
                event.mode
            },
            continuation: event.continuation + 1,
        };
        let body =
            serde_json::to_string(&next).map_err(|e| PullFailure::Permanent(e.to_string()))?;
        sqs.send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| PullFailure::Retryable(format!("SendMessage: {e:?}")))?;
        Ok(())
    }

    async fn read_secret(&self, name: &str) -> Result<ApiSecret, PullFailure> {
        use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
        let value = match self.secrets.get_secret_value().secret_id(name).send().await {
            Ok(v) => v,
            Err(SdkError::ServiceError(s))
                if matches!(
                    s.err().code(),
                    Some("ResourceNotFoundException")
                        | Some("AccessDeniedException")
                        | Some("DecryptionFailure")
                ) =>
            {
                return Err(PullFailure::Permanent(format!(
                    "the API secret `{name}` cannot be read: {}",
                    s.err().code().unwrap_or("error")
                )));
            }
            Err(_) => {
                return Err(PullFailure::Retryable(format!(
                    "Secrets Manager unavailable reading `{name}`"
                )))
            }
        };
        let text = value.secret_string().ok_or_else(|| {
            PullFailure::Permanent(format!("the API secret `{name}` has no string value"))
        })?;
        ApiSecret::parse(text)
            .map_err(|e| PullFailure::Permanent(format!("the API secret `{name}`: {e}")))
    }
}
