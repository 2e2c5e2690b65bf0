//! OneRoster 1.2 CSV: what it adds to the 1.1 reader. A package whose
//! manifest says `oneroster.version,1.2` is read with the 1.2 binding:
//! `users.csv` without `role` and `orgSourcedIds` (and with the columns 1.2
//! adds), `roles.csv` giving each user their roles per org, and
//! `userProfiles.csv`, counted and never read.
//!
//! Roles are folded into the user's record: `role` is the user's primary
//! role as the platform knows it (a OneRoster 1.1 role, see
//! [`UserRole::platform_role`]), `orgSourcedIds` the orgs of all its roles,
//! and `roles` its role rows when they say more than those two; so a
//! district delivered in 1.1 and in 1.2 gives the same record. A delta
//! `roles.csv` changes the roles as stored ([`stored`]).

use crate::idset::IdMap;
use crate::model::{Role, RoleType, UserRole};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub mod columns;
pub(crate) mod roles;
pub mod stored;
pub use stored::{RoleChange, StoredRoles};
pub(crate) mod users;

/// The OneRoster version a package's manifest declares, which selects the
/// columns each file is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum OneRosterVersion {
    /// OneRoster 1.1.
    #[default]
    #[serde(rename = "1.1")]
    V1p1,
    /// OneRoster 1.2 (CSV binding 1.2.1).
    #[serde(rename = "1.2")]
    V1p2,
}

impl OneRosterVersion {
    /// The version as manifests and messages write it.
    pub fn as_str(self) -> &'static str {
        match self {
            OneRosterVersion::V1p1 => "1.1",
            OneRosterVersion::V1p2 => "1.2",
        }
    }

    /// The version a manifest's `oneroster.version` value names, if supported.
    pub fn from_manifest(value: &str) -> Option<OneRosterVersion> {
        match value {
            "1.1" => Some(OneRosterVersion::V1p1),
            "1.2" | "1.2.1" => Some(OneRosterVersion::V1p2),
            _ => None,
        }
    }
}

/// A `roles.role` value: one of 1.2's roles, or an `ext:` extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleName {
    /// A role of the specification.
    Known(UserRole),
    /// An `ext:` value, as written.
    Ext(String),
    /// A role known only as the platform's role: a stored user's `role`
    /// at one of its orgs, whose role rows the store does not keep (see
    /// [`stored`]).
    Platform(Role),
}

impl RoleName {
    /// A role as written: an `ext:` value or one of 1.2's roles; `None`
    /// for any other text.
    pub(crate) fn parse(value: &str) -> Option<RoleName> {
        if crate::model::is_ext_value(value) {
            return Some(RoleName::Ext(value.to_string()));
        }
        crate::fields::parse_vocabulary::<UserRole>(value).map(|r| RoleName::Known(r.value))
    }

    /// The role as the platform knows it; `None` for a counselor or an `ext:` role.
    pub fn platform_role(&self) -> Option<Role> {
        match self {
            RoleName::Known(role) => role.platform_role(),
            RoleName::Ext(_) => None,
            RoleName::Platform(role) => Some(*role),
        }
    }

    /// The value as stored.
    pub fn as_str(&self) -> &str {
        match self {
            RoleName::Known(role) => role.as_str(),
            RoleName::Ext(text) => text,
            RoleName::Platform(role) => role.as_str(),
        }
    }
}

impl Serialize for RoleName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One accepted, active row of `roles.csv`, as the user's record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    /// sourcedId of the role row.
    pub sourced_id: String,
    /// dateLastModified
    #[serde(serialize_with = "crate::fields::serde_text::option_instant")]
    pub date_last_modified: Option<DateTime<Utc>>,
    /// roleType* (primary or secondary)
    pub role_type: RoleType,
    /// role*
    pub role: RoleName,
    /// beginDate
    #[serde(serialize_with = "crate::fields::serde_text::option_date")]
    pub begin_date: Option<NaiveDate>,
    /// endDate
    #[serde(serialize_with = "crate::fields::serde_text::option_date")]
    pub end_date: Option<NaiveDate>,
    /// orgSourcedId*
    pub org_sourced_id: String,
    /// userProfileSourcedId
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_profile_sourced_id: Option<String>,
    /// Line of the row in roles.csv, 0 for a stored role (not part of
    /// the record).
    #[serde(skip)]
    pub(crate) line: u64,
}

/// A deleted role of a delta `roles.csv`: what the row says of it.
#[derive(Debug, Clone)]
pub(crate) struct DeletedRole {
    pub(crate) sourced_id: String,
    pub(crate) user: String,
    pub(crate) org: Option<String>,
    pub(crate) role_type: Option<RoleType>,
    pub(crate) role: Option<RoleName>,
    /// Line of the row in roles.csv.
    pub(crate) line: u64,
}

impl DeletedRole {
    /// Whether `stored`, a role whose sourcedId the store never had (a
    /// primary `role` at an org), is the one this row deletes: at the row's
    /// org, and of its role type and role where the row gives them.
    fn is_id_less(&self, stored: &RoleAssignment) -> bool {
        self.org
            .as_deref()
            .is_some_and(|org| stored.is_id_less_primary_at(org))
            && self.role_type.is_none_or(|t| t == RoleType::Primary)
            && self
                .role
                .as_ref()
                .is_none_or(|role| role.platform_role() == stored.role.platform_role())
    }
}

impl RoleAssignment {
    /// A stored primary role at `org` whose sourcedId the store never had
    /// (see [`stored`]).
    fn is_id_less_primary_at(&self, org: &str) -> bool {
        self.sourced_id.is_empty()
            && self.role_type == RoleType::Primary
            && self.org_sourced_id == org
    }
}

/// Why a user's roles cannot be used: the first problem of its role rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RolesProblem {
    /// Line in roles.csv.
    pub(crate) line: u64,
    pub(crate) code: crate::report::IssueCode,
}

/// One user's roles, as `roles.csv` gives them, each in the order of its
/// ids (not of the file's rows): a re-delivery with its rows in another
/// order gives the same record and writes nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct UserRoleSet {
    /// The roles, by sourcedId.
    pub(crate) roles: Vec<RoleAssignment>,
    /// The distinct orgs of the roles, by id, comma-separated, once there
    /// are two (until then, the first role's org: see [`Self::orgs`]).
    orgs: String,
    /// Set when the roles break a rule (exactly one primary role per org).
    pub(crate) problem: Option<RolesProblem>,
    /// In a delta `roles.csv`, the line of the first row changing the
    /// user's stored roles; 0 when none does.
    pub(crate) delta_line: u64,
    /// How many of the delta's rows change them.
    pub(crate) delta_rows: u32,
}

impl UserRoleSet {
    /// No roles.
    pub(crate) const EMPTY: UserRoleSet = UserRoleSet {
        roles: Vec::new(),
        orgs: String::new(),
        problem: None,
        delta_line: 0,
        delta_rows: 0,
    };

    /// The distinct orgs of the roles, by id, comma-separated.
    pub(crate) fn orgs(&self) -> &str {
        match self.roles.first() {
            Some(first) if self.orgs.is_empty() => &first.org_sourced_id,
            _ => &self.orgs,
        }
    }

    /// Keeps the roles `keep` says (and their orgs), then adds `role`.
    fn retain_then_add(
        &mut self,
        keep: impl Fn(&RoleAssignment) -> bool,
        role: Option<RoleAssignment>,
    ) {
        let roles = std::mem::take(&mut self.roles);
        self.orgs.clear();
        roles
            .into_iter()
            .filter(|r| keep(r))
            .chain(role)
            .for_each(|r| self.add(r));
    }

    /// Notes a delta row on `line` changing the user's roles.
    fn touched_at(&mut self, line: u64) {
        if self.delta_line == 0 || line < self.delta_line {
            self.delta_line = line;
        }
        self.delta_rows += 1;
    }

    /// Whether any role is a stored one (no row of this package).
    pub(crate) fn has_stored_role(&self) -> bool {
        self.roles.iter().any(|r| r.line == 0)
    }

    /// One role, primary: no rule of roles.csv can be broken.
    fn one_primary_role(&self) -> bool {
        matches!(self.roles.as_slice(), [only] if only.role_type == RoleType::Primary)
    }

    /// Adds a role row of the user's, in its place by sourcedId.
    fn add(&mut self, role: RoleAssignment) {
        let org = role.org_sourced_id.as_str();
        if self.roles.is_empty() {
            // Most users have one role: room for four (what a push makes)
            // would triple the memory roles take.
            self.roles.reserve_exact(1);
        } else if !self.roles.iter().any(|r| r.org_sourced_id == org) {
            // Most users have one org: its text is the role's own until a
            // second. An org id holds no comma (such a role is rejected).
            let mut orgs: Vec<&str> = self.orgs().split(',').collect();
            orgs.push(org);
            orgs.sort_unstable();
            self.orgs = orgs.join(",");
        }
        let at = self
            .roles
            .partition_point(|r| r.sourced_id < role.sourced_id);
        self.roles.insert(at, role);
    }

    /// The role that decides for the user: of its primary roles that the
    /// platform knows, the most privileged (administrator, teacher, aide,
    /// proctor, student, guardian, parent, relative). `None` when no
    /// primary role has a platform role (a counselor, an `ext:` role).
    pub(crate) fn platform_role(&self) -> Option<Role> {
        const PRECEDENCE: [Role; 8] = [
            Role::Administrator,
            Role::Teacher,
            Role::Aide,
            Role::Proctor,
            Role::Student,
            Role::Guardian,
            Role::Parent,
            Role::Relative,
        ];
        let primary = || {
            self.roles
                .iter()
                .filter(|r| r.role_type == RoleType::Primary)
                .filter_map(|r| r.role.platform_role())
        };
        PRECEDENCE
            .into_iter()
            .find(|role| primary().any(|r| r == *role))
    }

    /// The role rows the user's record keeps: none when they say nothing
    /// `role` and `orgSourcedIds` do not (each a primary `role` at one of
    /// the orgs, without dates or a user profile), so a user delivered in
    /// 1.1 and in 1.2 is stored alike; else every row.
    pub(crate) fn kept_roles(&self, role: Role) -> &[RoleAssignment] {
        let plain = |r: &RoleAssignment| {
            r.role_type == RoleType::Primary
                && r.role.as_str() == role.as_str()
                && r.begin_date.is_none()
                && r.end_date.is_none()
                && r.user_profile_sourced_id.is_none()
        };
        if self.roles.iter().all(plain) {
            &[]
        } else {
            &self.roles
        }
    }
}

/// Every user's roles, read from `roles.csv` before `users.csv` (a user's
/// record needs them). Holds the accepted role rows of the package in memory:
/// a few hundred bytes a role; the users' ids in one text.
///
/// From a delta `roles.csv`, the stored roles of the users the sync read
/// (see [`stored`]) with the delta's rows applied; when validation was not
/// given them (`rosterctl validate`), the delta's rows alone, `pending`.
pub struct UserRoles {
    /// Each user's place in `sets`.
    index: IdMap<u32>,
    sets: Vec<UserRoleSet>,
    /// Read from a delta `roles.csv`.
    pub(crate) delta: bool,
    /// A delta's roles without the stored ones: users' roles are known only
    /// at the sync.
    pub(crate) pending: bool,
}

impl Default for UserRoles {
    fn default() -> Self {
        UserRoles::with_capacity(1024)
    }
}

impl std::fmt::Debug for UserRoles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserRoles {{ {} users }}", self.sets.len())
    }
}

impl UserRoles {
    /// Room for about `users` users.
    pub(crate) fn with_capacity(users: usize) -> Self {
        UserRoles {
            index: IdMap::with_capacity(users),
            sets: Vec::with_capacity(users),
            delta: false,
            pending: false,
        }
    }

    /// The roles of `user`, if it has any (from `roles.csv`, or stored).
    pub(crate) fn get(&self, user: &str) -> Option<&UserRoleSet> {
        self.index
            .get(user)
            .map(|&i| &self.sets[i as usize])
            .filter(|set| !set.roles.is_empty())
    }

    /// Drops every role `drop` names; each user keeps its other roles, in
    /// order. For the rare roles rejected after they were added (a role id
    /// met twice); before the rules are checked ([`Self::mark`]).
    pub(crate) fn remove_roles(&mut self, drop: impl Fn(&RoleAssignment) -> bool) {
        for set in &mut self.sets {
            if set.roles.iter().any(&drop) {
                set.retain_then_add(|r| !drop(r), None);
            }
        }
    }

    /// Whether a delta deleted every role `user` had.
    pub(crate) fn lost_all(&self, user: &str) -> bool {
        self.index
            .get(user)
            .map(|&i| &self.sets[i as usize])
            .is_some_and(|set| set.delta_line != 0 && set.roles.is_empty())
    }

    /// How many users have a place (with roles, or all removed).
    pub(crate) fn len(&self) -> usize {
        self.sets.len()
    }

    /// Every user whose roles a delta's rows change, with its roles (none
    /// when the delta deleted them all), in no order.
    pub(crate) fn touched(&self) -> impl Iterator<Item = (&str, &UserRoleSet)> {
        self.index
            .iter()
            .map(|(user, &i)| (user, &self.sets[i as usize]))
            .filter(|(_, set)| set.delta_line != 0)
    }

    /// Every user with roles, and its roles, in no order (as [`Self::get`],
    /// none whose roles were all dropped).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &UserRoleSet)> {
        self.index
            .iter()
            .map(|(user, &i)| (user, &self.sets[i as usize]))
            .filter(|(_, set)| !set.roles.is_empty())
    }

    /// Sets what is wrong with each user's roles, as `problem` says. A user
    /// whose only role is primary (most users) breaks no rule and is not
    /// asked about; when every user is such, the ids are not walked at all.
    pub(crate) fn mark(
        &mut self,
        mut problem: impl FnMut(&str, &UserRoleSet) -> Option<RolesProblem>,
    ) {
        let asked: Vec<bool> = self.sets.iter().map(|s| !s.one_primary_role()).collect();
        if !asked.contains(&true) {
            return;
        }
        for (user, &i) in self.index.iter() {
            if asked[i as usize] {
                let set = &mut self.sets[i as usize];
                set.problem = problem(user, set);
            }
        }
    }

    /// Adds an accepted role row of `user`; `false` (and nothing added)
    /// when the users' ids outgrow 4 GiB of text.
    pub(crate) fn add(&mut self, user: &str, role: RoleAssignment) -> bool {
        match self.set_of(user) {
            Some(set) => set.add(role),
            None => return false,
        }
        true
    }

    /// The roles of `user`, made empty when it has none yet; `None` when
    /// the users' ids outgrow 4 GiB of text.
    fn set_of(&mut self, user: &str) -> Option<&mut UserRoleSet> {
        let next = self.sets.len() as u32;
        let i = match self.index.get_or_insert(user, next) {
            Ok(Some(&mut i)) => i,
            Ok(None) => {
                self.sets.push(UserRoleSet::default());
                next
            }
            Err(_) => return None,
        };
        Some(&mut self.sets[i as usize])
    }

    /// Applies a delta's role row (on `line`) to the roles of `user`: it
    /// replaces the role of its sourcedId and, when primary, the stored
    /// primary role at its org whose sourcedId the store never had (at
    /// most one primary role per org). `false` as [`Self::add`].
    pub(crate) fn apply_delta(&mut self, user: &str, role: RoleAssignment) -> bool {
        let Some(set) = self.set_of(user) else {
            return false;
        };
        set.touched_at(role.line);
        let (id, org) = (role.sourced_id.clone(), role.org_sourced_id.clone());
        let primary = role.role_type == RoleType::Primary;
        let replaced =
            |r: &RoleAssignment| r.sourced_id == id || (primary && r.is_id_less_primary_at(&org));
        set.retain_then_add(|r| !replaced(r), Some(role));
        true
    }

    /// Applies a delta's deleted role to its user's roles: the role of its
    /// sourcedId, or else the stored role it names whose sourcedId the store
    /// never had ([`DeletedRole`]), is removed. `false` (and the user's
    /// roles untouched) when the user has no such role.
    pub(crate) fn apply_deletion(&mut self, deleted: &DeletedRole) -> bool {
        let Some(&i) = self.index.get(&deleted.user) else {
            return false;
        };
        let set = &mut self.sets[i as usize];
        let by_id = |r: &RoleAssignment| r.sourced_id == deleted.sourced_id;
        let by_row = |r: &RoleAssignment| deleted.is_id_less(r);
        let gone: &dyn Fn(&RoleAssignment) -> bool = if set.roles.iter().any(by_id) {
            &by_id
        } else if set.roles.iter().any(by_row) {
            &by_row
        } else {
            return false;
        };
        set.touched_at(deleted.line);
        set.retain_then_add(|r| !gone(r), None);
        true
    }

    /// Starts `user`'s roles from its stored ones (before a delta's rows
    /// are applied). `false` as [`Self::add`].
    pub(crate) fn seed(&mut self, user: &str, roles: &[RoleAssignment]) -> bool {
        let Some(set) = self.set_of(user) else {
            return false;
        };
        roles.iter().cloned().for_each(|r| set.add(r));
        true
    }
}

#[cfg(test)]
mod tests;
