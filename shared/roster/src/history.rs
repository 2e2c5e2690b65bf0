//! A record's history, from the runs' before-images: which runs wrote it and
//! what each changed. Pure: the caller finds the images and the record's
//! current state; this says what changed between two states, naming fields and
//! showing values only where they are not personal data.

use crate::content::SisContent;
use crate::store::RecordState;
use serde::Serialize;

/// One field a write changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The field (`givenName`, `role`, `metadata.x`).
    pub field: String,
    /// The value before, for fields that are not personal (`None`: absent or hidden).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The value after, likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The values are personal data and are not shown.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

/// Whether a field's values may be shown: ids, references, status, role,
/// dates, grades, types and flags; names, emails, usernames, phone numbers,
/// identifiers and anything else may not.
pub fn shows_values(field: &str) -> bool {
    const SHOWN: [&str; 10] = [
        "sourcedId",
        "role",
        "status",
        "enabledUser",
        "type",
        "schoolYear",
        "grades",
        "classType",
        "primary",
        "subjects",
    ];
    SHOWN.contains(&field)
        || field.ends_with("SourcedId")
        || field.ends_with("SourcedIds")
        || field.ends_with("Date")
        || field == "dateLastModified"
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The fields that differ between two contents (either may be absent: a
/// record that did not exist), sorted by name.
pub fn field_changes(before: Option<&SisContent>, after: Option<&SisContent>) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let a = before.map_or(&empty, |c| c.fields());
    let b = after.map_or(&empty, |c| c.fields());
    let mut fields: Vec<&String> = a.keys().chain(b.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| a.get(*f) != b.get(*f))
        .map(|f| {
            let shown = shows_values(f);
            FieldChange {
                field: f.clone(),
                from: a.get(f).filter(|_| shown).map(text),
                to: b.get(f).filter(|_| shown).map(text),
                hidden: !shown,
            }
        })
        .collect()
}

/// What a run did to a record's archive state.
pub fn archive_change(before: Option<&RecordState>, after_archived: bool) -> Option<&'static str> {
    let was = before.is_some_and(|b| b.archive.is_some());
    match (before.is_some(), was, after_archived) {
        (false, _, false) => Some("inserted"),
        (false, _, true) => Some("inserted archived"),
        (true, false, true) => Some("archived"),
        (true, true, false) => Some("un-archived"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(v: serde_json::Value) -> SisContent {
        SisContent::from_value(v)
    }

    #[test]
    fn names_and_emails_are_named_never_shown() {
        let before = content(
            serde_json::json!({"sourcedId": "u1", "givenName": "Ada", "email": "a@x.org", "role": "teacher"}),
        );
        let after = content(
            serde_json::json!({"sourcedId": "u1", "givenName": "Adaline", "email": "b@x.org", "role": "administrator", "orgSourcedIds": ["s2"]}),
        );
        let changes = field_changes(Some(&before), Some(&after));
        let names: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(names, vec!["email", "givenName", "orgSourcedIds", "role"]);
        let given = &changes[1];
        assert!(given.hidden && given.from.is_none() && given.to.is_none());
        let role = &changes[3];
        assert_eq!(
            (role.from.as_deref(), role.to.as_deref()),
            (Some("teacher"), Some("administrator"))
        );
        assert_eq!(changes[2].to.as_deref(), Some("[\"s2\"]"));
        let text = serde_json::to_string(&changes).unwrap();
        assert!(!text.contains("Ada") && !text.contains("a@x.org"), "{text}");
    }

    #[test]
    fn archive_changes_are_named() {
        assert_eq!(archive_change(None, false), Some("inserted"));
        let state = |archived: bool| RecordState {
            sis: SisContent::from_value(serde_json::json!({})),
            archive: archived.then(|| crate::store::ArchiveInfo {
                by: crate::store::ArchivedBy::Sync,
                at: chrono::Utc::now(),
                run: None,
                reason: None,
            }),
            first_seen_at: chrono::Utc::now(),
            first_seen_run: "r".into(),
            updated_at: chrono::Utc::now(),
            updated_run: "r".into(),
            provisional: false,
        };
        assert_eq!(archive_change(Some(&state(false)), true), Some("archived"));
        assert_eq!(
            archive_change(Some(&state(true)), false),
            Some("un-archived")
        );
        assert_eq!(archive_change(Some(&state(false)), false), None);
    }
}
