//! A OneRoster 1.2 delta `roles.csv`: its rows change the roles the store
//! holds (given by the sync as [`crate::v1p2::StoredRoles`]); the users it
//! changes but does not deliver in `users.csv` become [`RoleChange`]s.

use super::roles::{roles_to_read, DeletedRole, RolesOutcome};
use super::scan::Scanner;
use super::{files::plan_files, read_manifest, ValidationOptions};
use crate::model::*;
use crate::package::{Entry, Package};
use crate::records::{csv_reader, skip_bom, Rows};
use crate::report::{Issue, IssueCode, IssueSink, Severity};
use crate::v1p2::columns::ROLES_FILE;
use crate::v1p2::stored::with_roles;
use crate::v1p2::{RoleChange, UserRoleSet, UserRoles};
use std::path::Path;

/// The users whose stored records a sync reads before it validates the
/// package at `path` (given back as [`ValidationOptions::stored_roles`]):
/// for a OneRoster 1.2 package whose `roles.csv` is a delta, the users its
/// rows name and those its delta `users.csv` has, sorted; `None` for any
/// other package, or one that cannot be read (validation then says why).
pub fn stored_roles_wanted(path: &Path, options: &ValidationOptions) -> Option<Vec<String>> {
    let (package, _) = Package::open(path, &options.limits).ok()?;
    let mut sink = IssueSink::new(0);
    let manifest = read_manifest(&package, &mut sink)?;
    if manifest.version != crate::OneRosterVersion::V1p2 {
        return None;
    }
    let plan = plan_files(&package, &manifest, &mut sink);
    let (FileMode::Delta, roles) = roles_to_read(&plan, true, &mut sink)? else {
        return None;
    };
    let mut users = Vec::new();
    read_column(&package, &roles, "userSourcedId", &mut users)?;
    let delivered = plan
        .rostering
        .iter()
        .find_map(|(kind, mode, entry)| match entry {
            Some(entry) if *kind == EntityKind::Users && *mode == FileMode::Delta => Some(entry),
            _ => None,
        });
    if let Some(entry) = delivered {
        read_column(&package, entry, "sourcedId", &mut users)?;
    }
    users.sort_unstable();
    users.dedup();
    Some(users)
}

/// Adds the non-empty values of `column` of the file `entry` to `into`.
fn read_column(
    package: &Package,
    entry: &Entry,
    column: &str,
    into: &mut Vec<String>,
) -> Option<()> {
    let read = package.with_entry(entry, |read| {
        let (buffered, _) = skip_bom(read);
        let mut reader = csv_reader(buffered);
        let mut rows = Rows::default();
        if !reader.read(&mut rows).ok()? {
            return None;
        }
        let header = rows.get(0).record;
        let at = header
            .iter()
            .position(|name| name.trim().eq_ignore_ascii_case(column))?;
        loop {
            rows.clear();
            if !reader.read(&mut rows).ok()? {
                return Some(());
            }
            if let Some(value) = rows.get(0).record.get(at).map(str::trim) {
                if !value.is_empty() {
                    into.push(value.to_string());
                }
            }
        }
    });
    read.ok().flatten()
}

impl Scanner<'_> {
    /// The roles of the users a delta concerns: each stored user's roles
    /// (as the sync read them) with the delta's roles (`delta`) and
    /// deletions applied. Without stored roles, the delta's roles alone,
    /// marked pending (and one warning says the rest is checked at the sync).
    pub(super) fn merge_with_stored(
        &mut self,
        delta: &UserRoles,
        deleted: Vec<DeletedRole>,
    ) -> UserRoles {
        let stored = self.options.stored_roles.clone();
        let mut merged = UserRoles::with_capacity(delta.len() + deleted.len());
        merged.delta = true;
        merged.pending = stored.is_none();
        if merged.pending {
            self.sink.warn(Issue::new(
                Severity::Warning,
                ROLES_FILE,
                IssueCode::RolesCheckedAtSync,
                "roles.csv is a delta: each row is checked here, and each user's roles as the delta changes them are checked when the package is synced (the store holds the roles it changes)",
            ));
        }
        for (user, stored) in stored.iter().flat_map(|s| s.iter()) {
            merged.seed(user, &stored.roles);
        }
        for (user, set) in delta.iter() {
            for role in &set.roles {
                merged.apply_delta(user, role.clone());
            }
        }
        let mut not_found: Vec<DeletedRole> = Vec::new();
        for d in deleted {
            let found = merged.apply_deletion(&d.user, &d.sourced_id, d.org.as_deref(), d.line);
            if !found && stored.is_some() {
                not_found.push(d);
            }
        }
        if let Some(first) = not_found.iter().min_by_key(|d| d.line) {
            let n = not_found.len();
            self.sink.warn_n(
                Issue::new(
                    Severity::Warning,
                    ROLES_FILE,
                    IssueCode::RoleNotFound,
                    format!(
                        "{} not among {} roles as stored (first: `{}` of user `{}`); nothing was removed",
                        if n == 1 { "1 deleted role is".to_string() } else { format!("{n} deleted roles are") },
                        if n == 1 { "its user's" } else { "their users'" },
                        first.sourced_id,
                        first.user
                    ),
                )
                .at_line(first.line)
                .in_column("sourcedId")
                .with_value(&first.sourced_id),
                n as u64,
            );
        }
        merged
    }

    /// Once a delta `users.csv` is read (or with none): each user whose
    /// roles the delta changes and that `users.csv` does not deliver is
    /// changed as stored ([`RoleChange`]), unless it is not stored (an
    /// error), archived (not applied), has no role left or breaks a rule
    /// (an error), or its new role is one the platform does not import
    /// (skipped). Without stored roles, nothing more can be said.
    pub(super) fn check_role_changes(&mut self, outcome: &mut RolesOutcome) {
        let (Some(roles), Some(stored)) = (&self.user_roles, self.options.stored_roles.clone())
        else {
            return;
        };
        let delivered = self.indexes.get(&EntityKind::Users);
        if delivered.is_some_and(|users| users.refused.is_some()) {
            return;
        }
        let mut errors: Vec<Issue> = Vec::new();
        let mut archived: Vec<(String, u64)> = Vec::new();
        for (user, set) in roles.touched() {
            if delivered.is_some_and(|users| users.ids.get(user).is_some()) {
                continue;
            }
            let Some(stored) = stored.get(user) else {
                errors.push(role_error(
                    IssueCode::UnknownUser,
                    user,
                    set.delta_line,
                    format!("`{user}` is neither in this delta's users.csv nor stored; its roles are not imported"),
                ));
                continue;
            };
            if stored.archived {
                archived.push((user.to_string(), set.delta_line));
                continue;
            }
            if set.problem.is_some() {
                // Reported at its row by the primary-role check.
                outcome.rejected += 1;
                continue;
            }
            if set.roles.is_empty() {
                errors.push(role_error(
                    IssueCode::UserWithoutRole,
                    user,
                    set.delta_line,
                    format!("the delta deletes the last role of user `{user}`; a user keeps at least one role (to remove the user, deliver it as tobedeleted in users.csv); the user is left as stored"),
                ));
                continue;
            }
            match set.platform_role() {
                Some(role) if self.options.imported_roles.contains(role) => {
                    outcome
                        .changes
                        .push(change(user, &stored.content, role, set));
                }
                _ => outcome.skipped += 1,
            }
        }
        outcome.rejected += errors.len() as u64;
        errors.sort_by_key(|i| i.line);
        errors.into_iter().for_each(|i| self.sink.error(i));
        self.warn_of_archived(&archived);
        outcome.changes.sort_by(|a, b| a.user.cmp(&b.user));
    }

    /// One warning for the role changes of users the store has archived.
    fn warn_of_archived(&mut self, archived: &[(String, u64)]) {
        let Some((user, line)) = archived.iter().min_by_key(|(_, line)| *line) else {
            return;
        };
        let n = archived.len();
        self.sink.warn_n(
            Issue::new(
                Severity::Warning,
                ROLES_FILE,
                IssueCode::RolesNotApplied,
                format!(
                    "the roles of {} the store has archived are not changed (first: `{user}`); a role change does not bring a user back: deliver the user in users.csv",
                    if n == 1 { "1 user".to_string() } else { format!("{n} users") },
                ),
            )
            .at_line(*line)
            .in_column("userSourcedId")
            .with_value(user),
            n as u64,
        );
    }
}

/// An error at a delta's first row changing `user`'s roles.
fn role_error(code: IssueCode, user: &str, line: u64, message: String) -> Issue {
    Issue::new(Severity::Error, ROLES_FILE, code, message)
        .at_line(line)
        .in_column("userSourcedId")
        .with_value(user)
}

/// The stored user `user` (its content) with the roles `set`, whose
/// platform role is `role`.
fn change(user: &str, content: &str, role: Role, set: &UserRoleSet) -> RoleChange {
    RoleChange {
        user: user.to_string(),
        content: with_roles(content, role, set.orgs(), set.kept_roles(role)),
    }
}
