//! Planning: the difference between a snapshot and what is stored now, for
//! one entity type. Pure: reads summaries and rows, emits planned writes.

use crate::content::{IndexKeys, SisContent};
use crate::error::SyncError;
use crate::run::KindCounts;
use crate::school_year::{Calendar, RecordFacts};
use crate::snapshot::{RowAction, Snapshot};
use crate::store::{ArchiveReason, ArchivedBy, EntityWrite, RecordState, StoredSummary};
use crate::tenant::HoldThresholds;
use chrono::{DateTime, Utc};
use oneroster::{EntityKind, FileMode};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// What was stored when a write was planned; checked again before a held
/// plan is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Before {
    /// Digest of the stored SIS content.
    pub digest: u64,
    /// Whether it was archived.
    pub archived: bool,
}

impl Before {
    /// What a stored summary says of the record now.
    pub fn of(stored: &StoredSummary) -> Before {
        Before {
            digest: stored.digest,
            archived: stored.archived,
        }
    }
}

/// One planned write, as a line of a plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedWrite {
    /// Type.
    pub kind: EntityKind,
    /// sourcedId.
    pub id: String,
    /// The content to put (active); `None` archives the record. Written as
    /// the JSON object it is, read back without parsing it into fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sis: Option<SisContent>,
    /// First seen, carried over (puts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<(DateTime<Utc>, String)>,
    /// The stored state when planned (`None`: not stored).
    pub before: Option<Before>,
    /// Why an archive archives (plans made before reasons were kept: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ArchiveReason>,
    /// Who an archive is by (`None`: a sync; a revert archives as `revert`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_by: Option<ArchivedBy>,
    /// A revert: the whole earlier state to put back (content, archive state, stamps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RecordState>,
    /// The put's lookup keys, when the planner had them from the record
    /// (not kept in plan files: `None` reads them from the content).
    #[serde(skip)]
    pub keys: Option<IndexKeys>,
}

impl PlannedWrite {
    /// Appends this write as one plan-file line (JSON and a newline). The
    /// content goes in as its text, not re-serialised.
    pub fn write_line(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        let sis = self.sis.as_ref();
        if let Some(sis) = sis {
            serde_json::to_writer(&mut *out, &self.clone_without_content())?;
            debug_assert_eq!(out.last(), Some(&b'}'));
            out.pop();
            out.extend_from_slice(b",\"sis\":");
            out.extend_from_slice(sis.text().as_bytes());
            out.extend_from_slice(b"}\n");
        } else {
            serde_json::to_writer(&mut *out, self)?;
            out.push(b'\n');
        }
        Ok(())
    }

    fn clone_without_content(&self) -> PlannedWrite {
        PlannedWrite {
            kind: self.kind,
            id: self.id.clone(),
            sis: None,
            first_seen: self.first_seen.clone(),
            before: self.before,
            reason: self.reason,
            archived_by: self.archived_by,
            restore: self.restore.clone(),
            keys: None,
        }
    }

    /// Reads one plan-file line.
    pub fn read_line(line: &str) -> Result<PlannedWrite, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// The store writes a chunk of plan lines asks for, made at `now` by
    /// `run` (see [`PlannedWrite::into_write`]).
    pub fn into_writes(
        chunk: Vec<PlannedWrite>,
        now: DateTime<Utc>,
        run: &str,
    ) -> Vec<EntityWrite> {
        chunk.into_iter().map(|p| p.into_write(now, run)).collect()
    }

    /// The store write this plan line asks for, made of the line itself (its
    /// content moved, not copied).
    pub fn into_write(self, now: DateTime<Utc>, run: &str) -> EntityWrite {
        if let Some(state) = self.restore {
            return EntityWrite::Restore {
                kind: self.kind,
                sourced_id: self.id,
                state,
            };
        }
        match self.sis {
            Some(sis) => {
                let (first_seen_at, first_seen_run) =
                    self.first_seen.unwrap_or_else(|| (now, run.to_string()));
                EntityWrite::Put {
                    kind: self.kind,
                    sourced_id: self.id,
                    keys: self.keys.unwrap_or_else(|| sis.index_keys(self.kind)),
                    sis,
                    first_seen_at,
                    first_seen_run,
                    updated_at: now,
                    run: run.to_string(),
                }
            }
            None => EntityWrite::Archive {
                kind: self.kind,
                sourced_id: self.id,
                at: now,
                run: run.to_string(),
                reason: match self.archived_by {
                    None | Some(ArchivedBy::Sync) => {
                        Some(self.reason.unwrap_or(ArchiveReason::Absent))
                    }
                    Some(_) => self.reason,
                },
                by: self.archived_by.unwrap_or(ArchivedBy::Sync),
            },
        }
    }
}

/// A plan file being written: one [`PlannedWrite`] a line.
pub struct PlanWriter {
    out: BufWriter<File>,
    line: Vec<u8>,
}

impl PlanWriter {
    /// Creates (or truncates) the plan file at `path`.
    pub fn create(path: &Path) -> Result<PlanWriter, SyncError> {
        Ok(PlanWriter {
            out: BufWriter::with_capacity(256 * 1024, File::create(path)?),
            line: Vec::with_capacity(512),
        })
    }

    /// Appends one planned write.
    pub fn write(&mut self, planned: &PlannedWrite) -> Result<(), SyncError> {
        self.line.clear();
        planned
            .write_line(&mut self.line)
            .map_err(|e| SyncError::io("writing the plan file", e))?;
        self.out.write_all(&self.line)?;
        Ok(())
    }

    /// Flushes the file.
    pub fn finish(mut self) -> Result<(), SyncError> {
        self.out.flush()?;
        Ok(())
    }
}

/// The planned writes of a plan file, line by line.
pub fn read_plan(
    path: &Path,
) -> Result<impl Iterator<Item = Result<PlannedWrite, SyncError>>, SyncError> {
    let reader = BufReader::with_capacity(256 * 1024, File::open(path)?);
    Ok(reader.lines().map(|line| {
        PlannedWrite::read_line(&line?).map_err(|e| SyncError::io("reading the plan file", e))
    }))
}

/// A plan file read ahead on a second thread, in chunks of planned writes:
/// parsing the next chunk overlaps with writing this one.
pub struct PlanChunks {
    chunks: std::sync::mpsc::Receiver<Result<Vec<PlannedWrite>, SyncError>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl PlanChunks {
    /// Starts reading the plan file at `path` in chunks of `size` writes.
    pub fn open(path: &Path, size: usize) -> Result<PlanChunks, SyncError> {
        let lines = read_plan(path)?;
        let size = size.max(1);
        // Two chunks ahead at most: memory stays bounded by the chunk size.
        let (send, chunks) = std::sync::mpsc::sync_channel(2);
        let reader = std::thread::Builder::new()
            .name("plan-reader".into())
            .spawn(move || {
                let mut chunk = Vec::with_capacity(size);
                for planned in lines {
                    match planned {
                        Ok(planned) => chunk.push(planned),
                        Err(e) => {
                            let _ = send.send(Err(e));
                            return;
                        }
                    }
                    if chunk.len() == size {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(size));
                        if send.send(Ok(full)).is_err() {
                            return; // The applier stopped (deadline, error).
                        }
                    }
                }
                if !chunk.is_empty() {
                    let _ = send.send(Ok(chunk));
                }
            })
            .map_err(|e| SyncError::io("starting the plan reader", e))?;
        Ok(PlanChunks {
            chunks,
            reader: Some(reader),
        })
    }

    /// The next chunk, or `None` at the end of the plan.
    pub fn next_chunk(&mut self) -> Option<Result<Vec<PlannedWrite>, SyncError>> {
        self.chunks.recv().ok()
    }
}

impl Drop for PlanChunks {
    fn drop(&mut self) {
        // Hang up first, so that a reader blocked on a full channel ends.
        let (_, empty) = std::sync::mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.chunks, empty));
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
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
/// delivered ones first) and judges which archives are ended: plan the types
/// in `EntityKind::ALL` order.
pub fn plan_kind(
    kind: EntityKind,
    mode: FileMode,
    stored: &[StoredSummary],
    snapshot: &dyn Snapshot,
    excluded: &HashSet<String>,
    calendar: &mut Calendar,
    emit: &mut dyn FnMut(PlannedWrite) -> Result<(), SyncError>,
) -> Result<KindPlan, SyncError> {
    // Index into `stored`; `seen[i]` marks stored records the delivery mentions.
    let mut by_id = StoredIndex::new(stored);
    let mut seen = vec![false; stored.len()];
    let mut plan = KindPlan {
        // Provisional users were never SIS data: they count toward no hold.
        active_before: stored
            .iter()
            .filter(|s| !s.archived && !s.provisional)
            .count() as u64,
        ..KindPlan::default()
    };
    let mut archive_ids: Vec<(&StoredSummary, ArchiveReason)> = Vec::new();
    // The calendar reads what the delivery says of sessions (to note and to
    // extend), and the stored sessions and classes (to judge).
    let learns_delivered = kind == EntityKind::AcademicSessions;
    let learns_stored = matches!(kind, EntityKind::AcademicSessions | EntityKind::Classes);

    // With nothing stored (a first load), every row is written: the texts are
    // made on this thread, and the writer's keeps the other core.
    snapshot.for_each_text(kind, !stored.is_empty(), &mut |row| {
        let id = row.sourced_id;
        if excluded.contains(id) {
            return Ok(());
        }
        let index = by_id.find(id);
        if let Some(i) = index {
            seen[i] = true;
        }
        let stored = index.map(|i| &stored[i]);
        match row.action {
            RowAction::Upsert { text, digest, keys } => {
                plan.incoming_rows += 1;
                if learns_delivered {
                    calendar.learn_delivered(id, &RecordFacts::for_stored_text(kind, text, false));
                }
                let changed = stored.is_some_and(|s| s.digest != digest);
                if kind == EntityKind::Users && changed {
                    let s = stored.expect("changed implies stored");
                    if !s.archived
                        && !s.provisional
                        && RecordFacts::for_stored_text(kind, text, false)
                            .rewrites_identity_of(&s.facts)
                    {
                        plan.identity_changes += 1;
                    }
                }
                match stored {
                    Some(s) if s.digest == digest && !s.archived && !s.provisional => {
                        plan.counts.unchanged += 1;
                        return Ok(());
                    }
                    // The SIS delivers a user first made at sign-in: from now on
                    // an ordinary roster record, as the SIS has it (written even
                    // when the content is the same, to clear the mark).
                    Some(s) if s.provisional => plan.counts.inserted += 1,
                    Some(s) if s.archived => plan.counts.unarchived += 1,
                    Some(_) => plan.counts.updated += 1,
                    None => plan.counts.inserted += 1,
                }
                emit(PlannedWrite {
                    kind,
                    id: id.to_string(),
                    sis: Some(SisContent::from_stored(text.to_string())),
                    first_seen: stored.map(|s| (s.first_seen.at, s.first_seen.run.clone())),
                    before: stored.map(Before::of),
                    reason: None,
                    archived_by: None,
                    restore: None,
                    keys: Some(keys.clone()),
                })
            }
            RowAction::Delete => {
                if let Some(s) = stored {
                    if !s.archived {
                        archive_ids.push((s, ArchiveReason::Deleted));
                    }
                }
                Ok(())
            }
        }
    })?;

    if learns_stored {
        for s in stored {
            calendar.learn_stored(&s.sourced_id, &s.facts);
        }
    }
    if mode == FileMode::Bulk {
        for (s, _) in stored.iter().zip(&seen).filter(|(_, seen)| !**seen) {
            if !s.archived
                && !s.provisional
                && !excluded.contains(s.sourced_id.as_str())
                && !snapshot.is_rejected(kind, &s.sourced_id)
            {
                let reason = if calendar.is_ended(kind, &s.sourced_id, &s.facts) {
                    calendar.note_ended(kind, &s.sourced_id, &s.facts);
                    ArchiveReason::Ended
                } else {
                    ArchiveReason::Absent
                };
                archive_ids.push((s, reason));
            }
        }
    }
    for (_, reason) in &archive_ids {
        match reason {
            ArchiveReason::Ended => plan.counts.ended += 1,
            ArchiveReason::Absent | ArchiveReason::Deleted => plan.counts.archived += 1,
        }
    }
    plan.archives = archive_ids
        .into_iter()
        .map(|(s, reason)| PlannedWrite {
            kind,
            id: s.sourced_id.to_string(),
            sis: None,
            first_seen: None,
            before: Some(Before::of(s)),
            reason: Some(reason),
            archived_by: None,
            restore: None,
            keys: None,
        })
        .collect();
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn stored_records_are_found_in_order_and_out_of_it() {
        let summary = |id: &str| StoredSummary {
            sourced_id: id.into(),
            digest: 0,
            archived: false,
            first_seen: std::sync::Arc::new(crate::store::FirstSeen {
                at: chrono::Utc::now(),
                run: "r".into(),
            }),
            facts: Default::default(),
            provisional: false,
        };
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
