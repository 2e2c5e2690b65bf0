//! The columns OneRoster 1.2's CSV binding (1.2.1) gives `users.csv` and
//! `roles.csv`; the other rostering files keep 1.1's columns.

use super::OneRosterVersion;
use crate::model::EntityKind;
use crate::schema::{opt, req, ColumnSpec};

/// `users.csv` in 1.2: no `role` or `orgSourcedIds` (they come from
/// `roles.csv`), and six columns more. `password` is mapped so that it is
/// recognised, and never read.
pub const USERS: &[ColumnSpec] = &[
    req("sourcedId"),
    opt("status"),
    opt("dateLastModified"),
    req("enabledUser"),
    req("username"),
    opt("userIds"),
    req("givenName"),
    req("familyName"),
    opt("middleName"),
    opt("identifier"),
    opt("email"),
    opt("sms"),
    opt("phone"),
    opt("agentSourcedIds"),
    opt("grades"),
    opt("password"),
    opt("userMasterIdentifier"),
    opt("resourceSourcedIds"),
    opt("preferredGivenName"),
    opt("preferredMiddleName"),
    opt("preferredFamilyName"),
    opt("primaryOrgSourcedId"),
    opt("pronouns"),
];

/// Index of `password` in 1.2's `users.csv`: never read.
#[cfg(test)]
pub(crate) const USERS_PASSWORD: usize = 15;

/// `roles.csv` (1.2 only): one row per role of a user at an org.
pub const ROLES: &[ColumnSpec] = &[
    req("sourcedId"),
    opt("status"),
    opt("dateLastModified"),
    req("userSourcedId"),
    req("roleType"),
    req("role"),
    opt("beginDate"),
    opt("endDate"),
    req("orgSourcedId"),
    opt("userProfileSourcedId"),
];

/// The name of the roles file, without extension.
pub const ROLES_FILE: &str = "roles";

/// The name of the user profiles file (counted, never read), without extension.
pub const USER_PROFILES_FILE: &str = "userProfiles";

/// The files only a 1.2 package has, as the manifest names them.
pub const FILES_1P2: [&str; 2] = [ROLES_FILE, USER_PROFILES_FILE];

/// The specified columns of a rostering file in a package of `version`.
pub fn columns(kind: EntityKind, version: OneRosterVersion) -> &'static [ColumnSpec] {
    match (kind, version) {
        (EntityKind::Users, OneRosterVersion::V1p2) => USERS,
        _ => crate::schema::columns(kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_1p2_drop_role_and_orgs_and_add_the_new_columns() {
        let names: Vec<&str> = USERS.iter().map(|c| c.name).collect();
        assert!(!names.contains(&"role") && !names.contains(&"orgSourcedIds"));
        for added in [
            "userMasterIdentifier",
            "preferredGivenName",
            "preferredMiddleName",
            "preferredFamilyName",
            "primaryOrgSourcedId",
            "pronouns",
        ] {
            assert!(names.contains(&added), "{added}");
        }
        assert_eq!(USERS[USERS_PASSWORD].name, "password");
        assert_eq!(
            columns(EntityKind::Orgs, OneRosterVersion::V1p2),
            crate::schema::columns(EntityKind::Orgs)
        );
    }
}
