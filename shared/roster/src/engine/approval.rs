//! A held run: approved (applied after a check that nothing moved) or discarded.

use super::rekeying::{record_applied, rekeyed_words};
use super::{Engine, Taken};
use crate::artifacts::Artifacts;
use crate::error::SyncError;
use crate::plan::{read_plan, Before};
use crate::rekey::{read_mapping, Pair};
use crate::run::{RunRecord, RunStatus};
use crate::store::{Lease, Store};
use chrono::Utc;
use oneroster::EntityKind;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Whether an approval applies a re-key (see [`crate::rekey`]).
#[derive(Debug, Clone, PartialEq)]
pub enum RekeyChoice {
    /// None chosen. A proposal is declined: old records are archived as
    /// absent, new ones inserted as new people. Without a proposal (a school
    /// part held apart, a run held for another reason), the pairs of exact
    /// keys are applied, as the run applied without a hold applies them.
    No,
    /// The mapping proposed when the run was held.
    Proposed,
    /// This mapping (a corrected proposal).
    Mapping(Vec<Pair>),
}

impl<S: Store, A: Artifacts> Engine<'_, S, A> {
    /// Applies a held run's plan, after checking that the store has not changed
    /// since the plan was made and that no newer bulk delivery was applied.
    pub async fn approve(&self, run_id: &str, by: &str) -> Result<RunRecord, SyncError> {
        self.approve_with(run_id, by, RekeyChoice::No).await
    }

    /// [`Engine::approve`], applying a re-key as `rekey` says.
    pub async fn approve_with(
        &self,
        run_id: &str,
        by: &str,
        rekey: RekeyChoice,
    ) -> Result<RunRecord, SyncError> {
        let usage_at_start = self.store.usage();
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
            .keeping_lease(
                &tenant,
                &lease,
                self.approve_locked(&mut run, &lease, by, rekey),
            )
            .await;
        self.store.release_lease(&tenant, &lease).await?;
        result?;
        // The planning's requests and the approval's, on the one record.
        if let Some(approval) = usage_at_start
            .zip(self.store.usage())
            .map(|(start, now)| now.since(start))
        {
            run.store_usage = Some(run.store_usage.unwrap_or_default().plus(approval));
        }
        self.store.put_run(&run).await?;
        Ok(run)
    }

    async fn approve_locked(
        &self,
        run: &mut RunRecord,
        lease: &Lease,
        by: &str,
        rekey: RekeyChoice,
    ) -> Result<(), SyncError> {
        let mut state = self.store.get_state(&run.tenant).await?;
        if let Some((_, last)) = state.newer_bulk_than(run) {
            run.decided_by = Some(by.to_string());
            run.finish(RunStatus::Stale, format!("not applied: a newer bulk delivery ({last}) was applied after this run was held"), Utc::now());
            return Ok(());
        }
        if let Some(newer) = self.bulk_applied_since(&state, run).await? {
            run.decided_by = Some(by.to_string());
            run.finish(RunStatus::Stale, format!("not applied: a newer bulk delivery (run {newer}) was applied after this run was held; it was judged on its own"), Utc::now());
            return Ok(());
        }
        let plan_ref = run
            .plan_ref
            .clone()
            .ok_or_else(|| SyncError::NotFound(format!("run {} has no stored plan", run.run_id)))?;
        let plan = self.artifacts.fetch(&plan_ref)?;
        self.recheck(&run.tenant, &plan).await?;
        let chosen = self.rekey_pairs(run, rekey)?;
        // A revert pairs no one: it puts links back itself (`finish_revert`).
        let revert = run.reverts.is_some();
        let resumed = match revert {
            true => Vec::new(),
            false => self.resumed_pairs(run, &state, &plan).await?,
        };
        // Only a re-key the person chose moves a Primary Administrator.
        let move_admins = chosen.is_some();
        if !move_admins && !resumed.is_empty() {
            run.warnings.push(format!("{} records of a re-key stopped part way were carried on (archived `rekeyed`, first seen kept)", resumed.len()));
        }
        let proposed = run.rekey.as_ref().is_some_and(|r| r.mapping_ref.is_some());
        let rekeyed = match chosen {
            // An empty mapping declines every pair.
            Some(chosen) if chosen.is_empty() && resumed.is_empty() => None,
            Some(chosen) => Some(self.rekeyed_plan(run, &plan, &chosen, resumed).await?),
            // A proposal declined: only a re-key stopped part way carries on.
            None if proposed && resumed.is_empty() => None,
            None if proposed => Some(self.rekeyed_plan(run, &plan, &[], resumed).await?),
            None if revert => None,
            // Nothing proposed (a school part held apart, a run held for
            // another reason): the exact pairs, as the run unheld applies them.
            None => self.exact_rekeys(run, &plan, resumed).await?,
        };
        let (plan, pairs) = match rekeyed {
            Some((rewritten, all)) => {
                self.note_rekey(run, lease, &mut state, &all).await?;
                self.link_rekeys(run, &all, move_admins).await?;
                (rewritten, Some(all))
            }
            None => (plan, None),
        };
        if !revert {
            state.rekey_in_progress = None;
        }
        // Apply under the approver's lease, writing as the held run.
        let tenant = run.tenant.clone();
        let written = self.apply_with_images(&tenant, lease, run, &plan).await?;
        run.items_written = written;
        let rekeyed = match pairs {
            Some(pairs) => {
                record_applied(run, &pairs);
                format!(" with {}", rekeyed_words(run))
            }
            None => String::new(),
        };
        run.decided_by = Some(by.to_string());
        run.hold.clear();
        let unlinked = self.finish_revert(run).await?;
        self.record_applied(&run.tenant, lease, run, state).await?;
        run.finish(
            RunStatus::Applied,
            format!("approved by {by} and applied{rekeyed}: {written} records written{unlinked}"),
            Utc::now(),
        );
        Ok(())
    }

    /// The last applied run, when it is a bulk delivery newer than `run`
    /// (run ids are in time order): a held run's plan no longer says what to
    /// do, even where the newer delivery wrote nothing (a school it brought
    /// back unchanged would be archived by the older plan).
    async fn bulk_applied_since(
        &self,
        state: &crate::tenant::TenantState,
        run: &RunRecord,
    ) -> Result<Option<String>, SyncError> {
        let Some(last) = state.last_applied_run.as_deref() else {
            return Ok(None);
        };
        if last <= run.run_id.as_str() {
            return Ok(None);
        }
        let bulk = self
            .store
            .get_run(last)
            .await?
            .is_some_and(|r| r.had_bulk());
        Ok(bulk.then(|| last.to_string()))
    }

    /// The pairs an approval applies: none, the kept proposal, or the given mapping.
    fn rekey_pairs(
        &self,
        run: &RunRecord,
        rekey: RekeyChoice,
    ) -> Result<Option<Vec<Pair>>, SyncError> {
        match rekey {
            RekeyChoice::No => Ok(None),
            RekeyChoice::Mapping(pairs) => Ok(Some(pairs)),
            RekeyChoice::Proposed => {
                let Some(reference) = run.rekey.as_ref().and_then(|r| r.mapping_ref.as_ref())
                else {
                    return Err(SyncError::Refused(format!(
                        "run {} has no proposed re-key; give a mapping file (`--rekey map.csv`)",
                        run.run_id
                    )));
                };
                let path = self.artifacts.fetch(reference)?;
                read_mapping(&path).map(Some).map_err(SyncError::Refused)
            }
        }
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
