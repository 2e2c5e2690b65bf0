//! Planning: each type of the delivery against what the store holds, on a
//! thread of its own (the next type's records load meanwhile), into a
//! [`PlanSink`]: the plan file, or the store itself during a first load.

use super::judging::{judge_kind, rollover_summary};
use super::writing::PlanSink;
use super::{kind_key, Engine, PLAN_FILE};
use crate::artifacts::Artifacts;
use crate::error::SyncError;
use crate::plan::{plan_kind, Judges, KindPlan, PlanWriter, PlannedWrite, Schools};
use crate::run::RunRecord;
use crate::school_year::Calendar;
use crate::snapshot::{Snapshot, StoredReads, TextRow};
use crate::store::{Lease, Store, StoredSummary};
use crate::tenant::{HoldThresholds, TenantConfig};
use oneroster::IssueCode;
use oneroster::{DeferredReference, EntityKind, FileMode, Issue, Progress, Severity};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

/// The next type's summaries are loaded while this type is planned only
/// while the two together hold at most this many records (about 100 bytes
/// each): a 1M-student district's enrollments are loaded on their own.
const PREFETCH_MAX_RECORDS: u64 = 2_000_000;

/// What planning one type needs, moved to the planning thread and back.
struct TypeJob {
    kind: EntityKind,
    mode: FileMode,
    stored: Vec<StoredSummary>,
    excluded: HashSet<String>,
    judges: Judges,
    sink: Box<dyn PlanSink>,
}

impl<S: Store, A: Artifacts> Engine<'_, S, A> {
    /// Plans every type into the run's plan file; fills counts, holds and
    /// warnings in `run`. Returns the plan file's path.
    pub(super) async fn plan(
        &self,
        tenant: &TenantConfig,
        snapshot: &Arc<dyn Snapshot>,
        run: &mut RunRecord,
        lease: Option<&Lease>,
    ) -> Result<PathBuf, SyncError> {
        let path = if self.options.dry_run {
            std::env::temp_dir().join(format!("roster-dry-run-{}.jsonl", run.run_id))
        } else {
            self.artifacts
                .scratch(&tenant.tenant, &run.run_id, PLAN_FILE)?
        };
        let sink = Box::new(PlanWriter::create(&path)?);
        self.plan_types(tenant, snapshot, run, sink, lease).await?;
        Ok(path)
    }

    /// Plans every type into `sink`, then the archives (dependants first),
    /// and finishes the sink; fills counts, holds, notes and warnings in
    /// `run`. Renews `lease` (none: a dry run) after each type.
    pub(super) async fn plan_types(
        &self,
        tenant: &TenantConfig,
        snapshot: &Arc<dyn Snapshot>,
        run: &mut RunRecord,
        mut sink: Box<dyn PlanSink>,
        lease: Option<&Lease>,
    ) -> Result<(), SyncError> {
        let mut excluded = self.check_deferred(tenant, &**snapshot, run).await?;
        let hold = self.hold_for(tenant);
        let mut archives: Vec<(EntityKind, Vec<PlannedWrite>)> = Vec::new();
        // Stored records are judged ended against the delivery's time
        // (never later than its receipt: `clamp_generation_time`).
        let mut judges = Judges {
            calendar: Calendar::new(run.generated_at.unwrap_or(run.started_at).date_naive()),
            schools: Schools::default(),
        };
        let kinds = planned_kinds(tenant, &**snapshot);
        let mut stored = self.load_next(tenant, kinds.first().copied()).await?;
        for (position, &kind) in kinds.iter().enumerate() {
            let mode = effective_mode(tenant, &**snapshot, kind);
            let next = kinds.get(position + 1).copied();
            if mode == FileMode::Absent {
                // Not planned, but the calendar needs its stored terms and classes.
                for s in &stored {
                    judges.calendar.learn_stored(&s.sourced_id, &s.facts);
                }
                if kind == EntityKind::Classes {
                    judges.schools.learn_classes(&stored);
                }
                stored = self.load_next(tenant, next).await?;
                continue;
            }
            let job = TypeJob {
                kind,
                mode,
                stored: std::mem::take(&mut stored),
                excluded: excluded.remove(&kind).unwrap_or_default(),
                judges,
                sink,
            };
            // Loaded ahead only while both types' summaries stay few (memory).
            let ahead = next.filter(|next| {
                job.stored.len() as u64 + snapshot.delivered_rows(*next) <= PREFETCH_MAX_RECORDS
            });
            self.options
                .progress
                .stage(&format!("{} {kind}", job.sink.doing()), None);
            let (planned, loaded) = tokio::join!(
                self.plan_type(job, snapshot),
                Box::pin(self.load_next(tenant, ahead))
            );
            let (kind_plan, back_judges, back_sink) = planned?;
            (judges, sink) = (back_judges, back_sink);
            // A failed plan (the deadline among them) loads nothing more.
            let mut kind_plan = kind_plan?;
            for id in std::mem::take(&mut kind_plan.changed_since_read) {
                run.push_error(&changed_since_read(kind, &id));
            }
            stored = match ahead {
                Some(_) => loaded?,
                None => self.load_next(tenant, next).await?,
            };
            let (rejected, skipped) = snapshot.validation_counts(kind);
            kind_plan.counts.rejected += rejected;
            kind_plan.counts.skipped = skipped;
            judge_kind(run, kind, mode, &kind_plan, &hold, &judges.calendar);
            run.counts.insert(kind_key(kind), kind_plan.counts);
            archives.push((kind, std::mem::take(&mut kind_plan.archives)));
            // Planning a large district takes a while: keep the lease.
            if let Some(lease) = lease {
                self.renew_or_lost(&tenant.tenant, lease).await?;
            }
        }
        run.rollover = rollover_summary(run, &judges.calendar);
        run.calendar_notes.extend(judges.calendar.notes());
        run.held_schools = judges.schools.holds(&hold);
        let archives = self
            .warn_of_archived_admins(&tenant.tenant, run, archives)
            .await?;
        // The sink may wait for the store: off the async runtime's threads.
        on_blocking_thread(move || {
            archives.into_iter().try_for_each(|w| sink.push(w))?;
            sink.finish()
        })
        .await?
    }

    /// Plans one type on a blocking thread, its rows counted as they go;
    /// gives back the judges and the sink it was handed. The plan's
    /// `counts.rejected` holds the rows the engine excluded.
    async fn plan_type(
        &self,
        job: TypeJob,
        snapshot: &Arc<dyn Snapshot>,
    ) -> Result<(Result<KindPlan, SyncError>, Judges, Box<dyn PlanSink>), SyncError> {
        let snapshot = Arc::clone(snapshot);
        let progress = self.options.progress.clone();
        let TypeJob {
            kind,
            mode,
            stored,
            excluded,
            mut judges,
            mut sink,
        } = job;
        on_blocking_thread(move || {
            let counted = CountedSnapshot {
                inner: &*snapshot,
                progress: &progress,
            };
            let planned = plan_kind(
                kind,
                mode,
                &stored,
                &counted,
                &excluded,
                &mut judges,
                &mut |w| sink.push(w),
            )
            .map(|mut plan| {
                plan.counts.rejected = (excluded.len() + plan.changed_since_read.len()) as u64;
                plan
            });
            let summaries = stored.len();
            drop(stored);
            if summaries >= crate::memory::RELEASE_AFTER_SUMMARIES {
                crate::memory::release_freed_memory();
            }
            (planned, judges, sink)
        })
        .await
    }

    /// The stored summaries of `kind` (none when there is no next type).
    async fn load_next(
        &self,
        tenant: &TenantConfig,
        kind: Option<EntityKind>,
    ) -> Result<Vec<StoredSummary>, SyncError> {
        match kind {
            Some(kind) => Ok(self.store.load_summaries(&tenant.tenant, kind).await?),
            None => Ok(Vec::new()),
        }
    }

    /// The archives in the order they are applied, after all puts and
    /// dependants first (enrollments before users); warns in `run` of each
    /// Primary Administrator archived.
    async fn warn_of_archived_admins(
        &self,
        tenant: &str,
        run: &mut RunRecord,
        archives: Vec<(EntityKind, Vec<PlannedWrite>)>,
    ) -> Result<Vec<PlannedWrite>, SyncError> {
        let admins = self.primary_admin_set(tenant).await?;
        let ordered: Vec<PlannedWrite> = archives
            .into_iter()
            .rev()
            .flat_map(|(_, list)| list)
            .collect();
        for w in &ordered {
            if w.kind == EntityKind::Users && admins.contains(&w.id) {
                run.warnings.push(format!(
                    "user {} is a Primary Administrator and this sync archives it; promote another administrator (`rosterctl admins promote`)",
                    w.id
                ));
            }
        }
        Ok(ordered)
    }

    /// Checks enrollment references the package could not resolve against
    /// the store; rejects rows whose user or class is unknown.
    async fn check_deferred(
        &self,
        tenant: &TenantConfig,
        snapshot: &dyn Snapshot,
        run: &mut RunRecord,
    ) -> Result<HashMap<EntityKind, HashSet<String>>, SyncError> {
        let deferred = snapshot.deferred_references();
        let mut excluded: HashMap<EntityKind, HashSet<String>> = HashMap::new();
        if deferred.is_empty() {
            return Ok(excluded);
        }
        let mut known: HashMap<EntityKind, HashSet<String>> = HashMap::new();
        for target in deferred.iter().map(|d| d.target).collect::<HashSet<_>>() {
            let ids = self
                .store
                .load_summaries(&tenant.tenant, target)
                .await?
                .into_iter()
                .map(|s| s.sourced_id.into_string())
                .collect();
            known.insert(target, ids);
        }
        for d in deferred {
            if known
                .get(&d.target)
                .is_some_and(|ids| ids.contains(&d.target_id))
            {
                continue;
            }
            if excluded
                .entry(d.file)
                .or_default()
                .insert(d.sourced_id.clone())
            {
                run.push_error(&unknown_reference(d));
            }
        }
        Ok(excluded)
    }
}

/// Runs `work` on a thread where it may block (the planner's CPU work, a
/// sink waiting for the store); its panic is the caller's.
async fn on_blocking_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, SyncError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(done) => Ok(done),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(SyncError::Refused(format!("planning stopped: {e}"))),
    }
}

/// The error of a record left out because it changed after the delivery
/// read it (see [`crate::plan::KindPlan::changed_since_read`]).
fn changed_since_read(kind: EntityKind, id: &str) -> Issue {
    let message = format!("`{id}` changed in the store after this delivery read it (another run, or an edit); its change is not applied. Sync this package again only if it is still the newest delivery for it");
    Issue::new(
        Severity::Error,
        kind.file_name(),
        IssueCode::StoredRecordChanged,
        message,
    )
    .in_column("sourcedId")
    .with_value(id)
}

/// The error of an enrollment whose user or class is neither delivered
/// (absent, or its row rejected: then it says which) nor stored.
fn unknown_reference(d: &DeferredReference) -> Issue {
    let code = if d.target == EntityKind::Users {
        IssueCode::UnknownUser
    } else {
        IssueCode::UnknownClass
    };
    let message = match d.cause {
        Some(cause) => format!(
            "`{}`: {cause}, and the district's roster does not have it yet",
            d.target_id
        ),
        None => format!(
            "`{}` is neither in the delivery nor in the store",
            d.target_id
        ),
    };
    Issue::new(Severity::Error, d.file.file_name(), code, message)
        .at_line(d.line)
        .in_column(d.column)
}

/// The types a run reads from the store, in order: those it plans, and
/// (absent) sessions and classes, whose stored terms the calendar needs.
fn planned_kinds(tenant: &TenantConfig, snapshot: &dyn Snapshot) -> Vec<EntityKind> {
    EntityKind::ALL
        .into_iter()
        .filter(|&kind| {
            effective_mode(tenant, snapshot, kind) != FileMode::Absent
                || matches!(kind, EntityKind::AcademicSessions | EntityKind::Classes)
        })
        .collect()
}

/// A snapshot whose rows are counted as they are planned.
struct CountedSnapshot<'s> {
    inner: &'s dyn Snapshot,
    progress: &'s Progress,
}

impl Snapshot for CountedSnapshot<'_> {
    fn mode(&self, kind: EntityKind) -> FileMode {
        self.inner.mode(kind)
    }

    fn for_each_text(
        &self,
        kind: EntityKind,
        beside: bool,
        consume: &mut dyn FnMut(TextRow<'_>) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        let mut counter = self.progress.counter(4096);
        self.inner.for_each_text(kind, beside, &mut |row| {
            counter.tick();
            consume(row)
        })
    }

    fn is_rejected(&self, kind: EntityKind, sourced_id: &str) -> bool {
        self.inner.is_rejected(kind, sourced_id)
    }

    fn validation_counts(&self, kind: EntityKind) -> (u64, u64) {
        self.inner.validation_counts(kind)
    }

    fn delivered_rows(&self, kind: EntityKind) -> u64 {
        self.inner.delivered_rows(kind)
    }

    fn deferred_references(&self) -> &[DeferredReference] {
        self.inner.deferred_references()
    }

    fn stored_reads(&self, kind: EntityKind) -> Option<&StoredReads> {
        self.inner.stored_reads(kind)
    }
}

/// The mode the engine applies: demographics are absent for tenants that did not opt in.
pub(super) fn effective_mode(
    tenant: &TenantConfig,
    snapshot: &dyn Snapshot,
    kind: EntityKind,
) -> FileMode {
    if kind == EntityKind::Demographics && !tenant.demographics {
        return FileMode::Absent;
    }
    snapshot.mode(kind)
}

/// Whether any type is delivered as a bulk file.
pub(super) fn snapshot_has_bulk(snapshot: &dyn Snapshot) -> bool {
    EntityKind::ALL
        .iter()
        .any(|k| snapshot.mode(*k) == FileMode::Bulk)
}

/// Whether a first load may be held for rejected rows: some type has at
/// least the rejection hold's minimum of rows rejected by validation or
/// waiting on references (all rejected when the store is empty). Such a
/// load is planned to a file, so that it can be held; below the minimum the
/// plan cannot hold whatever the share, so the load may write as it plans.
pub(super) fn rejections_may_hold(snapshot: &dyn Snapshot, hold: &HoldThresholds) -> bool {
    EntityKind::ALL.into_iter().any(|kind| {
        let deferred = snapshot
            .deferred_references()
            .iter()
            .filter(|d| d.file == kind)
            .count() as u64;
        snapshot.validation_counts(kind).0 + deferred >= hold.min_rejected_count
    })
}
