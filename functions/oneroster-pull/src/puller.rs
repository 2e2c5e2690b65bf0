//! One scheduled (or on-demand) pull of a tenant's OneRoster API: the secret
//! from Secrets Manager, full or delta by the tenant's cadence, the pull
//! written as a package, then the one sync engine. A partial pull applies
//! nothing.

use crate::secret::ApiSecret;
use chrono::{DateTime, Utc};
use oneroster::rest::client::{Client, ClientError, ClientOptions};
use oneroster::rest::pull::{pull, PullError, PullMode};
use oneroster::EntityKind;
use roster::{
    Connection, Engine, LocalArtifacts, RunRecord, RunSource, RunStatus, Store, StoreError,
    SyncError, SyncOptions, TenantConfig,
};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The invocation: `{"tenant": "...", "mode": "full" | "delta" | "auto"}` (mode optional).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullEvent {
    /// Tenant id.
    pub tenant: String,
    /// Requested mode (default: by the tenant's cadence).
    #[serde(default)]
    pub mode: RequestedMode,
}

/// Which kind of pull to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestedMode {
    /// Full when the last full pull is older than `full_every_days`, else delta.
    #[default]
    Auto,
    /// Every record.
    Full,
    /// Records modified since the last applied pull (minus the skew margin).
    Delta,
}

/// Settings of the pull function.
#[derive(Debug, Clone)]
pub struct PullConfig {
    /// Subtracted from the last pull's start for the delta filter (clock skew, slow SIS writes).
    pub delta_skew: Duration,
    /// Stop this long before the Lambda deadline.
    pub margin: Duration,
    /// Longest pull when there is no deadline (local runs).
    pub max_pull: Duration,
}

impl Default for PullConfig {
    fn default() -> Self {
        PullConfig {
            delta_skew: Duration::from_secs(15 * 60),
            margin: Duration::from_secs(120),
            max_pull: Duration::from_secs(3600),
        }
    }
}

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
}

impl<S: Store> Puller<S> {
    /// Runs one pull; returns its run record (also stored). Pull failures
    /// (credentials rejected, incomplete collections) are `failed` runs, not errors.
    pub async fn handle(
        &self,
        event: PullEvent,
        deadline: Option<Instant>,
    ) -> Result<RunRecord, PullFailure> {
        let started = Utc::now();
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
            started,
        );
        run.generated_at = Some(started);
        let refuse = |mut run: RunRecord, status: RunStatus, message: String| {
            run.finish(status, message, Utc::now());
            run
        };
        let Some(api) = tenant
            .api
            .clone()
            .filter(|_| tenant.enabled && tenant.uses(Connection::Api))
        else {
            let run = refuse(run, RunStatus::Rejected, "the tenant is disabled or has no OneRoster API connection configured; nothing was pulled".into());
            self.store.put_run(&run).await?;
            return Ok(run);
        };
        let secret = match self.read_secret(&api.secret_name).await {
            Ok(s) => s,
            Err(PullFailure::Permanent(message)) => {
                let run = refuse(run, RunStatus::Failed, message);
                self.store.put_run(&run).await?;
                return Ok(run);
            }
            Err(e) => return Err(e),
        };
        let mode = self.mode(&tenant, event.mode, api.full_every_days).await?;
        let options = ClientOptions {
            page_size: api.page_size,
            ..ClientOptions::default()
        };
        let client = Client::new(&api.url, secret.auth(), options)
            .map_err(|e| PullFailure::Permanent(format!("HTTP client: {e}")))?;
        let budget = match deadline {
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .saturating_sub(self.config.margin),
            None => self.config.max_pull,
        };
        let folder = self.scratch.join(format!("pull-{}", run.run_id));
        let kinds: Vec<EntityKind> = EntityKind::ALL
            .into_iter()
            .filter(|k| *k != EntityKind::Demographics || tenant.demographics)
            .collect();
        let pulled = pull(&client, &kinds, mode, &folder, budget).await;
        let summary = match pulled {
            Ok(summary) => summary,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&folder);
                let message = match &e {
                    PullError::Client(ClientError::CredentialsRejected { .. }) => {
                        format!("credentials rejected: {e}")
                    }
                    other => format!("pull failed, nothing applied: {other}"),
                };
                tracing::warn!(tenant = %tenant.tenant, run_id = %run.run_id, "{message}");
                let run = refuse(run, RunStatus::Failed, message);
                self.store.put_run(&run).await?;
                return Ok(run);
            }
        };
        tracing::info!(tenant = %tenant.tenant, requests = summary.requests, retries = summary.retries, "pull complete");
        let artifacts = LocalArtifacts::new(self.scratch.join("runs"));
        let engine = Engine {
            store: &self.store,
            artifacts: &artifacts,
            options: SyncOptions {
                deadline: deadline.map(|d| d.checked_sub(self.config.margin).unwrap_or(d)),
                ..SyncOptions::default()
            },
        };
        let source = RunSource {
            kind: "api".into(),
            reference: client.base().to_string(),
        };
        let result = engine
            .sync_package(&tenant, &folder, source, Some(started))
            .await;
        let _ = std::fs::remove_dir_all(&folder);
        let _ = std::fs::remove_dir_all(self.scratch.join("runs").join(&tenant.tenant));
        Ok(result?)
    }

    async fn read_secret(&self, name: &str) -> Result<ApiSecret, PullFailure> {
        let response = self.secrets.get_secret_value().secret_id(name).send().await;
        let value = match response {
            Ok(v) => v,
            Err(e) => {
                use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
                return Err(match &e {
                    SdkError::ServiceError(s)
                        if matches!(
                            s.err().code(),
                            Some("ResourceNotFoundException")
                                | Some("AccessDeniedException")
                                | Some("DecryptionFailure")
                        ) =>
                    {
                        PullFailure::Permanent(format!(
                            "the API secret `{name}` cannot be read: {}",
                            s.err().code().unwrap_or("error")
                        ))
                    }
                    _ => PullFailure::Retryable(format!(
                        "Secrets Manager unavailable reading `{name}`"
                    )),
                });
            }
        };
        let text = value.secret_string().ok_or_else(|| {
            PullFailure::Permanent(format!("the API secret `{name}` has no string value"))
        })?;
        ApiSecret::parse(text)
            .map_err(|e| PullFailure::Permanent(format!("the API secret `{name}`: {e}")))
    }

    async fn mode(
        &self,
        tenant: &TenantConfig,
        requested: RequestedMode,
        full_every_days: u32,
    ) -> Result<PullMode, PullFailure> {
        let state = self.store.get_state(&tenant.tenant).await?;
        let skew = chrono::Duration::from_std(self.config.delta_skew).unwrap_or_default();
        let delta = |since: DateTime<Utc>| PullMode::Delta {
            since: since - skew,
        };
        Ok(
            match (
                requested,
                state.last_pull_started_at,
                state.last_full_pull_at,
            ) {
                (RequestedMode::Full, _, _) | (_, None, _) | (_, _, None) => PullMode::Full,
                (RequestedMode::Delta, Some(last), _) => delta(last),
                (RequestedMode::Auto, Some(last), Some(full)) => {
                    if full_every_days == 0
                        || Utc::now() - full >= chrono::Duration::days(full_every_days.into())
                    {
                        PullMode::Full
                    } else {
                        delta(last)
                    }
                }
            },
        )
    }
}
