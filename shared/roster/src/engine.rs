//! The sync engine: lease, staleness, plan against the store, safety hold,
//! apply, run record. The one path by which roster data is written.

use crate::artifacts::Artifacts;
use crate::before::{BeforeImage, ImageWriter, BEFORE_FILE};
use crate::direct;
pub use crate::error::SyncError;
use crate::plan::{plan_kind, read_plan, Before, KindPlan, PlanChunks, PlanWriter, PlannedWrite};
use crate::run::{Delivered, HoldReason, KindCounts, RunRecord, RunSource, RunStatus};
use crate::school_year::{listed, Calendar};
use crate::snapshot::{CsvSnapshot, Snapshot, TextRow};
use crate::store::{BlockingRecords, Lease, LeaseOutcome, RecordState, Store, StoredSummary};
use crate::tenant::{HoldThresholds, TenantConfig, TenantState};
use chrono::Utc;
use oneroster::progress::thousands;
use oneroster::report::IssueCode;
use oneroster::{
    validate_package, DeferredReference, EntityKind, FileMode, Issue, Progress, Severity,
    ValidationOptions,
};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// How long a lease lasts without renewal (a dead run blocks its tenant
    /// about this long). Default 60 s.
    pub lease_ttl: Duration,
    /// How often a run renews its lease while it works. Default 15 s: three
    /// renewals may fail before the lease runs out.
    pub lease_renew_every: Duration,
    /// This process, when the engine runs on an operator's machine
    /// (`rosterctl`): recorded on each run, and a lease held by a run of this
    /// machine's boot and PID namespace whose process no longer exists is
    /// taken over at once ([`crate::run::RunProcess::is_gone_from`]). `None`
    /// (Lambda): a dead run's lease is taken over when it expires.
    pub this_process: Option<crate::run::RunProcess>,
    /// How long to wait for another run of the tenant before ending `busy`.
    pub lease_wait: Duration,
    /// Plan only: no lease, no writes, no run record stored.
    pub dry_run: bool,
    /// Writes handed to the store at a time (0: the store's own batch size).
    pub chunk: usize,
    /// Stop applying (status `continued`) once this instant has passed.
    pub deadline: Option<Instant>,
    /// Hold thresholds for tenants without their own.
    pub default_hold: crate::tenant::HoldThresholds,
    /// Where the run reports what it has done so far (default: nowhere).
    pub progress: Progress,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            lease_ttl: Duration::from_secs(60),
            lease_renew_every: Duration::from_secs(15),
            this_process: None,
            lease_wait: Duration::ZERO,
            dry_run: false,
            chunk: 0,
            deadline: None,
            default_hold: crate::tenant::HoldThresholds::from_env(),
            progress: Progress::none(),
        }
    }
}

/// The engine over a store and a place for run files.
pub struct Engine<'a, S: Store, A: Artifacts> {
    /// The roster store.
    pub store: &'a S,
    /// Where reports and plans are kept.
    pub artifacts: &'a A,
    /// Options.
    pub options: SyncOptions,
}

pub(crate) const PLAN_FILE: &str = "plan.jsonl";
/// The next type's summaries are loaded while this type is planned only
/// while the two together hold at most this many records (about 100 bytes
/// each): a 1M-student district's enrollments are loaded on their own.
const PREFETCH_MAX_RECORDS: u64 = 2_000_000;
const REPORT_FILE: &str = "report.json";

fn kind_key(kind: EntityKind) -> String {
    kind.file_name().to_string()
}

impl<'a, S: Store, A: Artifacts> Engine<'a, S, A> {
    /// An engine with default options.
    pub fn new(store: &'a S, artifacts: &'a A) -> Self {
        Engine {
            store,
            artifacts,
            options: SyncOptions::default(),
        }
    }

    /// Validates the CSV package at `path` for `tenant` and syncs it.
    pub async fn sync_package(
        &self,
        tenant: &TenantConfig,
        path: &Path,
        source: RunSource,
        delivered: Delivered,
    ) -> Result<RunRecord, SyncError> {
        let mut run = RunRecord::start(&tenant.tenant, source, Utc::now());
        run.generated_at = delivered.generated_at;
        run.received_at = Some(delivered.received_at);
        let options = ValidationOptions {
            imported_roles: tenant.role_set(),
            progress: self.options.progress.clone(),
            ..ValidationOptions::default()
        };
        let validation = validate_package(path, &options);
        for issue in &validation.report.errors {
            run.push_error(issue);
        }
        if !self.options.dry_run {
            let report_path = self
                .artifacts
                .scratch(&tenant.tenant, &run.run_id, REPORT_FILE)?;
            std::fs::write(
                &report_path,
                serde_json::to_vec_pretty(&validation.report)
                    .map_err(|e| SyncError::io("encoding the validation report", e))?,
            )?;
            run.report_ref = Some(self.artifacts.keep(
                &tenant.tenant,
                &run.run_id,
                REPORT_FILE,
                &report_path,
            )?);
        }
        let Some(package) = validation.package else {
            let first = validation
                .report
                .fatal()
                .next()
                .map(|i| i.render())
                .unwrap_or_default();
            run.finish(
                RunStatus::Rejected,
                format!("package rejected: {first}"),
                Utc::now(),
            );
            if !self.options.dry_run {
                self.store.put_run(&run).await?;
            }
            return Ok(run);
        };
        let snapshot = CsvSnapshot {
            package,
            report: validation.report,
        };
        self.sync_snapshot(tenant, &snapshot, run).await
    }

    /// Syncs a validated snapshot; `run` is the started run record.
    pub async fn sync_snapshot(
        &self,
        tenant: &TenantConfig,
        snapshot: &dyn Snapshot,
        mut run: RunRecord,
    ) -> Result<RunRecord, SyncError> {
        clamp_generation_time(&mut run);
        if !tenant.enabled {
            run.finish(
                RunStatus::Rejected,
                "the tenant is disabled; nothing was applied",
                Utc::now(),
            );
            if !self.options.dry_run {
                self.store.put_run(&run).await?;
            }
            return Ok(run);
        }
        if self.options.dry_run {
            let plan_path = self.plan(tenant, snapshot, &mut run, None).await?;
            let _ = std::fs::remove_file(plan_path);
            let message = format!(
                "dry run: {} writes planned{}; nothing was written",
                run.total_writes(),
                if run.hold.is_empty() {
                    ""
                } else {
                    ", and the plan would be held"
                }
            );
            run.finish(RunStatus::Planned, message, Utc::now());
            return Ok(run);
        }

        let usage_at_start = self.store.usage();
        let Some(lease) = self.start_under_lease(&mut run).await? else {
            return Ok(run);
        };
        let result = self
            .keeping_lease(
                &tenant.tenant,
                &lease,
                self.plan_and_apply(tenant, snapshot, &mut run, &lease),
            )
            .await;
        self.options.progress.finish();
        let released = self.store.release_lease(&tenant.tenant, &lease).await;
        // The run's own requests, up to the record that says how it ended.
        run.store_usage = usage_at_start
            .zip(self.store.usage())
            .map(|(start, now)| now.since(start));
        match result.and(released.map_err(SyncError::from)) {
            Ok(()) => {
                self.store.put_run(&run).await?;
                Ok(run)
            }
            Err(SyncError::DeadlineReached { written }) => {
                run.items_written = written;
                run.finish(
                    RunStatus::Continued,
                    format!("stopped before the time limit after writing {written} items; a new invocation continues, re-planning against the store so nothing is written twice"),
                    Utc::now(),
                );
                self.store.put_run(&run).await?;
                Ok(run)
            }
            Err(e) => Err(self.fail(run, e).await),
        }
    }

    /// Records a failed run (best effort) and returns the error.
    pub(crate) async fn fail(&self, mut run: RunRecord, error: SyncError) -> SyncError {
        run.finish(RunStatus::Failed, error.to_string(), Utc::now());
        let _ = self.store.put_run(&run).await;
        error
    }

    /// Records the run as started and takes its tenant's lease. `Ok(None)`:
    /// another run holds it, and the run is recorded `busy`.
    pub(crate) async fn start_under_lease(
        &self,
        run: &mut RunRecord,
    ) -> Result<Option<Lease>, SyncError> {
        run.process = self.options.this_process.clone();
        self.store.put_run(run).await?;
        match self.take_lease(&run.tenant, &run.run_id).await {
            Ok(Taken::Lease(lease)) => Ok(Some(lease)),
            Ok(Taken::Busy(busy)) => {
                run.finish(RunStatus::Busy, busy, Utc::now());
                self.store.put_run(run).await?;
                Ok(None)
            }
            Err(e) => Err(self.fail(run.clone(), e).await),
        }
    }

    /// Runs `work` while renewing `lease` every `lease_renew_every`. When a
    /// renewal finds the lease taken by another run, the work is dropped
    /// where it stands, and the run fails ("lease lost"). The work's own
    /// writes are fenced by the store besides ([`crate::store::Records::write`]):
    /// whatever the timing, none lands once the lease was taken over.
    pub(crate) async fn keeping_lease<T>(
        &self,
        tenant: &str,
        lease: &Lease,
        work: impl std::future::Future<Output = Result<T, SyncError>>,
    ) -> Result<T, SyncError> {
        tokio::select! {
            biased;
            result = work => result,
            lost = self.renew_until_lost(tenant, lease) => Err(lost),
        }
    }

    /// Renews the lease until it is lost (or cannot be renewed before it runs out).
    async fn renew_until_lost(&self, tenant: &str, lease: &Lease) -> SyncError {
        let every = self.options.lease_renew_every;
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(every).await;
            match self.store.renew_lease(tenant, lease, Utc::now()).await {
                Ok(true) => renewed = Instant::now(),
                Ok(false) => return lease.lost(tenant).into(),
                Err(e) if renewed.elapsed() + every < lease.ttl => {
                    tracing::warn!(tenant, run = lease.owner, error = %e, "cannot renew the lease; trying again");
                }
                Err(e) => return e.into(),
            }
        }
    }

    /// Renews `lease` now; an error when another run has taken it over.
    async fn renew_or_lost(&self, tenant: &str, lease: &Lease) -> Result<(), SyncError> {
        let renewed = self.store.renew_lease(tenant, lease, Utc::now()).await?;
        Ok(lease.still_held(tenant, renewed)?)
    }

    /// Takes the tenant's lease, waiting up to `lease_wait`. A run whose
    /// lease expired is marked failed, and so is a run of this machine whose
    /// process has died (its lease is taken at once).
    pub(crate) async fn take_lease(&self, tenant: &str, run_id: &str) -> Result<Taken, SyncError> {
        let deadline = Instant::now() + self.options.lease_wait;
        loop {
            match self
                .store
                .acquire_lease(tenant, run_id, Utc::now(), self.options.lease_ttl)
                .await?
            {
                LeaseOutcome::Acquired {
                    lease,
                    expired_owner,
                } => {
                    if let Some(dead) = expired_owner {
                        if let Some(old) = self.store.get_run(&dead).await? {
                            let why = format!("interrupted: its lease expired; run {run_id} took over and re-planned against the store");
                            self.mark_interrupted(old, why).await?;
                        }
                    }
                    return Ok(Taken::Lease(lease));
                }
                LeaseOutcome::Held { lease, expires_at } => {
                    if self
                        .free_lease_of_dead_process(tenant, &lease, run_id)
                        .await?
                    {
                        continue;
                    }
                    if Instant::now() >= deadline {
                        return Ok(Taken::Busy(format!(
                            "another run ({}) of this tenant is in progress (lease until {expires_at}); nothing was applied — try again later",
                            lease.owner
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    }

    /// Records a run that was still `running` as failed, for `why`.
    async fn mark_interrupted(&self, mut run: RunRecord, why: String) -> Result<(), SyncError> {
        if run.status == RunStatus::Running {
            run.finish(RunStatus::Failed, why, Utc::now());
            self.store.put_run(&run).await?;
        }
        Ok(())
    }

    /// When `holder` is a run of this machine's boot and PID namespace
    /// whose process no longer exists: frees its lease (only if it still
    /// holds it) for `run_id` to take, and marks the dead run failed.
    /// `Ok(false)`: the holder may be alive.
    async fn free_lease_of_dead_process(
        &self,
        tenant: &str,
        holder: &Lease,
        run_id: &str,
    ) -> Result<bool, SyncError> {
        let Some(me) = &self.options.this_process else {
            return Ok(false);
        };
        let Some(dead) = self.store.get_run(&holder.owner).await? else {
            return Ok(false);
        };
        let Some(process) = dead.process.clone().filter(|p| p.is_gone_from(me)) else {
            return Ok(false);
        };
        self.store.release_lease(tenant, holder).await?;
        self.mark_interrupted(
            dead,
            format!(
                "interrupted: its process ({}) on this machine ended without finishing; run {run_id} took over at once and re-planned against the store",
                process.pid
            ),
        )
        .await?;
        tracing::info!(
            tenant,
            dead_run = holder.owner,
            run = run_id,
            "freed the lease of a run whose process has ended"
        );
        Ok(true)
    }

    async fn plan_and_apply(
        &self,
        tenant: &TenantConfig,
        snapshot: &dyn Snapshot,
        run: &mut RunRecord,
        lease: &Lease,
    ) -> Result<(), SyncError> {
        // Reload: take_lease may have marked the run busy or the caller's copy is stale.
        let state = self.store.get_state(&tenant.tenant).await?;
        if let Some((generated, last)) = state.newer_bulk_than(run) {
            run.finish(
                RunStatus::Stale,
                format!("the delivery (generated {generated}) is older than the last applied bulk delivery ({last}); nothing was applied"),
                Utc::now(),
            );
            return Ok(());
        }
        run.bulk = Some(snapshot_has_bulk(snapshot));
        let hold = tenant.hold.unwrap_or(self.options.default_hold);
        if let Some(store) = self
            .first_load_store(&tenant.tenant)?
            .filter(|_| !rejections_may_hold(snapshot, &hold))
        {
            return self
                .load_directly(tenant, snapshot, run, (store, lease), state)
                .await;
        }
        let plan_path = self.plan(tenant, snapshot, run, Some(lease)).await?;
        if !run.hold.is_empty() {
            run.plan_ref =
                Some(
                    self.artifacts
                        .keep(&tenant.tenant, &run.run_id, PLAN_FILE, &plan_path)?,
                );
            let reasons: Vec<String> = run
                .hold
                .iter()
                .map(|(kind, hold)| format!("{kind}: {}", hold.message))
                .collect();
            let why = match run.calendar_notes.as_slice() {
                [] => String::new(),
                notes => format!(" (the delivery's dates: {})", listed(notes, 5)),
            };
            run.finish(
                RunStatus::Held,
                format!(
                    "held for approval: {}{why}; approve with `rosterctl runs approve {}` or discard",
                    reasons.join("; "),
                    run.run_id
                ),
                Utc::now(),
            );
            return Ok(());
        }
        let written = self
            .apply_with_images(&tenant.tenant, lease, run, &plan_path)
            .await?;
        let _ = std::fs::remove_file(&plan_path);
        self.finish_applied(&tenant.tenant, lease, run, state, written)
            .await
    }

    /// The store to write a first load into as it is planned: one that
    /// writes on the calling thread, with no record of the tenant, in a run
    /// with no deadline that is not a dry run.
    fn first_load_store(&self, tenant: &str) -> Result<Option<&dyn BlockingRecords>, SyncError> {
        if self.options.dry_run || self.options.deadline.is_some() {
            return Ok(None);
        }
        match self.store.blocking() {
            Some(store) if !store.has_records(tenant)? => Ok(Some(store)),
            _ => Ok(None),
        }
    }

    /// A first load: planned and written at once (see `crate::direct`),
    /// each chunk under `lease`.
    async fn load_directly(
        &self,
        tenant: &TenantConfig,
        snapshot: &dyn Snapshot,
        run: &mut RunRecord,
        (store, lease): (&dyn BlockingRecords, &Lease),
        state: TenantState,
    ) -> Result<(), SyncError> {
        let path = self
            .artifacts
            .scratch(&tenant.tenant, &run.run_id, BEFORE_FILE)?;
        let mut images = ImageWriter::create(&path)?;
        let mut output = PlanOutput::Direct {
            store,
            lease,
            images: &mut images,
            written: 0,
        };
        store.begin_bulk_load()?;
        let planned = self
            .plan_into(tenant, snapshot, run, &mut output, Some(lease))
            .await;
        let ended = store.end_bulk_load();
        planned?;
        ended?;
        let PlanOutput::Direct { written, .. } = output else {
            unreachable!("a direct plan stays direct")
        };
        if !run.hold.is_empty() {
            // Rejections that could hold send a first load to the plan file.
            return Err(SyncError::Refused(
                "a first load was held although the tenant had no records; nothing more was written — run the sync again".into(),
            ));
        }
        images.finish()?;
        run.before_ref =
            Some(
                self.artifacts
                    .keep(&tenant.tenant, &run.run_id, BEFORE_FILE, &path)?,
            );
        self.finish_applied(&tenant.tenant, lease, run, state, written)
            .await
    }

    /// Records an applied run: counts, tenant state (under `lease`), status
    /// and message.
    async fn finish_applied(
        &self,
        tenant: &str,
        lease: &Lease,
        run: &mut RunRecord,
        state: TenantState,
        written: u64,
    ) -> Result<(), SyncError> {
        run.items_written = written;
        self.record_applied(tenant, lease, run, state).await?;
        let total = run.total_writes();
        let rollover = run
            .rollover
            .as_ref()
            .map(|r| format!("; {r}"))
            .unwrap_or_default();
        run.finish(
            RunStatus::Applied,
            if total == 0 {
                "applied: the store already matched the delivery; nothing was written".to_string()
            } else {
                format!("applied: {total} records written{rollover}")
            },
            Utc::now(),
        );
        Ok(())
    }

    /// The tenant's state after an applied run, written only while `lease`
    /// is still the tenant's: a run that lost it is never recorded applied.
    pub(crate) async fn record_applied(
        &self,
        tenant: &str,
        lease: &Lease,
        run: &RunRecord,
        mut state: TenantState,
    ) -> Result<(), SyncError> {
        if run.had_bulk() {
            // A stored time from the future is dropped, not kept by `max`.
            let last = state.last_bulk_believed(run.received());
            state.last_bulk_generated_at = match (last, run.generated_at) {
                (Some(last), Some(generated)) => Some(last.max(generated)),
                (last, generated) => last.or(generated),
            };
        }
        if run.source.kind == "api" {
            // An API pull's generation time is its start: the base of the next delta.
            state.last_pull_started_at = run.generated_at.or(state.last_pull_started_at);
            if run.had_bulk() {
                state.last_full_pull_at = run.generated_at.or(state.last_full_pull_at);
            }
        }
        state.last_applied_run = Some(run.run_id.clone());
        state.last_applied_at = Some(Utc::now());
        self.store.put_state(tenant, &state, lease).await?;
        Ok(())
    }

    /// Plans every type into the run's plan file; fills counts, holds and
    /// warnings in `run`. Returns the plan file's path.
    async fn plan(
        &self,
        tenant: &TenantConfig,
        snapshot: &dyn Snapshot,
        run: &mut RunRecord,
        lease: Option<&Lease>,
    ) -> Result<std::path::PathBuf, SyncError> {
        let path = if self.options.dry_run {
            std::env::temp_dir().join(format!("roster-dry-run-{}.jsonl", run.run_id))
        } else {
            self.artifacts
                .scratch(&tenant.tenant, &run.run_id, PLAN_FILE)?
        };
        let mut output = PlanOutput::File(PlanWriter::create(&path)?);
        self.plan_into(tenant, snapshot, run, &mut output, lease)
            .await?;
        Ok(path)
    }

    /// Plans every type into `output`: the plan file, or (a first load into
    /// a store that writes on the calling thread) the store itself. Renews
    /// `lease` (none: a dry run) after each type.
    async fn plan_into(
        &self,
        tenant: &TenantConfig,
        snapshot: &dyn Snapshot,
        run: &mut RunRecord,
        output: &mut PlanOutput<'_>,
        lease: Option<&Lease>,
    ) -> Result<(), SyncError> {
        let run_id = run.run_id.clone();
        let size = self.write_chunk();
        let excluded = self.check_deferred(tenant, snapshot, run).await?;
        let mut archives: Vec<(EntityKind, Vec<PlannedWrite>)> = Vec::new();
        // Stored records are judged ended against the delivery's time
        // (never later than its receipt: `clamp_generation_time`).
        let mut calendar = Calendar::new(run.generated_at.unwrap_or(run.started_at).date_naive());
        // Absent types are not planned, but the calendar still needs the
        // stored terms and classes that later types refer to.
        let needs_stored = |kind: EntityKind| {
            effective_mode(tenant, snapshot, kind) != FileMode::Absent
                || matches!(kind, EntityKind::AcademicSessions | EntityKind::Classes)
        };
        // The next type's summaries, loaded while this type was planned.
        let mut prefetched: Option<(EntityKind, Vec<StoredSummary>)> = None;
        for (position, kind) in EntityKind::ALL.into_iter().enumerate() {
            let mode = effective_mode(tenant, snapshot, kind);
            let (rejected, skipped) = snapshot.validation_counts(kind);
            let engine_rejected = excluded.get(&kind).map_or(0, |s| s.len() as u64);
            if !needs_stored(kind) {
                continue;
            }
            let stored = match prefetched.take() {
                Some((k, stored)) if k == kind => stored,
                _ => self.store.load_summaries(&tenant.tenant, kind).await?,
            };
            if mode == FileMode::Absent {
                for s in &stored {
                    calendar.learn_stored(&s.sourced_id, &s.facts);
                }
                continue;
            }
            // Loaded ahead only while both types' summaries stay few (memory).
            let next = EntityKind::ALL[position + 1..]
                .iter()
                .copied()
                .find(|k| needs_stored(*k))
                .filter(|next| {
                    stored.len() as u64 + snapshot.delivered_rows(*next) <= PREFETCH_MAX_RECORDS
                });
            let none = HashSet::new();
            let kind_excluded = excluded.get(&kind).unwrap_or(&none);
            self.options.progress.stage(
                &match output {
                    PlanOutput::Direct { .. } => format!("loading {kind}"),
                    PlanOutput::File(_) | PlanOutput::Done => format!("planning {kind}"),
                },
                None,
            );
            let counted = CountedSnapshot {
                inner: snapshot,
                progress: &self.options.progress,
            };
            let (kind_plan, next_stored) = std::thread::scope(|scope| {
                let loader = next.map(|next| {
                    scope.spawn(move || {
                        self.store
                            .blocking()
                            .map(|store| store.load_summaries(&tenant.tenant, next))
                            .map(|loaded| loaded.map(|stored| (next, stored)))
                    })
                });
                let mut plan_to = |emit: &mut dyn FnMut(PlannedWrite) -> Result<(), SyncError>| {
                    plan_kind(
                        kind,
                        mode,
                        &stored,
                        &counted,
                        kind_excluded,
                        &mut calendar,
                        emit,
                    )
                };
                let kind_plan = match &mut *output {
                    PlanOutput::File(out) => plan_to(&mut |w| out.write(&w)),
                    PlanOutput::Done => {
                        Err(SyncError::Refused("the plan was already finished".into()))
                    }
                    PlanOutput::Direct {
                        store,
                        lease,
                        images,
                        written,
                    } => direct::plan_while_writing(
                        *store,
                        (&tenant.tenant, lease),
                        &run_id,
                        size,
                        images,
                        |writes| plan_to(&mut |w| writes.push(w)),
                    )
                    .map(|(plan, n)| {
                        *written += n;
                        plan
                    }),
                };
                let next_stored = loader.and_then(|loader| {
                    loader
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                });
                (kind_plan, next_stored)
            });
            let summaries = stored.len();
            drop(stored);
            if summaries >= crate::memory::RELEASE_AFTER_SUMMARIES {
                crate::memory::release_freed_memory();
            }
            prefetched = next_stored.transpose()?;
            let mut kind_plan: KindPlan = kind_plan?;
            kind_plan.counts.rejected = rejected + engine_rejected;
            kind_plan.counts.skipped = skipped;
            let hold = tenant.hold.unwrap_or(self.options.default_hold);
            judge_kind(run, kind, mode, &kind_plan, &hold, &calendar);
            run.counts.insert(kind_key(kind), kind_plan.counts);
            archives.push((kind, std::mem::take(&mut kind_plan.archives)));
            // Planning a large district takes a while: keep the lease.
            if let Some(lease) = lease {
                self.renew_or_lost(&tenant.tenant, lease).await?;
            }
        }
        run.rollover = rollover_summary(run, &calendar);
        run.calendar_notes.extend(calendar.notes());
        // Archives after all puts, dependants first (enrollments before users).
        let admins: HashSet<String> = self
            .store
            .primary_admins(&tenant.tenant)
            .await?
            .into_iter()
            .collect();
        for (kind, list) in archives.iter().rev() {
            for w in list {
                if *kind == EntityKind::Users && admins.contains(&w.id) {
                    run.warnings.push(format!(
                        "user {} is a Primary Administrator and this sync archives it; promote another administrator (`rosterctl admins promote`)",
                        w.id
                    ));
                }
                match output {
                    PlanOutput::File(out) => out.write(w)?,
                    PlanOutput::Direct { .. } | PlanOutput::Done => {
                        return Err(SyncError::Refused(format!(
                            "{kind} {} is stored, but the tenant had no records when the run began; run the sync again",
                            w.id
                        )))
                    }
                }
            }
        }
        if matches!(output, PlanOutput::File(_)) {
            if let PlanOutput::File(out) = std::mem::replace(output, PlanOutput::Done) {
                out.finish()?;
            }
        }
        Ok(())
    }

    /// Writes handed to the store at a time.
    fn write_chunk(&self) -> usize {
        match self.options.chunk {
            0 => self.store.write_batch(),
            n => n,
        }
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
                let code = if d.target == EntityKind::Users {
                    IssueCode::UnknownUser
                } else {
                    IssueCode::UnknownClass
                };
                run.push_error(
                    &Issue::new(
                        Severity::Error,
                        d.file.file_name(),
                        code,
                        format!(
                            "`{}` is neither in the delivery nor in the store",
                            d.target_id
                        ),
                    )
                    .at_line(d.line)
                    .in_column(d.column),
                );
            }
        }
        Ok(excluded)
    }

    /// Applies a plan file in chunks as run `run_id`, each chunk under
    /// `lease` (the store renews it, or refuses the chunk once another run
    /// took it over); stops at the deadline. Before each chunk is written,
    /// the stored state of each record it touches goes to `images`.
    async fn apply_plan(
        &self,
        tenant: &str,
        lease: &Lease,
        run_id: &str,
        plan: &Path,
        images: &mut ImageWriter,
    ) -> Result<u64, SyncError> {
        let size = self.write_chunk();
        let mut written = 0u64;
        let mut chunks = PlanChunks::open(plan, size)?;
        let mut next = chunks.next_chunk().transpose()?;
        while let Some(chunk) = next {
            self.keep_before_images(tenant, &chunk, images).await?;
            let count = chunk.len() as u64;
            let now = Utc::now();
            let writes = PlannedWrite::into_writes(chunk, now, run_id);
            written += self.store.write(tenant, lease, &writes).await?;
            self.options.progress.advance(count);
            next = chunks.next_chunk().transpose()?;
            let more = next.is_some();
            if more && self.options.deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(SyncError::DeadlineReached { written });
            }
        }
        Ok(written)
    }

    /// Writes the before-image of each planned write: the record as read
    /// from the store just before its chunk is written, or "did not exist".
    /// Every record that may exist is read ([`may_exist`]), users the plan saw
    /// no record of among them: one may have been provisioned at sign-in since,
    /// and a revert must put it back, not archive it.
    async fn keep_before_images(
        &self,
        tenant: &str,
        planned: &[PlannedWrite],
        images: &mut ImageWriter,
    ) -> Result<(), SyncError> {
        let mut states: HashMap<EntityKind, HashMap<String, RecordState>> = HashMap::new();
        for kind in EntityKind::ALL {
            let ids: Vec<String> = planned
                .iter()
                .filter(|p| p.kind == kind && may_exist(p))
                .map(|p| p.id.clone())
                .collect();
            if !ids.is_empty() {
                let read = self.store.record_states(tenant, kind, &ids).await?;
                states.insert(kind, read);
            }
        }
        for p in planned {
            let before = states
                .get_mut(&p.kind)
                .and_then(|read| read.get(&p.id).cloned());
            images.write(&BeforeImage::of(p, before))?;
        }
        Ok(())
    }

    /// Applies a plan as `run` under `lease`, keeping the before-images
    /// with the run's files (`run.before_ref`).
    pub(crate) async fn apply_with_images(
        &self,
        tenant: &str,
        lease: &Lease,
        run: &mut RunRecord,
        plan: &Path,
    ) -> Result<u64, SyncError> {
        let path = self.artifacts.scratch(tenant, &run.run_id, BEFORE_FILE)?;
        let mut images = ImageWriter::create(&path)?;
        let total = run.total_writes();
        self.options
            .progress
            .stage("applying", (total > 0).then_some(total));
        let written = self
            .apply_plan(tenant, lease, &run.run_id, plan, &mut images)
            .await?;
        images.finish()?;
        run.before_ref = Some(
            self.artifacts
                .keep(tenant, &run.run_id, BEFORE_FILE, &path)?,
        );
        Ok(written)
    }

    /// Applies a held run's plan, after checking that the store has not changed
    /// since the plan was made and that no newer bulk delivery was applied.
    pub async fn approve(&self, run_id: &str, by: &str) -> Result<RunRecord, SyncError> {
        let mut run = self.held_run(run_id).await?;
        let tenant = run.tenant.clone();
        let lease = match self
            .take_lease(&tenant, &format!("approve-{run_id}"))
            .await?
        {
            Taken::Lease(lease) => lease,
            Taken::Busy(busy) => return Err(SyncError::Refused(busy)),
        };
        let result = self
            .keeping_lease(&tenant, &lease, self.approve_locked(&mut run, &lease, by))
            .await;
        self.store.release_lease(&tenant, &lease).await?;
        result?;
        self.store.put_run(&run).await?;
        Ok(run)
    }

    async fn approve_locked(
        &self,
        run: &mut RunRecord,
        lease: &Lease,
        by: &str,
    ) -> Result<(), SyncError> {
        let state = self.store.get_state(&run.tenant).await?;
        if let Some((_, last)) = state.newer_bulk_than(run) {
            run.decided_by = Some(by.to_string());
            run.finish(RunStatus::Stale, format!("not applied: a newer bulk delivery ({last}) was applied after this run was held"), Utc::now());
            return Ok(());
        }
        let plan_ref = run
            .plan_ref
            .clone()
            .ok_or_else(|| SyncError::NotFound(format!("run {} has no stored plan", run.run_id)))?;
        let plan = self.artifacts.fetch(&plan_ref)?;
        self.recheck(&run.tenant, &plan).await?;
        // Apply under the approver's lease, writing as the held run.
        let tenant = run.tenant.clone();
        let written = self.apply_with_images(&tenant, lease, run, &plan).await?;
        run.items_written = written;
        run.decided_by = Some(by.to_string());
        run.hold.clear();
        self.finish_revert(run).await?;
        self.record_applied(&run.tenant, lease, run, state).await?;
        run.finish(
            RunStatus::Applied,
            format!("approved by {by} and applied: {written} records written"),
            Utc::now(),
        );
        Ok(())
    }

    /// Refuses when any planned record changed in the store since planning.
    async fn recheck(&self, tenant: &str, plan: &Path) -> Result<(), SyncError> {
        let mut planned: Vec<(EntityKind, String, Option<Before>)> = Vec::new();
        for w in read_plan(plan)? {
            let w = w?;
            planned.push((w.kind, w.id, w.before));
        }
        let kinds: HashSet<EntityKind> = planned.iter().map(|p| p.0).collect();
        let mut now: HashMap<(EntityKind, String), Before> = HashMap::new();
        for kind in kinds {
            for s in self.store.load_summaries(tenant, kind).await? {
                now.insert((kind, s.sourced_id.to_string()), Before::of(&s));
            }
        }
        let changed: Vec<String> = planned
            .iter()
            .filter(|(kind, id, before)| now.get(&(*kind, id.clone())) != before.as_ref())
            .map(|(kind, id, _)| format!("{kind} {id}"))
            .collect();
        if let Some(first) = changed.first() {
            return Err(SyncError::Refused(format!(
                "{} records changed in the store since this plan was made (first: {first}); discard this run and sync the delivery again",
                changed.len()
            )));
        }
        Ok(())
    }

    /// Discards a held run.
    pub async fn discard(&self, run_id: &str, by: &str) -> Result<RunRecord, SyncError> {
        let mut run = self.held_run(run_id).await?;
        run.decided_by = Some(by.to_string());
        run.finish(
            RunStatus::Discarded,
            format!("discarded by {by}; nothing was applied"),
            Utc::now(),
        );
        self.store.put_run(&run).await?;
        Ok(run)
    }

    async fn held_run(&self, run_id: &str) -> Result<RunRecord, SyncError> {
        let run = self
            .store
            .get_run(run_id)
            .await?
            .ok_or_else(|| SyncError::NotFound(format!("no run {run_id}")))?;
        if run.status != RunStatus::Held {
            return Err(SyncError::Refused(format!(
                "run {run_id} is {}, not held",
                run.status.as_str()
            )));
        }
        Ok(run)
    }
}

/// What taking a tenant's lease came to.
pub(crate) enum Taken {
    /// The lease, held.
    Lease(Lease),
    /// Another run holds it: why the run is busy.
    Busy(String),
}

/// Where a plan goes.
enum PlanOutput<'a> {
    /// The plan file, applied (or held) afterwards.
    File(PlanWriter),
    /// Straight into a store with no records for the tenant, as planned,
    /// each chunk under the run's lease.
    Direct {
        store: &'a dyn BlockingRecords,
        lease: &'a Lease,
        images: &'a mut ImageWriter,
        written: u64,
    },
    /// Planning is over.
    Done,
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
}

/// The mode the engine applies: demographics are absent for tenants that did not opt in.
fn effective_mode(tenant: &TenantConfig, snapshot: &dyn Snapshot, kind: EntityKind) -> FileMode {
    if kind == EntityKind::Demographics && !tenant.demographics {
        return FileMode::Absent;
    }
    snapshot.mode(kind)
}

fn snapshot_has_bulk(snapshot: &dyn Snapshot) -> bool {
    EntityKind::ALL
        .iter()
        .any(|k| snapshot.mode(*k) == FileMode::Bulk)
}

/// Whether a planned write's record may be stored when it is applied: it
/// was when planned, or a revert puts it back, or it is a user (sign-in
/// makes provisional teachers at any time). Nothing else makes records but a
/// sync, one at a time under the lease: a planned insert of another type
/// finds nothing, and its before-image ("did not exist") needs no read.
fn may_exist(planned: &PlannedWrite) -> bool {
    planned.before.is_some() || planned.restore.is_some() || planned.kind == EntityKind::Users
}

/// Records in `run` what one type's plan asks of a person: a hold (the
/// plan's own reasons; for sessions, also current ones the delivery ends by
/// moving their end dates into the past), and records archived as ended
/// beyond the hold's limits (applied, but told).
fn judge_kind(
    run: &mut RunRecord,
    kind: EntityKind,
    mode: FileMode,
    plan: &KindPlan,
    hold: &HoldThresholds,
    calendar: &Calendar,
) {
    let mut reasons: Vec<String> = plan.hold_reason(mode, hold).into_iter().collect();
    if kind == EntityKind::AcademicSessions {
        reasons.extend(calendar.sessions_ended_early());
    }
    if !reasons.is_empty() {
        run.hold.insert(
            kind_key(kind),
            HoldReason {
                active_before: plan.active_before,
                would_archive: plan.would_archive(),
                would_change_identity: plan.identity_changes,
                incoming_rows: plan.incoming_rows,
                rejected_rows: plan.counts.rejected,
                message: reasons.join("; "),
            },
        );
    }
    if let Some(over) = hold.archive_over_limit(plan.counts.ended, plan.active_before) {
        run.mass_ended
            .insert(kind_key(kind), format!("{over} archived as ended"));
    }
}

/// A generation time later than the delivery's receipt (plus
/// [`crate::run::GENERATION_TIME_SKEW`]) cannot be true (an unzip that stamps files in
/// the future, a wrong clock): the receipt time (or the run's start) is used
/// instead, and the run notes it. Such a time would otherwise end records
/// early and make every later delivery `stale`.
fn clamp_generation_time(run: &mut RunRecord) {
    let Some(generated) = run.generated_at else {
        return;
    };
    let received = run.received();
    if generated > received + crate::run::GENERATION_TIME_SKEW {
        let note = format!(
            "generation time {} is later than the delivery's receipt ({}); the receipt time is used",
            generated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            received.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        tracing::warn!(tenant = %run.tenant, run = %run.run_id, "{note}");
        run.calendar_notes.push(note);
        run.generated_at = Some(received);
    }
}

/// Whether a first load may be held for rejected rows: some type has at
/// least the rejection hold's minimum of rows rejected by validation or
/// waiting on references (all rejected when the store is empty). Such a
/// load is planned to a file, so that it can be held; below the minimum the
/// plan cannot hold whatever the share, so the load may write as it plans.
fn rejections_may_hold(snapshot: &dyn Snapshot, hold: &HoldThresholds) -> bool {
    EntityKind::ALL.into_iter().any(|kind| {
        let deferred = snapshot
            .deferred_references()
            .iter()
            .filter(|d| d.file == kind)
            .count() as u64;
        snapshot.validation_counts(kind).0 + deferred >= hold.min_rejected_count
    })
}

/// Counts of a run, for display.
pub fn total_counts(run: &RunRecord) -> KindCounts {
    run.counts
        .values()
        .fold(KindCounts::default(), |mut acc, c| {
            acc.inserted += c.inserted;
            acc.updated += c.updated;
            acc.unchanged += c.unchanged;
            acc.archived += c.archived;
            acc.ended += c.ended;
            acc.unarchived += c.unarchived;
            acc.rejected += c.rejected;
            acc.skipped += c.skipped;
            acc
        })
}

/// The rollover in words, when the plan archives records as ended:
/// "rollover: 759 classes and 19,553 enrollments of school year 2025–2026
/// archived as ended; 240 users archived as absent (7.5%)".
fn rollover_summary(run: &RunRecord, calendar: &Calendar) -> Option<String> {
    let ended: Vec<String> = EntityKind::ALL
        .iter()
        .filter_map(|kind| {
            let n = run.counts.get(&kind_key(*kind))?.ended;
            (n > 0).then(|| format!("{} {}", thousands(n), plural_name(*kind, n)))
        })
        .collect();
    if ended.is_empty() {
        return None;
    }
    let list = match ended.as_slice() {
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        [] => unreachable!("not empty"),
    };
    let years = calendar
        .ended_years_label()
        .map(|y| format!(" of {y}"))
        .unwrap_or_default();
    let mut summary = format!("rollover: {list}{years} archived as ended");
    if let Some(users) = run.counts.get(&kind_key(EntityKind::Users)) {
        let active = users.unchanged + users.updated + users.archived;
        if users.archived > 0 && active > 0 {
            summary.push_str(&format!(
                "; {} users archived as absent ({:.1}%)",
                thousands(users.archived),
                users.archived as f64 * 100.0 / active as f64
            ));
        }
    }
    Some(summary)
}

/// The plural (or singular) of a type's records, in words.
fn plural_name(kind: EntityKind, n: u64) -> &'static str {
    let (one, many) = match kind {
        EntityKind::Orgs => ("org", "orgs"),
        EntityKind::AcademicSessions => ("academic session", "academic sessions"),
        EntityKind::Courses => ("course", "courses"),
        EntityKind::Classes => ("class", "classes"),
        EntityKind::Users => ("user", "users"),
        EntityKind::Enrollments => ("enrollment", "enrollments"),
        EntityKind::Demographics => ("demographics record", "demographics records"),
    };
    if n == 1 {
        one
    } else {
        many
    }
}
