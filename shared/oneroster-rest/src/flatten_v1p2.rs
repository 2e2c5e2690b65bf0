//! A OneRoster 1.2 REST user flattened to the 1.2 CSV binding: its row of
//! `users.csv` (1.2's columns: no `role` or `orgSourcedIds`) and its rows of
//! `roles.csv`, one per entry of its `roles[]`. The other collections keep
//! 1.1's shapes and are flattened by [`crate::flatten`].
//!
//! What is read of a 1.2 user: 1.1's fields less `role` and `orgs`, and
//! `userMasterIdentifier`, `resources`, the preferred names (the REST
//! binding calls them `preferredFirstName`, `preferredMiddleName` and
//! `preferredLastName`; the CSV binding's `preferredGivenName`… are read
//! when a server sends those), `primaryOrg` (a GUIDRef), `pronouns`,
//! `metadata`, and each role's `roleType`, `role` (an `ext:` value passes
//! through), `org` (a GUIDRef), `userProfile`, `beginDate` and `endDate`.
//! Never read: `password` and `userProfiles` (they hold credentials).
//!
//! Roles have no sourcedId in JSON: each gets `{userSourcedId}-{n}`, `n`
//! its 1-based place in `roles[]`, so a re-pull of the same roles gives the
//! same rows (and writes nothing). The ids are unique: `n` has no `-`.

use crate::flatten::{flatten_with, reference, scalar, FlatRow, Source, COMMON};
use oneroster::v1p2::columns::{ROLES, USERS};
use serde_json::{Map, Value};

use Source::{Dropped, FirstOf, Ref, Refs, Scalar, Strings, UserIds};

/// The sources of 1.2's `users.csv` columns after the common ones, in the
/// CSV binding's order ([`USERS`]).
const USER_SOURCES: &[Source] = &[
    Scalar("enabledUser"),
    Scalar("username"),
    UserIds,
    Scalar("givenName"),
    Scalar("familyName"),
    Scalar("middleName"),
    Scalar("identifier"),
    Scalar("email"),
    Scalar("sms"),
    Scalar("phone"),
    Refs("agents"),
    Strings("grades"),
    Dropped, // password
    Scalar("userMasterIdentifier"),
    Refs("resources"),
    FirstOf(&["preferredFirstName", "preferredGivenName"]),
    FirstOf(&["preferredMiddleName"]),
    FirstOf(&["preferredLastName", "preferredFamilyName"]),
    Ref("primaryOrg"),
    Scalar("pronouns"),
];

/// A 1.2 user as CSV rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatUser {
    /// Its `users.csv` row.
    pub user: FlatRow,
    /// Its `roles.csv` rows, in [`ROLES`]'s column order.
    pub roles: Vec<Vec<String>>,
}

/// Flattens one 1.2 user record.
pub fn flatten_user(record: &Map<String, Value>) -> FlatUser {
    let user = flatten_with(COMMON.iter().chain(USER_SOURCES), record);
    debug_assert_eq!(user.fields.len(), USERS.len());
    let sourced_id = user.fields[0].clone();
    let roles = match record.get("roles") {
        Some(Value::Array(roles)) => roles
            .iter()
            .filter_map(Value::as_object)
            .enumerate()
            .map(|(i, role)| role_row(&sourced_id, i + 1, role))
            .collect(),
        _ => Vec::new(),
    };
    FlatUser { user, roles }
}

/// The `roles.csv` row of a user's `n`th role.
fn role_row(user: &str, n: usize, role: &Map<String, Value>) -> Vec<String> {
    let row = vec![
        format!("{user}-{n}"),
        "active".to_string(),
        String::new(),
        user.to_string(),
        scalar(role.get("roleType")),
        scalar(role.get("role")),
        scalar(role.get("beginDate")),
        scalar(role.get("endDate")),
        reference(role.get("org")),
        reference(role.get("userProfile")),
    ];
    debug_assert_eq!(row.len(), ROLES.len());
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Map<String, Value> {
        json!({
            "sourcedId": "t1", "status": "active", "dateLastModified": "2026-09-01T00:00:00.000Z",
            "userMasterIdentifier": "UM-1", "username": "tom", "enabledUser": true,
            "userIds": [{"type": "SIS", "identifier": "9"}],
            "givenName": "Thomas", "familyName": "Teach", "middleName": "Q",
            "preferredFirstName": "Tom", "preferredMiddleName": "Quill", "preferredLastName": "Teacher",
            "pronouns": "he/him", "email": "tom@example.org",
            "primaryOrg": {"href": "https://evil.example/orgs/s1", "sourcedId": "s1", "type": "org"},
            "roles": [
                {"roleType": "primary", "role": "teacher", "org": {"href": "orgs/s1", "sourcedId": "s1", "type": "org"},
                 "userProfile": "p1", "beginDate": "2026-08-01", "endDate": "2027-06-30"},
                {"roleType": "secondary", "role": "ext:coach", "org": {"sourcedId": "d1", "type": "org"}}
            ],
            "userProfiles": [{"profileId": "p1", "credentials": [{"type": "password", "username": "tom", "password": "Sekrit-PW-9"}]}],
            "password": "pw-teacher-1",
            "grades": ["09"], "agents": [{"sourcedId": "g1", "type": "user"}],
            "metadata": {"classlink.tenantId": 42}
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn column(row: &FlatRow, name: &str) -> String {
        let i = USERS.iter().position(|c| c.name == name).unwrap();
        row.fields[i].clone()
    }

    #[test]
    fn a_user_becomes_a_1p2_users_row_with_preferred_names_and_primary_org() {
        let flat = flatten_user(&user());
        let row = &flat.user;
        assert_eq!(row.fields.len(), USERS.len());
        assert_eq!(column(row, "sourcedId"), "t1");
        assert_eq!(column(row, "userMasterIdentifier"), "UM-1");
        assert_eq!(column(row, "preferredGivenName"), "Tom");
        assert_eq!(column(row, "preferredMiddleName"), "Quill");
        assert_eq!(column(row, "preferredFamilyName"), "Teacher");
        assert_eq!(column(row, "primaryOrgSourcedId"), "s1");
        assert_eq!(column(row, "pronouns"), "he/him");
        assert_eq!(column(row, "userIds"), "{SIS:9}");
        assert_eq!(column(row, "agentSourcedIds"), "g1");
        assert_eq!(column(row, "enabledUser"), "true");
        assert_eq!(
            row.extensions,
            vec![("metadata.classlink.tenantId".into(), "42".into())]
        );
    }

    #[test]
    fn each_role_becomes_a_roles_row_with_a_deterministic_id() {
        let flat = flatten_user(&user());
        assert_eq!(
            flat.roles,
            vec![
                vec![
                    "t1-1",
                    "active",
                    "",
                    "t1",
                    "primary",
                    "teacher",
                    "2026-08-01",
                    "2027-06-30",
                    "s1",
                    "p1"
                ],
                vec![
                    "t1-2",
                    "active",
                    "",
                    "t1",
                    "secondary",
                    "ext:coach",
                    "",
                    "",
                    "d1",
                    ""
                ],
            ]
        );
        assert_eq!(
            flatten_user(&user()),
            flat,
            "the same record, the same rows"
        );
    }

    /// An org id holding a comma stays whole (the CSV writer quotes it), so
    /// the validation names it (`org_id_with_comma`) rather than split it.
    #[test]
    fn a_role_s_org_id_is_written_whole() {
        let record = json!({"sourcedId": "u1", "roles": [
            {"roleType": "primary", "role": "student", "org": {"sourcedId": "d,1"}}
        ]});
        let flat = flatten_user(record.as_object().unwrap());
        assert_eq!(flat.roles[0][8], "d,1");
    }

    #[test]
    fn passwords_and_user_profiles_are_never_read() {
        let flat = flatten_user(&user());
        assert_eq!(column(&flat.user, "password"), "");
        let shown = format!("{flat:?}");
        for secret in ["pw-teacher-1", "Sekrit-PW-9", "credentials"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn csv_names_of_preferred_names_are_read_and_a_user_without_roles_has_none() {
        let record = json!({"sourcedId": "u2", "preferredGivenName": "Al", "preferredFamilyName": "B", "roles": "teacher"});
        let flat = flatten_user(record.as_object().unwrap());
        assert_eq!(column(&flat.user, "preferredGivenName"), "Al");
        assert_eq!(column(&flat.user, "preferredFamilyName"), "B");
        assert_eq!(column(&flat.user, "status"), "active");
        assert!(flat.roles.is_empty());
    }
}
