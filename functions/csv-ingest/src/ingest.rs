//! The ingest: from an object in `inbound/{tenant}/` to a run of the sync
//! engine, then the object(s) moved to `processed/` or `rejected/` with a
//! `report.json` beside them. Nothing is ever written under `inbound/`.

use crate::config::IngestConfig;
use crate::event::{Continuation, Invocation, ObjectRef};
use crate::keys::{InboundKey, Outcome, Upload};
use chrono::{DateTime, Utc};
use cloud::continuation::ContinuationQueue;
use cloud::s3::{self, Listed};
use cloud::Failure;
use oneroster::manifest::parse_manifest;
use present::progress_log::LoggedProgress;
use roster::{
    ClaimOutcome, Connection, Delivered, Engine, LocalArtifacts, RunRecord, RunSource, RunStatus,
    Store, SyncOptions, TenantConfig,
};
use serde::Serialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a claim protects work in progress (past the Lambda maximum of 15 minutes).
const CLAIM_LEASE: Duration = Duration::from_secs(20 * 60);
/// How long a finished claim is remembered to drop duplicate events.
const CLAIM_MEMORY: Duration = Duration::from_secs(14 * 24 * 3600);
/// Largest manifest read into memory.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;
/// A long run logs a progress line at most this often (CloudWatch).
const PROGRESS_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemOutcome {
    /// The object key.
    pub key: String,
    /// `applied`, `held`, `rejected`, `stale`, `continued`, `duplicate`,
    /// `waiting` (part of an incomplete loose-file set), `in_progress`,
    /// `deferred`, `moved_aside`, `ignored`.
    pub outcome: String,
    /// The run, when one ran.
    pub run_id: Option<String>,
    /// Where the object went.
    pub moved_to: Option<String>,
}

impl ItemOutcome {
    fn new(key: &str, outcome: &str) -> ItemOutcome {
        ItemOutcome {
            key: key.to_string(),
            outcome: outcome.to_string(),
            run_id: None,
            moved_to: None,
        }
    }
}

/// The function's clients and configuration, built once per container.
/// Generic over the roster store (DynamoDB in Lambda).
pub struct Ingest<S: Store> {
    /// S3.
    pub s3: aws_sdk_s3::Client,
    /// Where work continues in a new invocation (`CONTINUE_QUEUE_URL`; without
    /// it, the invocation fails and Lambda's retries are used).
    pub continuations: Option<ContinuationQueue>,
    /// The run-notice topic (`NOTICE_TOPIC_ARN`), if the deployment has one.
    pub notices: Option<cloud::sns::Topic>,
    /// The roster store.
    pub store: S,
    /// Configuration.
    pub config: IngestConfig,
    /// Local scratch space (`/tmp` in Lambda).
    pub scratch: PathBuf,
}

/// A package downloaded for a run: its private scratch folder (removed when
/// the delivery is dropped, whatever path the run took), its path there, the
/// objects it came from, its time.
struct Delivery {
    work: TempDir,
    path: PathBuf,
    objects: Vec<(String, Option<String>)>,
    generated_at: Option<DateTime<Utc>>,
    reference: String,
}

/// An S3 object's time is when it reached us, and the delivery's time too.
fn delivered(delivery: &Delivery) -> Delivered {
    delivery
        .generated_at
        .map_or_else(|| Delivered::now(None), Delivered::at)
}

impl<S: Store> Ingest<S> {
    /// Handles one invocation; `deadline` is when Lambda will stop this one.
    pub async fn handle(
        &self,
        invocation: Invocation,
        deadline: Option<Instant>,
    ) -> Result<Vec<ItemOutcome>, Failure> {
        match invocation {
            Invocation::Sweep => self.sweep(Utc::now()).await,
            Invocation::Objects(objects) => {
                let mut outcomes = Vec::new();
                for (object, attempt) in objects {
                    outcomes.push(self.handle_object(object, attempt, deadline).await?);
                }
                Ok(outcomes)
            }
        }
    }

    async fn handle_object(
        &self,
        object: ObjectRef,
        attempt: u32,
        deadline: Option<Instant>,
    ) -> Result<ItemOutcome, Failure> {
        let Some(inbound) = InboundKey::parse(&object.key) else {
            tracing::warn!(key = %object.key, "object outside inbound/{{tenant}}/ ignored");
            return Ok(ItemOutcome::new(&object.key, "ignored"));
        };
        let owner = format!(
            "{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        let claim_key = object.claim_key();
        match self
            .store
            .claim(&claim_key, &owner, Utc::now(), CLAIM_LEASE)
            .await?
        {
            ClaimOutcome::Claimed => {}
            ClaimOutcome::Done { result } => {
                tracing::info!(key = %object.key, previous = %result, "duplicate delivery skipped");
                return Ok(ItemOutcome::new(&object.key, "duplicate"));
            }
            ClaimOutcome::Busy { .. } => {
                tracing::info!(key = %object.key, "another invocation is processing this object");
                return Ok(ItemOutcome::new(&object.key, "in_progress"));
            }
        }
        let result = self.process(&object, &inbound, attempt, deadline).await;
        self.settle_claim(&claim_key, &owner, &result).await?;
        result
    }

    async fn process(
        &self,
        object: &ObjectRef,
        inbound: &InboundKey,
        attempt: u32,
        deadline: Option<Instant>,
    ) -> Result<ItemOutcome, Failure> {
        let tenant = match self.tenant_for(&inbound.tenant).await? {
            Ok(tenant) => tenant,
            Err(reason) => {
                let moved = self
                    .move_aside(object, inbound, &reason, Utc::now())
                    .await?;
                return Ok(ItemOutcome {
                    moved_to: Some(moved),
                    ..ItemOutcome::new(&object.key, "moved_aside")
                });
            }
        };
        match inbound.upload() {
            Upload::Zip => {
                let version = object.version_id.as_deref();
                let Some(size) =
                    s3::size_of(&self.s3, &object.bucket, &object.key, version).await?
                else {
                    return Ok(ItemOutcome::new(&object.key, "duplicate"));
                };
                if size > self.config.max_delivery_bytes {
                    let objects = [(object.key.clone(), object.version_id.clone())];
                    let reference = format!("s3://{}/{}", object.bucket, object.key);
                    return self
                        .refuse_too_large(&tenant, object, &objects, reference, size)
                        .await;
                }
                let work = self.work_dir()?;
                let path = work.path().join(&inbound.file_name);
                let Some(downloaded) = s3::download(
                    &self.s3,
                    &object.bucket,
                    &object.key,
                    object.version_id.as_deref(),
                    &path,
                    size,
                )
                .await?
                else {
                    return Ok(ItemOutcome::new(&object.key, "duplicate"));
                };
                let delivery = Delivery {
                    work,
                    path,
                    objects: vec![(object.key.clone(), object.version_id.clone())],
                    generated_at: downloaded.last_modified.or(object.event_time),
                    reference: format!(
                        "s3://{}/{}{}",
                        object.bucket,
                        object.key,
                        downloaded.etag.map(|e| format!("#{e}")).unwrap_or_default()
                    ),
                };
                self.run(&tenant, object, delivery, attempt, deadline).await
            }
            Upload::Csv => {
                self.loose_file(&tenant, object, inbound, attempt, deadline)
                    .await
            }
            Upload::Other => {
                let moved = self
                    .move_aside(object, inbound, "not part of a OneRoster package: upload a .zip, or manifest.csv and the CSV files", Utc::now())
                    .await?;
                Ok(ItemOutcome {
                    moved_to: Some(moved),
                    ..ItemOutcome::new(&object.key, "moved_aside")
                })
            }
        }
    }

    /// Ends a claim after the work: done (remembered, so duplicates are
    /// skipped), or released when the work must continue or be retried.
    async fn settle_claim(
        &self,
        key: &str,
        owner: &str,
        result: &Result<ItemOutcome, Failure>,
    ) -> Result<(), Failure> {
        match result {
            Ok(o) if !matches!(o.outcome.as_str(), "continued" | "deferred") => {
                let summary = format!("{} {}", o.outcome, o.run_id.as_deref().unwrap_or("-"));
                self.store
                    .finish_claim(key, owner, &summary, Utc::now(), CLAIM_MEMORY)
                    .await?;
            }
            _ => self.store.release_claim(key, owner).await?,
        }
        Ok(())
    }

    /// The tenant for an inbound folder, or why its files are not imported.
    async fn tenant_for(&self, id: &str) -> Result<Result<TenantConfig, String>, Failure> {
        if roster::tenant::check_tenant_id(id).is_err() {
            return Ok(Err(format!("`{id}` is not a valid tenant id")));
        }
        Ok(match self.store.get_tenant(id).await? {
            None => Err(format!("tenant `{id}` is not configured")),
            Some(t) if !t.enabled => Err(format!("tenant `{id}` is disabled")),
            Some(t) if !t.uses(Connection::Sftp) => Err(format!(
                "tenant `{id}` does not have the SFTP connection enabled"
            )),
            Some(t) => Ok(t),
        })
    }

    /// A loose CSV arrived: when its set is complete, the invocation that wins
    /// the set's claim processes it, exactly once.
    async fn loose_file(
        &self,
        tenant: &TenantConfig,
        object: &ObjectRef,
        inbound: &InboundKey,
        attempt: u32,
        deadline: Option<Instant>,
    ) -> Result<ItemOutcome, Failure> {
        let listed: Vec<Listed> =
            s3::list_folder(&self.s3, &object.bucket, &inbound.folder).await?;
        let csvs: Vec<&Listed> = listed
            .iter()
            .filter(|o| o.key.to_ascii_lowercase().ends_with(".csv"))
            .collect();
        let Some(manifest) = csvs
            .iter()
            .find(|o| file_name(&o.key).eq_ignore_ascii_case("manifest.csv"))
        else {
            return Ok(ItemOutcome::new(&object.key, "waiting"));
        };
        if manifest.size <= MAX_MANIFEST_BYTES {
            let work = self.work_dir()?;
            let path = work.path().join("manifest.csv");
            let read = s3::download(
                &self.s3,
                &object.bucket,
                &manifest.key,
                None,
                &path,
                MAX_MANIFEST_BYTES,
            )
            .await?;
            let parsed = match read {
                Some(_) => std::fs::File::open(&path)
                    .ok()
                    .map(|mut f| parse_manifest(&mut f)),
                None => None,
            };
            drop(work);
            if let Some(Ok((m, _))) = parsed {
                let present: Vec<String> = csvs
                    .iter()
                    .map(|o| file_name(&o.key).to_ascii_lowercase())
                    .collect();
                let missing: Vec<&str> = m
                    .required_files()
                    .into_iter()
                    .filter(|name| !present.contains(&format!("{}.csv", name.to_ascii_lowercase())))
                    .collect();
                if !missing.is_empty() {
                    tracing::info!(tenant = %tenant.tenant, folder = %inbound.folder, missing = missing.len(), "loose-file set incomplete");
                    return Ok(ItemOutcome::new(&object.key, "waiting"));
                }
            }
            // An unreadable manifest makes the set "complete": the run rejects it with a report.
        }
        // The set is this upload of the manifest: the same content uploaded again
        // tomorrow (ClassLink re-sends unchanged manifests) is a new set.
        let set_key = format!(
            "SET#{}/{}#{}#{}",
            object.bucket,
            inbound.folder,
            manifest.etag,
            manifest.last_modified.timestamp_millis()
        );
        let owner = format!(
            "set-{}",
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        match self
            .store
            .claim(&set_key, &owner, Utc::now(), CLAIM_LEASE)
            .await?
        {
            ClaimOutcome::Claimed => {}
            ClaimOutcome::Done { .. } => return Ok(ItemOutcome::new(&object.key, "duplicate")),
            ClaimOutcome::Busy { .. } => return Ok(ItemOutcome::new(&object.key, "in_progress")),
        }
        let result = self
            .run_set(tenant, object, inbound, &csvs, attempt, deadline)
            .await;
        self.settle_claim(&set_key, &owner, &result).await?;
        result
    }

    async fn run_set(
        &self,
        tenant: &TenantConfig,
        object: &ObjectRef,
        inbound: &InboundKey,
        csvs: &[&Listed],
        attempt: u32,
        deadline: Option<Instant>,
    ) -> Result<ItemOutcome, Failure> {
        let size: u64 = csvs.iter().map(|o| o.size).sum();
        if size > self.config.max_delivery_bytes {
            let objects: Vec<_> = csvs.iter().map(|o| (o.key.clone(), None)).collect();
            let reference = format!("s3://{}/{}", object.bucket, inbound.folder);
            return self
                .refuse_too_large(tenant, object, &objects, reference, size)
                .await;
        }
        let work = self.work_dir()?;
        let package = work.path().join("package");
        std::fs::create_dir_all(&package)?;
        let mut objects = Vec::new();
        for o in csvs {
            if s3::download(
                &self.s3,
                &object.bucket,
                &o.key,
                None,
                &package.join(file_name(&o.key)),
                o.size,
            )
            .await?
            .is_some()
            {
                objects.push((o.key.clone(), None));
            }
        }
        let delivery = Delivery {
            work,
            path: package,
            objects,
            generated_at: csvs.iter().map(|o| o.last_modified).max(),
            reference: format!("s3://{}/{}", object.bucket, inbound.folder),
        };
        self.run(tenant, object, delivery, attempt, deadline).await
    }

    /// Runs the engine on a downloaded delivery, then files the objects.
    async fn run(
        &self,
        tenant: &TenantConfig,
        object: &ObjectRef,
        delivery: Delivery,
        attempt: u32,
        deadline: Option<Instant>,
    ) -> Result<ItemOutcome, Failure> {
        let started = Instant::now();
        let runs = delivery.work.path().join("runs");
        let artifacts = LocalArtifacts::new(&runs);
        let engine = Engine {
            store: &self.store,
            artifacts: &artifacts,
            options: SyncOptions {
                lease_wait: self.config.tenant_wait,
                deadline: deadline.map(|d| d.checked_sub(self.config.continue_margin).unwrap_or(d)),
                progress: LoggedProgress::every(PROGRESS_LOG_INTERVAL),
                ..SyncOptions::default()
            },
        };
        let source = RunSource {
            kind: "csv".into(),
            reference: delivery.reference.clone(),
        };
        let mut run = match engine
            .sync_package(tenant, &delivery.path, source, delivered(&delivery))
            .await
        {
            Ok(run) => run,
            Err(e) => {
                // Retrying cannot fix it: the district hears of the failed run now
                // (a retryable failure is retried, then reaches the operators' alarm).
                if !e.is_retryable() {
                    self.notify_failed(tenant, &delivery.reference).await;
                }
                return Err(e.into());
            }
        };
        present::run_log::emit("csv-ingest", &run, started.elapsed(), Some(&object.key));
        match run.status {
            RunStatus::Busy | RunStatus::Continued => {
                let outcome = if run.status == RunStatus::Busy {
                    "deferred"
                } else {
                    "continued"
                };
                // What a continued run wrote so far can be reverted: its before-images
                // leave this container's /tmp now.
                if run.status == RunStatus::Continued {
                    let folder = Outcome::Processed.run_folder(&tenant.tenant, &run.run_id);
                    roster::run_files::keep_in_s3(&self.s3, &object.bucket, &folder, &mut run)
                        .await?;
                    self.store.put_run(&run).await?;
                }
                self.continue_later(object, attempt, run.status == RunStatus::Busy)
                    .await?;
                return Ok(ItemOutcome {
                    run_id: Some(run.run_id.clone()),
                    ..ItemOutcome::new(&object.key, outcome)
                });
            }
            _ => {}
        }
        let outcome = if run.status == RunStatus::Rejected {
            Outcome::Rejected
        } else {
            Outcome::Processed
        };
        let folder = outcome.run_folder(&tenant.tenant, &run.run_id);
        // Keep the run's files beside the objects, and point the run record at them.
        let local_runs = runs.join(&tenant.tenant).join(&run.run_id);
        let validation = std::fs::read(local_runs.join("report.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        // A held plan, and an applied run's before-images (tagged: the bucket's
        // lifecycle rule expires them after the deployment's retention).
        roster::run_files::keep_in_s3(&self.s3, &object.bucket, &folder, &mut run).await?;
        run.report_ref = Some(format!("s3://{}/{folder}report.json", object.bucket));
        self.store.put_run(&run).await?;
        self.put_report(
            &object.bucket,
            &folder,
            &json!({"run": run, "validation": validation}),
            &run,
            validation.as_ref(),
        )
        .await?;
        let mut moved_to = None;
        for (key, version) in &delivery.objects {
            let dest = InboundKey::parse(key)
                .map(|k| k.destination(key, outcome, &run.run_id))
                .unwrap_or_else(|| format!("{folder}{}", file_name(key)));
            s3::move_object(&self.s3, &object.bucket, key, version.as_deref(), &dest).await?;
            if key == &object.key || moved_to.is_none() {
                moved_to = Some(dest);
            }
        }
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
    async fn refuse_too_large(
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
        });
        run.error_count = 1;
        run.finish(RunStatus::Rejected, message.clone(), now);
        let folder = self
            .file_unread(&object.bucket, objects, &mut run, Some(tenant), &message)
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
    /// report in `rejected/{tenant}/{run}/`, the objects moved there, the
    /// district told. Returns the folder.
    async fn file_unread(
        &self,
        bucket: &str,
        objects: &[(String, Option<String>)],
        run: &mut RunRecord,
        tenant: Option<&TenantConfig>,
        reason: &str,
    ) -> Result<String, Failure> {
        let folder = Outcome::Rejected.run_folder(&run.tenant, &run.run_id);
        run.report_ref = Some(format!("s3://{bucket}/{folder}report.json"));
        if tenant.is_some() {
            self.store.put_run(run).await?;
        }
        let report = json!({"run": run, "reason": reason});
        self.put_report(bucket, &folder, &report, run, None).await?;
        for (key, version) in objects {
            let dest = InboundKey::parse(key)
                .map(|k| k.destination(key, Outcome::Rejected, &run.run_id))
                .unwrap_or_else(|| format!("{folder}{}", file_name(key)));
            s3::move_object(&self.s3, bucket, key, version.as_deref(), &dest).await?;
        }
        if let Some(tenant) = tenant {
            self.notify(tenant, run).await;
        }
        Ok(folder)
    }

    /// A run's `report.json` in `folder`, and beside it the same report as a
    /// page for the district's data manager (`report.html`).
    async fn put_report(
        &self,
        bucket: &str,
        folder: &str,
        report: &Value,
        run: &RunRecord,
        validation: Option<&Value>,
    ) -> Result<(), Failure> {
        s3::put_json(&self.s3, bucket, &format!("{folder}report.json"), report).await?;
        s3::put_bytes(
            &self.s3,
            bucket,
            &format!("{folder}{}", present::report_page::PAGE_FILE),
            present::report_page::render(
                Some(run),
                validation
                    .and_then(present::report_page::Findings::from_value)
                    .as_ref(),
            )
            .into_bytes(),
            "text/html; charset=utf-8",
        )
        .await
    }

    /// Tells the tenant's contacts about `run`, if its outcome is worth it (best effort).
    async fn notify(&self, tenant: &TenantConfig, run: &RunRecord) {
        if let (Some(topic), Some(n)) = (&self.notices, present::notice::for_tenant(tenant, run)) {
            topic
                .send_notice(&n.tenant, &n.outcome, &n.subject, &n.body)
                .await;
        }
    }

    /// After a run failed for good: the failed run the engine recorded for
    /// `reference`, to the tenant's contacts.
    async fn notify_failed(&self, tenant: &TenantConfig, reference: &str) {
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

    /// Sends the object back through the continuation queue (a deferral waits a while first).
    async fn continue_later(
        &self,
        object: &ObjectRef,
        attempt: u32,
        defer: bool,
    ) -> Result<(), Failure> {
        let Some(queue) = &self.continuations else {
            return Err(Failure::retryable(format!("{} must continue later and no CONTINUE_QUEUE_URL is set: failing so Lambda retries", object.key)));
        };
        let message = Continuation {
            object: object.clone(),
            attempt: attempt + 1,
        };
        let delay = Duration::from_secs(if defer { 120 } else { 0 });
        queue
            .send(&object.key, attempt + 1, &message, delay)
            .await?;
        Ok(())
    }

    /// Moves an object the function will not import aside, with a report saying why.
    async fn move_aside(
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
            });
            run.error_count = 1;
            run.finish(RunStatus::Rejected, reason.clone(), now);
            tracing::warn!(tenant = %first.tenant, folder = %folder, files = objects.len(), run_id = %run.run_id, "incomplete set moved aside");
            let tenant = self.store.get_tenant(&first.tenant).await.ok().flatten();
            let keys: Vec<_> = objects.iter().map(|o| (o.key.clone(), None)).collect();
            let dest_folder = self
                .file_unread(&bucket, &keys, &mut run, tenant.as_ref(), &reason)
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

    /// A private folder for one delivery under the scratch space (0700, an
    /// unpredictable name), removed when dropped: on success, rejection, error
    /// or panic alike.
    fn work_dir(&self) -> Result<TempDir, Failure> {
        std::fs::create_dir_all(&self.scratch)?;
        Ok(tempfile::Builder::new()
            .prefix("work-")
            .tempdir_in(&self.scratch)?)
    }

    /// Removes whatever an earlier process left in the scratch space (one
    /// killed mid-run: at a timeout, Lambda starts a new process in the same
    /// environment, `/tmp` included). Call it once, before the first invocation.
    pub fn clear_scratch(&self) -> std::io::Result<()> {
        match std::fs::remove_dir_all(&self.scratch) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
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

fn file_name(key: &str) -> &str {
    Path::new(key)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(key)
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
