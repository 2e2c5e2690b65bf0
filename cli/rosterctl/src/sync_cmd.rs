//! `rosterctl sync` and `rosterctl pull`: a package or a district's OneRoster API
//! through the engine into the store.

use crate::outcome::*;
use crate::runs_cmd::*;
use chrono::{DateTime, Utc};
use roster::{Artifacts, Delivered, Engine, RunSource, Store, SyncOptions, TenantConfig};
use std::path::Path;
use std::time::Duration;

/// When a package was generated: the newest modification time of its files.
pub fn package_time(path: &Path) -> Option<DateTime<Utc>> {
    let meta = std::fs::metadata(path).ok()?;
    let newest = if meta.is_dir() {
        std::fs::read_dir(path)
            .ok()?
            .filter_map(|e| e.ok()?.metadata().ok()?.modified().ok())
            .max()?
    } else {
        meta.modified().ok()?
    };
    Some(DateTime::<Utc>::from(newest))
}

/// The tenant's config, or a default one (not stored yet) with a note saying so.
pub(crate) async fn tenant_or_default<S: Store>(
    store: &S,
    tenant: &str,
    json: bool,
) -> Result<(TenantConfig, Option<String>), Outcome> {
    match store.get_tenant(tenant).await {
        Ok(Some(t)) => Ok((t, None)),
        Ok(None) => TenantConfig::new(tenant)
            .map(|t| {
                (
                    t,
                    Some(format!(
                        "note: tenant `{tenant}` did not exist; created with default settings"
                    )),
                )
            })
            .map_err(|e| failure(json, &e.to_string())),
        Err(e) => Err(store_failure(json, &e)),
    }
}

/// Parameters of `rosterctl sync`.
pub struct SyncParams<'p> {
    /// Package path.
    pub path: &'p Path,
    /// Tenant id.
    pub tenant: &'p str,
    /// Plan only.
    pub dry_run: bool,
    /// JSON output.
    pub json: bool,
    /// Generation time override.
    pub generated_at: Option<DateTime<Utc>>,
    /// Seconds to wait for another run of the tenant.
    pub wait: u64,
}

/// `rosterctl sync`.
pub async fn sync<S: Store, A: Artifacts>(
    store: &S,
    artifacts: &A,
    p: SyncParams<'_>,
) -> (Outcome, Option<String>) {
    if !p.path.exists() {
        return (
            failure(
                p.json,
                &format!("{}: no such file or folder", p.path.display()),
            ),
            None,
        );
    }
    let (tenant, note) = match tenant_or_default(store, p.tenant, p.json).await {
        Ok(found) => found,
        Err(outcome) => return (outcome, None),
    };
    if note.is_some() && !p.dry_run {
        if let Err(e) = store.put_tenant(&tenant).await {
            return (store_failure(p.json, &e), None);
        }
    }
    let engine = Engine {
        store,
        artifacts,
        options: SyncOptions {
            dry_run: p.dry_run,
            lease_wait: Duration::from_secs(p.wait),
            progress: crate::progress::for_command(p.json),
            this_process: roster::run::RunProcess::current(),
            ..SyncOptions::default()
        },
    };
    let source = RunSource {
        kind: "csv".into(),
        reference: p.path.display().to_string(),
    };
    // An operator's `--generated-at` is taken as stated (a replay, a rehearsal);
    // the files' own time is a claim, received now by this machine's clock.
    let delivered = match p.generated_at {
        Some(stated) => Delivered::at(stated),
        None => Delivered::now(package_time(p.path)),
    };
    match engine
        .sync_package(&tenant, p.path, source, delivered)
        .await
    {
        Ok(run) => {
            // The page a district reads, beside report.json in the runs folder.
            if let Err(e) = roster::report_page::write_beside(&run) {
                eprintln!("warning: report.html not written: {e}");
            }
            (run_outcome(&run, p.json), note)
        }
        Err(e) => (sync_failure(p.json, &e), note),
    }
}

/// Parameters of `rosterctl pull`.
pub struct PullParams<'p> {
    /// Tenant id.
    pub tenant: &'p str,
    /// API URL (default: the tenant's).
    pub api_url: Option<&'p str>,
    /// Credentials.
    pub auth: oneroster::rest::client::Auth,
    /// Full, delta or by cadence.
    pub mode: roster::api::RequestedMode,
    /// Records per page.
    pub page_size: usize,
    /// JSON output.
    pub json: bool,
    /// Scratch folder for the pulled package.
    pub scratch: &'p Path,
}

/// `rosterctl pull`: pulls the tenant's OneRoster API locally and syncs it.
pub async fn pull<S: Store>(store: &S, p: PullParams<'_>) -> (Outcome, Option<String>) {
    let (mut tenant, note) = match tenant_or_default(store, p.tenant, p.json).await {
        Ok(found) => found,
        Err(outcome) => return (outcome, None),
    };
    let url = match (p.api_url, tenant.api.as_ref()) {
        (Some(url), _) => url.to_string(),
        (None, Some(api)) => api.url.clone(),
        (None, None) => {
            return (
                failure(
                    p.json,
                    "no API URL: give --api-url, or configure the tenant's API connection",
                ),
                note,
            )
        }
    };
    let api = roster::ApiSettings {
        url,
        secret_name: tenant
            .api
            .as_ref()
            .map(|a| a.secret_name.clone())
            .unwrap_or_default(),
        page_size: p.page_size,
        full_every_days: tenant.api.as_ref().map(|a| a.full_every_days).unwrap_or(7),
    };
    if tenant.api.is_none() {
        tenant.api = Some(api.clone());
        if !tenant.uses(roster::Connection::Api) {
            tenant.connections.push(roster::Connection::Api);
        }
    }
    if let Err(e) = store.put_tenant(&tenant).await {
        return (store_failure(p.json, &e), note);
    }
    let config = roster::api::PullConfig {
        progress: crate::progress::for_command(p.json),
        ..roster::api::PullConfig::default()
    };
    match roster::api::pull_and_sync(
        store, &tenant, &api, p.auth, p.mode, None, &config, p.scratch,
    )
    .await
    {
        Ok(run) => (run_outcome(&run, p.json), note),
        Err(e) => (sync_failure(p.json, &e), note),
    }
}
