//! The sync engine: lease, staleness, plan against the store, safety hold,
//! apply, run record. The one path by which roster data is written.
//!
//! A run plans each type against what the store holds ([`planning`]) and
//! hands its writes to the store's one write method as a stream of chunks
//! ([`writing`]): from a plan file once the hold was checked, or, for a first
//! load (nothing can be held), straight from the planner.

mod apart;
mod approval;
mod judging;
mod lease;
mod planning;
mod rekeying;
mod writing;

use crate::artifacts::Artifacts;
pub use crate::error::SyncError;
use crate::run::{Delivered, RunRecord, RunSource, RunStatus};
use crate::school_year::listed;
use crate::snapshot::{CsvSnapshot, ReadState, Snapshot, StoredReads};
use crate::store::{Lease, Store};
use crate::tenant::{HoldThresholds, TenantConfig, TenantState};
use apart::apart_schools;
pub use approval::RekeyChoice;
use chrono::Utc;
use judging::clamp_generation_time;
pub use judging::total_counts;
pub(crate) use lease::Taken;
use oneroster::v1p2::StoredRoles;
use oneroster::{stored_roles_wanted, validate_package, EntityKind, Progress, ValidationOptions};
use planning::snapshot_has_bulk;
pub(crate) use rekeying::{record_applied, LINKS_AT_ONCE};
use std::path::Path;
use std::sync::Arc;
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
    /// The deployment's yearly pause window for tenants without windows of
    /// their own (default: `DEFAULT_PAUSE_WINDOW`, unread when invalid: the
    /// functions and rosterctl refuse to start with an invalid one).
    pub default_pause: Option<crate::tenant::YearlyWindow>,
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
            default_pause: crate::tenant::YearlyWindow::from_env().unwrap_or(None),
            progress: Progress::none(),
        }
    }
}

/// What a planned run would hold, in words for its message: ", and the
/// plan would be held", or ", and the part of school `s1` would be held
/// apart", or nothing.
fn would_hold(run: &RunRecord) -> String {
    if !run.hold.is_empty() {
        ", and the plan would be held for approval".to_string()
    } else if !run.held_schools.is_empty() {
        format!(
            ", and the part of {} would be held apart",
            apart_schools(run)
        )
    } else {
        String::new()
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
/// Users read at a time for a 1.2 delta `roles.csv` (their texts are held
/// only while a chunk is read).
const STORED_ROLES_CHUNK: usize = 1000;
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
        let mut options = ValidationOptions {
            imported_roles: tenant.role_set(),
            progress: self.options.progress.clone(),
            ..ValidationOptions::default()
        };
        let (stored_roles, stored_users) = self.stored_roles(tenant, path, &options).await?;
        options.stored_roles = stored_roles;
        let validation = validate_package(path, &options);
        // The stored users' roles and content are in the validation now.
        drop(options);
        for issue in &validation.report.errors {
            run.push_error(issue);
        }
        // Every error counted, not only those the report lists.
        run.error_count = validation.report.error_count;
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
            stored_users,
        };
        self.sync_snapshot(tenant, Arc::new(snapshot), run).await
    }

    /// The stored users a 1.2 package's delta `roles.csv` changes, or whose
    /// rows its delta `users.csv` delivers (their roles are the stored ones
    /// with the delta's changes), for validation; and each as it was read,
    /// for planning (which leaves out those changed since). `None` and
    /// nothing read for any other package. Read in chunks, each user's
    /// content kept only where its roles change without its row; provisional
    /// users are left out (their content is not the district's).
    async fn stored_roles(
        &self,
        tenant: &TenantConfig,
        path: &Path,
        options: &ValidationOptions,
    ) -> Result<(Option<Arc<StoredRoles>>, StoredReads), SyncError> {
        let mut reads = StoredReads::new();
        let Some(wanted) = stored_roles_wanted(path, options) else {
            return Ok((None, reads));
        };
        let mut stored = StoredRoles::default();
        for chunk in wanted.chunks(STORED_ROLES_CHUNK) {
            let ids: Vec<String> = chunk.iter().map(|w| w.sourced_id.clone()).collect();
            let states = self
                .store
                .record_states(&tenant.tenant, EntityKind::Users, &ids)
                .await?;
            for want in chunk {
                let state = states.get(&want.sourced_id);
                reads.insert(want.sourced_id.clone(), state.map(ReadState::of));
                if let Some(state) = state.filter(|s| !s.provisional) {
                    let archived = state.archive.is_some();
                    stored.insert(&want.sourced_id, state.sis.text(), archived, want.content);
                }
            }
        }
        Ok((Some(Arc::new(stored)), reads))
    }

    /// Syncs a validated snapshot; `run` is the started run record.
    pub async fn sync_snapshot(
        &self,
        tenant: &TenantConfig,
        snapshot: Arc<dyn Snapshot>,
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
            let plan_path = self.plan(tenant, &snapshot, &mut run, None).await?;
            let _ = std::fs::remove_file(plan_path);
            let message = format!(
                "dry run: {} writes planned{}; nothing was written",
                run.total_writes(),
                would_hold(&run)
            );
            run.finish(RunStatus::Planned, message, Utc::now());
            return Ok(run);
        }
        if let Some(window) = self.pause_window(tenant, &run).await? {
            // Boxed: planning's future is large, and this one is kept beside the apply's.
            return Box::pin(self.pause(tenant, &snapshot, run, &window)).await;
        }

        let usage_at_start = self.store.usage();
        let Some(lease) = self.start_under_lease(&mut run).await? else {
            return Ok(run);
        };
        let result = self
            .keeping_lease(
                &tenant.tenant,
                &lease,
                self.plan_and_apply(tenant, &snapshot, &mut run, &lease),
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

    /// The pause window `run`'s delivery falls in: the tenant's own, or the
    /// deployment's default for a tenant without windows, except before the
    /// tenant's first applied run (a district onboarded in the summer gets
    /// its roster).
    async fn pause_window(
        &self,
        tenant: &TenantConfig,
        run: &RunRecord,
    ) -> Result<Option<crate::tenant::PauseWindow>, SyncError> {
        let window = tenant.paused_at(run.received(), self.options.default_pause.as_ref());
        if window.is_some() && tenant.pause.is_empty() {
            let state = self.store.get_state(&tenant.tenant).await?;
            if state.last_applied_run.is_none() {
                return Ok(None);
            }
        }
        Ok(window)
    }

    /// A delivery received during a pause window: planned, to count what it
    /// would change, and recorded `paused`; nothing is applied. Its report is
    /// kept as any run's; the newest delivery of the window is applied when it ends.
    async fn pause(
        &self,
        tenant: &TenantConfig,
        snapshot: &Arc<dyn Snapshot>,
        mut run: RunRecord,
        window: &crate::tenant::PauseWindow,
    ) -> Result<RunRecord, SyncError> {
        let plan_path = self.plan(tenant, snapshot, &mut run, None).await?;
        let _ = std::fs::remove_file(plan_path);
        let message = format!(
            "paused: the tenant's pause window {window} keeps deliveries unapplied; {} writes planned{}; nothing was applied. The newest delivery of the window is applied when it ends",
            run.total_writes(),
            would_hold(&run)
        );
        run.finish(RunStatus::Paused, message, Utc::now());
        self.store.put_run(&run).await?;
        Ok(run)
    }

    /// Records a failed run (best effort) and returns the error.
    pub(crate) async fn fail(&self, mut run: RunRecord, error: SyncError) -> SyncError {
        run.finish(RunStatus::Failed, error.to_string(), Utc::now());
        let _ = self.store.put_run(&run).await;
        error
    }

    /// Plans and applies (or holds) a delivery under `lease`.
    async fn plan_and_apply(
        &self,
        tenant: &TenantConfig,
        snapshot: &Arc<dyn Snapshot>,
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
        run.bulk = Some(snapshot_has_bulk(&**snapshot));
        if !self.options.dry_run && self.loads_as_planned(tenant, &**snapshot).await? {
            return self
                .load_as_planned(tenant, snapshot, run, lease, state)
                .await;
        }
        let plan_path = self.plan(tenant, snapshot, run, Some(lease)).await?;
        if !run.hold.is_empty() {
            // The whole delivery waits: no school's part is set apart.
            run.held_schools.clear();
            self.keep_plan(&tenant.tenant, run, &plan_path)?;
            let hold = self.hold_for(tenant);
            self.propose_rekey(&tenant.tenant, run, &plan_path, &hold)
                .await?;
            let reasons: Vec<String> = run
                .hold
                .iter()
                .map(|(kind, hold)| format!("{kind}: {}", hold.message))
                .collect();
            let mut why = match run.calendar_notes.as_slice() {
                [] => String::new(),
                notes => format!(" (the delivery's dates: {})", listed(notes, 5)),
            };
            if let Some(rekey) = &run.rekey {
                why = format!("{why}; {} (write the proposal with `rosterctl runs show {} --rekey map.csv`, approve with `--rekey`)", rekey.sentence(), run.run_id);
            }
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
        self.apply_planned(&tenant.tenant, run, lease, state, &plan_path)
            .await
    }

    /// Applies a plan not held as a whole: some schools' part set apart as a
    /// held run (recorded once the rest is written), users re-keyed under
    /// exact keys carried on.
    async fn apply_planned(
        &self,
        tenant: &str,
        run: &mut RunRecord,
        lease: &Lease,
        mut state: TenantState,
        plan: &Path,
    ) -> Result<(), SyncError> {
        let mut apart = match run.held_schools.is_empty() {
            true => None,
            false => Some(self.hold_schools_apart(tenant, run, plan)?),
        };
        let to_apply = apart.as_ref().map_or(plan, |part| &part.applied);
        let resumed = self.resumed_pairs(run, &state, to_apply).await?;
        let rekeys = self.exact_rekeys(run, to_apply, resumed).await?;
        if let Some((_, pairs)) = &rekeys {
            self.note_rekey(run, lease, &mut state, pairs).await?;
            self.link_rekeys(run, pairs, false).await?;
        }
        let to_apply = rekeys.as_ref().map_or(to_apply, |(rewritten, _)| rewritten);
        let written = self.apply_with_images(tenant, lease, run, to_apply).await?;
        let _ = std::fs::remove_file(plan);
        if let Some(part) = apart.as_mut() {
            self.record_school_part(tenant, part).await?;
        }
        // A re-key's pairs in a school part held apart are carried on when
        // it is approved.
        if apart.is_none() {
            state.rekey_in_progress = None;
        }
        self.finish_applied(tenant, lease, run, state, written)
            .await?;
        if let Some(part) = apart {
            run.message = format!(
                "{}; the part of {} is held apart as run {} for approval",
                run.message,
                apart_schools(&part.held),
                part.held.run_id
            );
        }
        if let Some((rewritten, pairs)) = rekeys {
            let _ = std::fs::remove_file(rewritten);
            rekeying::record_applied(run, &pairs);
            run.message = format!(
                "{}; {} applied (the same identifier or state id under a new sourcedId)",
                run.message,
                rekeying::rekeyed_words(run)
            );
        }
        Ok(())
    }

    /// The hold thresholds of `tenant`: its own, or the deployment's.
    pub(crate) fn hold_for(&self, tenant: &TenantConfig) -> HoldThresholds {
        tenant.hold.unwrap_or(self.options.default_hold)
    }

    /// Records an applied run: counts, tenant state (under `lease`), status
    /// and message.
    pub(super) async fn finish_applied(
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
}
