//! The ingest: from an object in `inbound/{tenant}/` to a run of the sync
//! engine, then the object(s) moved to `processed/` or `rejected/` with a
//! `report.json` beside them. Nothing is ever written under `inbound/`.
//!
//! One module per job: `download` (an object, or a complete loose-file set,
//! to a delivery on local disk), `run` (the engine on it, or its
//! continuation), `filing` (the objects and reports moved to `processed/`
//! or `rejected/`, the district told), `journal` (a filing a failed move
//! left, finished by the retry), `sweep` (incomplete sets and overdue
//! tenants), `retention` (the daily erasure of archived people's personal data). This one takes an invocation's objects and their claims.

mod download;
mod filing;
mod journal;
mod retention;
mod run;
mod sweep;

use crate::config::IngestConfig;
use crate::event::{Invocation, ObjectRef};
use crate::keys::InboundKey;
use chrono::{DateTime, Utc};
use cloud::continuation::ContinuationQueue;
use cloud::Failure;
use roster::{ClaimOutcome, Connection, Store, TenantConfig};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a claim protects work in progress (past the Lambda maximum of 15 minutes).
const CLAIM_LEASE: Duration = Duration::from_secs(20 * 60);
/// How long a finished claim is remembered to drop duplicate events.
const CLAIM_MEMORY: Duration = Duration::from_secs(14 * 24 * 3600);

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

impl<S: Store> Ingest<S> {
    /// Handles one invocation; `deadline` is when Lambda will stop this one.
    pub async fn handle(
        &self,
        invocation: Invocation,
        deadline: Option<Instant>,
    ) -> Result<Vec<ItemOutcome>, Failure> {
        match invocation {
            Invocation::Sweep => self.sweep(Utc::now()).await,
            // Boxed: the pass's future stays off the stack of every invocation.
            Invocation::Retention => Box::pin(self.retention(Utc::now())).await,
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
        // A retry after a failed move finishes that filing; the delivery is not run again.
        let result = match self.unfinished_filing(&object).await {
            Ok(Some(filing)) => self.resume_filing(&object, filing).await,
            Ok(None) => self.process(&object, &inbound, attempt, deadline).await,
            Err(e) => Err(e),
        };
        self.settle_claim(&claim_key, &owner, &result).await?;
        result
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

fn file_name(key: &str) -> &str {
    Path::new(key)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(key)
}
