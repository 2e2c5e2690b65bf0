//! The sweep: loose-file sets that stayed incomplete past the window moved
//! aside, the newest delivery of an ended pause window delivered again, and
//! the tenants overdue for a sync counted.

use super::{file_name, Ingest, ItemOutcome};
use crate::keys::{InboundKey, Outcome, Upload, INBOUND};
use chrono::{DateTime, Utc};
use cloud::s3::{self, Listed};
use cloud::Failure;
use roster::{RunRecord, RunSource, RunStatus, Store};

impl<S: Store> Ingest<S> {
    /// Moves loose-file sets that stayed incomplete past the window aside,
    /// with a report and a `rejected` run record naming what was missing.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<Vec<ItemOutcome>, Failure> {
        let bucket = self.config.bucket.clone();
        let all = s3::list_all(&self.s3, &bucket, crate::keys::INBOUND).await?;
        let mut folders: std::collections::BTreeMap<String, Vec<&Listed>> = Default::default();
        for o in &all {
            if let Some(k) = InboundKey::parse(&o.key) {
                if k.upload() == Upload::Csv {
                    folders.entry(k.folder).or_default().push(o);
                }
            }
        }
        let window = chrono::Duration::from_std(self.config.incomplete_window)
            .unwrap_or(chrono::Duration::hours(2));
        let mut outcomes = Vec::new();
        for (folder, objects) in folders {
            let newest = objects.iter().map(|o| o.last_modified).max().unwrap_or(now);
            if now - newest < window {
                continue;
            }
            let Some(first) = InboundKey::parse(&objects[0].key) else {
                continue;
            };
            let names: Vec<String> = objects
                .iter()
                .map(|o| file_name(&o.key).to_string())
                .collect();
            let reason = format!(
                "incomplete loose-file set: {} file(s) ({}) waited more than {} minutes for manifest.csv and the files it declares",
                names.len(),
                names.join(", "),
                self.config.incomplete_window.as_secs() / 60
            );
            let mut run = RunRecord::start(
                &first.tenant,
                RunSource {
                    kind: "csv".into(),
                    reference: format!("s3://{bucket}/{folder}"),
                },
                now,
            );
            run.errors.push(roster::run::RunIssue {
                file: "manifest.csv".into(),
                line: None,
                column: None,
                code: "incomplete_set".into(),
                message: reason.clone(),
                record: None,
            });
            run.error_count = 1;
            run.finish(RunStatus::Rejected, reason.clone(), now);
            tracing::warn!(tenant = %first.tenant, folder = %folder, files = objects.len(), run_id = %run.run_id, "incomplete set moved aside");
            let keys: Vec<_> = objects.iter().map(|o| (o.key.clone(), None)).collect();
            let dest_folder = self
                .file_unread(&bucket, &keys, &mut run, None, &reason)
                .await?;
            outcomes.push(ItemOutcome {
                run_id: Some(run.run_id),
                moved_to: Some(dest_folder),
                ..ItemOutcome::new(&folder, "moved_aside")
            });
        }
        for key in self.deliver_after_pause(now).await? {
            outcomes.push(ItemOutcome::new(&key, "delivered_after_pause"));
        }
        self.report_overdue_tenants(now).await?;
        Ok(outcomes)
    }

    /// Delivers again, under `inbound/`, the newest delivery each SFTP tenant
    /// received during a pause window that is now over (its own, or the
    /// deployment's default for a tenant without any): a copy of the files
    /// kept in its run's folder, whose S3 events make it a new run, applied
    /// through the usual holds. Older deliveries of the window stay paused.
    /// Nothing is copied while a delivery of the tenant waits under `inbound/`.
    /// A tenant whose copy fails is logged and left for the next sweep; the
    /// others go on.
    pub async fn deliver_after_pause(&self, now: DateTime<Utc>) -> Result<Vec<String>, Failure> {
        let mut delivered = Vec::new();
        for tenant in self.store.list_tenants().await? {
            if !tenant.enabled || !tenant.uses(roster::Connection::Sftp) {
                continue;
            }
            let runs = self.store.list_runs(Some(&tenant.tenant), 20).await?;
            let default = self.config.default_pause.as_ref();
            let Some(run) = roster::freshness::due_after_pause(&tenant, &runs, now, default) else {
                continue;
            };
            match self.deliver_again(&tenant.tenant, run).await {
                Ok(keys) => {
                    tracing::info!(tenant = %tenant.tenant, run_id = %run.run_id, files = keys.len(), "pause window over: its newest delivery delivered again");
                    delivered.extend(keys);
                }
                Err(e) => {
                    tracing::warn!(tenant = %tenant.tenant, run_id = %run.run_id, error = %e, "pause window over, but its newest delivery could not be delivered again; the next sweep tries again");
                }
            }
        }
        Ok(delivered)
    }

    /// Copies the kept files of paused `run` back under `inbound/` (nothing
    /// while a delivery of the tenant waits there); the keys written.
    async fn deliver_again(&self, tenant: &str, run: &RunRecord) -> Result<Vec<String>, Failure> {
        let bucket = &self.config.bucket;
        let Some((segment, below)) = paused_source(&run.source.reference) else {
            return Ok(Vec::new());
        };
        let waiting = format!("{INBOUND}{segment}/");
        if !s3::list_all(&self.s3, bucket, &waiting).await?.is_empty() {
            return Ok(Vec::new());
        }
        let folder = Outcome::Processed.run_folder(tenant, &run.run_id);
        let mut written = Vec::new();
        for object in s3::list_all(&self.s3, bucket, &format!("{folder}{below}")).await? {
            let rest = object.key.strip_prefix(&folder).unwrap_or_default();
            if OUR_FILES.contains(&rest) {
                continue;
            }
            let dest = format!("{waiting}{rest}");
            s3::copy_object(&self.s3, bucket, &object.key, None, &dest).await?;
            written.push(dest);
        }
        Ok(written)
    }

    /// Counts the tenants overdue for a sync into the `TenantsOverdue` metric
    /// (the stack's per-tenant staleness alarm), and tells apart those whose
    /// district has sent nothing (`TenantsSilent`) from those whose newest
    /// delivery we did not apply (`TenantsNotApplied`); logs their ids.
    pub async fn report_overdue_tenants(&self, now: DateTime<Utc>) -> Result<Vec<String>, Failure> {
        let days = self.config.overdue_days;
        let overdue = roster::overdue_tenants(&self.store, now, days).await?;
        let (silent, not_applied) =
            roster::freshness::stale_tenants(&self.store, now, days).await?;
        if overdue.is_empty() && silent.is_empty() && not_applied.is_empty() {
            tracing::info!(overdue = 0, "no tenant is overdue for a sync");
        } else {
            tracing::warn!(
                overdue = overdue.len(),
                tenants = %overdue.join(","),
                silent = %silent.join(","),
                not_applied = %not_applied.join(","),
                days,
                "tenants overdue for a sync, silent, or with a delivery not applied"
            );
        }
        let count = |ids: &Vec<String>| ids.len() as u64;
        cloud::metrics::emit(
            &[],
            &[
                cloud::metrics::Metric::count("TenantsOverdue", count(&overdue)),
                cloud::metrics::Metric::count("TenantsSilent", count(&silent)),
                cloud::metrics::Metric::count("TenantsNotApplied", count(&not_applied)),
            ],
            &[
                ("overdue_tenants", serde_json::json!(overdue)),
                ("silent_tenants", serde_json::json!(silent)),
                ("not_applied_tenants", serde_json::json!(not_applied)),
            ],
        );
        Ok(overdue)
    }
}

/// The files a run's folder holds beside the delivery.
const OUR_FILES: [&str; 4] = [
    present::report_page::s3::REPORT_FILE,
    present::report_page::PAGE_FILE,
    cloud::run_files::PLAN_FILE,
    roster::before::BEFORE_FILE,
];

/// The tenant segment and the path below it of a paused delivery's source
/// (`s3://bucket/inbound/{tenant}/{below}`, then `#etag` for one object);
/// `None` for another source.
fn paused_source(reference: &str) -> Option<(String, String)> {
    let uri = s3::S3Uri::parse(reference).ok()?;
    let key = uri
        .key
        .rsplit_once('#')
        .map_or(uri.key.as_str(), |(key, _)| key);
    let rest = key.strip_prefix(INBOUND)?;
    let (tenant, below) = rest.split_once('/')?;
    Some((tenant.to_string(), below.to_string()))
}
