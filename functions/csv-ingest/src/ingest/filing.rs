//! Filing: a run's objects moved to `processed/` or `rejected/`, with its
//! `report.json` and report page beside them, the run record pointing at
//! them, and the district told; and the objects refused unread.

use super::journal::Filing;
use super::run::runs_dir;
use super::{file_name, Delivery, Ingest, ItemOutcome};
use crate::event::ObjectRef;
use crate::keys::{InboundKey, Outcome};
use chrono::{DateTime, Utc};
use cloud::s3;
use cloud::Failure;
use roster::{RunRecord, RunSource, RunStatus, Store, TenantConfig};
use serde_json::{json, Value};

impl<S: Store> Ingest<S> {
    /// Files a finished run: its files and report beside the objects, in
    /// `processed/` or `rejected/`; the run record pointing at them; the
    /// objects moved there; the district told.
    pub(super) async fn file_run(
        &self,
        tenant: &TenantConfig,
        object: &ObjectRef,
        delivery: &Delivery,
        mut run: RunRecord,
    ) -> Result<ItemOutcome, Failure> {
        let outcome = if run.status == RunStatus::Rejected {
            Outcome::Rejected
        } else {
            Outcome::Processed
        };
        let folder = outcome.run_folder(&tenant.tenant, &run.run_id);
        // Keep the run's files beside the objects, and point the run record at them.
        let local_runs = runs_dir(delivery).join(&tenant.tenant).join(&run.run_id);
        let validation = std::fs::read(local_runs.join("report.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        // A held plan, and an applied run's before-images (tagged: the bucket's
        // lifecycle rule expires them after the deployment's retention).
        cloud::run_files::keep_in_s3(&self.s3, &object.bucket, &folder, &mut run).await?;
        run.report_ref = Some(format!("s3://{}/{folder}report.json", object.bucket));
        self.store.put_run(&run).await?;
        present::report_page::s3::put_report(
            &self.s3,
            &object.bucket,
            &folder,
            &json!({"run": run, "validation": validation}),
            &run,
            validation.as_ref(),
        )
        .await?;
        let filing = Filing {
            tenant: tenant.tenant.clone(),
            run_id: run.run_id.clone(),
            outcome: outcome.into(),
            objects: delivery.objects.clone(),
        };
        let moved_to = self.file_objects(object, &filing).await?;
        self.notify(tenant, &run).await;
        Ok(ItemOutcome {
            run_id: Some(run.run_id.clone()),
            moved_to,
            ..ItemOutcome::new(&object.key, run.status.as_str())
        })
    }

    /// Refuses a delivery larger than `MAX_DELIVERY_MB` before a byte of it
    /// is downloaded: a `rejected` run naming its size and the limit, its
    /// objects filed in `rejected/` with the report, the district told.
    pub(super) async fn refuse_too_large(
        &self,
        tenant: &TenantConfig,
        object: &ObjectRef,
        objects: &[(String, Option<String>)],
        reference: String,
        size: u64,
    ) -> Result<ItemOutcome, Failure> {
        let limit = self.config.max_delivery_bytes;
        let (file, what) = match objects {
            [(key, _)] => (file_name(key).to_string(), file_name(key).to_string()),
            _ => (
                "manifest.csv".to_string(),
                format!("the set's {} files", objects.len()),
            ),
        };
        let message = format!(
            "delivery too large: {what} is {} ({size} bytes), more than the {} ({limit} bytes) this system accepts (MAX_DELIVERY_MB); nothing was read",
            human_bytes(size),
            human_bytes(limit)
        );
        tracing::warn!(tenant = %tenant.tenant, key = %object.key, bytes = size, limit, "delivery too large: rejected unread");
        let now = Utc::now();
        let source = RunSource {
            kind: "csv".into(),
            reference,
        };
        let mut run = RunRecord::start(&tenant.tenant, source, now);
        run.errors.push(roster::run::RunIssue {
            file,
            line: None,
            column: None,
            code: "archive_too_large".into(),
            message: message.clone(),
            record: None,
        });
        run.error_count = 1;
        run.finish(RunStatus::Rejected, message.clone(), now);
        let folder = self
            .file_unread(
                &object.bucket,
                objects,
                &mut run,
                Some((tenant, object)),
                &message,
            )
            .await?;
        let moved_to = objects
            .iter()
            .find(|(key, _)| key == &object.key)
            .or(objects.first())
            .and_then(|(key, _)| InboundKey::parse(key).map(|k| (k, key)))
            .map(|(k, key)| k.destination(key, Outcome::Rejected, &run.run_id))
            .unwrap_or(folder);
        Ok(ItemOutcome {
            run_id: Some(run.run_id.clone()),
            moved_to: Some(moved_to),
            ..ItemOutcome::new(&object.key, run.status.as_str())
        })
    }

    /// Files a run rejected without reading its delivery (too large, an
    /// incomplete set): the run record (when the tenant is configured), its
    /// report in `rejected/{tenant}/{run}/`, the objects moved there (through
    /// the filing journal when an event's object is given), the district
    /// told. Returns the folder.
    pub(super) async fn file_unread(
        &self,
        bucket: &str,
        objects: &[(String, Option<String>)],
        run: &mut RunRecord,
        for_event: Option<(&TenantConfig, &ObjectRef)>,
        reason: &str,
    ) -> Result<String, Failure> {
        let folder = Outcome::Rejected.run_folder(&run.tenant, &run.run_id);
        run.report_ref = Some(format!("s3://{bucket}/{folder}report.json"));
        let tenant = match for_event {
            Some((tenant, _)) => Some(tenant.clone()),
            None => self.store.get_tenant(&run.tenant).await.ok().flatten(),
        };
        if tenant.is_some() {
            self.store.put_run(run).await?;
        }
        let report = json!({"run": run, "reason": reason});
        present::report_page::s3::put_report(&self.s3, bucket, &folder, &report, run, None).await?;
        let filing = Filing {
            tenant: run.tenant.clone(),
            run_id: run.run_id.clone(),
            outcome: Outcome::Rejected.into(),
            objects: objects.to_vec(),
        };
        match for_event {
            Some((_, object)) => self.file_objects(object, &filing).await?,
            None => self.move_objects(bucket, &filing, "").await?,
        };
        if let Some(tenant) = &tenant {
            self.notify(tenant, run).await;
        }
        Ok(folder)
    }

    /// Tells the tenant's contacts about `run`, if its outcome is worth it (best effort).
    pub(super) async fn notify(&self, tenant: &TenantConfig, run: &RunRecord) {
        if let (Some(topic), Some(n)) = (&self.notices, present::notice::for_tenant(tenant, run)) {
            topic
                .send_notice(&n.tenant, &n.outcome, &n.subject, &n.body)
                .await;
        }
    }

    /// After a run failed for good: the failed run the engine recorded for
    /// `reference`, to the tenant's contacts.
    pub(super) async fn notify_failed(&self, tenant: &TenantConfig, reference: &str) {
        if self.notices.is_none() || tenant.notify_emails.is_empty() {
            return;
        }
        if let Ok(runs) = self.store.list_runs(Some(&tenant.tenant), 1).await {
            if let Some(run) = runs
                .into_iter()
                .find(|r| r.status == RunStatus::Failed && r.source.reference == reference)
            {
                self.notify(tenant, &run).await;
            }
        }
    }

    /// Moves an object the function will not import aside, with a report saying why.
    pub(super) async fn move_aside(
        &self,
        object: &ObjectRef,
        inbound: &InboundKey,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Failure> {
        let id = roster::run::new_run_id(now);
        let dest = inbound.destination(&object.key, Outcome::Rejected, &id);
        let folder = Outcome::Rejected.run_folder(&inbound.tenant, &id);
        tracing::warn!(key = %object.key, reason, "object moved aside");
        s3::put_json(
            &self.s3,
            &object.bucket,
            &format!("{folder}report.json"),
            &json!({"key": object.key, "reason": reason, "at": now}),
        )
        .await?;
        s3::put_bytes(
            &self.s3,
            &object.bucket,
            &format!("{folder}{}", present::report_page::PAGE_FILE),
            present::report_page::render_set_aside(file_name(&object.key), reason, now)
                .into_bytes(),
            "text/html; charset=utf-8",
        )
        .await?;
        s3::move_object(
            &self.s3,
            &object.bucket,
            &object.key,
            object.version_id.as_deref(),
            &dest,
        )
        .await?;
        Ok(dest)
    }
}

/// `bytes` for a person: `9.0 GiB`, `512.0 KiB`, `900 bytes`.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = None;
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = Some(u);
    }
    match unit {
        Some(u) => format!("{value:.1} {u}"),
        None => format!("{bytes} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_as_a_person_says_them() {
        assert_eq!(human_bytes(900), "900 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(9 * 1024 * 1024 * 1024), "9.0 GiB");
        assert_eq!(human_bytes(u64::MAX), "16777216.0 TiB");
    }
}
