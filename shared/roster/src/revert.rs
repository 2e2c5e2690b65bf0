//! Undoing an applied run (`rosterctl runs revert`): from the run's
//! before-images, the inverse of what it wrote, through the engine's path
//! (lease, plan, hold check, apply with before-images of its own, run record
//! with source `revert`). Records it updated get their earlier state back,
//! records it archived are un-archived, records it inserted are archived
//! (`archived_by: revert`, never deleted). A record a later run changed since
//! is left alone: listed, and the revert refused unless forced. A re-key's
//! links, and a Primary Administrator moved with it, are put back with the
//! records ([`rekeys`]).

use crate::artifacts::Artifacts;
use crate::before::{read_images, BeforeImage};
use crate::engine::{Engine, PLAN_FILE};
use crate::error::SyncError;
use crate::plan::{Before, PlanWriter, PlannedWrite};
use crate::run::{HoldReason, KindCounts, RunRecord, RunSource, RunStatus};
use crate::store::{ArchivedBy, Lease, Store};
use chrono::Utc;
use oneroster::EntityKind;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

mod rekeys;

/// How many conflicting records a refusal or a warning lists by id.
pub const LISTED_CONFLICTS: usize = 20;

/// What to do with one before-image, given the record's stored state now.
#[derive(Debug, Clone, PartialEq)]
pub enum RevertStep {
    /// Put the earlier state back (or archive what the run inserted).
    Revert(Box<PlannedWrite>),
    /// The record is already as it was before the run (a revert that ran
    /// before, halfway or whole).
    AlreadyDone,
    /// A later run (or a hand) changed the record since: left alone.
    Conflict,
}

/// The state a revert brings a record to: the earlier one, or archived for
/// a record the run inserted (content as the run left it).
fn target(image: &BeforeImage) -> Before {
    match &image.before {
        Some(state) => Before {
            digest: state.sis.digest(),
            archived: state.archive.is_some(),
        },
        None => Before {
            digest: image.after.digest,
            archived: true,
        },
    }
}

/// Decides one record (pure).
pub fn revert_step(image: &BeforeImage, current: Option<Before>) -> RevertStep {
    let Some(current) = current else {
        // Records are never deleted: nothing is stored to revert.
        return RevertStep::AlreadyDone;
    };
    if current == image.after {
        return RevertStep::Revert(Box::new(PlannedWrite {
            kind: image.kind,
            id: image.id.clone(),
            sis: None,
            first_seen: None,
            before: Some(current),
            reason: None,
            archived_by: image.before.is_none().then_some(ArchivedBy::Revert),
            restore: image.before.clone(),
            keys: None,
            schools: Vec::new(),
        }));
    }
    if current == target(image) {
        RevertStep::AlreadyDone
    } else {
        RevertStep::Conflict
    }
}

/// How a revert ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RevertOutcome {
    /// The run was reverted already, by this run: nothing to do.
    AlreadyReverted {
        /// The reverting run.
        by: String,
    },
    /// Records changed since the run: refused (without `force`).
    Refused {
        /// The first [`LISTED_CONFLICTS`] records (`kind id`).
        conflicts: Vec<String>,
        /// How many there are.
        total: u64,
    },
    /// The revert run: applied, held, or (dry run) planned.
    Run(Box<RunRecord>),
}

/// What a revert asks for.
#[derive(Debug, Clone, Default)]
pub struct RevertRequest {
    /// Revert the other records when some changed since.
    pub force: bool,
    /// Who asks (for the run record).
    pub by: String,
}

struct Planned {
    counts: HashMap<EntityKind, KindCounts>,
    archives: HashMap<EntityKind, u64>,
    active: HashMap<EntityKind, u64>,
    conflicts: Vec<String>,
    conflict_total: u64,
    already: u64,
}

impl<'a, S: Store, A: Artifacts> Engine<'a, S, A> {
    /// Reverts applied run `run_id` (see the module's documentation). With
    /// `dry_run` in the engine's options, plans and writes nothing.
    pub async fn revert(
        &self,
        run_id: &str,
        request: &RevertRequest,
    ) -> Result<RevertOutcome, SyncError> {
        let original = self
            .store
            .get_run(run_id)
            .await?
            .ok_or_else(|| SyncError::NotFound(format!("no run {run_id}")))?;
        if let Some(by) = &original.reverted_by {
            return Ok(RevertOutcome::AlreadyReverted { by: by.clone() });
        }
        let images = self.images_to_revert(&original)?;
        let tenant = self
            .store
            .get_tenant(&original.tenant)
            .await?
            .ok_or_else(|| SyncError::NotFound(format!("no tenant {}", original.tenant)))?;
        let mut run = revert_run(&tenant.tenant, run_id, request);
        if self.options.dry_run {
            return self
                .revert_dry_run(run, run_id, &tenant.tenant, &images, request.force)
                .await;
        }

        let usage_at_start = self.store.usage();
        let Some(lease) = self.start_under_lease(&mut run).await? else {
            return Ok(RevertOutcome::Run(Box::new(run)));
        };
        let result = self
            .keeping_lease(
                &tenant.tenant,
                &lease,
                self.revert_locked(&tenant, (&original, &images), request, &mut run, &lease),
            )
            .await;
        let released = self.store.release_lease(&tenant.tenant, &lease).await;
        run.store_usage = usage_at_start
            .zip(self.store.usage())
            .map(|(start, now)| now.since(start));
        let result = released.map_err(SyncError::from).and(result);
        self.record_revert(run, run_id, result).await
    }

    /// The before-images of `original`, which must be an applied run that
    /// has them still.
    fn images_to_revert(&self, original: &RunRecord) -> Result<PathBuf, SyncError> {
        let run_id = &original.run_id;
        if original.status != RunStatus::Applied {
            return Err(SyncError::Refused(format!(
                "run {run_id} is {}; only an applied run can be reverted",
                original.status.as_str()
            )));
        }
        let images_ref = original.before_ref.clone().ok_or_else(|| {
            SyncError::NotFound(format!(
                "run {run_id} has no before-images (it was applied before they were kept)"
            ))
        })?;
        self.artifacts.fetch(&images_ref).map_err(|e| {
            SyncError::NotFound(format!(
                "the before-images of run {run_id} are gone ({e}); they are kept for the deployment's retention"
            ))
        })
    }

    /// A dry run: the revert planned into a temporary file, counted, and
    /// nothing written.
    async fn revert_dry_run(
        &self,
        mut run: RunRecord,
        run_id: &str,
        tenant: &str,
        images: &Path,
        force: bool,
    ) -> Result<RevertOutcome, SyncError> {
        let path = std::env::temp_dir().join(format!("roster-revert-{}.jsonl", run.run_id));
        let planned = self.plan_revert(tenant, images, &path).await;
        let _ = std::fs::remove_file(&path);
        let planned = planned?;
        self.fill(&mut run, &planned, force);
        let message = format!(
            "dry run: reverting {run_id} would write {} records{}; nothing was written",
            run.total_writes(),
            conflicts_note(&planned)
        );
        run.finish(RunStatus::Planned, message, Utc::now());
        Ok(RevertOutcome::Run(Box::new(run)))
    }

    /// Stores the revert's run record, as the revert under the lease ended
    /// (`Some`: refused, nothing written).
    async fn record_revert(
        &self,
        mut run: RunRecord,
        run_id: &str,
        result: Result<Option<RevertOutcome>, SyncError>,
    ) -> Result<RevertOutcome, SyncError> {
        match result {
            Ok(Some(refused)) => {
                // Nothing was written: the revert's own record says why.
                run.finish(
                    RunStatus::Discarded,
                    format!(
                        "refused: {} records changed since run {run_id}; nothing was written",
                        refused_total(&refused)
                    ),
                    Utc::now(),
                );
                self.store.put_run(&run).await?;
                Ok(refused)
            }
            Ok(None) => {
                self.store.put_run(&run).await?;
                Ok(RevertOutcome::Run(Box::new(run)))
            }
            Err(e) => Err(self.fail(run, e).await),
        }
    }

    /// Under the lease: plan, refuse or hold, apply. `Some`: refused.
    async fn revert_locked(
        &self,
        tenant: &crate::tenant::TenantConfig,
        (original, images): (&RunRecord, &Path),
        request: &RevertRequest,
        run: &mut RunRecord,
        lease: &Lease,
    ) -> Result<Option<RevertOutcome>, SyncError> {
        let plan = self
            .artifacts
            .scratch(&tenant.tenant, &run.run_id, PLAN_FILE)?;
        let planned = self.plan_revert(&tenant.tenant, images, &plan).await?;
        if planned.conflict_total > 0 && !request.force {
            let _ = std::fs::remove_file(&plan);
            return Ok(Some(RevertOutcome::Refused {
                conflicts: planned.conflicts,
                total: planned.conflict_total,
            }));
        }
        self.fill(run, &planned, request.force);
        let hold = self.hold_for(tenant);
        for (kind, archive) in &planned.archives {
            let active = planned.active.get(kind).copied().unwrap_or(0);
            if let Some(over) = hold.archive_over_limit(*archive, active) {
                run.hold.insert(
                    kind.file_name().to_string(),
                    HoldReason {
                        active_before: active,
                        would_archive: *archive,
                        would_change_identity: 0,
                        incoming_rows: 0,
                        rejected_rows: 0,
                        message: format!("the revert would archive {over}"),
                    },
                );
            }
        }
        if !run.hold.is_empty() {
            run.plan_ref =
                Some(
                    self.artifacts
                        .keep(&tenant.tenant, &run.run_id, PLAN_FILE, &plan)?,
                );
            run.finish(
                RunStatus::Held,
                format!(
                    "held for approval: the revert of {} archives too much; approve with `rosterctl runs approve {}` or discard",
                    original.run_id, run.run_id
                ),
                Utc::now(),
            );
            return Ok(None);
        }
        let written = self
            .apply_with_images(&tenant.tenant, lease, run, &plan)
            .await?;
        let _ = std::fs::remove_file(&plan);
        run.items_written = written;
        let unlinked = self.finish_revert(run).await?;
        let state = self.store.get_state(&tenant.tenant).await?;
        self.record_applied(&tenant.tenant, lease, run, state)
            .await?;
        run.finish(
            RunStatus::Applied,
            format!(
                "reverted run {}: {written} records written{}{unlinked}",
                original.run_id,
                conflicts_note(&planned)
            ),
            Utc::now(),
        );
        Ok(None)
    }

    /// Once a revert is applied (also after approval): puts the re-key
    /// links of the records it put back as they were ([`rekeys`]) and marks
    /// the run it reverted. The words for the revert's message: what it did
    /// to links, or nothing.
    pub(crate) async fn finish_revert(&self, run: &mut RunRecord) -> Result<String, SyncError> {
        let Some(reverted) = run.reverts.clone() else {
            return Ok(String::new());
        };
        let Some(mut original) = self.store.get_run(&reverted).await? else {
            return Ok(String::new());
        };
        let links = self.put_back_rekey_links(run, &original).await?;
        original.reverted_by = Some(run.run_id.clone());
        self.store.put_run(&original).await?;
        Ok(links)
    }

    /// Plans the inverse of a run's writes into `plan`, type by type (each
    /// type's stored summaries once, the images read again per type).
    async fn plan_revert(
        &self,
        tenant: &str,
        images: &Path,
        plan: &Path,
    ) -> Result<Planned, SyncError> {
        let mut out = PlanWriter::create(plan)?;
        let mut planned = Planned {
            counts: HashMap::new(),
            archives: HashMap::new(),
            active: HashMap::new(),
            conflicts: Vec::new(),
            conflict_total: 0,
            already: 0,
        };
        let mut kinds_present = std::collections::HashSet::new();
        for image in read_images(images)? {
            kinds_present.insert(image?.kind);
        }
        for kind in EntityKind::ALL {
            if !kinds_present.contains(&kind) {
                continue;
            }
            let stored = self.store.load_summaries(tenant, kind).await?;
            planned
                .active
                .insert(kind, stored.iter().filter(|s| !s.archived).count() as u64);
            let now: HashMap<String, Before> = stored
                .iter()
                .map(|s| (s.sourced_id.to_string(), Before::of(s)))
                .collect();
            let mut seen = std::collections::HashSet::new();
            for image in read_images(images)? {
                let image = image?;
                // A record's first image is its state before the run.
                if image.kind != kind || !seen.insert(image.id.clone()) {
                    continue;
                }
                match revert_step(&image, now.get(&image.id).copied()) {
                    RevertStep::AlreadyDone => planned.already += 1,
                    RevertStep::Conflict => {
                        planned.conflict_total += 1;
                        if planned.conflicts.len() < LISTED_CONFLICTS {
                            planned.conflicts.push(format!("{kind} {}", image.id));
                        }
                    }
                    RevertStep::Revert(write) => {
                        let counts = planned.counts.entry(kind).or_default();
                        let was_archived = write.before.is_some_and(|b| b.archived);
                        let archives = match &write.restore {
                            None => true,
                            Some(state) => state.archive.is_some() && !was_archived,
                        };
                        if archives {
                            counts.archived += 1;
                            *planned.archives.entry(kind).or_default() += 1;
                        } else if was_archived
                            && write.restore.as_ref().is_some_and(|s| s.archive.is_none())
                        {
                            counts.unarchived += 1;
                        } else {
                            counts.updated += 1;
                        }
                        out.write(&write)?;
                    }
                }
            }
        }
        out.finish()?;
        Ok(planned)
    }

    /// Counts and warnings of a planned revert into its run record.
    fn fill(&self, run: &mut RunRecord, planned: &Planned, force: bool) {
        for (kind, counts) in &planned.counts {
            run.counts.insert(kind.file_name().to_string(), *counts);
        }
        if planned.already > 0 {
            run.warnings.push(format!(
                "{} records were already as they were before the run (a revert that ran before); left as they are",
                planned.already
            ));
        }
        if planned.conflict_total > 0 {
            run.warnings.push(format!(
                "{} records changed since the run and were {}: {}{}",
                planned.conflict_total,
                if force {
                    "left alone (--force)"
                } else {
                    "not reverted"
                },
                planned.conflicts.join(", "),
                if planned.conflict_total as usize > planned.conflicts.len() {
                    ", ..."
                } else {
                    ""
                }
            ));
        }
    }
}

/// The record of a revert of run `run_id`, started now.
fn revert_run(tenant: &str, run_id: &str, request: &RevertRequest) -> RunRecord {
    let mut run = RunRecord::start(
        tenant,
        RunSource {
            kind: "revert".into(),
            reference: run_id.to_string(),
        },
        Utc::now(),
    );
    run.reverts = Some(run_id.to_string());
    run.decided_by = Some(request.by.clone());
    run
}

fn conflicts_note(planned: &Planned) -> String {
    if planned.conflict_total == 0 {
        String::new()
    } else {
        format!(
            "; {} records changed since were left alone",
            planned.conflict_total
        )
    }
}

fn refused_total(outcome: &RevertOutcome) -> u64 {
    match outcome {
        RevertOutcome::Refused { total, .. } => *total,
        _ => 0,
    }
}
