//! The engine on a downloaded delivery; a run that must go on later (the
//! invocation's time ran out, or the tenant is busy) goes back through the
//! continuation queue.

use super::{Delivery, Ingest, ItemOutcome};
use crate::event::{Continuation, ObjectRef};
use crate::keys::Outcome;
use cloud::run_files::FunctionArtifacts;
use cloud::Failure;
use present::progress_log::LoggedProgress;
use roster::{Delivered, Engine, RunSource, RunStatus, Store, SyncOptions, TenantConfig};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A long run logs a progress line at most this often (CloudWatch).
const PROGRESS_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// An S3 object's time is when it reached us, and the delivery's time too.
fn delivered(delivery: &Delivery) -> Delivered {
    delivery
        .generated_at
        .map_or_else(|| Delivered::now(None), Delivered::at)
}

/// Where the engine keeps a delivery's run files (reports, plans,
/// before-images) until they are filed in S3.
pub(super) fn runs_dir(delivery: &Delivery) -> PathBuf {
    delivery.work.path().join("runs")
}

impl<S: Store> Ingest<S> {
    /// Runs the engine on a downloaded delivery, then files the objects.
    pub(super) async fn run(
        &self,
        tenant: &TenantConfig,
        object: &ObjectRef,
        delivery: Delivery,
        attempt: u32,
        deadline: Option<Instant>,
    ) -> Result<ItemOutcome, Failure> {
        let started = Instant::now();
        let runs = runs_dir(&delivery);
        let lasting = Some((self.s3.clone(), object.bucket.clone()));
        let artifacts = FunctionArtifacts::new(&runs, lasting)?;
        let engine = Engine {
            store: &self.store,
            artifacts: &artifacts,
            options: SyncOptions {
                lease_wait: self.config.tenant_wait,
                deadline: deadline.map(|d| d.checked_sub(self.config.continue_margin).unwrap_or(d)),
                progress: LoggedProgress::every(PROGRESS_LOG_INTERVAL),
                default_pause: self.config.default_pause,
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
                    cloud::run_files::keep_in_s3(&self.s3, &object.bucket, &folder, &mut run)
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
        self.file_run(tenant, object, &delivery, run).await
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
}
