//! A OneRoster 1.2 delta `roles.csv`: its rows change the roles the store
//! holds (given by the sync as [`crate::v1p2::StoredRoles`]); the users it
//! changes but does not deliver in `users.csv` become [`RoleChange`]s.

use super::roles::{count_of, RolesOutcome};
use super::scan::Scanner;
use crate::model::*;
use crate::report::{Issue, IssueCode, Severity};
use crate::v1p2::columns::ROLES_FILE;
use crate::v1p2::stored::with_roles;
use crate::v1p2::stored::StoredUser;
use crate::v1p2::{DeletedRole, RoleChange, UserRoleSet, UserRoles};

impl Scanner<'_> {
    /// The roles of the users a delta concerns: each stored user's roles
    /// (as the sync read them) with the delta's deletions, then its roles
    /// (`delta`), applied. Without stored roles, the delta's roles alone,
    /// marked pending (and one warning says the rest is checked at the sync).
    pub(super) fn merge_with_stored(
        &mut self,
        delta: &UserRoles,
        deleted: Vec<DeletedRole>,
    ) -> UserRoles {
        let stored = self.options.stored_roles.clone();
        let seeded = stored.as_ref().map_or(0, |s| s.len());
        let mut merged = UserRoles::with_capacity(seeded + delta.len() + deleted.len());
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
        // Ids past 4 GiB of text are reported where the delta was read.
        for (user, stored) in stored.iter().flat_map(|s| s.iter()) {
            merged.seed(user, &stored.roles);
        }
        // Deletions first: a delta replacing a role under a new sourcedId
        // deletes the old one and adds the new.
        let mut not_found: Vec<DeletedRole> = Vec::new();
        for d in deleted {
            if !merged.apply_deletion(&d) && stored.is_some() {
                not_found.push(d);
            }
        }
        for (user, set) in delta.iter() {
            for role in &set.roles {
                merged.apply_delta(user, role.clone());
            }
        }
        self.warn_of_not_found(&not_found);
        merged
    }

    /// One warning for the deleted roles their users do not have.
    fn warn_of_not_found(&mut self, not_found: &[DeletedRole]) {
        let Some(first) = not_found.iter().min_by_key(|d| d.line) else {
            return;
        };
        let n = not_found.len();
        self.sink.warn_n(
            Issue::new(
                Severity::Warning,
                ROLES_FILE,
                IssueCode::RoleNotFound,
                format!(
                    "{} {} not among {} roles as stored (first: `{}` of user `{}`); nothing was removed",
                    count_of(n as u64, "deleted role", "deleted roles"),
                    if n == 1 { "is" } else { "are" },
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

    /// Once a delta `users.csv` is read (or with none): each user whose
    /// roles the delta changes and that `users.csv` does not deliver is
    /// changed as stored ([`RoleChange`]), unless it is not stored (an
    /// error), archived (not applied), has no role left or breaks a rule
    /// (an error), or its new role is one the platform does not import
    /// (skipped); its delta rows are counted so. Without stored roles,
    /// nothing more can be said.
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
        let mut archived: Vec<(String, u64, u32)> = Vec::new();
        for (user, set) in roles.touched() {
            if delivered.is_some_and(|users| users.ids.get(user).is_some()) {
                continue;
            }
            let rows = u64::from(set.delta_rows);
            let imported = self.options.imported_roles;
            match fate(user, set, stored.get(user), imported) {
                Fate::Change(change) => outcome.changes.push(change),
                Fate::Refused(issue) => {
                    outcome.rejected += rows;
                    errors.extend(issue);
                }
                Fate::Skipped => outcome.skipped += rows,
                Fate::Archived => {
                    outcome.skipped += rows;
                    archived.push((user.to_string(), set.delta_line, set.delta_rows));
                }
            }
        }
        errors.sort_by_key(|i| i.line);
        errors.into_iter().for_each(|i| self.sink.error(i));
        self.warn_of_archived(&archived);
        outcome.changes.sort_by(|a, b| a.user.cmp(&b.user));
    }

    /// One warning for the role rows of users the store has archived.
    fn warn_of_archived(&mut self, archived: &[(String, u64, u32)]) {
        let Some((user, line, _)) = archived.iter().min_by_key(|(_, line, _)| *line) else {
            return;
        };
        let rows: u64 = archived.iter().map(|(_, _, rows)| u64::from(*rows)).sum();
        self.sink.warn_n(
            Issue::new(
                Severity::Warning,
                ROLES_FILE,
                IssueCode::RolesNotApplied,
                format!(
                    "{} of users the store has archived {} not applied (first: `{user}`); a role change does not bring a user back: deliver the user in users.csv",
                    count_of(rows, "role row", "role rows"),
                    if rows == 1 { "is" } else { "are" },
                ),
            )
            .at_line(*line)
            .in_column("userSourcedId")
            .with_value(user),
            rows,
        );
    }
}

/// What becomes of a user whose roles a delta changes without its row.
enum Fate {
    /// Its new roles are written.
    Change(RoleChange),
    /// Refused: its rows rejected, with this error (none: reported already).
    Refused(Option<Issue>),
    /// Its new role is not imported: left as stored.
    Skipped,
    /// Archived: left as stored (a role change does not bring it back).
    Archived,
}

/// The fate of `user`, whose roles as changed are `set` and whose stored
/// record is `stored`, for a tenant importing `imported`.
fn fate(user: &str, set: &UserRoleSet, stored: Option<&StoredUser>, imported: RoleSet) -> Fate {
    let refused =
        |code, message| Fate::Refused(Some(role_error(code, user, set.delta_line, message)));
    let Some(stored) = stored else {
        return refused(
            IssueCode::UnknownUser,
            format!("user `{user}` is not in this package's users.csv, and the store has no record of it from the district (a user made at sign-in is none); its roles are not imported"),
        );
    };
    if set.problem.is_some() {
        // Reported at its row by the primary-role check.
        return Fate::Refused(None);
    }
    if stored.archived {
        return Fate::Archived;
    }
    let Some(content) = stored.content.as_deref() else {
        // Its users.csv row was counted, but not read with an id.
        return refused(
            IssueCode::UnknownUser,
            format!("user `{user}`'s row of users.csv could not be read (see its error); its roles are not changed"),
        );
    };
    if set.roles.is_empty() {
        return refused(
            IssueCode::UserWithoutRole,
            format!("the delta deletes the last role of user `{user}`; a user keeps at least one role (to remove the user, deliver it as tobedeleted in users.csv); the user is left as stored"),
        );
    }
    match set.platform_role() {
        Some(role) if imported.contains(role) => Fate::Change(change(user, content, role, set)),
        _ => Fate::Skipped,
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
