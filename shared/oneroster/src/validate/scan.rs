//! Pass 1: every row of every file checked, in dependency order, keeping only
//! identifiers (accepted, rejected, skipped) and the references the store must resolve.

use super::types::*;
use crate::idset::IdMap;
use crate::model::*;
use crate::package::{Entry, Package};
use crate::records::{
    csv_reader, for_each_record_prepared, preparing_threads, skip_bom, RecordError, Row, Rows,
};
use crate::report::{
    Issue, IssueCode, IssueSink, Severity, MAX_INDEXED_VALUE_BYTES, MAX_RECORD_BYTES,
    MAX_RECORD_FIELDS, MAX_SOURCED_ID_BYTES,
};
use crate::rows::{parse_row, RowCx};
use crate::schema::{ColumnMap, SOURCED_ID};
use rustc_hash::{FxHashMap, FxHashSet};
use std::io::Read;

/// A row's sourcedId as the scan records it: trimmed, empty when the file
/// has no such column or the row no such field.
fn row_sourced_id<'r>(map: &ColumnMap, row: &'r Row) -> &'r str {
    map.position[SOURCED_ID]
        .and_then(|p| row.record.get(p))
        .map(str::trim)
        .unwrap_or("")
}

/// What pass 1 knows about one sourcedId of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum IdState {
    Accepted,
    #[default]
    Rejected,
    Skipped,
    /// Seen more than once: every copy rejected.
    Duplicate,
}

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct IdEntry {
    /// First line of the id (saturates past 4 billion lines).
    pub(super) line: u32,
    pub(super) state: IdState,
}

pub(super) struct KindIndex {
    pub(super) mode: FileMode,
    pub(super) ids: IdMap<IdEntry>,
}

/// How a reference resolved against the package.
#[derive(Debug, Clone, Copy)]
pub(super) enum Resolution {
    Found(IdState),
    /// Not in a bulk file of the package: it does not exist.
    Missing,
    /// The target file is delta or absent: only the store can tell.
    Unchecked,
}

/// One aggregated quirk of the file being scanned.
pub(super) struct QuirkCount {
    pub(super) code: IssueCode,
    pub(super) column: usize,
    pub(super) count: u64,
    pub(super) first: Issue,
}

pub(super) struct Scanner<'p> {
    pub(super) package: &'p Package,
    pub(super) options: &'p ValidationOptions,
    pub(super) sink: &'p mut IssueSink,
    pub(super) indexes: FxHashMap<EntityKind, KindIndex>,
    pub(super) deferred: Vec<DeferredReference>,
}

/// Pass-1 state of the file being scanned.
pub(super) struct FileScan {
    pub(super) kind: EntityKind,
    pub(super) mode: FileMode,
    pub(super) ids: IdMap<IdEntry>,
    pub(super) outcome: FileOutcome,
    pub(super) quirks: Vec<QuirkCount>,
    /// Same-file references not yet resolvable when seen: (line, column, id).
    pub(super) pending: Vec<(u64, usize, Box<str>)>,
}

impl FileScan {
    fn quirk(
        &mut self,
        code: IssueCode,
        column: usize,
        line: u64,
        message: String,
        map: &ColumnMap,
    ) {
        if let Some(q) = self
            .quirks
            .iter_mut()
            .find(|q| q.code == code && q.column == column)
        {
            q.count += 1;
            return;
        }
        let mut first =
            Issue::new(Severity::Warning, self.kind.file_name(), code, message).at_line(line);
        if column != NO_COLUMN {
            first = first.in_column(map.name(column));
        }
        self.quirks.push(QuirkCount {
            code,
            column,
            count: 1,
            first,
        });
    }
}

pub(super) const NO_COLUMN: usize = usize::MAX;

/// The most ids a file's table is sized for before its rows are seen (about 8 MB).
const ID_TABLE_PRESIZE: u64 = 256 * 1024;

impl Scanner<'_> {
    pub(super) fn scan(&mut self, kind: EntityKind, mode: FileMode, entry: Entry) -> FileOutcome {
        let mut scan = FileScan {
            kind,
            mode,
            // Rows are rarely shorter than 100 bytes: size the table roughly from
            // the file, but only so far; past that it grows with the ids it
            // meets, so one huge field does not reserve memory.
            ids: IdMap::with_capacity((entry.size / 100).min(ID_TABLE_PRESIZE) as usize),
            outcome: FileOutcome {
                mode,
                entry: Some(entry.clone()),
                excluded_lines: Vec::new(),
                rejected_ids: FxHashSet::default(),
                skipped_ids: FxHashSet::default(),
                rows: 0,
            },
            quirks: Vec::new(),
            pending: Vec::new(),
        };
        let package = self.package;
        // The files read before: looked up by the preparing threads while
        // this one is read (and not changed until it has been).
        let indexes = std::mem::take(&mut self.indexes);
        let result = package.with_entry(&entry, |read| self.scan_stream(&mut scan, read, &indexes));
        self.indexes = indexes;
        if let Err(e) = result {
            self.sink.fatal(Issue::new(
                Severity::Fatal,
                kind.file_name(),
                IssueCode::Io,
                format!("{}.csv cannot be read: {e}", kind.file_name()),
            ));
        }
        self.finish_file(scan)
    }

    fn scan_stream(
        &mut self,
        scan: &mut FileScan,
        read: &mut (dyn Read + Send),
        indexes: &FxHashMap<EntityKind, KindIndex>,
    ) {
        let file = scan.kind.file_name();
        let (buffered, peek) = skip_bom(read);
        if peek.utf16 {
            self.sink.fatal(
                Issue::new(
                    Severity::Fatal,
                    file,
                    IssueCode::NotUtf8,
                    format!("{file}.csv is UTF-16 encoded; export the file as UTF-8"),
                )
                .at_line(1),
            );
            return;
        }
        if peek.bom {
            self.sink.warn(
                Issue::new(
                    Severity::Warning,
                    file,
                    IssueCode::Bom,
                    "UTF-8 byte order mark at the start of the file; ignored",
                )
                .at_line(1),
            );
        }
        if peek.crlf {
            self.sink.warn(
                Issue::new(
                    Severity::Warning,
                    file,
                    IssueCode::Crlf,
                    "CRLF line endings; read as line breaks",
                )
                .at_line(1),
            );
        }
        let mut reader = csv_reader(buffered);
        let mut header = Rows::default();
        match reader.read(&mut header) {
            Ok(true) if header.get(0).too_long.is_some() => {
                self.sink.fatal(
                    Issue::new(
                        Severity::Fatal,
                        file,
                        IssueCode::RecordTooLong,
                        format!("{file}.csv has a header row over {MAX_RECORD_BYTES} bytes or {MAX_RECORD_FIELDS} columns; expected the OneRoster column names"),
                    )
                    .at_line(1),
                );
                return;
            }
            Ok(true) => {}
            Ok(false) => {
                self.sink.fatal(
                    Issue::new(
                        Severity::Fatal,
                        file,
                        IssueCode::RequiredColumnMissing,
                        format!("{file}.csv is empty; expected a header row"),
                    )
                    .at_line(1),
                );
                return;
            }
            Err(e) => {
                self.csv_fatal(file, &e);
                return;
            }
        }
        let header = ColumnMap::from_header(scan.kind, header.get(0).record);
        header.warnings.into_iter().for_each(|w| self.sink.warn(w));
        if !header.fatal.is_empty() {
            header.fatal.into_iter().for_each(|f| self.sink.fatal(f));
            return;
        }
        let map = header.map;
        if let Some(column) = map.position[SOURCED_ID] {
            // A row too long to keep still names its record, up to one byte past the id limit.
            reader.keep_key_column(column, MAX_SOURCED_ID_BYTES + 1);
        }
        let progress = self.options.progress.clone();
        progress.stage(&format!("validating {file}.csv"), None);
        let mut counter = progress.counter(4096);
        let rules = FileRules {
            kind: scan.kind,
            mode: scan.mode,
            map: &map,
            roles: self.options.imported_roles,
            indexes,
        };
        let result = for_each_record_prepared(
            &mut reader,
            preparing_threads(),
            |row, findings: &mut RowFindings, memo: &mut ReferenceMemo| {
                findings.examine(&rules, memo, row)
            },
            |row, findings| {
                self.scan_row(scan, &map, row, findings);
                counter.tick();
                true
            },
        );
        drop(counter);
        if let Err(e) = result {
            self.csv_fatal(file, &e);
            return;
        }
        self.resolve_pending(scan, &map);
    }

    fn csv_fatal(&mut self, file: &'static str, e: &RecordError) {
        let line = e.line();
        let (code, message) = match e {
            RecordError::Utf8 { field, byte, .. } => (
                IssueCode::NotUtf8,
                format!(
                    "{file}.csv is not valid UTF-8 (field {field}, byte {byte}); export the file as UTF-8"
                ),
            ),
            RecordError::Io(io) => (IssueCode::Io, format!("{file}.csv cannot be read: {io}")),
        };
        let mut issue = Issue::new(Severity::Fatal, file, code, message);
        if let Some(line) = line {
            issue = issue.at_line(line);
        }
        self.sink.fatal(issue);
    }

    /// Takes in one row's findings, in file order: reports them, resolves
    /// the row's references against the files read so far, and records its id.
    fn scan_row(
        &mut self,
        scan: &mut FileScan,
        map: &ColumnMap,
        row: &Row,
        findings: &mut RowFindings,
    ) {
        let kind = scan.kind;
        let line = row.line();
        scan.outcome.rows += 1;
        let sourced_id = row_sourced_id(map, row);
        for issue in findings.errors.drain(..) {
            self.sink.error(issue);
        }
        for (code, column, message) in findings.quirks.drain(..) {
            scan.quirk(code, column, line, message, map);
        }

        let mut deferred = Vec::new();
        let mut state = findings.state;
        if state == IdState::Accepted {
            state = self.check_references(scan, map, line, findings, &mut deferred);
        }

        if !sourced_id.is_empty() {
            let entry = IdEntry {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                state,
            };
            match scan.ids.get_or_insert(sourced_id, entry) {
                Ok(None) => {}
                Ok(Some(first)) => {
                    let first_line = u64::from(first.line);
                    self.sink.error(
                        Issue::new(
                            Severity::Error,
                            kind.file_name(),
                            IssueCode::DuplicateSourcedId,
                            format!("sourcedId `{sourced_id}` also appears at line {first_line}; every copy is rejected"),
                        )
                        .at_line(line)
                        .in_column("sourcedId")
                        .with_value(sourced_id),
                    );
                    if first.state != IdState::Duplicate {
                        self.sink.error(
                            Issue::new(
                                Severity::Error,
                                kind.file_name(),
                                IssueCode::DuplicateSourcedId,
                                format!("sourcedId `{sourced_id}` also appears at line {line}; every copy is rejected"),
                            )
                            .at_line(first_line)
                            .in_column("sourcedId")
                            .with_value(sourced_id),
                        );
                        match first.state {
                            IdState::Accepted => scan.outcome.excluded_lines.push(first_line),
                            IdState::Skipped => {
                                scan.outcome.skipped_ids.remove(sourced_id);
                            }
                            IdState::Rejected | IdState::Duplicate => {}
                        }
                        first.state = IdState::Duplicate;
                    }
                    state = IdState::Duplicate;
                }
                Err(_) => {
                    self.sink.fatal(
                        Issue::new(
                            Severity::Fatal,
                            kind.file_name(),
                            IssueCode::ArchiveTooLarge,
                            format!(
                                "{}.csv holds more than 4 GiB of sourcedIds; split the export",
                                kind.file_name()
                            ),
                        )
                        .at_line(line),
                    );
                    state = IdState::Rejected;
                }
            }
        }

        match state {
            IdState::Accepted => self.deferred.extend(deferred),
            IdState::Rejected | IdState::Duplicate => {
                scan.outcome.excluded_lines.push(line);
                if !sourced_id.is_empty() {
                    scan.outcome.rejected_ids.insert(sourced_id.to_string());
                }
            }
            IdState::Skipped => {
                scan.outcome.excluded_lines.push(line);
                scan.outcome.skipped_ids.insert(sourced_id.to_string());
            }
        }
    }

    /// How a reference resolves: against another file as the preparing
    /// thread found, against this file's ids read so far.
    fn resolve(scan: &FileScan, reference: &Reference, id: &str) -> Resolution {
        reference
            .resolved
            .unwrap_or_else(|| resolve_in(scan.mode, &scan.ids, id))
    }

    /// Checks an accepted row's references against the files read so far.
    /// Returns the row's state: accepted, skipped or rejected.
    fn check_references(
        &mut self,
        scan: &mut FileScan,
        map: &ColumnMap,
        line: u64,
        findings: &RowFindings,
        deferred: &mut Vec<DeferredReference>,
    ) -> IdState {
        let kind = scan.kind;
        for reference in &findings.references {
            let id = findings.id(reference);
            let (column, target) = (reference.column, reference.target);
            let resolution = Self::resolve(scan, reference, id);
            match reference.rule {
                ReferenceRule::Kept => {
                    self.check_reference(scan, map, line, reference, id, resolution)
                }
                ReferenceRule::Subject => {
                    if let Resolution::Found(IdState::Skipped) = resolution {
                        return IdState::Skipped;
                    }
                    self.check_reference(scan, map, line, reference, id, resolution);
                }
                ReferenceRule::Required(code) => match resolution {
                    Resolution::Found(IdState::Accepted) => {}
                    Resolution::Found(IdState::Skipped) => return IdState::Skipped,
                    Resolution::Found(IdState::Rejected | IdState::Duplicate)
                    | Resolution::Unchecked => {
                        deferred.push(DeferredReference {
                            file: kind,
                            line,
                            sourced_id: findings.sourced_id.clone(),
                            column: map.name(column),
                            target,
                            target_id: id.to_string(),
                        });
                    }
                    Resolution::Missing => {
                        self.sink.error(
                            Issue::new(
                                Severity::Error,
                                kind.file_name(),
                                code,
                                format!(
                                    "`{id}` is not in {}.csv, which is a complete (bulk) file",
                                    target.file_name()
                                ),
                            )
                            .at_line(line)
                            .in_column(map.name(column))
                            .with_value(id),
                        );
                        return IdState::Rejected;
                    }
                },
            }
        }
        IdState::Accepted
    }

    /// Warns about a reference that a bulk file of the package cannot resolve;
    /// same-file references are kept for the end of the file (they may point forward).
    fn check_reference(
        &mut self,
        scan: &mut FileScan,
        map: &ColumnMap,
        line: u64,
        reference: &Reference,
        id: &str,
        resolution: Resolution,
    ) {
        let (column, target) = (reference.column, reference.target);
        match resolution {
            Resolution::Found(_) | Resolution::Unchecked => {}
            Resolution::Missing if target == scan.kind => {
                scan.pending.push((line, column, id.into()));
            }
            Resolution::Missing => scan.quirk(
                IssueCode::UnresolvedReference,
                column,
                line,
                format!(
                    "`{id}` is not in {}.csv; the reference is kept",
                    target.file_name()
                ),
                map,
            ),
        }
    }

    /// Same-file references (org parents, user agents) can point forward; check them at the end.
    fn resolve_pending(&mut self, scan: &mut FileScan, map: &ColumnMap) {
        let pending = std::mem::take(&mut scan.pending);
        for (line, column, id) in pending {
            if !scan.ids.contains(&id) {
                scan.quirk(
                    IssueCode::UnresolvedReference,
                    column,
                    line,
                    format!(
                        "`{id}` is not in {}.csv; the reference is kept",
                        scan.kind.file_name()
                    ),
                    map,
                );
            }
        }
    }

    fn finish_file(&mut self, mut scan: FileScan) -> FileOutcome {
        for q in scan.quirks.drain(..) {
            self.sink.warn_n(q.first, q.count);
        }
        scan.outcome.excluded_lines.sort_unstable();
        scan.outcome.excluded_lines.dedup();
        // Files later in dependency order may reference this one.
        let referenced = matches!(
            scan.kind,
            EntityKind::Orgs
                | EntityKind::AcademicSessions
                | EntityKind::Courses
                | EntityKind::Classes
                | EntityKind::Users
        );
        if referenced {
            self.indexes.insert(
                scan.kind,
                KindIndex {
                    mode: scan.mode,
                    ids: std::mem::replace(&mut scan.ids, IdMap::with_capacity(0)),
                },
            );
        }
        scan.outcome
    }
}

/// How an unresolved reference counts.
#[derive(Debug, Clone, Copy)]
enum ReferenceRule {
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
struct Reference {
    /// Specified column it is in.
    column: usize,
    target: EntityKind,
    rule: ReferenceRule,
    /// Where its id lies in [`RowFindings::ids`].
    start: usize,
    end: usize,
    /// How it resolved against an earlier file; `None` for a reference to
    /// the row's own file, which only the scan in file order can resolve.
    resolved: Option<Resolution>,
}

/// How `id` resolves against the ids of a file read in `mode`.
fn resolve_in(mode: FileMode, ids: &IdMap<IdEntry>, id: &str) -> Resolution {
    match ids.get(id) {
        Some(entry) => Resolution::Found(entry.state),
        None if mode == FileMode::Bulk => Resolution::Missing,
        None => Resolution::Unchecked,
    }
}

/// What a preparing thread examines each row of a file against.
#[derive(Clone, Copy)]
struct FileRules<'a> {
    kind: EntityKind,
    /// How the file is read (bulk or delta).
    mode: FileMode,
    map: &'a ColumnMap,
    /// The roles the tenant imports.
    roles: RoleSet,
    /// The files read before it.
    indexes: &'a FxHashMap<EntityKind, KindIndex>,
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
/// row's own file and records ids, in file order.
#[derive(Default)]
pub(super) struct RowFindings {
    /// The row's problems, in the order they are reported.
    errors: Vec<Issue>,
    quirks: Vec<crate::rows::Quirk>,
    /// Accepted, rejected, or skipped by the import policy (a role).
    state: IdState,
    /// The references to check, in order, and the text of their ids.
    references: Vec<Reference>,
    ids: String,
    /// The record's sourcedId as parsed (accepted enrollments only: an
    /// unresolved reference names it).
    sourced_id: String,
}

impl RowFindings {
    fn id(&self, reference: &Reference) -> &str {
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
                Some(index) => resolve_in(index.mode, &index.ids, id),
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

    /// Examines `row` of `file`, resolving references to earlier files
    /// through this thread's `memo`.
    fn examine(&mut self, file: &FileRules<'_>, memo: &mut ReferenceMemo, row: &Row) {
        let FileRules {
            kind,
            mode,
            map,
            roles,
            ..
        } = *file;
        let line = row.line();
        let record = row.record;
        let mut cx = RowCx::new(record, map, kind, line, true);
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
        let mut accepted = item.is_some();
        if let Some(RowItem::Upsert(Record::User(user))) = &item {
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
                    accepted = false;
                }
            }
        }
        if record.len() > map.width {
            self.errors.push(
                Issue::new(
                    Severity::Error,
                    kind.file_name(),
                    IssueCode::FieldCount,
                    format!(
                        "the row has {} fields but the header has {}; the columns would be misaligned",
                        record.len(),
                        map.width
                    ),
                )
                .at_line(line),
            );
            accepted = false;
        }
        let sourced_id = row_sourced_id(map, row);
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
            accepted = false;
        }
        self.errors.append(&mut cx.errors);
        self.quirks.append(&mut cx.quirks);
        self.state = if accepted {
            IdState::Accepted
        } else {
            IdState::Rejected
        };
        if let (true, Some(RowItem::Upsert(record))) = (accepted, &item) {
            let mut cx = References { rules: file, memo };
            self.note_references(&mut cx, record, roles);
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
        let found = Resolution::Found(IdState::Accepted);
        let skipped = Resolution::Found(IdState::Skipped);
        use EntityKind::{Classes, Users};
        assert!(matches!(
            resolve(&mut memo, Users, "u1", found),
            Resolution::Found(IdState::Accepted)
        ));
        // Remembered: the answer given is not asked for.
        assert!(matches!(
            resolve(&mut memo, Users, "u1", Resolution::Missing),
            Resolution::Found(IdState::Accepted)
        ));
        // Another file, the same id: asked.
        assert!(matches!(
            resolve(&mut memo, Classes, "u1", Resolution::Missing),
            Resolution::Missing
        ));
        assert!(matches!(
            resolve(&mut memo, Users, "u1", Resolution::Missing),
            Resolution::Found(IdState::Accepted)
        ));
        // Another id: asked, and then remembered in its place.
        assert!(matches!(
            resolve(&mut memo, Users, "u10", skipped),
            Resolution::Found(IdState::Skipped)
        ));
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
