//! Pass 1's per-row work, done on the preparing threads: what a row holds
//! (its errors, quirks and state) and the references it makes, resolved
//! where they point to a file read before its own.

use super::scan::{row_sourced_id, IdEntry, IdState, KindIndex, Resolution};
use crate::idset::IdMap;
use crate::model::*;
use crate::records::Row;
use crate::report::{
    Issue, IssueCode, Severity, MAX_INDEXED_VALUE_BYTES, MAX_RECORD_BYTES, MAX_RECORD_FIELDS,
    MAX_SOURCED_ID_BYTES,
};
use crate::rows::{parse_row, RowCx};
use crate::schema::{ColumnMap, SOURCED_ID};
use rustc_hash::FxHashMap;

/// Findings whose reference ids took more than this are made anew for the
/// next row, so that thousands of kept findings stay small whatever the rows held.
const KEPT_FINDINGS_BYTES: usize = 4096;

/// How an unresolved reference counts.
#[derive(Debug, Clone, Copy)]
pub(super) enum ReferenceRule {
    /// Kept, with a warning.
    Kept,
    /// The row's own subject (a demographics row's user): a skipped user
    /// skips the row; otherwise as [`ReferenceRule::Kept`].
    Subject,
    /// An enrollment's user or class: missing from a bulk file rejects the
    /// row (with this code), skipped skips it, rejected or unknown is left
    /// for the store to resolve.
    Required(IssueCode),
}

/// One reference a row makes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reference {
    /// Specified column it is in.
    pub(super) column: usize,
    pub(super) target: EntityKind,
    pub(super) rule: ReferenceRule,
    /// Where its id lies in [`RowFindings::ids`].
    start: usize,
    end: usize,
    /// How it resolved against an earlier file; `None` for a reference to
    /// the row's own file, which only the scan in file order can resolve.
    pub(super) resolved: Option<Resolution>,
}

/// How `id` resolves against the ids of a file read in `mode`.
pub(super) fn resolve_in(mode: FileMode, ids: &IdMap<IdEntry>, id: &str) -> Resolution {
    match ids.get(id) {
        Some(entry) => Resolution::Found(*entry),
        None => absent_in(mode),
    }
}

/// How an id a file of `mode` does not have resolves: missing from a bulk
/// file; unchecked against a delta one (only the store can tell).
pub(super) fn absent_in(mode: FileMode) -> Resolution {
    match mode {
        FileMode::Bulk => Resolution::Missing,
        _ => Resolution::Unchecked,
    }
}

/// What a preparing thread examines each row of a file against.
#[derive(Clone, Copy)]
pub(super) struct FileRules<'a> {
    pub(super) kind: EntityKind,
    /// How the file is read (bulk or delta).
    pub(super) mode: FileMode,
    pub(super) map: &'a ColumnMap,
    /// The roles the tenant imports.
    pub(super) roles: RoleSet,
    /// The files read before it.
    pub(super) indexes: &'a FxHashMap<EntityKind, KindIndex>,
    /// A 1.2 package's roles, for its `users.csv`.
    pub(super) user_roles: Option<&'a crate::v1p2::UserRoles>,
    /// The version the package is read as.
    pub(super) version: crate::OneRosterVersion,
}

/// What a row's references are resolved against on a preparing thread:
/// the files read before its own (references to its own file wait for the
/// scan), through the thread's memo.
struct References<'i> {
    rules: &'i FileRules<'i>,
    memo: &'i mut ReferenceMemo,
}

/// A preparing thread's last resolution in each earlier file, for the file
/// being read: rows name the same student, school or session row after row
/// (an enrollments file sorted by student, a school's classes), and the
/// files read before do not change while this one is read.
#[derive(Default)]
pub(super) struct ReferenceMemo {
    last: Vec<(EntityKind, String, Resolution)>,
}

impl ReferenceMemo {
    /// How `id` resolves in the earlier file of `target`: remembered when it
    /// is the id this thread resolved there last, otherwise `resolve`d.
    fn resolve(
        &mut self,
        target: EntityKind,
        id: &str,
        resolve: impl FnOnce() -> Resolution,
    ) -> Resolution {
        let at = match self.last.iter().position(|(kind, _, _)| *kind == target) {
            Some(at) => {
                let (_, last, resolution) = &self.last[at];
                if last == id {
                    return *resolution;
                }
                at
            }
            None => {
                self.last
                    .push((target, String::new(), Resolution::Unchecked));
                self.last.len() - 1
            }
        };
        let resolution = resolve();
        let (_, last, remembered) = &mut self.last[at];
        last.clear();
        last.push_str(id);
        *remembered = resolution;
        resolution
    }
}

/// What pass 1 learns of a row from the row itself and the files read
/// before its own: its errors and quirks, whether it is accepted, and the
/// references it makes, resolved where they point to an earlier file. Made
/// on a preparing thread, beside the scan that resolves references to the
/// row's own file and records ids, in file order;
/// kept from row to row, so its buffers are reused.
#[derive(Default)]
pub(super) struct RowFindings {
    /// The row's problems, in the order they are reported.
    pub(super) errors: Vec<Issue>,
    pub(super) quirks: Vec<crate::rows::Quirk>,
    /// Accepted, rejected, or skipped by the import policy (a role).
    pub(super) state: IdState,
    /// The references to check, in order, and the text of their ids.
    pub(super) references: Vec<Reference>,
    ids: String,
    /// The record's sourcedId as parsed (accepted enrollments only: an
    /// unresolved reference names it).
    pub(super) sourced_id: String,
}

impl RowFindings {
    pub(super) fn id(&self, reference: &Reference) -> &str {
        &self.ids[reference.start..reference.end]
    }

    fn refer(
        &mut self,
        cx: &mut References<'_>,
        column: usize,
        target: EntityKind,
        rule: ReferenceRule,
        id: &str,
    ) {
        let indexes = cx.rules.indexes;
        let resolved = (target != cx.rules.kind).then(|| {
            cx.memo.resolve(target, id, || match indexes.get(&target) {
                Some(index) => index.resolve(id),
                None => Resolution::Unchecked,
            })
        });
        let start = self.ids.len();
        self.ids.push_str(id);
        self.references.push(Reference {
            column,
            target,
            rule,
            start,
            end: self.ids.len(),
            resolved,
        });
    }

    /// A quirk when the row has a value under a column with no header name
    /// (the first such column; the scan counts the rows).
    fn note_unnamed_value(&mut self, map: &ColumnMap, record: crate::records::Fields<'_>) {
        let value = map.unnamed.iter().find_map(|&idx| {
            let value = record.get(idx)?.trim();
            (!value.is_empty()).then_some((idx, value))
        });
        if let Some((idx, value)) = value {
            self.quirks.push((
                IssueCode::UnnamedColumnValue,
                super::scan::NO_COLUMN,
                format!(
                    "column {} has no header name, but this row has the value `{}` there; it is ignored",
                    idx + 1,
                    crate::report::escape_controls(&crate::report::truncate(value))
                ),
            ));
        }
    }

    /// Examines `row` of `file`, resolving references to earlier files
    /// through this thread's `memo`.
    pub(super) fn examine(&mut self, file: &FileRules<'_>, memo: &mut ReferenceMemo, row: &Row) {
        let FileRules {
            kind,
            mode,
            map,
            roles,
            ..
        } = *file;
        // Kept from row to row, but not at the size one long row gave them.
        if self.ids.capacity() + self.sourced_id.capacity() > KEPT_FINDINGS_BYTES {
            *self = RowFindings::default();
        }
        self.errors.clear();
        self.quirks.clear();
        self.references.clear();
        self.ids.clear();
        self.sourced_id.clear();
        let line = row.line();
        let record = row.record;
        let mut cx = RowCx::new(record, map, kind, line, true)
            .with_roles(file.user_roles)
            .in_version(file.version);
        // A row past the limits was not kept: it is rejected as a whole.
        let item = if let Some(size) = row.too_long {
            self.errors.push(
                Issue::new(
                    Severity::Error,
                    kind.file_name(),
                    IssueCode::RecordTooLong,
                    format!(
                        "the row is {size} bytes long; at most {MAX_RECORD_BYTES} bytes of field content and {MAX_RECORD_FIELDS} fields are accepted (an unclosed quote can swallow the lines after it)"
                    ),
                )
                .at_line(line),
            );
            None
        } else {
            parse_row(kind, mode, &mut cx)
        };
        let accepted = self.within_limits(kind, map, row, item.as_ref()) && item.is_some();
        self.errors.append(&mut cx.errors);
        self.quirks.append(&mut cx.quirks);
        self.note_unnamed_value(map, record);
        self.state = if accepted {
            IdState::Accepted
        } else if cx.skipped && self.errors.is_empty() {
            // A 1.2 user whose primary role the platform does not know.
            IdState::Skipped
        } else {
            IdState::Rejected
        };
        if let (true, Some(RowItem::Upsert(record))) = (accepted, &item) {
            let mut cx = References { rules: file, memo };
            if file.version == crate::OneRosterVersion::V1p2 {
                self.note_references_1p2(&mut cx, record, roles);
            } else {
                self.note_references(&mut cx, record, roles);
            }
        }
    }

    /// Checks the sizes the store depends on (an email or username as an
    /// index key, the row's width, the sourcedId's length), reporting each
    /// one over its limit; `false` when any is.
    fn within_limits(
        &mut self,
        kind: EntityKind,
        map: &ColumnMap,
        row: &Row,
        item: Option<&RowItem<'_>>,
    ) -> bool {
        let line = row.line();
        let record = row.record;
        let mut within = true;
        if let Some(RowItem::Upsert(Record::User(user))) = item {
            for (column, value) in [
                ("email", user.email.unwrap_or("")),
                ("username", user.username),
            ] {
                if value.len() > MAX_INDEXED_VALUE_BYTES {
                    self.errors.push(
                        Issue::new(
                            Severity::Error,
                            kind.file_name(),
                            IssueCode::ValueTooLong,
                            format!(
                                "the {column} is {} bytes long; at most {MAX_INDEXED_VALUE_BYTES} are accepted",
                                value.len()
                            ),
                        )
                        .at_line(line)
                        .in_column(column)
                        .with_value(value),
                    );
                    within = false;
                }
            }
        }
        let sourced_id = row_sourced_id(map, row);
        if record.len() > map.width {
            // The sourcedId, where it can be read, says which record it is.
            let which = match sourced_id {
                "" => String::new(),
                id if id.len() > MAX_SOURCED_ID_BYTES => String::new(),
                id => format!(" (sourcedId `{}`)", crate::report::escape_controls(id)),
            };
            self.errors.push(
                Issue::new(
                    Severity::Error,
                    kind.file_name(),
                    IssueCode::FieldCount,
                    format!(
                        "the row{which} has {} fields but the header has {}; the columns would be misaligned",
                        record.len(),
                        map.width
                    ),
                )
                .at_line(line),
            );
            within = false;
        }
        if sourced_id.len() > MAX_SOURCED_ID_BYTES {
            self.errors.push(
                Issue::new(
                    Severity::Error,
                    kind.file_name(),
                    IssueCode::IdTooLong,
                    format!(
                        "the sourcedId is {} bytes long; at most {MAX_SOURCED_ID_BYTES} are accepted",
                        sourced_id.len()
                    ),
                )
                .at_line(line)
                .in_column("sourcedId")
                .with_value(sourced_id),
            );
            within = false;
        }
        within
    }

    /// [`Self::note_references`] for a 1.2 package: its users' columns are
    /// placed otherwise, and their orgs were checked with their roles.
    fn note_references_1p2(
        &mut self,
        cx: &mut References<'_>,
        record: &Record<'_>,
        roles: RoleSet,
    ) {
        let Record::User(user) = record else {
            return self.note_references(cx, record, roles);
        };
        // A user whose roles a delta changes is judged at the sync, when
        // validation is not given the stored roles (`pending`).
        let pending = cx.rules.user_roles.is_some_and(|r| r.pending);
        if !pending && !roles.contains(user.role) {
            self.state = IdState::Skipped;
            return;
        }
        if let Some(org) = user.primary_org_sourced_id {
            self.refer(cx, 21, EntityKind::Orgs, ReferenceRule::Kept, org);
        }
        for agent in user.agent_sourced_ids.iter() {
            self.refer(cx, 13, EntityKind::Users, ReferenceRule::Kept, agent);
        }
    }

    /// The import policy (roles) and the references of an accepted record,
    /// in the order they are checked.
    fn note_references(&mut self, cx: &mut References<'_>, record: &Record<'_>, roles: RoleSet) {
        use ReferenceRule::{Kept, Required, Subject};
        match record {
            Record::Org(org) => {
                if let Some(parent) = org.parent_sourced_id {
                    self.refer(cx, 6, EntityKind::Orgs, Kept, parent);
                }
            }
            Record::AcademicSession(session) => {
                if let Some(parent) = session.parent_sourced_id {
                    self.refer(cx, 7, EntityKind::AcademicSessions, Kept, parent);
                }
            }
            Record::Course(course) => {
                if let Some(year) = course.school_year_sourced_id {
                    self.refer(cx, 3, EntityKind::AcademicSessions, Kept, year);
                }
                self.refer(cx, 7, EntityKind::Orgs, Kept, course.org_sourced_id);
            }
            Record::Class(class) => {
                self.refer(cx, 5, EntityKind::Courses, Kept, class.course_sourced_id);
                self.refer(cx, 9, EntityKind::Orgs, Kept, class.school_sourced_id);
                for term in class.term_sourced_ids.iter() {
                    self.refer(cx, 10, EntityKind::AcademicSessions, Kept, term);
                }
            }
            Record::User(user) => {
                if !roles.contains(user.role) {
                    self.state = IdState::Skipped;
                    return;
                }
                for org in user.org_sourced_ids.iter() {
                    self.refer(cx, 4, EntityKind::Orgs, Kept, org);
                }
                for agent in user.agent_sourced_ids.iter() {
                    self.refer(cx, 15, EntityKind::Users, Kept, agent);
                }
            }
            Record::Enrollment(e) => {
                self.sourced_id.push_str(e.common.sourced_id);
                let user = Required(IssueCode::UnknownUser);
                self.refer(cx, 5, EntityKind::Users, user, e.user_sourced_id);
                let class = Required(IssueCode::UnknownClass);
                self.refer(cx, 3, EntityKind::Classes, class, e.class_sourced_id);
                self.refer(cx, 4, EntityKind::Orgs, Kept, e.school_sourced_id);
            }
            Record::Demographics(d) => {
                self.refer(
                    cx,
                    SOURCED_ID,
                    EntityKind::Users,
                    Subject,
                    d.common.sourced_id,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memo answers for the id it resolved last in each file, and asks
    /// again for any other id, in that file or another.
    #[test]
    fn the_reference_memo_answers_only_for_the_last_id_of_each_file() {
        let mut memo = ReferenceMemo::default();
        let mut asked = Vec::new();
        let mut resolve = |memo: &mut ReferenceMemo, target, id: &str, answer| {
            memo.resolve(target, id, || {
                asked.push((target, id.to_string()));
                answer
            })
        };
        let entry = |state| IdEntry {
            state,
            ..IdEntry::default()
        };
        let found = Resolution::Found(entry(IdState::Accepted));
        let skipped = Resolution::Found(entry(IdState::Skipped));
        use EntityKind::{Classes, Users};
        assert_eq!(resolve(&mut memo, Users, "u1", found), found);
        // Remembered: the answer given is not asked for.
        assert_eq!(resolve(&mut memo, Users, "u1", Resolution::Missing), found);
        // Another file, the same id: asked.
        assert!(matches!(
            resolve(&mut memo, Classes, "u1", Resolution::Missing),
            Resolution::Missing
        ));
        assert_eq!(resolve(&mut memo, Users, "u1", Resolution::Missing), found);
        // Another id: asked, and then remembered in its place.
        assert_eq!(resolve(&mut memo, Users, "u10", skipped), skipped);
        assert!(matches!(
            resolve(&mut memo, Users, "u1", Resolution::Unchecked),
            Resolution::Unchecked
        ));
        assert!(matches!(
            resolve(&mut memo, Users, "u1", found),
            Resolution::Unchecked
        ));
        assert_eq!(
            asked,
            [
                (Users, "u1".to_string()),
                (Classes, "u1".to_string()),
                (Users, "u10".to_string()),
                (Users, "u1".to_string()),
            ]
        );
    }
}
