//! The per-school hold: a bulk delivery that would archive too much of one
//! school's classes, enrollments or users has that school's part held apart
//! as a run of its own, which a person approves or discards as any held run;
//! the rest of the delivery applies.

use super::{Engine, PLAN_FILE};
use crate::artifacts::Artifacts;
use crate::error::SyncError;
use crate::plan::{split_plan, take_counts};
use crate::run::{RunRecord, RunStatus};
use crate::store::Store;
use chrono::Utc;
use std::collections::HashSet;
use std::path::PathBuf;

/// The scratch file of the part of a plan applied now.
const APPLIED_FILE: &str = "plan-applied.jsonl";

impl<S: Store, A: Artifacts> Engine<'_, S, A> {
    /// Sets the writes of `run`'s held schools apart from the plan at
    /// `plan`: the plan to apply now and the held run that keeps the rest
    /// (recorded by [`Self::record_school_part`] once the rest is applied).
    /// The run's counts become those of what it applies.
    pub(super) fn hold_schools_apart(
        &self,
        tenant: &str,
        run: &mut RunRecord,
        plan: &std::path::Path,
    ) -> Result<SchoolPart, SyncError> {
        let schools: HashSet<&str> = run.held_schools.iter().map(|h| h.school.as_str()).collect();
        let mut held = RunRecord::start(tenant, run.source.clone(), Utc::now());
        let applied = self.artifacts.scratch(tenant, &run.run_id, APPLIED_FILE)?;
        let held_plan = self.artifacts.scratch(tenant, &held.run_id, PLAN_FILE)?;
        let apart = split_plan(plan, &schools, &applied, &held_plan)?;
        take_counts(&mut run.counts, &apart.counts);
        held.generated_at = run.generated_at;
        held.received_at = run.received_at;
        held.bulk = run.bulk;
        held.report_ref = run.report_ref.clone();
        held.counts = apart.counts;
        held.held_schools = run.held_schools.clone();
        held.held_from = Some(run.run_id.clone());
        let reasons: Vec<&str> = held
            .held_schools
            .iter()
            .map(|h| h.message.as_str())
            .collect();
        held.finish(
            RunStatus::Held,
            format!(
                "held for approval: {}; {} writes of {} set apart from run {}, which applied the rest of the delivery; approve with `rosterctl runs approve {}` or discard",
                reasons.join("; "),
                apart.writes,
                apart_schools(&held),
                run.run_id,
                held.run_id
            ),
            Utc::now(),
        );
        run.held_apart = Some(held.run_id.clone());
        Ok(SchoolPart {
            applied,
            held,
            held_plan,
        })
    }

    /// Keeps the held part's plan and records its run: once the rest of the
    /// delivery is written (a run stopped before then holds nothing apart).
    pub(super) async fn record_school_part(
        &self,
        tenant: &str,
        part: &mut SchoolPart,
    ) -> Result<(), SyncError> {
        self.keep_plan(tenant, &mut part.held, &part.held_plan)?;
        self.store.put_run(&part.held).await?;
        let _ = std::fs::remove_file(&part.applied);
        Ok(())
    }
}

/// A plan split by the per-school hold.
pub(super) struct SchoolPart {
    /// The plan of what applies now.
    pub(super) applied: PathBuf,
    /// The held run of the schools' part (not stored yet).
    pub(super) held: RunRecord,
    /// Its plan.
    held_plan: PathBuf,
}

/// "school `s1`" or "schools `s1`, `s2`".
pub(super) fn apart_schools(run: &RunRecord) -> String {
    let ids: Vec<String> = run
        .held_schools
        .iter()
        .map(|h| format!("`{}`", h.school))
        .collect();
    match ids.as_slice() {
        [one] => format!("school {one}"),
        many => format!("schools {}", many.join(", ")),
    }
}
