//! Users' roles as the store holds them, for a delta `roles.csv`: its rows
//! change the roles a user has (a role by its sourcedId), so the sync reads
//! the stored records of the users it names, and of the users its delta
//! `users.csv` delivers, before the package is validated.
//!
//! A stored user keeps its role rows (with their sourcedIds) only when they
//! say more than `role` and `orgSourcedIds` (see
//! [`super::UserRoleSet::kept_roles`]); otherwise its roles are those two
//! fields: a primary `role` at each org, whose sourcedIds the store never
//! had. A delta's primary role at such an org replaces that role, and a
//! deleted role at such an org removes it when the row's role type and
//! role, where it gives them, are that role's.

use super::{RoleAssignment, RoleName};
use crate::fields::{parse_date, parse_datetime, parse_vocabulary};
use crate::model::{Role, RoleType};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The stored records of the users whose roles a delta `roles.csv` changes
/// or whose rows its `users.csv` delivers, by sourcedId. Given to validation
/// by the sync ([`crate::ValidationOptions::stored_roles`]).
#[derive(Debug, Clone, Default)]
pub struct StoredRoles {
    users: HashMap<String, StoredUser>,
}

/// A stored user whose roles a delta `roles.csv` changes though its
/// `users.csv` does not deliver the user: its content with the new roles.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleChange {
    /// The user's sourcedId.
    pub user: String,
    /// Its SIS content as stored, with `role`, `orgSourcedIds` and `roles`
    /// as its new roles give them.
    pub content: Value,
}

/// One stored user: its content and the roles read from it.
#[derive(Debug, Clone)]
pub(crate) struct StoredUser {
    /// Its SIS content, as stored (JSON text, parsed again only to make its
    /// [`RoleChange`]), when the sync wanted it (see
    /// [`crate::WantedUser::content`]).
    pub(crate) content: Option<String>,
    /// Its roles (each at line 0: none is a row of this package).
    pub(crate) roles: Vec<RoleAssignment>,
    /// Archived: a role change alone does not bring it back.
    pub(crate) archived: bool,
}

impl StoredRoles {
    /// Adds the stored user `user`, whose SIS content is the JSON `content`
    /// (its `role`, `orgSourcedIds` and `roles` are read; a content that is
    /// not a JSON object gives a user without roles); the content itself is
    /// kept when `keep_content` (see [`crate::WantedUser::content`]).
    pub fn insert(&mut self, user: &str, content: &str, archived: bool, keep_content: bool) {
        let roles = serde_json::from_str::<RoleFields>(content)
            .map(|fields| fields.roles())
            .unwrap_or_default();
        self.users.insert(
            user.to_string(),
            StoredUser {
                content: keep_content.then(|| content.to_string()),
                roles,
                archived,
            },
        );
    }

    /// The stored user `user`.
    pub(crate) fn get(&self, user: &str) -> Option<&StoredUser> {
        self.users.get(user)
    }

    /// How many users are stored.
    pub(crate) fn len(&self) -> usize {
        self.users.len()
    }

    /// Every stored user, in no order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &StoredUser)> {
        self.users.iter().map(|(id, user)| (id.as_str(), user))
    }
}

/// The fields of a stored user's content its roles are read from (the
/// others are not parsed).
#[derive(Deserialize)]
struct RoleFields {
    role: Option<String>,
    #[serde(rename = "orgSourcedIds", default)]
    orgs: Vec<String>,
    roles: Option<Vec<Value>>,
}

impl RoleFields {
    /// The roles the content gives: its kept `roles`, or else a primary
    /// `role` at each of its `orgSourcedIds`, without sourcedIds.
    fn roles(self) -> Vec<RoleAssignment> {
        if let Some(kept) = self.roles {
            return kept.iter().filter_map(kept_role).collect();
        }
        let Some(role) = self.role.as_deref().and_then(parse_vocabulary::<Role>) else {
            return Vec::new();
        };
        self.orgs
            .into_iter()
            .map(|org| implied_role(role.value, org))
            .collect()
    }
}

/// A stored user's primary `role` at `org`, whose sourcedId the store
/// never had.
fn implied_role(role: Role, org: String) -> RoleAssignment {
    RoleAssignment {
        sourced_id: String::new(),
        date_last_modified: None,
        role_type: RoleType::Primary,
        role: RoleName::Platform(role),
        begin_date: None,
        end_date: None,
        org_sourced_id: org,
        user_profile_sourced_id: None,
        line: 0,
    }
}

/// One kept role of a stored user; `None` when it lacks a role type, a
/// role or an org (a content edited by hand: such a role is not kept when
/// the user is written again, as a sync overwrites any hand edit).
fn kept_role(value: &Value) -> Option<RoleAssignment> {
    let text = |key: &str| value.get(key).and_then(Value::as_str);
    let role = text("role")?;
    let role = RoleName::parse(role)
        .or_else(|| parse_vocabulary::<Role>(role).map(|r| RoleName::Platform(r.value)))?;
    Some(RoleAssignment {
        sourced_id: text("sourcedId").unwrap_or_default().to_string(),
        date_last_modified: text("dateLastModified")
            .and_then(parse_datetime)
            .map(|at| at.value),
        role_type: parse_vocabulary::<RoleType>(text("roleType")?)?.value,
        role,
        begin_date: text("beginDate").and_then(parse_date),
        end_date: text("endDate").and_then(parse_date),
        org_sourced_id: text("orgSourcedId")?.to_string(),
        user_profile_sourced_id: text("userProfileSourcedId").map(str::to_string),
        line: 0,
    })
}

/// The stored user's content (JSON text) with its roles changed: `role`,
/// `orgSourcedIds` and `roles` as a users.csv row with these roles would
/// give them (see [`super::users`]); every other field as stored.
pub(crate) fn with_roles(content: &str, role: Role, orgs: &str, kept: &[RoleAssignment]) -> Value {
    let mut content = match serde_json::from_str::<Value>(content) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    content.insert("role".into(), Value::from(role.as_str()));
    let orgs: Vec<Value> = orgs.split(',').map(Value::from).collect();
    content.insert("orgSourcedIds".into(), Value::Array(orgs));
    match serde_json::to_value(kept) {
        Ok(roles) if !kept.is_empty() => content.insert("roles".into(), roles),
        _ => content.remove("roles"),
    };
    Value::Object(content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UserRole;

    #[test]
    fn a_plain_user_s_roles_are_its_role_at_each_org_without_ids() {
        let mut stored = StoredRoles::default();
        stored.insert(
            "t1",
            r#"{"role":"teacher","orgSourcedIds":["s1","s2"],"givenName":"A"}"#,
            false,
            true,
        );
        stored.insert(
            "a1",
            r#"{"role":"administrator","orgSourcedIds":["d1"]}"#,
            true,
            false,
        );
        let t1 = stored.get("t1").unwrap();
        let orgs: Vec<&str> = t1.roles.iter().map(|r| r.org_sourced_id.as_str()).collect();
        assert_eq!(orgs, ["s1", "s2"]);
        assert!(t1
            .roles
            .iter()
            .all(|r| r.sourced_id.is_empty() && r.role_type == RoleType::Primary));
        assert_eq!(t1.roles[0].role.as_str(), "teacher");
        let a1 = stored.get("a1").unwrap();
        assert!(a1.archived);
        assert_eq!(a1.roles[0].role.platform_role(), Some(Role::Administrator));
    }

    #[test]
    fn kept_roles_read_back_as_they_were_written() {
        let role = RoleAssignment {
            sourced_id: "r1".into(),
            date_last_modified: parse_datetime("2026-09-01T08:30:00.125Z").map(|d| d.value),
            role_type: RoleType::Secondary,
            role: RoleName::Known(UserRole::Principal),
            begin_date: parse_date("2026-08-15"),
            end_date: parse_date("2027-06-30"),
            org_sourced_id: "s1".into(),
            user_profile_sourced_id: Some("p1".into()),
            line: 4,
        };
        let ext = RoleAssignment {
            sourced_id: "r2".into(),
            role: RoleName::Ext("ext:coach".into()),
            role_type: RoleType::Primary,
            user_profile_sourced_id: None,
            date_last_modified: None,
            begin_date: None,
            end_date: None,
            ..role.clone()
        };
        let written = with_roles("{}", Role::Teacher, "s1", &[role, ext]);
        let mut stored = StoredRoles::default();
        stored.insert("u", &written.to_string(), false, true);
        let back = &stored.get("u").unwrap().roles;
        let again = with_roles("{}", Role::Teacher, "s1", back);
        assert_eq!(again, written);
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].role, RoleName::Ext("ext:coach".into()));
    }

    #[test]
    fn content_without_roles_gives_none_and_keeps_its_other_fields() {
        let mut stored = StoredRoles::default();
        stored.insert("x", "not json", false, true);
        stored.insert(
            "y",
            r#"{"role":"chief","orgSourcedIds":["s1"]}"#,
            false,
            true,
        );
        assert!(stored.get("x").unwrap().roles.is_empty());
        assert!(stored.get("y").unwrap().roles.is_empty());
        let content = stored.get("y").unwrap().content.as_deref().unwrap();
        let changed = with_roles(content, Role::Student, "s1,s2", &[]);
        assert_eq!(
            changed.to_string(),
            r#"{"orgSourcedIds":["s1","s2"],"role":"student"}"#
        );
    }
}
