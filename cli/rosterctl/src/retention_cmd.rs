//! `rosterctl tenants retain` and `rosterctl users forget`: people's
//! personal data erased when it must be (docs/operations.md, "Retention"
//! and "Forgetting one person").

use crate::on_store;
use crate::outcome::*;
use crate::runs_cmd::{local_engine, operator};
use crate::stores::StoreArgs;
use chrono::{DateTime, Utc};
use roster::retention::{retain_days_from_env, ForgetOutcome, RetentionOutcome};
use roster::{LocalArtifacts, RunStatus, Store};
use serde_json::json;

/// The arguments of `rosterctl tenants retain`.
#[derive(Debug, Clone, clap::Args)]
pub struct RetainArgs {
    /// Tenant id.
    pub tenant: String,
    /// Count what would be erased and deleted; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl RetainArgs {
    /// Runs `rosterctl tenants retain`.
    pub async fn run(self) -> Outcome {
        let default = match retain_days_from_env() {
            Ok(days) => days,
            Err(e) => return failure(self.json, &e),
        };
        let artifacts = self.store.artifacts();
        let (tenant, dry_run, json) = (&self.tenant, self.dry_run, self.json);
        on_store!(self.store, json, s => retain(&s, &artifacts, tenant, default, dry_run, json).await)
    }
}

/// The arguments of `rosterctl users forget`.
#[derive(Debug, Clone, clap::Args)]
pub struct ForgetArgs {
    /// The user's sourcedId.
    pub sourced_id: String,
    /// The tenant.
    #[arg(long)]
    pub tenant: String,
    /// Who asks (recorded on the run and the record) [default: $USER].
    #[arg(long)]
    pub by: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl ForgetArgs {
    /// Runs `rosterctl users forget`.
    pub async fn run(self) -> Outcome {
        let artifacts = self.store.artifacts();
        let by = operator(self.by.clone());
        let (tenant, id, json) = (&self.tenant, &self.sourced_id, self.json);
        on_store!(self.store, json, s => forget(&s, &artifacts, tenant, id, &by, json).await)
    }
}

/// `tenants retain`: the store's pass, then the local run folders older than
/// the retention.
pub async fn retain<S: Store>(
    store: &S,
    artifacts: &LocalArtifacts,
    tenant: &str,
    default_days: u32,
    dry_run: bool,
    json: bool,
) -> Outcome {
    let config = match store.get_tenant(tenant).await {
        Ok(Some(config)) => config,
        Ok(None) => return refused(json, &format!("no tenant `{tenant}`; nothing was erased")),
        Err(e) => return store_failure(json, &e),
    };
    let mut engine = local_engine(store, artifacts);
    engine.options.dry_run = dry_run;
    let now = Utc::now();
    let outcome = match engine.retain(&config, default_days, now).await {
        Ok(outcome) => outcome,
        Err(e) => return sync_failure(json, &e),
    };
    let files = match outcome.cutoff {
        Some(cutoff) if dry_run => artifacts.runs_before(tenant, cutoff),
        Some(cutoff) => artifacts.remove_runs_before(tenant, cutoff),
        None => Ok(Vec::new()),
    };
    let files = match files {
        Ok(files) => files,
        Err(e) => {
            let shown = artifacts.dir().display();
            return failure(json, &format!("the run folders under {shown}: {e}"));
        }
    };
    let own = config.retain_archived_days.is_some();
    let text = render_retention(tenant, &outcome, own, &files, artifacts, dry_run);
    let stdout = if json {
        json!({
            "tenant": tenant,
            "retain_archived_days": outcome.days,
            "cutoff": outcome.cutoff,
            "dry_run": dry_run,
            "due": outcome.due,
            "erased": outcome.erased(),
            "run": outcome.run,
            "run_folders_removed": if dry_run { Vec::new() } else { files.clone() },
            "run_folders_due": if dry_run { files } else { Vec::new() },
        })
        .to_string()
            + "\n"
    } else {
        text
    };
    Outcome {
        stdout,
        exit_code: outcome
            .run
            .as_ref()
            .map_or(EXIT_OK, |r| exit_code_for(r.status)),
    }
}

/// What a retention pass did, in words.
fn render_retention(
    tenant: &str,
    outcome: &RetentionOutcome,
    own: bool,
    files: &[String],
    artifacts: &LocalArtifacts,
    dry_run: bool,
) -> String {
    let (Some(days), Some(cutoff)) = (outcome.days, outcome.cutoff) else {
        return format!("tenant {tenant}: retention is off (0 days); nothing erased\n");
    };
    let whose = if own {
        "the tenant's own"
    } else {
        "the deployment's default"
    };
    let mut out = format!(
        "tenant {tenant}: retention {days} days ({whose}); people archived before {}\n",
        day(cutoff)
    );
    let users = outcome.due.get("users").copied().unwrap_or(0);
    let demographics = outcome.due.get("demographics").copied().unwrap_or(0);
    match (&outcome.run, dry_run) {
        (_, true) => out.push_str(&format!(
            "dry run: {users} user(s) and {demographics} demographics record(s) would have their personal data erased; {} run folder(s) under {} would be deleted\n",
            files.len(),
            artifacts.dir().display()
        )),
        (None, false) => out.push_str("nobody is past the retention: nothing erased\n"),
        (Some(run), false) => out.push_str(&format!("{}: {} (run {})\n", run.status.as_str(), run.message, run.run_id)),
    }
    if !dry_run {
        out.push_str(&format!(
            "deleted {} local run folder(s) (reports, plans, before-images) older than {days} days under {}\n",
            files.len(),
            artifacts.dir().display()
        ));
    }
    out
}

/// `users forget`: one person's personal fields erased at once.
pub async fn forget<S: Store>(
    store: &S,
    artifacts: &LocalArtifacts,
    tenant: &str,
    sourced_id: &str,
    by: &str,
    json: bool,
) -> Outcome {
    let engine = local_engine(store, artifacts);
    let outcome = match engine.forget(tenant, sourced_id, by, Utc::now()).await {
        Ok(outcome) => outcome,
        Err(e) => return sync_failure(json, &e),
    };
    let comes_back = format!(
        "The next delivery brings this person's data back if the district's file still has them: ask the district to remove user {sourced_id} at the source (their SIS / ClassLink) too."
    );
    match outcome {
        ForgetOutcome::Already(erasure) => {
            let said = erasure.describe();
            if json {
                ok(json!({"tenant": tenant, "sourcedId": sourced_id, "already": true, "erasure": erasure}).to_string() + "\n")
            } else {
                ok(format!("user {sourced_id} of tenant {tenant}: {said}; nothing more to erase\n{comes_back}\n"))
            }
        }
        ForgetOutcome::Run(run) => {
            let code = exit_code_for(run.status);
            let stdout = if json {
                json!({"tenant": tenant, "sourcedId": sourced_id, "already": false, "run": run, "note": comes_back}).to_string() + "\n"
            } else if run.status == RunStatus::Applied {
                format!(
                    "user {sourced_id} of tenant {tenant}: {} (run {}); ids, role and archive state kept\n{comes_back}\n",
                    run.message, run.run_id
                )
            } else {
                format!(
                    "user {sourced_id} of tenant {tenant}: nothing erased, {}: {}\n",
                    run.status.as_str(),
                    run.message
                )
            };
            Outcome {
                stdout,
                exit_code: code,
            }
        }
    }
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}
