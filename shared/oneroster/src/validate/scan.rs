//! Pass 1: every row of every file checked, in dependency order, keeping only
//! identifiers (accepted, rejected, skipped) and the references the store must resolve.

use super::findings::{absent_in, FileRules, ReferenceMemo, RowFindings};
use super::references::RefusedCount;
use super::types::*;
use crate::idset::IdMap;
use crate::model::*;
use crate::package::{read_failure, Entry, Package};
use crate::records::{
    csv_reader, for_each_record_prepared, skip_bom, Peek, RecordError, RecordReader, Row, Rows,
    Threads,
};
use crate::report::{
    Issue, IssueCode, IssueSink, Severity, MAX_RECORD_BYTES, MAX_RECORD_FIELDS,
    MAX_SOURCED_ID_BYTES,
};
use crate::schema::{ColumnMap, SOURCED_ID};
use roaring::RoaringTreemap;
use rustc_hash::{FxHashMap, FxHashSet};
use std::io::{BufRead, Read};

/// A row's sourcedId as the scan records it: trimmed, empty when the file
/// has no such column or the row no such field.
pub(super) fn row_sourced_id<'r>(map: &ColumnMap, row: &'r Row) -> &'r str {
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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct IdEntry {
    /// First line of the id (saturates past 4 billion lines).
    pub(super) line: u32,
    pub(super) state: IdState,
    /// A rejected row's first error.
    pub(super) cause: Option<IssueCode>,
}

impl IdEntry {
    /// The row a reference to this id points at, when it was rejected.
    pub(super) fn rejected_row(&self, file: EntityKind) -> Option<RejectedRow> {
        match self.state {
            IdState::Rejected | IdState::Duplicate => Some(RejectedRow {
                file,
                line: u64::from(self.line),
                code: self.cause?,
            }),
            IdState::Accepted | IdState::Skipped => None,
        }
    }
}

/// Where and why a file was refused: its first fatal issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Refusal {
    pub(super) line: Option<u64>,
    pub(super) code: IssueCode,
}

pub(super) struct KindIndex {
    pub(super) mode: FileMode,
    pub(super) ids: IdMap<IdEntry>,
    /// Set when the file could not be read to its end: an id it lacks may
    /// be in the part not read.
    pub(super) refused: Option<Refusal>,
}

impl KindIndex {
    /// How `id` resolves in this file.
    pub(super) fn resolve(&self, id: &str) -> Resolution {
        match (self.ids.get(id), self.refused) {
            (Some(entry), _) => Resolution::Found(*entry),
            (None, Some(refusal)) => Resolution::Refused(refusal),
            (None, None) => absent_in(self.mode),
        }
    }
}

/// How a reference resolved against the package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resolution {
    Found(IdEntry),
    /// Not in a bulk file of the package: it does not exist.
    Missing,
    /// The target file is delta or absent: only the store can tell.
    Unchecked,
    /// The target file was refused before the id was read.
    Refused(Refusal),
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
    /// The version the package is read as.
    pub(super) version: crate::OneRosterVersion,
    /// A 1.2 package's roles, read before its users.
    pub(super) user_roles: Option<crate::v1p2::UserRoles>,
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
    /// References into refused files, counted.
    pub(super) refused: Vec<RefusedCount>,
}

impl FileScan {
    pub(super) fn quirk(
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

/// How many ids to size a table for, for a file of `size` bytes: rows are
/// rarely shorter than 100 bytes, so roughly one an 100 bytes, but only so
/// far; past that it grows with the ids it meets, so one huge field does
/// not reserve memory.
pub(super) fn id_table_size(size: u64) -> usize {
    (size / 100).min(ID_TABLE_PRESIZE) as usize
}

impl Scanner<'_> {
    pub(super) fn scan(&mut self, kind: EntityKind, mode: FileMode, entry: Entry) -> FileOutcome {
        let mut scan = FileScan {
            kind,
            mode,
            ids: IdMap::with_capacity(id_table_size(entry.size)),
            outcome: FileOutcome {
                mode,
                entry: Some(entry.clone()),
                excluded_rows: RoaringTreemap::new(),
                first_copies_rejected: 0,
                rejected_ids: FxHashSet::default(),
                skipped_ids: FxHashSet::default(),
                rows: 0,
            },
            quirks: Vec::new(),
            pending: Vec::new(),
            refused: Vec::new(),
        };
        let package = self.package;
        // The files read before: looked up by the preparing threads while
        // this one is read (and not changed until it has been).
        let indexes = std::mem::take(&mut self.indexes);
        let user_roles = self.user_roles.take();
        let roles = user_roles.as_ref().filter(|_| kind == EntityKind::Users);
        let fatal_before = self.sink.fatal.len();
        let threads = Threads::for_file(entry.size);
        let result = package.with_entry(&entry, |read| {
            self.scan_stream(&mut scan, read, threads, &indexes, roles)
        });
        self.indexes = indexes;
        self.user_roles = user_roles;
        if let Err(e) = result {
            self.sink.fatal(read_failure(kind.file_name(), &e));
        }
        let refusal = self.sink.fatal.get(fatal_before).map(|fatal| Refusal {
            line: fatal.line,
            code: fatal.code,
        });
        self.finish_file(scan, refusal)
    }

    fn scan_stream(
        &mut self,
        scan: &mut FileScan,
        read: &mut (dyn Read + Send),
        threads: Threads,
        indexes: &FxHashMap<EntityKind, KindIndex>,
        user_roles: Option<&crate::v1p2::UserRoles>,
    ) {
        let file = scan.kind.file_name();
        let (buffered, peek) = skip_bom(read);
        if !self.check_encoding(file, &peek) {
            return;
        }
        let mut reader = csv_reader(buffered);
        let spec = crate::v1p2::columns::columns(scan.kind, self.version);
        let version = self.version.as_str();
        let Some(map) = self.read_header(file, spec, version, &mut reader) else {
            return;
        };
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
            user_roles,
            version: self.version,
        };
        let result = for_each_record_prepared(
            &mut reader,
            threads,
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

    /// Reports what the first bytes of `file` say of its encoding; `false`
    /// when it is not UTF-8 at all (a fatal issue).
    pub(super) fn check_encoding(&mut self, file: &'static str, peek: &Peek) -> bool {
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
            return false;
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
        true
    }

    /// Reads and checks the header row of `file` against the columns
    /// `spec` of OneRoster `version`: its columns, or `None` after reporting
    /// why the file cannot be read (a fatal issue).
    pub(super) fn read_header<R: BufRead>(
        &mut self,
        file: &'static str,
        spec: &'static [crate::schema::ColumnSpec],
        version: &'static str,
        reader: &mut RecordReader<R>,
    ) -> Option<ColumnMap> {
        let mut header = Rows::default();
        let fatal =
            |code, message: String| Issue::new(Severity::Fatal, file, code, message).at_line(1);
        match reader.read(&mut header) {
            Ok(true) if header.get(0).too_long.is_some() => {
                self.sink.fatal(fatal(
                    IssueCode::RecordTooLong,
                    format!("{file}.csv has a header row over {MAX_RECORD_BYTES} bytes or {MAX_RECORD_FIELDS} columns; expected the OneRoster column names"),
                ));
                return None;
            }
            Ok(true) => {}
            Ok(false) => {
                self.sink.fatal(fatal(
                    IssueCode::RequiredColumnMissing,
                    format!("{file}.csv is empty; expected a header row"),
                ));
                return None;
            }
            Err(e) => {
                self.csv_fatal(file, &e);
                return None;
            }
        }
        let header = ColumnMap::from_spec(file, spec, version, header.get(0).record);
        header.warnings.into_iter().for_each(|w| self.sink.warn(w));
        if !header.fatal.is_empty() {
            header.fatal.into_iter().for_each(|f| self.sink.fatal(f));
            return None;
        }
        Some(header.map)
    }

    pub(super) fn csv_fatal(&mut self, file: &'static str, e: &RecordError) {
        let line = e.line();
        let mut issue = match e {
            RecordError::Utf8 { field, byte, .. } => Issue::new(
                Severity::Fatal,
                file,
                IssueCode::NotUtf8,
                format!(
                    "{file}.csv is not valid UTF-8 (field {field}, byte {byte}); export the file as UTF-8"
                ),
            ),
            RecordError::Io(io) => read_failure(file, io),
        };
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
        let line = row.line();
        scan.outcome.rows += 1;
        let sourced_id = row_sourced_id(map, row);
        let mut cause = findings.errors.first().map(|e| e.code);
        for issue in findings.errors.drain(..) {
            self.sink.error(issue);
        }
        for (code, column, message) in findings.quirks.drain(..) {
            scan.quirk(code, column, line, message, map);
        }

        let mut deferred = Vec::new();
        let mut state = findings.state;
        if state == IdState::Accepted {
            state = match self.check_references(scan, map, row, findings, &mut deferred) {
                Ok(state) => state,
                Err(code) => {
                    cause = Some(code);
                    IdState::Rejected
                }
            };
        }

        if !sourced_id.is_empty() {
            let entry = IdEntry {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                state,
                cause,
            };
            state = self.record_id(scan, sourced_id, line, entry);
        }

        match state {
            IdState::Accepted => self.deferred.extend(deferred),
            IdState::Rejected | IdState::Duplicate => {
                scan.outcome.excluded_rows.insert(row.index);
                if !sourced_id.is_empty() {
                    scan.outcome.rejected_ids.insert(sourced_id.to_string());
                }
            }
            IdState::Skipped => {
                scan.outcome.excluded_rows.insert(row.index);
                scan.outcome.skipped_ids.insert(sourced_id.to_string());
            }
        }
    }

    /// Records `sourced_id` of the row on `line` as `entry` says; returns
    /// the row's state: the entry's, or duplicate (every copy then rejected,
    /// the first one too), or rejected when the file's ids are too many to hold.
    fn record_id(
        &mut self,
        scan: &mut FileScan,
        sourced_id: &str,
        line: u64,
        entry: IdEntry,
    ) -> IdState {
        let kind = scan.kind;
        let mut state = entry.state;
        match scan.ids.get_or_insert(sourced_id, entry) {
            Ok(None) => {}
            Ok(Some(first)) => {
                let first_line = u64::from(first.line);
                let copy = |at, other| duplicate_copy(kind.file_name(), sourced_id, at, other);
                // In line order: the first copy is named when the second is met.
                if first.state != IdState::Duplicate {
                    self.sink.error(copy(first_line, line));
                }
                self.sink.error(copy(line, first_line));
                if first.state != IdState::Duplicate {
                    match first.state {
                        // Excluded in pass 2 by its id, now among the rejected ones.
                        IdState::Accepted => scan.outcome.first_copies_rejected += 1,
                        IdState::Skipped => {
                            scan.outcome.skipped_ids.remove(sourced_id);
                        }
                        IdState::Rejected | IdState::Duplicate => {}
                    }
                    first.state = IdState::Duplicate;
                    first.cause = Some(IssueCode::DuplicateSourcedId);
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
        state
    }

    fn finish_file(&mut self, mut scan: FileScan, refusal: Option<Refusal>) -> FileOutcome {
        for q in scan.quirks.drain(..) {
            self.sink.warn_n(q.first, q.count);
        }
        for counted in scan.refused.drain(..) {
            self.sink
                .error(super::references::refused_references(scan.kind, counted));
        }
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
                    refused: refusal,
                },
            );
        }
        scan.outcome
    }
}

/// The error on the copy at line `at` of sourcedId `id`, met twice in
/// `file` (the other copy at line `other`): every copy is rejected.
pub(super) fn duplicate_copy(file: &str, id: &str, at: u64, other: u64) -> Issue {
    Issue::new(
        Severity::Error,
        file,
        IssueCode::DuplicateSourcedId,
        format!("sourcedId `{id}` also appears at line {other}; every copy is rejected"),
    )
    .at_line(at)
    .in_column("sourcedId")
    .with_value(id)
}
