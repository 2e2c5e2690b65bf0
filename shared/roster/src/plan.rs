//! Planning: the difference between a snapshot and what is stored now, for
//! one entity type. Pure: reads summaries and rows, emits planned writes.

use crate::content::SisContent;
use crate::error::SyncError;
use crate::run::KindCounts;
use crate::snapshot::Snapshot;
use crate::store::{EntityWrite, StoredSummary};
use crate::tenant::HoldThresholds;
use chrono::{DateTime, Utc};
use oneroster::{EntityKind, FileMode, RowItem};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// What was stored when a write was planned; checked again before a held
/// plan is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Before {
    /// Digest of the stored SIS content.
    pub digest: u64,
    /// Whether it was archived.
    pub archived: bool,
}

/// One planned write, as a line of a plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedWrite {
    /// Type.
    pub kind: EntityKind,
    /// sourcedId.
    pub id: String,
    /// The content to put (active); `None` archives the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sis: Option<serde_json::Value>,
    /// First seen, carried over (puts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<(DateTime<Utc>, String)>,
    /// The stored state when planned (`None`: not stored).
    pub before: Option<Before>,
}

impl PlannedWrite {
    /// The store write this plan line asks for.
    pub fn to_write(&self, now: DateTime<Utc>, run: &str) -> EntityWrite {
        match &self.sis {
            Some(sis) => {
                let (first_seen_at, first_seen_run) = self
                    .first_seen
                    .clone()
                    .unwrap_or_else(|| (now, run.to_string()));
                EntityWrite::Put {
                    kind: self.kind,
                    sourced_id: self.id.clone(),
                    sis: SisContent::from_value(sis.clone()),
                    first_seen_at,
                    first_seen_run,
                    updated_at: now,
                    run: run.to_string(),
                }
            }
            None => EntityWrite::Archive {
                kind: self.kind,
                sourced_id: self.id.clone(),
                at: now,
                run: run.to_string(),
            },
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
}

impl KindPlan {
    /// Records the plan would archive.
    pub fn would_archive(&self) -> u64 {
        self.archives.len() as u64
    }

    /// Why this type's plan must be held, if it must (bulk files only).
    pub fn hold_reason(&self, mode: FileMode, hold: &HoldThresholds) -> Option<String> {
        if mode != FileMode::Bulk || self.active_before == 0 {
            return None;
        }
        if self.incoming_rows == 0 {
            return Some(format!(
                "the bulk file brings no valid rows but {} records are active",
                self.active_before
            ));
        }
        let archive = self.would_archive();
        let share = archive as f64 * 100.0 / self.active_before as f64;
        (archive >= hold.min_archive_count && share > hold.max_archive_percent).then(|| {
            format!(
                "would archive {archive} of {} active records ({share:.1}%; the limit is {}% and at least {})",
                self.active_before, hold.max_archive_percent, hold.min_archive_count
            )
        })
    }
}

/// Plans one type: every row of the snapshot against the stored summaries.
/// Puts go to `emit` in file order; archives are returned in the plan.
/// `excluded` holds sourcedIds the engine rejected (unknown references).
pub fn plan_kind(
    kind: EntityKind,
    mode: FileMode,
    stored: &[StoredSummary],
    snapshot: &dyn Snapshot,
    excluded: &HashSet<String>,
    emit: &mut dyn FnMut(PlannedWrite) -> Result<(), SyncError>,
) -> Result<KindPlan, SyncError> {
    // Index into `stored`; `seen[i]` marks stored records the delivery mentions.
    let by_id: HashMap<&str, usize> = stored
        .iter()
        .enumerate()
        .map(|(i, s)| (s.sourced_id.as_str(), i))
        .collect();
    let mut seen = vec![false; stored.len()];
    let mut plan = KindPlan {
        active_before: stored.iter().filter(|s| !s.archived).count() as u64,
        ..KindPlan::default()
    };
    let before = |s: &StoredSummary| Before {
        digest: s.digest,
        archived: s.archived,
    };
    let mut archive_ids: Vec<&StoredSummary> = Vec::new();

    snapshot.for_each_row(kind, &mut |row| {
        let id = row.sourced_id();
        if excluded.contains(id) {
            return Ok(());
        }
        let index = by_id.get(id).copied();
        if let Some(i) = index {
            seen[i] = true;
        }
        let stored = index.map(|i| &stored[i]);
        match row {
            RowItem::Upsert(record) => {
                plan.incoming_rows += 1;
                let content = SisContent::from_record(&record);
                match stored {
                    Some(s) if s.digest == content.digest() && !s.archived => {
                        plan.counts.unchanged += 1;
                        return Ok(());
                    }
                    Some(s) if s.archived => plan.counts.unarchived += 1,
                    Some(_) => plan.counts.updated += 1,
                    None => plan.counts.inserted += 1,
                }
                emit(PlannedWrite {
                    kind,
                    id: id.to_string(),
                    sis: Some(serde_json::Value::Object(content.fields().clone())),
                    first_seen: stored.map(|s| (s.first_seen_at, s.first_seen_run.clone())),
                    before: stored.map(before),
                })
            }
            RowItem::Delete { .. } => {
                if let Some(s) = stored {
                    if !s.archived {
                        archive_ids.push(s);
                    }
                }
                Ok(())
            }
        }
    })?;

    if mode == FileMode::Bulk {
        for (s, _) in stored.iter().zip(&seen).filter(|(_, seen)| !**seen) {
            if !s.archived
                && !excluded.contains(&s.sourced_id)
                && !snapshot.is_rejected(kind, &s.sourced_id)
            {
                archive_ids.push(s);
            }
        }
    }
    plan.counts.archived = archive_ids.len() as u64;
    plan.archives = archive_ids
        .into_iter()
        .map(|s| PlannedWrite {
            kind,
            id: s.sourced_id.clone(),
            sis: None,
            first_seen: None,
            before: Some(before(s)),
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
        assert!(reason.contains("no valid rows"));
        assert!(plan(0, 0, 0)
            .hold_reason(FileMode::Bulk, &HoldThresholds::default())
            .is_none());
    }
}
