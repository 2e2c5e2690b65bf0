//! A record's history, from the runs' before-images: which runs wrote it and
//! what each changed. Pure: the caller finds the images and the record's
//! current state; this says what changed between two states, naming fields and
//! showing values only of the fields on an explicit allow-list
//! ([`SHOWN_FIELDS`]): anything else, personal data such as `birthDate` or a
//! vendor's `metadata.*` column included, is named as changed, never shown.

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

/// The fields whose values `records history` shows, by exact name: ids and
/// references, status and modification time, roles, types, flags, grades and
/// subjects, and the dates of sessions and enrollments. No other field's
/// values are shown: names, emails, usernames, phone numbers, identifiers,
/// titles, every demographics field (`birthDate`, `sex`, ...), extension
/// columns, and any field added later until it is listed here
/// (docs/operations.md, "A record's history").
pub const SHOWN_FIELDS: &[&str] = &[
    // every type
    "sourcedId",
    "status",
    "dateLastModified",
    // references to other records
    "parentSourcedId",
    "schoolYearSourcedId",
    "orgSourcedId",
    "orgSourcedIds",
    "courseSourcedId",
    "schoolSourcedId",
    "termSourcedIds",
    "classSourcedId",
    "userSourcedId",
    "agentSourcedIds",
    // kinds, roles, flags
    "type",
    "role",
    "enabledUser",
    "primary",
    "classType",
    "grades",
    "subjects",
    "subjectCodes",
    // academic sessions and enrollments
    "schoolYear",
    "startDate",
    "endDate",
    "beginDate",
];

/// Whether a field's values may be shown: it is on [`SHOWN_FIELDS`].
pub fn shows_values(field: &str) -> bool {
    SHOWN_FIELDS.contains(&field)
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
    fn only_listed_fields_show_values_never_a_birth_date() {
        let before = content(serde_json::json!({
            "sourcedId": "u1", "role": "student", "birthDate": "2012-03-04",
            "metadata.dob": "2012-03-04", "ext_birthDate": "2012-03-04", "sex": "female"
        }));
        let after = content(serde_json::json!({
            "sourcedId": "u1", "role": "teacher", "birthDate": "2013-05-06",
            "metadata.dob": "2013-05-06", "ext_birthDate": "2013-05-06", "sex": "male"
        }));
        let changes = field_changes(Some(&before), Some(&after));
        let text = serde_json::to_string(&changes).unwrap();
        assert!(
            !text.contains("2012") && !text.contains("2013") && !text.contains("male"),
            "{text}"
        );
        let hidden: Vec<&str> = changes
            .iter()
            .filter(|c| c.hidden)
            .map(|c| c.field.as_str())
            .collect();
        assert_eq!(
            hidden,
            ["birthDate", "ext_birthDate", "metadata.dob", "sex"]
        );
        let role = changes.iter().find(|c| c.field == "role").unwrap();
        assert_eq!(
            (role.from.as_deref(), role.to.as_deref()),
            (Some("student"), Some("teacher"))
        );
        for field in ["endDate", "beginDate", "classSourcedId", "dateLastModified"] {
            assert!(shows_values(field), "{field}");
        }
        for field in [
            "birthDate",
            "givenName",
            "email",
            "identifier",
            "title",
            "xSourcedId",
        ] {
            assert!(!shows_values(field), "{field}");
        }
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
