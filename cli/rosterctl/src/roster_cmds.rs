//! The commands that work on a roster store: `sync`, `runs`, `users`,
//! `tenants status`, `admins`. Each returns what to print and the exit code:
//! 0 ok, 1 refused (held, rejected, busy, stale, not found), 2 usage or I/O.

use crate::validate_cmd::{Outcome, EXIT_OK, EXIT_REFUSED, EXIT_USAGE};
use chrono::{DateTime, Utc};
use oneroster::{EntityKind, Role};
use roster::{
    Artifacts, Engine, RunRecord, RunSource, RunStatus, Store, StoreError, SyncError, SyncOptions,
    TenantConfig,
};
use serde_json::json;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

fn ok(stdout: String) -> Outcome {
    Outcome {
        stdout,
        exit_code: EXIT_OK,
    }
}

fn error_outcome(json: bool, label: &str, message: &str, exit_code: i32) -> Outcome {
    Outcome {
        stdout: if json {
            json!({"ok": false, "error": message}).to_string() + "\n"
        } else {
            format!("{label}: {message}\n")
        },
        exit_code,
    }
}

fn refused(json: bool, message: &str) -> Outcome {
    error_outcome(json, "refused", message, EXIT_REFUSED)
}

/// A store or I/O failure: exit code 2.
pub fn failure(json: bool, message: &str) -> Outcome {
    error_outcome(json, "error", message, EXIT_USAGE)
}

fn store_failure(json: bool, e: &StoreError) -> Outcome {
    failure(json, &e.to_string())
}

fn sync_failure(json: bool, e: &SyncError) -> Outcome {
    match e {
        SyncError::NotFound(m) | SyncError::Refused(m) => refused(json, m),
        other => failure(json, &other.to_string()),
    }
}

/// Exit code for a run's status.
pub fn exit_code_for(status: RunStatus) -> i32 {
    match status {
        RunStatus::Applied | RunStatus::Planned | RunStatus::Discarded => EXIT_OK,
        RunStatus::Failed => EXIT_USAGE,
        _ => EXIT_REFUSED,
    }
}

/// Human rendering of a run record.
pub fn render_run(run: &RunRecord) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Run {}  tenant {}  status {}",
        run.run_id,
        run.tenant,
        run.status.as_str()
    );
    let _ = writeln!(out, "  {}", run.message);
    let _ = writeln!(
        out,
        "  source: {} {}",
        run.source.kind, run.source.reference
    );
    if let Some(generated) = run.generated_at {
        let _ = writeln!(out, "  generated: {generated}");
    }
    let _ = writeln!(
        out,
        "  started: {}  ended: {}",
        run.started_at,
        run.ended_at
            .map(|t| t.to_string())
            .unwrap_or_else(|| "-".into())
    );
    if !run.counts.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<18} {:>9} {:>9} {:>10} {:>9} {:>11} {:>9} {:>8}",
            "type",
            "inserted",
            "updated",
            "unchanged",
            "archived",
            "unarchived",
            "rejected",
            "skipped"
        );
        for kind in EntityKind::ALL {
            if let Some(c) = run.counts.get(kind.file_name()) {
                let _ = writeln!(
                    out,
                    "{:<18} {:>9} {:>9} {:>10} {:>9} {:>11} {:>9} {:>8}",
                    kind.file_name(),
                    c.inserted,
                    c.updated,
                    c.unchanged,
                    c.archived,
                    c.unarchived,
                    c.rejected,
                    c.skipped
                );
            }
        }
        let _ = writeln!(out, "items written: {}", run.items_written);
    }
    for (kind, hold) in &run.hold {
        let _ = writeln!(out, "HOLD {kind}: {}", hold.message);
    }
    for warning in &run.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    if run.error_count > 0 {
        let _ = writeln!(
            out,
            "\nErrors ({} in all; first {}):",
            run.error_count,
            run.errors.len().min(20)
        );
        for e in run.errors.iter().take(20) {
            let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
            let column = e
                .column
                .as_ref()
                .map(|c| format!(" [{c}]"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}.csv{line}{column} {}: {}",
                e.file, e.code, e.message
            );
        }
    }
    if let Some(report) = &run.report_ref {
        let _ = writeln!(out, "report: {report}");
    }
    out
}

fn run_outcome(run: &RunRecord, json: bool) -> Outcome {
    Outcome {
        stdout: if json {
            serde_json::to_string(run).expect("run serialises") + "\n"
        } else {
            render_run(run)
        },
        exit_code: exit_code_for(run.status),
    }
}

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
async fn tenant_or_default<S: Store>(
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
            ..SyncOptions::default()
        },
    };
    let source = RunSource {
        kind: "csv".into(),
        reference: p.path.display().to_string(),
    };
    let generated_at = p.generated_at.or_else(|| package_time(p.path));
    match engine
        .sync_package(&tenant, p.path, source, generated_at)
        .await
    {
        Ok(run) => (run_outcome(&run, p.json), note),
        Err(e) => (sync_failure(p.json, &e), note),
    }
}

/// `rosterctl runs list`.
pub async fn runs_list<S: Store>(
    store: &S,
    tenant: Option<&str>,
    limit: usize,
    json: bool,
) -> Outcome {
    match store.list_runs(tenant, limit).await {
        Err(e) => store_failure(json, &e),
        Ok(runs) if json => ok(serde_json::to_string(&runs).expect("runs serialise") + "\n"),
        Ok(runs) => {
            let mut out = format!(
                "{:<30} {:<16} {:<10} {:>8}  {}\n",
                "run", "tenant", "status", "written", "message"
            );
            for r in runs {
                let _ = writeln!(
                    out,
                    "{:<30} {:<16} {:<10} {:>8}  {}",
                    r.run_id,
                    r.tenant,
                    r.status.as_str(),
                    r.items_written,
                    r.message
                );
            }
            ok(out)
        }
    }
}

/// `rosterctl runs show`.
pub async fn runs_show<S: Store>(store: &S, run_id: &str, json: bool) -> Outcome {
    match store.get_run(run_id).await {
        Err(e) => store_failure(json, &e),
        Ok(None) => refused(json, &format!("no run {run_id}")),
        Ok(Some(run)) => Outcome {
            exit_code: EXIT_OK,
            ..run_outcome(&run, json)
        },
    }
}

/// `rosterctl runs approve|discard`.
pub async fn runs_decide<S: Store, A: Artifacts>(
    store: &S,
    artifacts: &A,
    run_id: &str,
    approve: bool,
    by: &str,
    json: bool,
) -> Outcome {
    // A plan kept in S3 by a Lambda run is fetched first.
    let mut fetched = None;
    if approve {
        if let Ok(Some(run)) = store.get_run(run_id).await {
            if let Some(uri) = run.plan_ref.as_deref().filter(|r| r.starts_with("s3://")) {
                match fetch_s3(uri).await {
                    Ok(local) => {
                        fetched = Some(S3Prefetched {
                            uri: uri.to_string(),
                            local,
                        })
                    }
                    Err(e) => return failure(json, &e),
                }
            }
        }
    }
    let result = match &fetched {
        Some(prefetched) => decide(&Engine::new(store, prefetched), run_id, approve, by).await,
        None => decide(&Engine::new(store, artifacts), run_id, approve, by).await,
    };
    if let Some(p) = fetched {
        let _ = std::fs::remove_file(&p.local);
    }
    match result {
        Ok(run) => run_outcome(&run, json),
        Err(e) => sync_failure(json, &e),
    }
}

async fn decide<S: Store, A: Artifacts>(
    engine: &Engine<'_, S, A>,
    run_id: &str,
    approve: bool,
    by: &str,
) -> Result<RunRecord, SyncError> {
    if approve {
        engine.approve(run_id, by).await
    } else {
        engine.discard(run_id, by).await
    }
}

/// A held plan downloaded from S3 for approval.
struct S3Prefetched {
    uri: String,
    local: std::path::PathBuf,
}

impl Artifacts for S3Prefetched {
    fn scratch(
        &self,
        _tenant: &str,
        _run_id: &str,
        name: &str,
    ) -> std::io::Result<std::path::PathBuf> {
        Ok(std::env::temp_dir().join(name))
    }

    fn keep(
        &self,
        _tenant: &str,
        _run_id: &str,
        _name: &str,
        path: &Path,
    ) -> std::io::Result<String> {
        Ok(path.display().to_string())
    }

    fn fetch(&self, reference: &str) -> std::io::Result<std::path::PathBuf> {
        if reference == self.uri {
            Ok(self.local.clone())
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("run file `{reference}` was not fetched"),
            ))
        }
    }
}

/// Downloads `s3://bucket/key` to a temporary file (credentials and endpoint from the environment).
async fn fetch_s3(uri: &str) -> Result<std::path::PathBuf, String> {
    let rest = uri
        .strip_prefix("s3://")
        .ok_or_else(|| format!("`{uri}` is not an s3:// URI"))?;
    let (bucket, key) = rest
        .split_once('/')
        .ok_or_else(|| format!("`{uri}` has no key"))?;
    let sdk = cloud::sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(std::env::var_os("AWS_ENDPOINT_URL").is_some())
            .build(),
    );
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot fetch the held plan {uri}: {}",
                e.into_service_error()
            )
        })?;
    let local = std::env::temp_dir().join(format!("rosterctl-plan-{}.jsonl", std::process::id()));
    let mut file = tokio::fs::File::create(&local)
        .await
        .map_err(|e| format!("writing {}: {e}", local.display()))?;
    tokio::io::copy(&mut object.body.into_async_read(), &mut file)
        .await
        .map_err(|e| format!("reading the held plan {uri}: {e}"))?;
    Ok(local)
}

/// `sso audit`: a district's recent sign-in attempts (ids and outcomes only).
pub async fn sso_audit<S: Store>(
    store: &S,
    tenant: Option<&str>,
    limit: usize,
    json: bool,
) -> Outcome {
    match store
        .list_sign_in_audits(tenant, limit, chrono::Utc::now())
        .await
    {
        Err(e) => store_failure(json, &e),
        Ok(audits) if json => ok(json!({ "attempts": audits }).to_string() + "\n"),
        Ok(audits) => {
            let mut out = format!(
                "Sign-in attempts ({}), newest first: {}\n",
                tenant.unwrap_or("unrecognised districts"),
                audits.len()
            );
            let _ = writeln!(
                out,
                "{:<24}  {:<22}  {:<12}  {:<14}  {:<14}  reference",
                "time", "outcome", "classlink", "user", "sourcedId"
            );
            for a in &audits {
                let _ = writeln!(
                    out,
                    "{:<24}  {:<22}  {:<12}  {:<14}  {:<14}  {}",
                    a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    a.outcome,
                    a.classlink_tenant_id.as_deref().unwrap_or("-"),
                    a.classlink_user_id.as_deref().unwrap_or("-"),
                    a.sourced_id.as_deref().unwrap_or("-"),
                    a.request_id
                );
            }
            ok(out)
        }
    }
}

/// `rosterctl users show`.
pub async fn users_show<S: Store>(
    store: &S,
    tenant: &str,
    sourced_id: &str,
    json: bool,
) -> Outcome {
    match store
        .get_entity(tenant, EntityKind::Users, sourced_id)
        .await
    {
        Err(e) => store_failure(json, &e),
        Ok(None) => refused(json, &format!("no user {sourced_id} in tenant {tenant}")),
        Ok(Some(user)) => {
            let value = json!({
                "tenant": tenant,
                "sourcedId": user.sourced_id,
                "sis": user.sis.fields(),
                "archived": user.archive.is_some(),
                "archived_by": user.archive.as_ref().map(|a| a.by.as_str()),
                "archived_at": user.archive.as_ref().map(|a| a.at),
                "archived_run": user.archive.as_ref().and_then(|a| a.run.clone()),
                "primary_admin": user.primary_admin,
                "first_seen_at": user.first_seen_at,
                "first_seen_run": user.first_seen_run,
                "updated_at": user.updated_at,
                "updated_run": user.updated_run,
            });
            if json {
                return ok(value.to_string() + "\n");
            }
            let mut out = format!("User {} (tenant {tenant})\n", user.sourced_id);
            for (k, v) in user.sis.fields() {
                let _ = writeln!(out, "  {k}: {v}");
            }
            let _ = writeln!(out, "archived: {}", user.archive.is_some());
            if let Some(a) = &user.archive {
                let _ = writeln!(
                    out,
                    "archived_by: {} at {} (run {})",
                    a.by.as_str(),
                    a.at,
                    a.run.as_deref().unwrap_or("-")
                );
            }
            let _ = writeln!(out, "primary_admin: {}", user.primary_admin);
            let _ = writeln!(
                out,
                "first seen: {} (run {}); last written: {} (run {})",
                user.first_seen_at, user.first_seen_run, user.updated_at, user.updated_run
            );
            ok(out)
        }
    }
}

/// `rosterctl tenants status`.
pub async fn tenants_status<S: Store>(store: &S, only: Option<&str>, json: bool) -> Outcome {
    let tenants = match store.list_tenants().await {
        Ok(t) => t,
        Err(e) => return store_failure(json, &e),
    };
    let mut rows = Vec::new();
    for t in tenants
        .iter()
        .filter(|t| only.is_none_or(|o| o == t.tenant))
    {
        let last = match store.list_runs(Some(&t.tenant), 1).await {
            Ok(runs) => runs.into_iter().next(),
            Err(e) => return store_failure(json, &e),
        };
        let admins = match store.primary_admins(&t.tenant).await {
            Ok(a) => a,
            Err(e) => return store_failure(json, &e),
        };
        let state = match store.get_state(&t.tenant).await {
            Ok(s) => s,
            Err(e) => return store_failure(json, &e),
        };
        rows.push(json!({
            "tenant": t.tenant,
            "enabled": t.enabled,
            "last_run": last.as_ref().map(|r| json!({
                "run_id": r.run_id, "status": r.status.as_str(), "ended_at": r.ended_at,
                "message": r.message, "counts": r.counts, "items_written": r.items_written,
            })),
            "last_applied_run": state.last_applied_run,
            "last_applied_at": state.last_applied_at,
            "primary_admins": admins,
            "has_primary_admin": !admins.is_empty(),
        }));
    }
    if only.is_some() && rows.is_empty() {
        return refused(json, &format!("no tenant {}", only.unwrap_or_default()));
    }
    if json {
        return ok(serde_json::Value::Array(rows).to_string() + "\n");
    }
    let mut out = String::new();
    for r in &rows {
        let _ = writeln!(
            out,
            "Tenant {}{}",
            r["tenant"].as_str().unwrap_or(""),
            if r["enabled"] == true {
                ""
            } else {
                " (disabled)"
            }
        );
        match r["last_run"].as_object() {
            Some(last) => {
                let _ = writeln!(
                    out,
                    "  last run: {} {} — {}",
                    last["run_id"].as_str().unwrap_or(""),
                    last["status"].as_str().unwrap_or(""),
                    last["message"].as_str().unwrap_or("")
                );
            }
            None => {
                let _ = writeln!(out, "  last run: none yet");
            }
        }
        if r["has_primary_admin"] == true {
            let _ = writeln!(out, "  Primary Administrator: {}", r["primary_admins"]);
        } else {
            let _ = writeln!(out, "  Primary Administrator: NONE — the roster is not usable until one is promoted (rosterctl admins promote --tenant {} SOURCEDID)", r["tenant"].as_str().unwrap_or(""));
        }
    }
    ok(out)
}

/// `rosterctl admins promote|demote`.
pub async fn admins_set<S: Store>(
    store: &S,
    tenant: &str,
    sourced_id: &str,
    promote: bool,
    json: bool,
) -> Outcome {
    let user = match store
        .get_entity(tenant, EntityKind::Users, sourced_id)
        .await
    {
        Ok(Some(u)) => u,
        Ok(None) => return refused(json, &format!("no user {sourced_id} in tenant {tenant}")),
        Err(e) => return store_failure(json, &e),
    };
    if promote {
        if user.archive.is_some() {
            return refused(
                json,
                &format!(
                    "user {sourced_id} is archived; only an active administrator can be promoted"
                ),
            );
        }
        if user.sis.str("role") != Some(Role::Administrator.as_str()) {
            return refused(
                json,
                &format!(
                    "user {sourced_id} has role `{}`; only an administrator can be promoted",
                    user.sis.str("role").unwrap_or("unknown")
                ),
            );
        }
    }
    if let Err(e) = store.set_primary_admin(tenant, sourced_id, promote).await {
        return store_failure(json, &e);
    }
    let verb = if promote {
        "promoted to"
    } else {
        "demoted from"
    };
    if json {
        ok(
            json!({"ok": true, "tenant": tenant, "sourcedId": sourced_id, "primary_admin": promote})
                .to_string() + "\n",
        )
    } else {
        ok(format!(
            "user {sourced_id} {verb} Primary Administrator of tenant {tenant}\n"
        ))
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
    let config = roster::api::PullConfig::default();
    match roster::api::pull_and_sync(
        store, &tenant, &api, p.auth, p.mode, None, &config, p.scratch,
    )
    .await
    {
        Ok(run) => (run_outcome(&run, p.json), note),
        Err(e) => (sync_failure(p.json, &e), note),
    }
}
