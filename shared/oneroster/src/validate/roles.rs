//! A OneRoster 1.2 package's `roles.csv`, read before `users.csv` (a user's
//! record is made with its roles), its rules checked (exactly one primary
//! role per user and org; roles name users and orgs that exist), and its
//! `userProfiles.csv`, only counted: its credentials are never read.

use super::files::{count_rows, summarise_counted, FilePlan};
use super::scan::{IdEntry, IdState, Resolution, Scanner};
use crate::idset::IdMap;
use crate::model::*;
use crate::package::{read_failure, Entry};
use crate::records::{csv_reader, for_each_record_prepared, skip_bom, Row, Threads};
use crate::report::{Issue, IssueCode, IssueSink, Severity, MAX_RECORD_BYTES};
use crate::rows::RowCx;
use crate::schema::ColumnMap;
use crate::v1p2::columns::{ROLES, ROLES_FILE, USER_PROFILES_FILE};
use crate::v1p2::roles::{parse_role, RoleRow};
use crate::v1p2::{DeletedRole, RoleAssignment, RolesProblem, UserRoles};
use std::collections::HashSet;
use std::io::Read;

/// What reading `roles.csv` found, for the report.
#[derive(Debug, Default)]
pub(super) struct RolesOutcome {
    pub(super) mode: Option<FileMode>,
    pub(super) rows: u64,
    pub(super) rejected: u64,
    /// Users of a delta whose new roles the platform does not import: their
    /// stored records are left as they are.
    pub(super) skipped: u64,
    /// Stored users whose roles a delta changes without delivering them.
    pub(super) changes: Vec<crate::v1p2::RoleChange>,
}

/// The `roles.csv` to read before `users.csv`, and its mode. A 1.2 package
/// delivering users must have it; in bulk it gives each user all its roles.
/// As delta it changes stored users' roles, beside a delta `users.csv` or
/// none (a bulk `users.csv` is read with a bulk `roles.csv`). Anything else
/// is fatal.
pub(super) fn roles_to_read(
    plan: &FilePlan,
    v1p2: bool,
    sink: &mut IssueSink,
) -> Option<(FileMode, Entry)> {
    if !v1p2 {
        return None;
    }
    let users = users_file(plan).map(|(mode, _)| mode);
    let why = match (&plan.roles, users) {
        (Some((FileMode::Bulk, Some(entry))), Some(_)) => {
            return Some((FileMode::Bulk, entry.clone()))
        }
        (Some((FileMode::Delta, Some(_))), Some(FileMode::Bulk)) => {
            "roles.csv is delivered as delta beside a bulk users.csv"
        }
        (Some((FileMode::Delta, Some(entry))), _) => return Some((FileMode::Delta, entry.clone())),
        // Declared but missing: already fatal (declared_file_missing).
        (Some((FileMode::Bulk | FileMode::Delta, None)), _) => return None,
        (_, None) => return None,
        (Some((FileMode::Absent, _)) | None, Some(_)) => "the package has no roles.csv",
    };
    sink.fatal(Issue::new(
        Severity::Fatal,
        ROLES_FILE,
        IssueCode::RolesFileMissing,
        format!("{why}; a OneRoster 1.2 users.csv is read with a roles.csv giving each user its roles and orgs: in bulk (complete), or as delta beside a delta users.csv"),
    ));
    None
}

/// The package's `users.csv` and how it is delivered (bulk or delta);
/// `None` when it delivers none.
pub(super) fn users_file(plan: &FilePlan) -> Option<(FileMode, &Entry)> {
    plan.rostering
        .iter()
        .find_map(|(kind, mode, entry)| match entry {
            Some(entry) if *kind == EntityKind::Users && *mode != FileMode::Absent => {
                Some((*mode, entry))
            }
            _ => None,
        })
}

/// `n` and the noun, singular or plural.
pub(super) fn count_of(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A 1.2 package's bulk `roles.csv` when the package delivers no `users.csv`.
pub(super) fn roles_without_users(plan: &FilePlan, v1p2: bool) -> Option<(FileMode, Entry)> {
    match &plan.roles {
        Some((FileMode::Bulk, Some(entry))) if v1p2 && users_file(plan).is_none() => {
            Some((FileMode::Bulk, entry.clone()))
        }
        _ => None,
    }
}

/// Counts the rows of `roles` (see [`roles_without_users`]): a user's roles
/// are applied with its row of `users.csv`, so none of them is; one warning
/// says so.
pub(super) fn count_roles_without_users(
    report: &mut crate::ValidationReport,
    package: &crate::package::Package,
    roles: Option<(FileMode, Entry)>,
    sink: &mut IssueSink,
) {
    let Some((mode, entry)) = roles else {
        return;
    };
    let rows = count_rows(package, ROLES_FILE, &entry, sink);
    sink.warn_n(
        Issue::new(
            Severity::Warning,
            ROLES_FILE,
            IssueCode::RolesNotApplied,
            format!(
                "roles.csv has {} but the package delivers no users.csv; a OneRoster 1.2 user's roles are applied with its users.csv row, so {} (if a user's roles changed, deliver the user)",
                count_of(rows, "row", "rows"),
                if rows == 1 { "it is not applied" } else { "they are not applied" }
            ),
        ),
        rows,
    );
    summarise_counted(report, ROLES_FILE, mode, rows, sink);
}

/// Counts a 1.2 package's `userProfiles.csv`: its rows, never its fields.
pub(super) fn count_user_profiles(
    report: &mut crate::ValidationReport,
    package: &crate::package::Package,
    plan: Option<(FileMode, Option<Entry>)>,
    sink: &mut IssueSink,
) {
    let Some((mode, entry)) = plan else {
        return;
    };
    let rows = match (&entry, mode) {
        (Some(entry), FileMode::Bulk | FileMode::Delta) => {
            count_rows(package, USER_PROFILES_FILE, entry, sink)
        }
        _ => 0,
    };
    if entry.is_some() {
        sink.warn(Issue::new(
            Severity::Warning,
            USER_PROFILES_FILE,
            IssueCode::NotImported,
            format!("userProfiles.csv ({rows} rows) is counted, not imported; its credentials are never read"),
        ));
    }
    summarise_counted(report, USER_PROFILES_FILE, mode, rows, sink);
}

impl Scanner<'_> {
    /// Reads `roles.csv` (in `mode`) into the scanner's user roles,
    /// checking each row and then the primary-role rule. A delta's rows are
    /// applied to the stored roles of the users they name (see
    /// [`Self::merge_with_stored`]).
    pub(super) fn scan_roles(&mut self, mode: FileMode, entry: &Entry) -> RolesOutcome {
        // Sized as a file's ids are: about one user for each 100 bytes.
        let mut roles = UserRoles::with_capacity(super::scan::id_table_size(entry.size));
        let mut outcome = RolesOutcome {
            mode: Some(mode),
            ..RolesOutcome::default()
        };
        let mut deleted = Vec::new();
        let package = self.package;
        let result = package.with_entry(entry, |read| {
            let into = (&mut roles, &mut deleted, &mut outcome);
            self.read_roles(read, entry.size, mode, into);
        });
        if let Err(e) = result {
            self.sink.fatal(read_failure(ROLES_FILE, &e));
        }
        if mode == FileMode::Delta {
            roles = self.merge_with_stored(&roles, deleted);
        }
        check_primaries(&mut roles, self.sink);
        self.user_roles = Some(roles);
        outcome
    }

    fn read_roles(
        &mut self,
        read: &mut (dyn Read + Send),
        size: u64,
        mode: FileMode,
        (roles, deleted, outcome): (&mut UserRoles, &mut Vec<DeletedRole>, &mut RolesOutcome),
    ) {
        let (buffered, peek) = skip_bom(read);
        if !self.check_encoding(ROLES_FILE, &peek) {
            return;
        }
        let mut reader = csv_reader(buffered);
        let Some(map) = self.read_header(ROLES_FILE, ROLES, "1.2", &mut reader) else {
            return;
        };
        // The role ids met, in one text (not one allocation an id).
        let mut ids = RoleIds {
            seen: IdMap::with_capacity(super::scan::id_table_size(size)),
            dropped: HashSet::new(),
        };
        let result = for_each_record_prepared(
            &mut reader,
            Threads::for_file(size),
            |row, prepared: &mut PreparedRole, _: &mut ()| prepared.prepare(&map, row, mode),
            |row, prepared| {
                outcome.rows += 1;
                let id = super::scan::row_sourced_id(&map, row);
                if !self.take_role(id, row.line(), prepared, &mut ids, roles, outcome) {
                    outcome.rejected += 1;
                } else if let Some(deletion) = prepared.deleted.take() {
                    deleted.push(deletion);
                }
                true
            },
        );
        if let Err(e) = result {
            self.csv_fatal(ROLES_FILE, &e);
        }
        if !ids.dropped.is_empty() {
            roles.remove_roles(|role| ids.dropped.contains(&role.sourced_id));
            deleted.retain(|d| !ids.dropped.contains(&d.sourced_id));
        }
    }

    /// Reports what `prepared` (the row on `line`, whose sourcedId is `id`)
    /// found and adds its role to its user's roles unless its id was met
    /// before; `false` when the row is rejected.
    fn take_role(
        &mut self,
        id: &str,
        line: u64,
        prepared: &mut PreparedRole,
        ids: &mut RoleIds,
        roles: &mut UserRoles,
        outcome: &mut RolesOutcome,
    ) -> bool {
        prepared.errors.drain(..).for_each(|e| self.sink.error(e));
        prepared.warnings.drain(..).for_each(|w| self.sink.warn(w));
        if !id.is_empty() && !self.record_role_id(id, line, prepared.accepted, ids, outcome) {
            return false;
        }
        let Some(role) = prepared.role.take() else {
            return prepared.accepted;
        };
        let org = role.org_sourced_id.as_str();
        if let Some(Resolution::Missing) =
            self.indexes.get(&EntityKind::Orgs).map(|i| i.resolve(org))
        {
            self.sink.warn(
                Issue::new(
                    Severity::Warning,
                    ROLES_FILE,
                    IssueCode::UnresolvedReference,
                    format!("`{org}` is not in orgs.csv; the reference is kept"),
                )
                .at_line(line)
                .in_column("orgSourcedId")
                .with_value(org),
            );
        }
        if !roles.add(&prepared.user, role) {
            self.sink.error(
                Issue::new(
                    Severity::Error,
                    ROLES_FILE,
                    IssueCode::RecordTooLong,
                    "the users' ids in roles.csv are over 4 GiB of text; the role is not imported",
                )
                .at_line(line),
            );
            return false;
        }
        true
    }

    /// Records the role id `id` of the row on `line`; `false` when it was
    /// met before. As in 1.1's files, every copy of an id is then rejected,
    /// a deletion too: the first copy is reported (and, when it was accepted,
    /// counted as rejected and its role dropped) when the second is met.
    fn record_role_id(
        &mut self,
        id: &str,
        line: u64,
        accepted: bool,
        ids: &mut RoleIds,
        outcome: &mut RolesOutcome,
    ) -> bool {
        let entry = IdEntry {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            state: if accepted {
                IdState::Accepted
            } else {
                IdState::Rejected
            },
            cause: None,
        };
        let first = match ids.seen.get_or_insert(id, entry) {
            Ok(Some(first)) => first,
            // Ids beyond 4 GiB of text (far past any archive's limits) go unchecked.
            Ok(None) | Err(_) => return true,
        };
        let first_line = u64::from(first.line);
        let copy = |at, other| super::scan::duplicate_copy(ROLES_FILE, id, at, other);
        // In line order: the first copy is named when the second is met.
        if first.state != IdState::Duplicate {
            self.sink.error(copy(first_line, line));
            if first.state == IdState::Accepted {
                outcome.rejected += 1;
                ids.dropped.insert(id.to_string());
            }
            first.state = IdState::Duplicate;
        }
        self.sink.error(copy(line, first_line));
        false
    }

    /// Once `users.csv` is read: each role of a user a bulk `users.csv`
    /// does not have is an error; the roles (of a bulk `roles.csv`) of users
    /// a delta does not deliver are not applied, and one warning counts
    /// them. A delta `roles.csv` is [`Self::check_role_changes`]'.
    pub(super) fn check_role_users(&mut self, outcome: &mut RolesOutcome) {
        if self.user_roles.as_ref().is_some_and(|r| r.delta) {
            return self.check_role_changes(outcome);
        }
        let (Some(roles), Some(users)) = (&self.user_roles, self.indexes.get(&EntityKind::Users))
        else {
            return;
        };
        if users.refused.is_some() {
            return;
        }
        if users.mode == FileMode::Delta {
            let undelivered = roles
                .iter()
                .filter(|(user, _)| users.ids.get(user).is_none());
            if let Some((issue, roles)) = roles_not_applied(undelivered) {
                self.sink.warn_n(issue, roles);
            }
            return;
        }
        let mut issues: Vec<Issue> = Vec::new();
        for (user, set) in roles.iter() {
            if users.ids.get(user).is_some() {
                continue;
            }
            for role in &set.roles {
                issues.push(
                    Issue::new(
                        Severity::Error,
                        ROLES_FILE,
                        IssueCode::UnknownUser,
                        format!("`{user}` is not in users.csv, which is a complete (bulk) file; the role is not imported"),
                    )
                    .at_line(role.line)
                    .in_column("userSourcedId")
                    .with_value(user),
                );
            }
        }
        issues.sort_by_key(|i| i.line);
        outcome.rejected += issues.len() as u64;
        issues.into_iter().for_each(|i| self.sink.error(i));
    }
}

/// One warning for the roles of users a delta does not deliver, at the
/// first of them, and how many roles they are; `None` when there are none.
fn roles_not_applied<'r>(
    undelivered: impl Iterator<Item = (&'r str, &'r crate::v1p2::UserRoleSet)>,
) -> Option<(Issue, u64)> {
    let (mut count, mut first) = (0u64, None::<(u64, &str)>);
    for (user, set) in undelivered {
        count += set.roles.len() as u64;
        let line = set.roles.iter().map(|r| r.line).min().unwrap_or(0);
        if first.is_none_or(|(at, _)| line < at) {
            first = Some((line, user));
        }
    }
    let (line, user) = first?;
    let issue = Issue::new(
        Severity::Warning,
        ROLES_FILE,
        IssueCode::RolesNotApplied,
        format!(
            "{} of users this delta's users.csv does not deliver (first: `{user}`); a OneRoster 1.2 user's roles are applied with its users.csv row, so {} (expected when roles.csv is complete; if a user's roles changed, deliver the user)",
            count_of(count, "role is", "roles are"),
            if count == 1 { "it is not applied" } else { "they are not applied" }
        ),
    )
    .at_line(line)
    .in_column("userSourcedId")
    .with_value(user);
    Some((issue, count))
}

/// Exactly one primary role per user and org: each user breaking the rule
/// gets an error at the row that breaks it, and its roles are marked unusable.
/// In a delta, only the users its rows change are checked, a stored role
/// (line 0) is told as such and the finding is at the user's first row; a
/// missing primary role is not judged while the stored roles are unknown.
fn check_primaries(roles: &mut UserRoles, sink: &mut IssueSink) {
    let mut issues: Vec<Issue> = Vec::new();
    let (delta, pending) = (roles.delta, roles.pending);
    roles.mark(|user, set| {
        if delta && set.delta_line == 0 {
            return None;
        }
        let mut first: Option<RolesProblem> = None;
        // Each org once, in file order, by whole ids (never `orgs()` split).
        let mut rows: Vec<&RoleAssignment> = set.roles.iter().collect();
        rows.sort_unstable_by_key(|r| r.line);
        for (n, role) in rows.iter().enumerate() {
            let org = role.org_sourced_id.as_str();
            if rows[..n].iter().any(|earlier| earlier.org_sourced_id == org) {
                continue;
            }
            // `role` is the user's first role at the org.
            let mut primaries = rows
                .iter()
                .filter(|r| r.org_sourced_id == org && r.role_type == RoleType::Primary);
            // The row the finding is at, whose roleType it names.
            let stored = match delta && set.has_stored_role() {
                true => " (its roles as stored, with this delta's changes)",
                false => "",
            };
            let (code, at, message) = match (primaries.next(), primaries.next()) {
                (Some(_), None) => continue,
                (None, _) if pending => continue,
                (None, _) => (
                    IssueCode::NoPrimaryRole,
                    role,
                    format!("user `{user}` has roles at org `{org}` but none is primary; exactly one must be{stored}"),
                ),
                (Some(one), Some(two)) => (
                    IssueCode::MultiplePrimaryRoles,
                    two,
                    format!(
                        "user `{user}` has a second primary role at org `{org}` (the first {}); exactly one must be{stored}",
                        match one.line {
                            0 => "is stored from an earlier delivery".to_string(),
                            line => format!("is at line {line}"),
                        }
                    ),
                ),
            };
            // A stored role is no row of this package: the finding is at
            // the user's first row of the delta, on its user.
            let (line, column, value) = match at.line {
                0 => (set.delta_line, "userSourcedId", user),
                line => (line, "roleType", at.role_type.as_str()),
            };
            issues.push(
                Issue::new(Severity::Error, ROLES_FILE, code, message)
                    .at_line(line)
                    .in_column(column)
                    .with_value(value),
            );
            if first.is_none_or(|p| line < p.line) {
                first = Some(RolesProblem { line, code });
            }
        }
        first
    });
    issues.sort_by_key(|i| i.line);
    issues.into_iter().for_each(|i| sink.error(i));
}

/// The role ids of `roles.csv` met so far.
struct RoleIds {
    seen: IdMap<IdEntry>,
    /// Ids met twice whose first copy was accepted: their roles are dropped
    /// once the file is read.
    dropped: HashSet<String>,
}

/// One row of `roles.csv` parsed on a preparing thread (see
/// [`for_each_record_prepared`]): what the scanner takes from it, in order.
#[derive(Default)]
struct PreparedRole {
    /// The role of an accepted, active row.
    role: Option<RoleAssignment>,
    /// Its user (a buffer kept from row to row).
    user: String,
    /// An accepted deletion of a delta.
    deleted: Option<DeletedRole>,
    /// Accepted: an active role, or a deletion.
    accepted: bool,
    errors: Vec<Issue>,
    warnings: Vec<Issue>,
}

impl PreparedRole {
    /// Parses `row` (a row of the file whose header is `map`, in `mode`).
    fn prepare(&mut self, map: &ColumnMap, row: &Row<'_>, mode: FileMode) {
        self.role = None;
        self.deleted = None;
        self.accepted = false;
        let line = row.line();
        let error = |code, message: String| {
            Issue::new(Severity::Error, ROLES_FILE, code, message).at_line(line)
        };
        if let Some(size) = row.too_long {
            self.errors.push(error(
                IssueCode::RecordTooLong,
                format!(
                    "the row is {size} bytes long; at most {MAX_RECORD_BYTES} bytes are accepted"
                ),
            ));
            return;
        }
        if row.record.len() > map.width {
            self.errors.push(error(
                IssueCode::FieldCount,
                format!(
                    "the row has {} fields but the header has {}; the columns would be misaligned",
                    row.record.len(),
                    map.width
                ),
            ));
            return;
        }
        let mut cx = RowCx::for_file(row.record, map, ROLES_FILE, line, true);
        let parsed = parse_role(&mut cx, mode);
        self.errors.append(&mut cx.errors);
        for (code, column, message) in cx.quirks.drain(..) {
            self.warnings.push(
                Issue::new(Severity::Warning, ROLES_FILE, code, message)
                    .at_line(line)
                    .in_column(map.name(column)),
            );
        }
        self.accepted = parsed.is_some();
        match parsed {
            Some(RoleRow::Active { user, role }) => {
                self.user.clear();
                self.user.push_str(user);
                self.role = Some(role);
            }
            Some(RoleRow::Deleted(deleted)) => self.deleted = deleted,
            None => {}
        }
    }
}
