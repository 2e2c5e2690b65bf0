//! A tenant's OneRoster API pulled and synced: full or delta by the tenant's
//! cadence, the pull written as a package, then the one engine. A partial
//! pull applies nothing and is recorded as a `failed` run. Shared by the
//! oneroster-pull Lambda and `rosterctl pull`.

use chrono::{DateTime, Utc};
use oneroster::EntityKind;
use oneroster_rest::address::AddressPolicy;
use oneroster_rest::client::{Auth, Client, ClientBuildError, ClientError, ClientOptions};
use oneroster_rest::pull::{pull, PullError, PullMode};
use roster::artifacts::Artifacts;
use roster::engine::{Engine, SyncError, SyncOptions};
use roster::run::{Delivered, RunRecord, RunSource, RunStatus};
use roster::store::Store;
use roster::tenant::{ApiSettings, TenantConfig};
use serde::Deserialize;
use std::path::Path;
use std::time::{Duration, Instant};

/// Which kind of pull to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestedMode {
    /// Full when the last full pull is older than the tenant's `full_every_days`, else delta.
    #[default]
    Auto,
    /// Every record.
    Full,
    /// Records modified since the last applied pull (minus the skew margin).
    Delta,
}

/// The pull function's input: `{"tenant": "...", "mode": "full" | "delta" | "auto"}`
/// (mode optional) — what a tenant's schedule sends (`rosterctl tenants add`
/// writes it) and what a continuation carries, with the mode the interrupted
/// run used and how many times it was continued.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct PullEvent {
    /// Tenant id.
    pub tenant: String,
    /// Requested mode (default: by the tenant's cadence).
    #[serde(default)]
    pub mode: RequestedMode,
    /// How many times this pull has been continued (left out when 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub continuation: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl PullEvent {
    /// What a tenant's schedule sends: a pull in the tenant's cadence.
    pub fn scheduled(tenant: &str) -> PullEvent {
        PullEvent {
            tenant: tenant.to_string(),
            mode: RequestedMode::Auto,
            continuation: 0,
        }
    }
}

/// Settings of pulls.
#[derive(Debug, Clone)]
pub struct PullConfig {
    /// Subtracted from the last pull's start for the delta filter (clock skew, slow SIS writes).
    pub delta_skew: Duration,
    /// The pull must end this long before the deadline (time left to apply).
    pub pull_margin: Duration,
    /// Applying stops (run `continued`) this long before the deadline.
    pub apply_margin: Duration,
    /// Longest pull when there is no deadline (local runs).
    pub max_pull: Duration,
    /// Writes handed to the store at a time (0: the store's own batch size).
    pub write_chunk: usize,
    /// Where the pull and the sync report what they have done so far.
    pub progress: oneroster::Progress,
    /// Which API and token URLs are accepted: https to public addresses,
    /// unless `ONEROSTER_API_LOCAL_DEVELOPMENT=true` (the default reads it).
    pub addresses: AddressPolicy,
}

impl Default for PullConfig {
    fn default() -> Self {
        PullConfig {
            delta_skew: Duration::from_secs(15 * 60),
            pull_margin: Duration::from_secs(300),
            apply_margin: Duration::from_secs(60),
            max_pull: Duration::from_secs(3600),
            write_chunk: 0,
            progress: oneroster::Progress::none(),
            addresses: AddressPolicy::from_env(),
        }
    }
}

/// Decides full or delta from the tenant's state and cadence.
pub async fn choose_mode<S: Store>(
    store: &S,
    tenant: &str,
    requested: RequestedMode,
    full_every_days: u32,
    skew: Duration,
) -> Result<PullMode, SyncError> {
    let state = store.get_state(tenant).await?;
    let skew = chrono::Duration::from_std(skew).unwrap_or_default();
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

/// Collections a district's API may decline (404 or 403) without failing
/// the pull: they are left out of the run (`absent`, nothing archived).
pub const OPTIONAL: [EntityKind; 1] = [EntityKind::Demographics];

/// Where a pull works and keeps its files.
pub struct PullPlaces<'a, A: Artifacts> {
    /// Scratch space for the pulled package (removed after the run).
    pub scratch: &'a Path,
    /// Where the run's report, held plan and before-images are kept.
    pub artifacts: &'a A,
}

/// Pulls `tenant`'s API with `auth` and syncs it. Pull failures end as a
/// stored `failed` run (`Ok`); store failures are errors. The validation
/// report (kept in `places.artifacts`) and the run's errors name records as
/// the district sent them (collection, page offset, sourcedId).
#[allow(clippy::too_many_arguments)]
pub async fn pull_and_sync<S: Store, A: Artifacts>(
    store: &S,
    tenant: &TenantConfig,
    api: &ApiSettings,
    auth: Auth,
    requested: RequestedMode,
    deadline: Option<Instant>,
    config: &PullConfig,
    places: PullPlaces<'_, A>,
) -> Result<RunRecord, SyncError> {
    let scratch = places.scratch;
    let started = Utc::now();
    let mut run = RunRecord::start(
        &tenant.tenant,
        RunSource {
            kind: "api".into(),
            reference: api.url.clone(),
        },
        started,
    );
    run.generated_at = Some(started);
    run.received_at = Some(started);
    let mode = choose_mode(
        store,
        &tenant.tenant,
        requested,
        api.full_every_days,
        config.delta_skew,
    )
    .await?;
    let client = api_client(api, auth, tenant.demographics, config)?;
    if !client.scopes().is_empty() {
        // The scopes are no secret: they say what the token is asked to read.
        tracing::info!(tenant = %tenant.tenant, scopes = %client.scopes().join(" "), "OAuth 2 scopes requested");
    }
    let budget = match deadline {
        Some(d) => d
            .saturating_duration_since(Instant::now())
            .saturating_sub(config.pull_margin),
        None => config.max_pull,
    };
    let folder = scratch.join(format!("pull-{}", run.run_id));
    let kinds: Vec<EntityKind> = EntityKind::ALL
        .into_iter()
        .filter(|k| *k != EntityKind::Demographics || tenant.demographics)
        .collect();
    let summary = match pull(&client, &kinds, &OPTIONAL, mode, &folder, budget).await {
        Ok(summary) => summary,
        Err(e) => return record_failed_pull(store, run, &folder, e).await,
    };
    tracing::info!(
        tenant = %tenant.tenant,
        run_id = %run.run_id,
        requests = summary.requests,
        retries = summary.retries,
        full = matches!(mode, PullMode::Full),
        oneroster_version = client.version().as_str(),
        declined = summary.collections.values().filter(|c| c.declined.is_some()).count(),
        "pull complete"
    );
    let engine = Engine {
        store,
        artifacts: places.artifacts,
        options: SyncOptions {
            deadline: deadline.map(|d| d.checked_sub(config.apply_margin).unwrap_or(d)),
            chunk: config.write_chunk,
            progress: config.progress.clone(),
            ..SyncOptions::default()
        },
    };
    let source = RunSource {
        kind: "api".into(),
        reference: client.base().to_string(),
    };
    let result = engine
        .sync_package(tenant, &folder, source, Delivered::at(started))
        .await;
    let result = match result {
        Ok(run) => told_as_sent(store, places.artifacts, run, &folder, &summary).await,
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_dir_all(&folder);
    result
}

/// The run and its report rewritten to name what the district sent, and
/// stored again.
async fn told_as_sent<S: Store, A: Artifacts>(
    store: &S,
    artifacts: &A,
    mut run: RunRecord,
    folder: &Path,
    summary: &oneroster_rest::pull::PullSummary,
) -> Result<RunRecord, SyncError> {
    let report = run
        .report_ref
        .as_deref()
        .and_then(|r| artifacts.fetch(r).ok());
    let before = run.clone();
    crate::relocate::tell_as_sent(&mut run, report.as_deref(), folder, summary)
        .map_err(|e| SyncError::io("naming the pulled records in the report", e))?;
    if run != before {
        store.put_run(&run).await?;
    }
    Ok(run)
}

/// The client of the tenant's API, in the tenant's OneRoster version; a
/// 1.2 token asks for the demographics scope when `demographics` are imported.
fn api_client(
    api: &ApiSettings,
    auth: Auth,
    demographics: bool,
    config: &PullConfig,
) -> Result<Client, SyncError> {
    let options = ClientOptions {
        page_size: api.page_size,
        progress: config.progress.clone(),
        addresses: config.addresses,
        version: api.oneroster_version,
        demographics,
        ..ClientOptions::default()
    };
    Client::new(&api.url, auth, options).map_err(|e| match e {
        ClientBuildError::Address(refused) => SyncError::Refused(refused.to_string()),
        ClientBuildError::Version(conflict) => SyncError::Refused(conflict.to_string()),
        ClientBuildError::Http(e) => SyncError::io("building the HTTP client", e),
    })
}

/// A pull that failed: its files removed, nothing applied, and `run`
/// stored as failed with the reason.
async fn record_failed_pull<S: Store>(
    store: &S,
    mut run: RunRecord,
    folder: &Path,
    e: PullError,
) -> Result<RunRecord, SyncError> {
    let _ = std::fs::remove_dir_all(folder);
    let message = match &e {
        PullError::Client(ClientError::CredentialsRejected { .. }) => {
            format!("credentials rejected: {e}")
        }
        other => format!("pull failed, nothing applied: {other}"),
    };
    tracing::warn!(tenant = %run.tenant, run_id = %run.run_id, "{message}");
    run.finish(RunStatus::Failed, message, Utc::now());
    store.put_run(&run).await?;
    Ok(run)
}
