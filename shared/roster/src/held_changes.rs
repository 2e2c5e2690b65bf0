//! The changes a held run waits to make, one row a planned write, as the
//! district reads them (`rosterctl runs show RUN --changes FILE`). Pure: the
//! caller reads the plan and the stored contents; this forms the rows.
//!
//! A row names the record (type and sourcedId), what would happen to it,
//! why (archives) and which fields change (names only, never values: the
//! file holds nothing of a person beyond the ids the district sent).

use crate::content::SisContent;
use crate::history::field_changes;
use crate::plan::PlannedWrite;
use crate::store::{ArchiveReason, ArchivedBy};
use oneroster::EntityKind;
use serde::Serialize;

/// What a planned write would do to its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeAction {
    /// A record not stored yet.
    Insert,
    /// An active record whose content changes.
    Update,
    /// An archived record made active again.
    Unarchive,
    /// A record archived.
    Archive,
}

/// One row of the changes file; the field order is the column order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeRow {
    /// The type, as its file is named (`users`, `classes`).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The record's sourcedId.
    #[serde(rename = "sourcedId")]
    pub sourced_id: String,
    /// What would happen to it.
    pub action: ChangeAction,
    /// Why an archive archives (`absent`, `deleted`, `ended`); empty otherwise.
    pub reason: Option<&'static str>,
    /// The names of the fields that change, sorted, joined by `;` (an
    /// insert: the fields it brings; an archive: none).
    pub fields_changed: String,
    /// The schools the record belongs to, joined by `;` (the per-school hold
    /// sets a school's writes apart by them).
    pub schools: String,
}

/// How many rows of each action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeCounts {
    /// Inserts.
    pub inserts: u64,
    /// Updates.
    pub updates: u64,
    /// Unarchives.
    pub unarchives: u64,
    /// Archives.
    pub archives: u64,
}

impl ChangeCounts {
    /// Counts one row.
    pub fn add(&mut self, row: &ChangeRow) {
        match row.action {
            ChangeAction::Insert => self.inserts += 1,
            ChangeAction::Update => self.updates += 1,
            ChangeAction::Unarchive => self.unarchives += 1,
            ChangeAction::Archive => self.archives += 1,
        }
    }

    /// All rows.
    pub fn rows(&self) -> u64 {
        self.inserts + self.updates + self.unarchives + self.archives
    }
}

/// The content a write would leave (`None`: it archives the record).
fn target(write: &PlannedWrite) -> Option<&SisContent> {
    match &write.restore {
        Some(state) => state.archive.is_none().then_some(&state.sis),
        None => write.sis.as_ref(),
    }
}

/// Whether forming this write's row reads the record's stored content (an
/// update or unarchive: the changed fields are found against it).
pub fn needs_stored(write: &PlannedWrite) -> bool {
    write.before.is_some() && target(write).is_some()
}

/// The action a write takes.
pub fn action_of(write: &PlannedWrite) -> ChangeAction {
    match (target(write), write.before) {
        (None, _) => ChangeAction::Archive,
        (Some(_), None) => ChangeAction::Insert,
        (Some(_), Some(before)) if before.archived => ChangeAction::Unarchive,
        (Some(_), Some(_)) => ChangeAction::Update,
    }
}

/// Why an archive archives, as the store will record it: a sync's archive
/// always has a reason (`absent` for plans made before reasons were kept).
fn reason_of(write: &PlannedWrite) -> Option<ArchiveReason> {
    if let Some(state) = &write.restore {
        return state.archive.as_ref().and_then(|a| a.reason);
    }
    match write.archived_by {
        None | Some(ArchivedBy::Sync) => Some(write.reason.unwrap_or(ArchiveReason::Absent)),
        Some(_) => write.reason,
    }
}

/// The row of one planned write; `stored` is the record's SIS content as
/// stored now (`None`: not stored, or not needed, see [`needs_stored`]).
pub fn change_row(write: &PlannedWrite, stored: Option<&SisContent>) -> ChangeRow {
    let action = action_of(write);
    let (reason, fields_changed) = match action {
        ChangeAction::Archive => (reason_of(write).map(ArchiveReason::as_str), String::new()),
        ChangeAction::Insert => (None, changed_names(None, target(write))),
        ChangeAction::Update | ChangeAction::Unarchive => {
            (None, changed_names(stored, target(write)))
        }
    };
    ChangeRow {
        kind: write.kind.file_name(),
        sourced_id: write.id.clone(),
        action,
        reason,
        fields_changed,
        schools: write.schools.join(";"),
    }
}

/// The rows of planned writes, in their order; `stored` gives a record's SIS
/// content as stored now (asked only of the writes [`needs_stored`] names).
pub fn change_rows<'a>(
    writes: &[PlannedWrite],
    stored: impl Fn(EntityKind, &str) -> Option<&'a SisContent>,
) -> Vec<ChangeRow> {
    writes
        .iter()
        .map(|w| {
            let content = if needs_stored(w) {
                stored(w.kind, &w.id)
            } else {
                None
            };
            change_row(w, content)
        })
        .collect()
}

fn changed_names(before: Option<&SisContent>, after: Option<&SisContent>) -> String {
    field_changes(before, after)
        .into_iter()
        .map(|c| c.field)
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Before;
    use crate::store::{ArchiveInfo, RecordState};
    use chrono::Utc;
    use serde_json::json;
    use std::collections::HashMap;

    fn content(v: serde_json::Value) -> SisContent {
        SisContent::from_value(v)
    }

    fn write(
        kind: EntityKind,
        id: &str,
        sis: Option<SisContent>,
        before: Option<bool>,
    ) -> PlannedWrite {
        PlannedWrite {
            kind,
            id: id.into(),
            sis,
            first_seen: None,
            before: before.map(|archived| Before {
                digest: 1,
                archived,
            }),
            reason: None,
            archived_by: None,
            restore: None,
            keys: None,
            schools: Vec::new(),
        }
    }

    fn ada() -> SisContent {
        content(
            json!({"sourcedId": "u1", "givenName": "Ada", "familyName": "Lovelace", "role": "teacher"}),
        )
    }

    #[test]
    fn updates_name_the_changed_fields_never_their_values() {
        let stored: HashMap<(EntityKind, String), SisContent> =
            [((EntityKind::Users, "u1".to_string()), ada())].into();
        let after = content(
            json!({"sourcedId": "u1", "givenName": "Adaline", "familyName": "Byron", "role": "teacher", "email": "ab@x.org"}),
        );
        let rows = change_rows(
            &[write(EntityKind::Users, "u1", Some(after), Some(false))],
            |k, id| stored.get(&(k, id.to_string())),
        );
        assert_eq!(
            rows,
            [ChangeRow {
                kind: "users",
                sourced_id: "u1".into(),
                action: ChangeAction::Update,
                reason: None,
                fields_changed: "email;familyName;givenName".into(),
                schools: String::new(),
            }]
        );
    }

    #[test]
    fn archives_say_why_and_name_no_fields() {
        let mut deleted = write(EntityKind::Classes, "c1", None, Some(false));
        deleted.reason = Some(ArchiveReason::Deleted);
        let mut ended = write(EntityKind::Enrollments, "e1", None, Some(false));
        ended.reason = Some(ArchiveReason::Ended);
        let old_plan = write(EntityKind::Users, "u1", None, Some(false));
        let rows = change_rows(&[deleted, ended, old_plan], |_, _| {
            panic!("archives read nothing stored")
        });
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.kind, r.action, r.reason, r.fields_changed.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("classes", ChangeAction::Archive, Some("deleted"), ""),
                ("enrollments", ChangeAction::Archive, Some("ended"), ""),
                ("users", ChangeAction::Archive, Some("absent"), ""),
            ]
        );
    }

    #[test]
    fn inserts_name_the_fields_they_bring_and_unarchives_what_changes() {
        let back = content(
            json!({"sourcedId": "u1", "givenName": "Ada", "familyName": "Lovelace", "role": "student"}),
        );
        let stored = ada();
        let rows = change_rows(
            &[
                write(EntityKind::Users, "u2", Some(ada()), None),
                write(EntityKind::Users, "u1", Some(back.clone()), Some(true)),
                write(EntityKind::Users, "u3", Some(back), Some(true)),
            ],
            |_, id| (id == "u1").then_some(&stored),
        );
        assert_eq!(rows[0].action, ChangeAction::Insert);
        assert_eq!(
            rows[0].fields_changed,
            "familyName;givenName;role;sourcedId"
        );
        assert_eq!(rows[1].action, ChangeAction::Unarchive);
        assert_eq!(rows[1].fields_changed, "role");
        // Gone from the store since planning: every field it brings is new.
        assert_eq!(rows[2].action, ChangeAction::Unarchive);
        assert_eq!(
            rows[2].fields_changed,
            "familyName;givenName;role;sourcedId"
        );
        let mut counts = ChangeCounts::default();
        rows.iter().for_each(|r| counts.add(r));
        assert_eq!(
            (counts.inserts, counts.unarchives, counts.rows()),
            (1, 2, 3)
        );
    }

    #[test]
    fn a_held_revert_restores_and_archives_as_its_states_say() {
        let state = |archived: bool| RecordState {
            sis: ada(),
            archive: archived.then(|| ArchiveInfo {
                by: ArchivedBy::Sync,
                at: Utc::now(),
                run: None,
                reason: Some(ArchiveReason::Absent),
            }),
            first_seen_at: Utc::now(),
            first_seen_run: "r".into(),
            updated_at: Utc::now(),
            updated_run: "r".into(),
            provisional: false,
        };
        let mut restore_archived = write(EntityKind::Users, "u1", None, Some(false));
        restore_archived.restore = Some(state(true));
        let mut restore_active = write(EntityKind::Users, "u2", None, Some(true));
        restore_active.restore = Some(state(false));
        let mut revert_archive = write(EntityKind::Users, "u3", None, Some(false));
        revert_archive.archived_by = Some(ArchivedBy::Revert);
        let stored = ada();
        let rows = change_rows(
            &[restore_archived, restore_active, revert_archive],
            |_, _| Some(&stored),
        );
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.action, r.reason, r.fields_changed.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (ChangeAction::Archive, Some("absent"), ""),
                (ChangeAction::Unarchive, None, ""),
                (ChangeAction::Archive, None, ""),
            ]
        );
    }
}
