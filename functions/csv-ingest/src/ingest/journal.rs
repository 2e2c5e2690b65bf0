//! Filing that survives a failed move. Once a run's record and report are
//! stored, the run and the objects it files are remembered for the event's
//! object (a claim `FILING#{object claim}`, done with them as its result)
//! before any object moves. A retry of the same event (a copy or a delete
//! failed) finds them and finishes the moves into that run's folder instead
//! of running the delivery again: the delivery ends in one place, with one
//! run and one report, whichever move failed.

use super::{file_name, Ingest, ItemOutcome, CLAIM_MEMORY};
use crate::event::ObjectRef;
use crate::keys::{InboundKey, Outcome};
use chrono::Utc;
use cloud::s3;
use cloud::Failure;
use roster::{ClaimOutcome, Store};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long a look at the journal holds its key (it is released at once).
const LOOK_LEASE: Duration = Duration::from_secs(60);

/// A run whose objects are being filed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Filing {
    /// The run's tenant.
    pub tenant: String,
    /// The run.
    pub run_id: String,
    /// Where the objects go.
    pub outcome: FiledAs,
    /// The objects (key, version) to move, in `inbound/`.
    pub objects: Vec<(String, Option<String>)>,
}

/// `processed/` or `rejected/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum FiledAs {
    Processed,
    Rejected,
}

impl From<FiledAs> for Outcome {
    fn from(f: FiledAs) -> Outcome {
        match f {
            FiledAs::Processed => Outcome::Processed,
            FiledAs::Rejected => Outcome::Rejected,
        }
    }
}

impl From<Outcome> for FiledAs {
    fn from(o: Outcome) -> FiledAs {
        match o {
            Outcome::Processed => FiledAs::Processed,
            Outcome::Rejected => FiledAs::Rejected,
        }
    }
}

fn journal_key(object: &ObjectRef) -> String {
    format!("FILING#{}", object.claim_key())
}

fn owner() -> String {
    format!(
        "filing-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}

impl<S: Store> Ingest<S> {
    /// Remembers `filing` for `object`'s event, then moves its objects.
    /// Returns where `object` (or the first object) went.
    pub(super) async fn file_objects(
        &self,
        object: &ObjectRef,
        filing: &Filing,
    ) -> Result<Option<String>, Failure> {
        let key = journal_key(object);
        let me = owner();
        let now = Utc::now();
        // Already remembered (a resumed filing): the first filing stands.
        if let ClaimOutcome::Claimed = self.store.claim(&key, &me, now, LOOK_LEASE).await? {
            let record = serde_json::to_string(filing)
                .map_err(|e| Failure::permanent("encoding the filing journal").because(e))?;
            self.store
                .finish_claim(&key, &me, &record, now, CLAIM_MEMORY)
                .await?;
        }
        self.move_objects(&object.bucket, filing, &object.key).await
    }

    /// The filing a failed invocation left unfinished for `object`'s event, if any.
    pub(super) async fn unfinished_filing(
        &self,
        object: &ObjectRef,
    ) -> Result<Option<Filing>, Failure> {
        let key = journal_key(object);
        let me = owner();
        match self.store.claim(&key, &me, Utc::now(), LOOK_LEASE).await? {
            ClaimOutcome::Done { result } => serde_json::from_str(&result).map(Some).map_err(|e| {
                Failure::permanent(format!(
                    "the filing journal of {} is unreadable",
                    object.key
                ))
                .because(e)
            }),
            ClaimOutcome::Claimed => {
                self.store.release_claim(&key, &me).await?;
                Ok(None)
            }
            ClaimOutcome::Busy { .. } => Ok(None),
        }
    }

    /// Finishes an unfinished filing: the objects still in `inbound/` moved
    /// into the run's folder (those already moved are skipped); the run is
    /// not run again and its report not written again.
    pub(super) async fn resume_filing(
        &self,
        object: &ObjectRef,
        filing: Filing,
    ) -> Result<ItemOutcome, Failure> {
        let run = self.store.get_run(&filing.run_id).await?.ok_or_else(|| {
            Failure::permanent(format!(
                "run {} (the filing of {} it began) is not in the store",
                filing.run_id, object.key
            ))
        })?;
        tracing::info!(tenant = %run.tenant, run_id = %run.run_id, key = %object.key, objects = filing.objects.len(), "finishing the filing a failed invocation left");
        let moved_to = self
            .move_objects(&object.bucket, &filing, &object.key)
            .await?;
        if let Some(tenant) = self.store.get_tenant(&run.tenant).await? {
            self.notify(&tenant, &run).await;
        }
        Ok(ItemOutcome {
            run_id: Some(run.run_id.clone()),
            moved_to,
            ..ItemOutcome::new(&object.key, run.status.as_str())
        })
    }

    /// Moves the filing's objects (copy, then delete that version; one already
    /// gone was moved before). Returns where `focus` (or the first) went.
    pub(super) async fn move_objects(
        &self,
        bucket: &str,
        filing: &Filing,
        focus: &str,
    ) -> Result<Option<String>, Failure> {
        let outcome = Outcome::from(filing.outcome);
        let folder = outcome.run_folder(&filing.tenant, &filing.run_id);
        let mut moved_to = None;
        for (key, version) in &filing.objects {
            let dest = InboundKey::parse(key)
                .map(|k| k.destination(key, outcome, &filing.run_id))
                .unwrap_or_else(|| format!("{folder}{}", file_name(key)));
            s3::move_object(&self.s3, bucket, key, version.as_deref(), &dest).await?;
            if key == focus || moved_to.is_none() {
                moved_to = Some(dest);
            }
        }
        Ok(moved_to)
    }
}
