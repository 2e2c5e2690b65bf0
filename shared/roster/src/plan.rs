//! Planning: the difference between a snapshot and what is stored now, for
//! one entity type. Pure: reads summaries and rows, emits planned writes.
//!
//! This module holds a type's plan and its hold check; its parts hold the
//! planned writes and plan files (`file`) and the planning of a type
//! (`kind`).

use crate::run::KindCounts;
use crate::store::ArchiveReason;
use crate::tenant::HoldThresholds;
use oneroster::FileMode;

mod apart;
mod file;
mod kind;
mod schools;

pub use apart::{split_plan, take_counts, HeldApart};
pub use file::{read_plan, Before, PlanChunks, PlanWriter, PlannedWrite};
pub use kind::plan_kind;
pub use schools::Schools;

/// What judges a type's plan as types are planned in turn, carried from one
/// to the next: the calendar (which archives are ended) and the schools
/// (what each school has and would lose).
#[derive(Debug)]
pub struct Judges {
    /// The school-year calendar.
    pub calendar: crate::school_year::Calendar,
    /// The schools, for the per-school hold.
    pub schools: Schools,
}

/// The plan of one type: counts and what the hold check needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KindPlan {
    /// Counts (validation's rejected/skipped are added by the engine).
    pub counts: KindCounts,
    /// Active records stored before the run.
    pub active_before: u64,
    /// Valid rows the delivery brought (upserts).
    pub incoming_rows: u64,
    /// Archives planned (kept apart: they are applied after all puts).
    pub archives: Vec<PlannedWrite>,
    /// Active users whose stored email or username the delivery rewrites.
    pub identity_changes: u64,
    /// Records the delivery would write that it read before the run's lease
    /// and that changed since: left out (see [`crate::Snapshot::stored_reads`]).
    pub changed_since_read: Vec<String>,
}

impl KindPlan {
    /// Records the plan would archive that count toward the hold: absent or
    /// deleted, not ended.
    pub fn would_archive(&self) -> u64 {
        self.archives
            .iter()
            .filter(|w| w.reason != Some(ArchiveReason::Ended))
            .count() as u64
    }

    /// Why this type's plan must be held, if it must: a bulk file that
    /// archives too much of what is current (or brings no valid rows while
    /// records are current), a delivery (bulk or delta) that rewrites too
    /// many users' sign-in keys, or one whose rows are rejected beyond the
    /// limit (`counts.rejected` set: validation's and the engine's).
    pub fn hold_reason(&self, mode: FileMode, hold: &HoldThresholds) -> Option<String> {
        let mut reasons = Vec::new();
        let rejected = self.counts.rejected;
        if let Some(over) = hold.rejected_over_limit(rejected, self.incoming_rows + rejected) {
            reasons.push(format!("rejects {over}"));
        }
        if self.active_before > 0 {
            reasons.extend(self.archive_hold(mode, hold));
        }
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }

    /// The archive and identity reasons, for a type with active records.
    fn archive_hold(&self, mode: FileMode, hold: &HoldThresholds) -> Vec<String> {
        let share = |n: u64| n as f64 * 100.0 / self.active_before as f64;
        let mut reasons = Vec::new();
        if mode == FileMode::Bulk {
            let archive = self.would_archive();
            if self.incoming_rows == 0 && archive > 0 {
                // Records whose time is over by stored dates may all go: the
                // summer file before the schedule is built.
                let records = if archive == 1 {
                    "record is"
                } else {
                    "records are"
                };
                reasons.push(format!(
                    "the bulk file brings no valid rows but {archive} current {records} active"
                ));
            } else if let Some(over) = hold.archive_over_limit(archive, self.active_before) {
                reasons.push(format!("would archive {over}"));
            }
        }
        let changes = self.identity_changes;
        if changes >= hold.min_identity_change_count
            && share(changes) > hold.max_identity_change_percent
        {
            reasons.push(format!(
                "would change the email or username of {changes} of {} active users ({:.1}%; the limit is {}% and at least {})",
                self.active_before,
                share(changes),
                hold.max_identity_change_percent,
                hold.min_identity_change_count
            ));
        }
        reasons
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oneroster::EntityKind;

    fn plan(active_before: u64, incoming: u64, archives: usize) -> KindPlan {
        KindPlan {
            active_before,
            incoming_rows: incoming,
            archives: vec![
                PlannedWrite {
                    kind: EntityKind::Users,
                    id: "x".into(),
                    sis: None,
                    first_seen: None,
                    before: None,
                    reason: Some(ArchiveReason::Absent),
                    archived_by: None,
                    restore: None,
                    keys: None,
                    schools: Vec::new(),
                };
                archives
            ],
            ..KindPlan::default()
        }
    }

    #[test]
    fn hold_needs_both_the_share_and_the_minimum_count() {
        let hold = HoldThresholds::default();
        assert!(
            plan(1000, 900, 100)
                .hold_reason(FileMode::Bulk, &hold)
                .is_none(),
            "10% is not more than 10%"
        );
        assert!(plan(1000, 899, 101)
            .hold_reason(FileMode::Bulk, &hold)
            .is_some());
        assert!(
            plan(100, 76, 24)
                .hold_reason(FileMode::Bulk, &hold)
                .is_none(),
            "under 25 records"
        );
        assert!(plan(100, 75, 25)
            .hold_reason(FileMode::Bulk, &hold)
            .is_some());
        assert!(
            plan(1000, 0, 1000)
                .hold_reason(FileMode::Delta, &hold)
                .is_none(),
            "deltas never hold"
        );
    }

    #[test]
    fn an_empty_bulk_file_for_a_populated_type_holds() {
        let reason = plan(3, 0, 3)
            .hold_reason(FileMode::Bulk, &HoldThresholds::default())
            .unwrap();
        assert!(reason.contains("no valid rows but 3 current records"));
        assert!(plan(0, 0, 0)
            .hold_reason(FileMode::Bulk, &HoldThresholds::default())
            .is_none());
    }

    #[test]
    fn an_empty_bulk_file_whose_records_have_all_ended_applies() {
        let mut summer = plan(761, 0, 761);
        for w in &mut summer.archives {
            w.reason = Some(ArchiveReason::Ended);
        }
        assert_eq!(
            summer.hold_reason(FileMode::Bulk, &HoldThresholds::default()),
            None
        );
        summer.archives[0].reason = Some(ArchiveReason::Absent);
        assert!(summer
            .hold_reason(FileMode::Bulk, &HoldThresholds::default())
            .unwrap()
            .contains("no valid rows but 1 current record is active"));
    }

    #[test]
    fn rows_rejected_beyond_the_limit_hold_in_any_mode_even_a_first_load() {
        let hold = HoldThresholds::default();
        let rejected = |incoming: u64, rejected: u64, active: u64| {
            let mut p = plan(active, incoming, 0);
            p.counts.rejected = rejected;
            p
        };
        let reason = rejected(0, 36, 0)
            .hold_reason(FileMode::Bulk, &hold)
            .expect("a first load whose rows are all rejected");
        assert!(
            reason.starts_with("rejects 36 of 36 rows (100.0%"),
            "{reason}"
        );
        assert!(rejected(900, 100, 900)
            .hold_reason(FileMode::Delta, &hold)
            .is_none());
        assert!(rejected(899, 101, 900)
            .hold_reason(FileMode::Delta, &hold)
            .is_some());
        assert!(
            rejected(10, 24, 10)
                .hold_reason(FileMode::Bulk, &hold)
                .is_none(),
            "under 25 rows"
        );
    }
}
