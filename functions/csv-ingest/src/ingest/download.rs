//! From an object in `inbound/{tenant}/` to a delivery on local disk: an
//! uploaded zip, or a loose-file set once its manifest and every file it
//! declares are there (the invocation that wins the set's claim runs it).

use super::{file_name, Delivery, Ingest, ItemOutcome, CLAIM_LEASE};
use crate::event::ObjectRef;
use crate::keys::{InboundKey, Upload};
use chrono::Utc;
use cloud::s3::{self, Listed};
use cloud::Failure;
use oneroster::manifest::parse_manifest;
use roster::{ClaimOutcome, RunRecord, RunSource, RunStatus, Store, TenantConfig};
use std::time::Instant;

/// Largest manifest read into memory.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

impl<S: Store> Ingest<S> {
    /// One claimed object, by what was uploaded; an object of a tenant that
    /// does not take SFTP deliveries, or not part of a package, is moved aside.
    pub(super) async fn process(
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
            Upload::Zip => self.zip(&tenant, object, inbound, attempt, deadline).await,
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

    /// An uploaded zip: downloaded (unless it is larger than the limit, or
    /// gone), then run.
    async fn zip(
        &self,
        tenant: &TenantConfig,
        object: &ObjectRef,
        inbound: &InboundKey,
        attempt: u32,
        deadline: Option<Instant>,
    ) -> Result<ItemOutcome, Failure> {
        let version = object.version_id.as_deref();
        let reference = format!("s3://{}/{}", object.bucket, object.key);
        let size = s3::size_of(&self.s3, &object.bucket, &object.key, version).await;
        let Some(size) = self.readable(tenant, object, &reference, size).await? else {
            return Ok(ItemOutcome::new(&object.key, "duplicate"));
        };
        if size > self.config.max_delivery_bytes {
            let objects = [(object.key.clone(), object.version_id.clone())];
            return self
                .refuse_too_large(tenant, object, &objects, reference, size)
                .await;
        }
        let work = self.work_dir()?;
        let path = work.path().join(&inbound.file_name);
        let downloaded = s3::download(
            &self.s3,
            &object.bucket,
            &object.key,
            object.version_id.as_deref(),
            &path,
            size,
        )
        .await;
        let Some(downloaded) = self
            .readable(tenant, object, &reference, downloaded)
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
        self.run(tenant, object, delivery, attempt, deadline).await
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
        let reference = format!("s3://{}/{}", object.bucket, inbound.folder);
        let listed = s3::list_folder(&self.s3, &object.bucket, &inbound.folder).await;
        let listed: Vec<Listed> = self.readable(tenant, object, &reference, listed).await?;
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
        if self
            .set_incomplete(tenant, object, inbound, &csvs, manifest)
            .await?
        {
            return Ok(ItemOutcome::new(&object.key, "waiting"));
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

    /// Whether the set's manifest declares files not uploaded yet. A manifest
    /// too large to read, or unreadable, makes the set "complete": the run
    /// rejects it with a report.
    async fn set_incomplete(
        &self,
        tenant: &TenantConfig,
        object: &ObjectRef,
        inbound: &InboundKey,
        csvs: &[&Listed],
        manifest: &Listed,
    ) -> Result<bool, Failure> {
        if manifest.size > MAX_MANIFEST_BYTES {
            return Ok(false);
        }
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
        .await;
        let reference = format!("s3://{}/{}", object.bucket, inbound.folder);
        let read = self.readable(tenant, object, &reference, read).await?;
        let parsed = match read {
            Some(_) => std::fs::File::open(&path)
                .ok()
                .map(|mut f| parse_manifest(&mut f)),
            None => None,
        };
        drop(work);
        let Some(Ok((m, _))) = parsed else {
            return Ok(false);
        };
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
        }
        Ok(!missing.is_empty())
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
        let reference = format!("s3://{}/{}", object.bucket, inbound.folder);
        let mut objects = Vec::new();
        for o in csvs {
            let read = s3::download(
                &self.s3,
                &object.bucket,
                &o.key,
                None,
                &package.join(file_name(&o.key)),
                o.size,
            )
            .await;
            if self
                .readable(tenant, object, &reference, read)
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
            reference,
        };
        self.run(tenant, object, delivery, attempt, deadline).await
    }

    /// `result` of reading the delivery at `reference`; a failure retrying
    /// will not fix (access denied, a key the bucket's policy refuses) ends
    /// in a `failed` run naming what failed, and a log line saying it. A
    /// retryable failure is returned as it is: the object stays in
    /// `inbound/` for the retry.
    async fn readable<T>(
        &self,
        tenant: &TenantConfig,
        object: &ObjectRef,
        reference: &str,
        result: Result<T, Failure>,
    ) -> Result<T, Failure> {
        let failure = match result {
            Err(f) if !f.is_retryable() => f,
            other => return other,
        };
        let now = Utc::now();
        let source = RunSource {
            kind: "csv".into(),
            reference: reference.to_string(),
        };
        let mut run = RunRecord::start(&tenant.tenant, source, now);
        let message = format!(
            "the delivery cannot be read, and retrying will not help: {}; it stays in inbound/",
            failure.chain()
        );
        run.finish(RunStatus::Failed, message, now);
        tracing::error!(tenant = %tenant.tenant, run_id = %run.run_id, key = %object.key, error = %failure.chain(), "delivery unreadable: run failed");
        if let Err(e) = self.store.put_run(&run).await {
            tracing::warn!(run_id = %run.run_id, error = %e, "the failed run could not be recorded");
        }
        Err(failure)
    }
}
