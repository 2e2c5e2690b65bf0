//! Planning one type: every delivered row against the stored summaries,
//! then the archives of what the delivery no longer lists.

use super::{Before, Judges, KindPlan, PlannedWrite, Schools};
use crate::content::SisContent;
use crate::error::SyncError;
use crate::school_year::{Calendar, RecordFacts};
use crate::snapshot::{ReadState, RowAction, Snapshot, StoredReads, TextRow};
use crate::store::{ArchiveReason, StoredSummary};
use oneroster::{EntityKind, FileMode};
use rustc_hash::FxHashMap;
use std::collections::HashSet;

/// Finds stored records by sourcedId. A delivery usually lists records in
/// the order the store returns them (or in long runs of it), so the record
/// after the last one found is tried first; a hash map of every id is built
/// the first time that guess misses.
struct StoredIndex<'s> {
    stored: &'s [StoredSummary],
    next: usize,
    by_id: Option<FxHashMap<&'s str, usize>>,
}

impl<'s> StoredIndex<'s> {
    fn new(stored: &'s [StoredSummary]) -> Self {
        StoredIndex {
            stored,
            next: 0,
            by_id: None,
        }
    }

    /// The position of the stored record `id`, if it is stored.
    fn find(&mut self, id: &str) -> Option<usize> {
        if self
            .stored
            .get(self.next)
            .is_some_and(|s| s.sourced_id == id)
        {
            self.next += 1;
            return Some(self.next - 1);
        }
        let stored = self.stored;
        let found = self
            .by_id
            .get_or_insert_with(|| {
                stored
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.sourced_id.as_str(), i))
                    .collect()
            })
            .get(id)
            .copied();
        if let Some(i) = found {
            self.next = i + 1;
        }
        found
    }
}

/// Plans one type: every row of the snapshot against the stored summaries.
/// Puts go to `emit` in file order; archives are returned in the plan, each
/// with its reason. `excluded` holds sourcedIds the engine rejected (unknown
/// references). The calendar learns this type's sessions and classes (the
/// delivered ones first) and judges which archives are ended, and the
/// schools learn the stored classes' schools and count what each school has
/// and would lose: plan the types in `EntityKind::ALL` order.
pub fn plan_kind(
    kind: EntityKind,
    mode: FileMode,
    stored: &[StoredSummary],
    snapshot: &dyn Snapshot,
    excluded: &HashSet<String>,
    judges: &mut Judges,
    emit: &mut dyn FnMut(PlannedWrite) -> Result<(), SyncError>,
) -> Result<KindPlan, SyncError> {
    if kind == EntityKind::Classes {
        judges.schools.learn_classes(stored);
    }
    let reads = snapshot.stored_reads(kind);
    let mut planner = KindPlanner::new(kind, stored, excluded, reads, &mut judges.schools);
    // With nothing stored (a first load), every row is written: the texts are
    // made on this thread, and the writer's keeps the other core.
    snapshot.for_each_text(kind, !stored.is_empty(), &mut |row| {
        planner.row(row, judges, emit)
    })?;
    // The calendar reads the stored sessions and classes (to judge).
    if matches!(kind, EntityKind::AcademicSessions | EntityKind::Classes) {
        for s in stored {
            judges.calendar.learn_stored(&s.sourced_id, &s.facts);
        }
    }
    if mode == FileMode::Bulk {
        planner.archive_unseen(snapshot, &mut judges.calendar);
    }
    Ok(planner.finish(mode, &mut judges.schools))
}

/// The state of [`plan_kind`] while it plans a type.
struct KindPlanner<'s> {
    kind: EntityKind,
    stored: &'s [StoredSummary],
    excluded: &'s HashSet<String>,
    /// Stored records the delivery read before the run's lease.
    reads: Option<&'s StoredReads>,
    /// Index into `stored`.
    by_id: StoredIndex<'s>,
    /// `seen[i]` marks stored records the delivery mentions.
    seen: Vec<bool>,
    plan: KindPlan,
    /// The stored records to archive, and why.
    archive_ids: Vec<(&'s StoredSummary, ArchiveReason)>,
    /// Whether the calendar reads what the delivery says of this type (of
    /// sessions: to note and to extend).
    learns_delivered: bool,
}

impl<'s> KindPlanner<'s> {
    fn new(
        kind: EntityKind,
        stored: &'s [StoredSummary],
        excluded: &'s HashSet<String>,
        reads: Option<&'s StoredReads>,
        schools: &mut Schools,
    ) -> Self {
        // Provisional users were never SIS data: they count toward no hold.
        let mut active_before = 0;
        for s in stored.iter().filter(|s| !s.archived && !s.provisional) {
            active_before += 1;
            schools.count_active(kind, s);
        }
        KindPlanner {
            kind,
            stored,
            excluded,
            reads,
            by_id: StoredIndex::new(stored),
            seen: vec![false; stored.len()],
            plan: KindPlan {
                active_before,
                ..KindPlan::default()
            },
            archive_ids: Vec::new(),
            learns_delivered: kind == EntityKind::AcademicSessions,
        }
    }

    /// Plans one delivered row: a put to `emit`, or an archive kept for later.
    #[inline]
    fn row(
        &mut self,
        row: TextRow<'_>,
        judges: &mut Judges,
        emit: &mut dyn FnMut(PlannedWrite) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        let id = row.sourced_id;
        if self.excluded.contains(id) {
            return Ok(());
        }
        let index = self.by_id.find(id);
        if let Some(i) = index {
            self.seen[i] = true;
        }
        let all = self.stored;
        let stored = index.map(|i| &all[i]);
        match row.action {
            RowAction::Upsert { text, digest, keys } => {
                if self.changed_since_read(id, stored, digest) {
                    return Ok(());
                }
                if !self.upsert(id, stored, text, digest, &mut judges.calendar) {
                    return Ok(());
                }
                let sis = SisContent::from_stored(text.to_string());
                let mut schools = Vec::new();
                // A first load (nothing stored) can hold nothing of a school.
                if !self.stored.is_empty() {
                    judges.schools.add_delivered(self.kind, &sis, &mut schools);
                    if let Some(s) = stored {
                        judges.schools.add_stored(self.kind, s, &mut schools);
                    }
                }
                emit(PlannedWrite {
                    kind: self.kind,
                    id: id.to_string(),
                    sis: Some(sis),
                    first_seen: stored.map(|s| (s.first_seen.at, s.first_seen.run.clone())),
                    before: stored.map(Before::of),
                    reason: None,
                    archived_by: None,
                    restore: None,
                    keys: Some(keys.clone()),
                    schools,
                })
            }
            RowAction::Delete => {
                if let Some(s) = stored {
                    if !s.archived {
                        self.archive_ids.push((s, ArchiveReason::Deleted));
                    }
                }
                Ok(())
            }
        }
    }

    /// Whether the row, which would write the record (`stored` now), is of
    /// one the delivery read before the run's lease that has changed since
    /// (a run applied in between, or an edit): then it is left out, and
    /// counted in the plan, so that what happened in between is not undone.
    fn changed_since_read(
        &mut self,
        id: &str,
        stored: Option<&StoredSummary>,
        digest: u64,
    ) -> bool {
        let Some(read) = self.reads.and_then(|reads| reads.get(id)) else {
            return false;
        };
        let writes = !stored.is_some_and(|s| is_current(s, digest));
        if !writes || stored.map(ReadState::of_summary) == *read {
            return false;
        }
        self.plan.changed_since_read.push(id.to_string());
        true
    }

    /// Counts an upsert row against its stored record (if any); whether it
    /// is to be written (not when the stored record is the same and current).
    #[inline]
    fn upsert(
        &mut self,
        id: &str,
        stored: Option<&StoredSummary>,
        text: &str,
        digest: u64,
        calendar: &mut Calendar,
    ) -> bool {
        let kind = self.kind;
        self.plan.incoming_rows += 1;
        if self.learns_delivered {
            calendar.learn_delivered(id, &RecordFacts::for_stored_text(kind, text, false));
        }
        let changed = stored.is_some_and(|s| s.digest != digest);
        if kind == EntityKind::Users && changed {
            let s = stored.expect("changed implies stored");
            if !s.archived
                && !s.provisional
                && RecordFacts::for_stored_text(kind, text, false).rewrites_identity_of(&s.facts)
            {
                self.plan.identity_changes += 1;
            }
        }
        let counts = &mut self.plan.counts;
        match stored {
            Some(s) if is_current(s, digest) => {
                counts.unchanged += 1;
                return false;
            }
            // The SIS delivers a user first made at sign-in: from now on
            // an ordinary roster record, as the SIS has it (written even
            // when the content is the same, to clear the mark).
            Some(s) if s.provisional => counts.inserted += 1,
            Some(s) if s.archived => counts.unarchived += 1,
            Some(_) => counts.updated += 1,
            None => counts.inserted += 1,
        }
        true
    }

    /// A bulk file: the active stored records it does not list are archived,
    /// as ended when their time is over, else as absent.
    fn archive_unseen(&mut self, snapshot: &dyn Snapshot, calendar: &mut Calendar) {
        let kind = self.kind;
        for (s, _) in self
            .stored
            .iter()
            .zip(&self.seen)
            .filter(|(_, seen)| !**seen)
        {
            if !s.archived
                && !s.provisional
                && !self.excluded.contains(s.sourced_id.as_str())
                && !snapshot.is_rejected(kind, &s.sourced_id)
            {
                let reason = if calendar.is_ended(kind, &s.sourced_id, &s.facts) {
                    calendar.note_ended(kind, &s.sourced_id, &s.facts);
                    ArchiveReason::Ended
                } else {
                    ArchiveReason::Absent
                };
                self.archive_ids.push((s, reason));
            }
        }
    }

    /// The plan, its archives counted (in their schools too, for a bulk
    /// file) and made planned writes.
    fn finish(self, mode: FileMode, schools: &mut Schools) -> KindPlan {
        let mut plan = self.plan;
        let kind = self.kind;
        for (s, reason) in self.archive_ids {
            let mut of_school = Vec::new();
            schools.add_stored(kind, s, &mut of_school);
            if reason == ArchiveReason::Ended {
                plan.counts.ended += 1;
            } else {
                plan.counts.archived += 1;
                if mode == FileMode::Bulk {
                    schools.count_archive(kind, &of_school);
                }
            }
            plan.archives.push(PlannedWrite {
                kind,
                id: s.sourced_id.to_string(),
                sis: None,
                first_seen: None,
                before: Some(Before::of(s)),
                reason: Some(reason),
                archived_by: None,
                restore: None,
                keys: None,
                schools: of_school,
            });
        }
        plan
    }
}

/// Whether the stored record `s` is already what a row of content digest
/// `digest` would write: the same content, active, not provisional.
fn is_current(s: &StoredSummary, digest: u64) -> bool {
    s.digest == digest && !s.archived && !s.provisional
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::IndexKeys;

    fn summary(id: &str) -> StoredSummary {
        StoredSummary {
            sourced_id: id.into(),
            digest: 0,
            archived: false,
            first_seen: std::sync::Arc::new(crate::store::FirstSeen {
                at: chrono::Utc::now(),
                run: "r".into(),
            }),
            facts: Default::default(),
            provisional: false,
        }
    }

    /// Records read before the lease are planned only when the row would
    /// write them and they are as read: not one changed, archived or made
    /// since, nor one the row leaves as it is.
    #[test]
    fn a_record_changed_since_the_delivery_read_it_is_left_out() {
        let with = |id: &str, digest, archived| StoredSummary {
            digest,
            archived,
            ..summary(id)
        };
        let stored = vec![
            with("same", 1, false),
            with("edited", 2, false),
            with("archived", 3, true),
            with("made", 4, false),
            with("kept", 5, false),
        ];
        let read = |digest| {
            Some(ReadState {
                digest,
                archived: false,
                provisional: false,
            })
        };
        let reads: StoredReads = [
            ("same", read(1)),
            ("edited", read(1)),
            ("archived", read(3)),
            ("made", None),
            ("kept", read(1)),
        ]
        .into_iter()
        .map(|(id, state)| (id.to_string(), state))
        .collect();
        let (excluded, mut schools) = (HashSet::new(), Schools::default());
        let mut planner = KindPlanner::new(
            EntityKind::Users,
            &stored,
            &excluded,
            Some(&reads),
            &mut schools,
        );
        let mut judges = Judges {
            calendar: Calendar::new(chrono::Utc::now().date_naive()),
            schools: Schools::default(),
        };
        let keys = IndexKeys::default();
        let mut planned = Vec::new();
        for (id, digest) in [
            ("same", 9),
            ("edited", 9),
            ("archived", 3),
            ("made", 9),
            ("kept", 5),
            ("new", 9),
        ] {
            let action = RowAction::Upsert {
                text: "{}",
                digest,
                keys: &keys,
            };
            let row = TextRow {
                sourced_id: id,
                action,
            };
            planner
                .row(row, &mut judges, &mut |w| {
                    planned.push(w.id);
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(planned, ["same", "new"]);
        assert_eq!(
            planner.plan.changed_since_read,
            ["edited", "archived", "made"],
            "`kept` is written by no row: its change since is no matter"
        );
    }

    #[test]
    fn stored_records_are_found_in_order_and_out_of_it() {
        let stored: Vec<StoredSummary> = ["a", "b", "c", "d"].map(summary).into();
        let mut index = StoredIndex::new(&stored);
        assert_eq!(index.find("a"), Some(0));
        assert_eq!(index.find("b"), Some(1));
        assert!(index.by_id.is_none(), "in order: no map");
        assert_eq!(index.find("new"), None);
        assert_eq!(index.find("c"), Some(2), "the guess survives a new record");
        assert_eq!(index.find("a"), Some(0));
        assert_eq!(index.find("b"), Some(1));
        assert_eq!(index.find("d"), Some(3));
        assert_eq!(index.find("d"), Some(3), "found again");
        assert_eq!(index.find("zz"), None);
    }
}
