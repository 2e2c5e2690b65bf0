//! The sweep: loose-file sets that stayed incomplete past the window moved
//! aside, and the tenants overdue for a sync counted.

use super::{file_name, Ingest, ItemOutcome};
use crate::keys::{InboundKey, Upload};
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
        self.report_overdue_tenants(now).await?;
        Ok(outcomes)
    }

    /// Counts the tenants overdue for a sync into the `TenantsOverdue` metric
    /// (the stack's per-tenant staleness alarm) and logs their ids.
    pub async fn report_overdue_tenants(&self, now: DateTime<Utc>) -> Result<Vec<String>, Failure> {
        let overdue = roster::overdue_tenants(&self.store, now, self.config.overdue_days).await?;
        if overdue.is_empty() {
            tracing::info!(overdue = 0, "no tenant is overdue for a sync");
        } else {
            tracing::warn!(
                overdue = overdue.len(),
                tenants = %overdue.join(","),
                days = self.config.overdue_days,
                "tenants overdue for a sync"
            );
        }
        cloud::metrics::emit(
            &[],
            &[cloud::metrics::Metric::count(
                "TenantsOverdue",
                overdue.len() as u64,
            )],
            &[("overdue_tenants", serde_json::json!(overdue))],
        );
        Ok(overdue)
    }
}
