//! What is personal: the one place that says, per type, which SIS fields a
//! record keeps when a person's personal data is erased (retention of
//! archived people, `rosterctl users forget`).
//!
//! It is an allowlist of the fields that are *not* personal — ids, status,
//! `dateLastModified`, a user's role and `enabledUser` — so that a column
//! the district adds tomorrow (or a `metadata.*` extension) is erased by
//! default. Types that hold no person ([`erasable`] false) are never erased.

use crate::content::SisContent;
use oneroster::EntityKind;
use serde_json::{Map, Value};

/// The users' fields kept on erasure, besides every `*SourcedId(s)` field
/// (see [`kept`]).
pub const USERS_KEPT: [&str; 5] = [
    "sourcedId",
    "status",
    "dateLastModified",
    "role",
    "enabledUser",
];

/// The demographics' fields kept on erasure: the record's identity alone.
pub const DEMOGRAPHICS_KEPT: [&str; 3] = ["sourcedId", "status", "dateLastModified"];

/// Whether records of `kind` describe a person, and so are erased by
/// retention and by `users forget` (users and their demographics).
pub fn erasable(kind: EntityKind) -> bool {
    matches!(kind, EntityKind::Users | EntityKind::Demographics)
}

/// Whether a top-level field of a record of `kind` is kept when the person's
/// personal data is erased. Users keep their ids (`sourcedId`,
/// `orgSourcedIds`, `agentSourcedIds` and any other field named
/// `…SourcedId` or `…SourcedIds`), status, `dateLastModified`, `role` and
/// `enabledUser`; demographics keep `sourcedId`, status and
/// `dateLastModified`. Everything else is personal: names, email,
/// username, `userIds`, identifier, phone, sms, grades, a password, every
/// extension, any unknown column. Types that are not erasable keep all.
pub fn kept(kind: EntityKind, field: &str) -> bool {
    match kind {
        EntityKind::Users => USERS_KEPT.contains(&field) || is_id(field),
        EntityKind::Demographics => DEMOGRAPHICS_KEPT.contains(&field),
        _ => true,
    }
}

/// A reference to another record by its id (`orgSourcedIds`,
/// `agentSourcedIds`, `schoolSourcedId`, …): not personal. An extension
/// (`metadata.…`, a dotted name) is never one, whatever its name ends with:
/// a `metadata.stateStudentSourcedId` is the district's id of a child.
fn is_id(field: &str) -> bool {
    !field.contains('.') && (field.ends_with("SourcedId") || field.ends_with("SourcedIds"))
}

/// The content of a record of `kind` with its personal fields erased: only
/// the kept fields ([`kept`]), canonical. Content of a type that is not
/// [`erasable`] comes back as it is.
pub fn erase(kind: EntityKind, sis: &SisContent) -> SisContent {
    if !erasable(kind) {
        return sis.clone();
    }
    let kept_fields: Map<String, Value> = sis
        .fields()
        .iter()
        .filter(|(field, _)| kept(kind, field))
        .map(|(field, value)| (field.clone(), value.clone()))
        .collect();
    SisContent::from_value(Value::Object(kept_fields))
}

/// Whether `sis` holds nothing personal any more (erasing it changes nothing).
pub fn is_erased(kind: EntityKind, sis: &SisContent) -> bool {
    !erasable(kind) || sis.fields().keys().all(|field| kept(kind, field))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn full_user() -> SisContent {
        SisContent::from_value(json!({
            "sourcedId": "stu-1",
            "status": "active",
            "dateLastModified": "2026-01-02T03:04:05.000Z",
            "enabledUser": true,
            "orgSourcedIds": ["sch-1", "sch-2"],
            "agentSourcedIds": ["par-1"],
            "role": "student",
            "username": "ann.smith",
            "userIds": [{"type": "SIS", "identifier": "12345"}],
            "givenName": "Ann",
            "familyName": "Smith",
            "middleName": "Q",
            "preferredFirstName": "Annie",
            "identifier": "12345",
            "email": "ann@school.org",
            "sms": "+15550100",
            "phone": "+15550101",
            "grades": ["03"],
            "password": "hunter2",
            "extensions": {"metadata.classlink.studentNumber": "A-77"},
            "metadata.lunchCode": "9",
            "metadata.stateStudentSourcedId": "S-1",
            "aColumnAddedTomorrow": "x"
        }))
    }

    #[test]
    fn a_user_keeps_only_ids_role_enabled_and_modification_date() {
        let erased = erase(EntityKind::Users, &full_user());
        assert_eq!(
            erased.fields(),
            json!({
                "sourcedId": "stu-1",
                "dateLastModified": "2026-01-02T03:04:05.000Z",
                "enabledUser": true,
                "orgSourcedIds": ["sch-1", "sch-2"],
                "agentSourcedIds": ["par-1"],
                "role": "student"
            })
            .as_object()
            .unwrap()
        );
        let keys = erased.index_keys(EntityKind::Users);
        assert_eq!((keys.email, keys.username), (None, None));
    }

    #[test]
    fn an_unknown_column_or_extension_is_erased_by_default() {
        for field in [
            "aColumnAddedTomorrow",
            "metadata.lunchCode",
            "extensions",
            "metadata.stateStudentSourcedId",
        ] {
            assert!(!kept(EntityKind::Users, field), "{field}");
        }
        assert!(kept(EntityKind::Users, "guardianSourcedIds"));
    }

    #[test]
    fn demographics_keep_their_identity_alone() {
        let demographics = SisContent::from_value(json!({
            "sourcedId": "stu-1",
            "dateLastModified": "2026-01-02T03:04:05.000Z",
            "birthDate": "2015-05-05",
            "sex": "female",
            "hispanicOrLatinoEthnicity": true,
            "cityOfBirth": "Springfield",
            "userSourcedId": "stu-1"
        }));
        let erased = erase(EntityKind::Demographics, &demographics);
        assert_eq!(
            erased.text(),
            r#"{"dateLastModified":"2026-01-02T03:04:05.000Z","sourcedId":"stu-1"}"#
        );
        assert!(is_erased(EntityKind::Demographics, &erased));
        assert!(!is_erased(EntityKind::Demographics, &demographics));
    }

    #[test]
    fn erasing_twice_is_erasing_once_and_other_types_are_untouched() {
        let once = erase(EntityKind::Users, &full_user());
        assert_eq!(erase(EntityKind::Users, &once), once);
        assert!(is_erased(EntityKind::Users, &once));
        let class = SisContent::from_value(json!({"sourcedId": "c1", "title": "Math"}));
        assert_eq!(erase(EntityKind::Classes, &class), class);
        assert!(!erasable(EntityKind::Enrollments) && !erasable(EntityKind::Orgs));
    }
}
