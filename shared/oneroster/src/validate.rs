//! Reading and validating a whole package (pass 1), and streaming its accepted
//! rows to a consumer afterwards (pass 2).
//!
//! Pass 1 reads every file once, in dependency order, checking each row and
//! keeping only identifiers in memory: which rows were accepted, rejected or
//! skipped, and which references could not be resolved. Nothing is applied
//! until pass 1 has read the whole package and found no fatal problem; pass 2
//! then re-reads the files and hands each accepted row to the consumer.

use crate::idset::IdMap;
use crate::manifest::{parse_manifest, Manifest};
use crate::model::*;
use crate::package::{ArchiveLimits, Entry, Package};
use crate::records::{csv_reader, for_each_record, skip_bom};
use crate::report::{codes, FileSummary, Issue, IssueSink, Severity, ValidationReport};
use crate::rows::{parse_row, RowCx};
use crate::schema::{ColumnMap, SOURCED_ID};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// How a package is validated.
#[derive(Debug, Clone)]
pub struct ValidationOptions {
    /// User roles the tenant imports; rows of other roles are skipped (default:
    /// student, teacher, administrator, aide).
    pub imported_roles: RoleSet,
    /// Most row errors kept in the report (all are counted).
    pub max_reported_errors: usize,
    /// Archive safety limits.
    pub limits: ArchiveLimits,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions {
            imported_roles: RoleSet::default_imported(),
            max_reported_errors: 1000,
            limits: ArchiveLimits::default(),
        }
    }
}

/// An enrollment reference the package could not resolve itself, because the
/// referenced file is delta or absent (or the referenced row was rejected).
/// The sync engine checks it against the store and rejects the row if unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredReference {
    /// The referring file.
    pub file: EntityKind,
    /// Line of the referring row.
    pub line: u64,
    /// sourcedId of the referring row.
    pub sourced_id: String,
    /// The referring column.
    pub column: &'static str,
    /// The referenced type.
    pub target: EntityKind,
    /// The referenced sourcedId.
    pub target_id: String,
}

/// What pass 1 learned about one rostering file.
#[derive(Debug, Clone)]
pub struct FileOutcome {
    /// How the file is delivered.
    pub mode: FileMode,
    entry: Option<Entry>,
    /// Lines (sorted) that pass 2 must not hand over: rejected and skipped rows.
    excluded_lines: Vec<u64>,
    /// sourcedIds of rejected rows: present in the file, so never to be archived for absence.
    pub rejected_ids: FxHashSet<String>,
    /// sourcedIds of rows skipped by policy (roles not imported).
    pub skipped_ids: FxHashSet<String>,
    /// Data rows seen in pass 1.
    rows: u64,
}

/// A package that passed validation: its accepted rows can be streamed.
#[derive(Debug)]
pub struct ValidatedPackage {
    package: Package,
    manifest: Manifest,
    files: BTreeMap<EntityKind, FileOutcome>,
    deferred: Vec<DeferredReference>,
}

/// The result of [`validate_package`].
#[derive(Debug)]
pub struct Validation {
    /// What was found.
    pub report: ValidationReport,
    /// The package, when it may be applied (`report.ok`).
    pub package: Option<ValidatedPackage>,
}

/// Why pass 2 could not stream a file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("{file}.csv: {source}")]
    Io {
        /// File name without extension.
        file: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The file no longer reads as it did during validation (changed underneath).
    #[error("{file}.csv line {line}: the file changed after it was validated ({detail})")]
    Changed {
        /// File name without extension.
        file: &'static str,
        /// Line where the difference was seen.
        line: u64,
        /// What differed.
        detail: String,
    },
}

/// Reads and validates the package at `path` (a `.zip` or a folder).
pub fn validate_package(path: &Path, options: &ValidationOptions) -> Validation {
    let mut sink = IssueSink::new(options.max_reported_errors);
    let mut report = ValidationReport::default();

    let (package, open_warnings) = match Package::open(path, &options.limits) {
        Ok(opened) => opened,
        Err(failure) => {
            failure.warnings.into_iter().for_each(|w| sink.warn(w));
            failure.fatal.into_iter().for_each(|f| sink.fatal(f));
            return finish(report, sink, None);
        }
    };
    open_warnings.into_iter().for_each(|w| sink.warn(w));

    let manifest = match package.with_entry(&package.manifest, parse_manifest) {
        Err(e) => {
            sink.fatal(Issue::new(
                Severity::Fatal,
                "manifest",
                codes::IO,
                format!("manifest.csv cannot be read: {e}"),
            ));
            return finish(report, sink, None);
        }
        Ok(Err(fatal)) => {
            fatal.into_iter().for_each(|f| sink.fatal(f));
            return finish(report, sink, None);
        }
        Ok(Ok((manifest, warnings))) => {
            warnings.into_iter().for_each(|w| sink.warn(w));
            manifest
        }
    };
    report.oneroster_version = Some(manifest.oneroster_version.clone());
    report.source_system_name = manifest.source_system_name.clone();
    report.source_system_code = manifest.source_system_code.clone();

    let plan = plan_files(&package, &manifest, &mut sink);
    let mut scanner = Scanner {
        package: &package,
        options,
        sink: &mut sink,
        indexes: FxHashMap::default(),
        deferred: Vec::new(),
    };
    let mut files = BTreeMap::new();
    for (kind, mode, entry) in plan.rostering {
        let outcome = match entry {
            Some(entry) if mode != FileMode::Absent => scanner.scan(kind, mode, entry),
            _ => FileOutcome {
                mode,
                entry: None,
                excluded_lines: Vec::new(),
                rejected_ids: FxHashSet::default(),
                skipped_ids: FxHashSet::default(),
                rows: 0,
            },
        };
        files.insert(kind, outcome);
    }
    let deferred = std::mem::take(&mut scanner.deferred);
    drop(scanner);

    for (kind, outcome) in &files {
        let name = kind.file_name();
        if outcome.entry.is_none() && !manifest.files.contains_key(&name.to_ascii_lowercase()) {
            continue;
        }
        let (accepted, rejected, skipped) = outcome.counts();
        report.files.insert(
            name.to_string(),
            FileSummary {
                mode: outcome.mode.as_str().to_string(),
                imported: true,
                rows: outcome.rows,
                accepted,
                rejected,
                skipped,
                warnings: sink.warning_total(name),
            },
        );
    }
    for (name, mode, entry) in plan.not_imported {
        let rows = match (&entry, mode) {
            (Some(entry), FileMode::Bulk | FileMode::Delta) => {
                count_rows(&package, name, entry, &mut sink)
            }
            _ => 0,
        };
        if rows > 0 || entry.is_some() {
            sink.warn(Issue::new(
                Severity::Warning,
                name,
                codes::NOT_IMPORTED,
                format!("{name}.csv ({rows} rows) is a gradebook/resource file; it is counted, not imported"),
            ));
        }
        report.files.insert(
            name.to_string(),
            FileSummary {
                mode: mode.as_str().to_string(),
                imported: false,
                rows,
                warnings: sink.warning_total(name),
                ..FileSummary::default()
            },
        );
    }
    let excluded_deferred: FxHashSet<(EntityKind, u64)> = files
        .iter()
        .flat_map(|(kind, o)| o.excluded_lines.iter().map(move |l| (*kind, *l)))
        .collect();
    let deferred = deferred
        .into_iter()
        .filter(|d| !excluded_deferred.contains(&(d.file, d.line)))
        .collect();

    let validated = ValidatedPackage {
        package,
        manifest,
        files,
        deferred,
    };
    finish(report, sink, Some(validated))
}

fn finish(
    mut report: ValidationReport,
    sink: IssueSink,
    package: Option<ValidatedPackage>,
) -> Validation {
    let ok = !sink.has_fatal();
    let (errors, error_count, warnings) = sink.into_parts();
    report.ok = ok;
    report.errors = errors;
    report.error_count = error_count;
    report.warnings = warnings;
    Validation {
        report,
        package: if ok { package } else { None },
    }
}

struct FilePlan {
    rostering: Vec<(EntityKind, FileMode, Option<Entry>)>,
    not_imported: Vec<(&'static str, FileMode, Option<Entry>)>,
}

/// Decides, per file, how it is read: the manifest's mode, or bulk for a
/// file present but undeclared. Declared files that are missing are fatal.
fn plan_files(package: &Package, manifest: &Manifest, sink: &mut IssueSink) -> FilePlan {
    let mut decide = |name: &'static str| -> (FileMode, Option<Entry>) {
        let key = name.to_ascii_lowercase();
        let entry = package.files.get(&key).cloned();
        match (manifest.files.get(&key), entry) {
            (Some((_, FileMode::Absent)), Some(_)) => {
                sink.warn(Issue::new(
                    Severity::Warning,
                    name,
                    codes::FILE_DECLARED_ABSENT,
                    format!("{name}.csv is in the package but the manifest declares it absent; it is not read"),
                ));
                (FileMode::Absent, None)
            }
            (Some((_, mode)), Some(entry)) => (*mode, Some(entry)),
            (Some((_, FileMode::Absent)), None) => (FileMode::Absent, None),
            (Some((_, mode)), None) => {
                sink.fatal(Issue::new(
                    Severity::Fatal,
                    name,
                    codes::DECLARED_FILE_MISSING,
                    format!(
                        "the manifest declares {name}.csv as {} but the package does not contain it",
                        mode.as_str()
                    ),
                ));
                (*mode, None)
            }
            (None, Some(entry)) => {
                sink.warn(Issue::new(
                    Severity::Warning,
                    name,
                    codes::UNDECLARED_FILE,
                    format!("{name}.csv is not declared in the manifest; read as bulk"),
                ));
                (FileMode::Bulk, Some(entry))
            }
            (None, None) => (FileMode::Absent, None),
        }
    };
    let rostering = EntityKind::ALL
        .into_iter()
        .map(|kind| {
            let (mode, entry) = decide(kind.file_name());
            (kind, mode, entry)
        })
        .collect();
    let not_imported = NOT_IMPORTED_FILES
        .into_iter()
        .filter_map(|name| {
            let key = name.to_ascii_lowercase();
            let known = manifest.files.contains_key(&key) || package.files.contains_key(&key);
            known.then(|| {
                let (mode, entry) = decide(name);
                (name, mode, entry)
            })
        })
        .collect();
    for (stem, entry) in &package.files {
        let known = EntityKind::from_file_name(stem).is_some()
            || NOT_IMPORTED_FILES
                .iter()
                .any(|n| n.eq_ignore_ascii_case(stem));
        if !known {
            sink.warn(
                Issue::new(
                    Severity::Warning,
                    crate::report::PACKAGE_FILE,
                    codes::IGNORED_ENTRY,
                    format!("`{}` is not a OneRoster 1.1 file; ignored", entry.name),
                )
                .with_value(&entry.name),
            );
        }
    }
    FilePlan {
        rostering,
        not_imported,
    }
}

fn count_rows(package: &Package, name: &'static str, entry: &Entry, sink: &mut IssueSink) -> u64 {
    let result = package.with_entry(entry, |read| {
        let (buffered, _) = skip_bom(read);
        let mut reader = csv_reader(buffered);
        let mut record = csv::ByteRecord::new();
        let mut rows = 0u64;
        while reader.read_byte_record(&mut record)? {
            rows += 1;
        }
        Ok::<u64, csv::Error>(rows.saturating_sub(1))
    });
    match result {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => {
            sink.fatal(Issue::new(
                Severity::Fatal,
                name,
                codes::CSV_MALFORMED,
                format!("{name}.csv cannot be read as CSV: {e}"),
            ));
            0
        }
        Err(e) => {
            sink.fatal(Issue::new(
                Severity::Fatal,
                name,
                codes::IO,
                format!("{name}.csv cannot be read: {e}"),
            ));
            0
        }
    }
}

/// What pass 1 knows about one sourcedId of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdState {
    Accepted,
    Rejected,
    Skipped,
    /// Seen more than once: every copy rejected.
    Duplicate,
}

#[derive(Debug, Clone, Copy)]
struct IdEntry {
    /// First line of the id (saturates past 4 billion lines).
    line: u32,
    state: IdState,
}

struct KindIndex {
    mode: FileMode,
    ids: IdMap<IdEntry>,
}

/// How a reference resolved against the package.
enum Resolution {
    Found(IdState),
    /// Not in a bulk file of the package: it does not exist.
    Missing,
    /// The target file is delta or absent: only the store can tell.
    Unchecked,
}

/// One aggregated quirk of the file being scanned.
struct QuirkCount {
    code: &'static str,
    column: usize,
    count: u64,
    first: Issue,
}

struct Scanner<'p> {
    package: &'p Package,
    options: &'p ValidationOptions,
    sink: &'p mut IssueSink,
    indexes: FxHashMap<EntityKind, KindIndex>,
    deferred: Vec<DeferredReference>,
}

/// Pass-1 state of the file being scanned.
struct FileScan {
    kind: EntityKind,
    mode: FileMode,
    ids: IdMap<IdEntry>,
    outcome: FileOutcome,
    quirks: Vec<QuirkCount>,
    /// Same-file references not yet resolvable when seen: (line, column, id).
    pending: Vec<(u64, usize, Box<str>)>,
}

impl FileScan {
    fn quirk(
        &mut self,
        code: &'static str,
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

const NO_COLUMN: usize = usize::MAX;

impl Scanner<'_> {
    fn scan(&mut self, kind: EntityKind, mode: FileMode, entry: Entry) -> FileOutcome {
        let mut scan = FileScan {
            kind,
            mode,
            // Rows are rarely shorter than 100 bytes; size the table once, roughly.
            ids: IdMap::with_capacity((entry.size / 100).min(20_000_000) as usize),
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
        let result = package.with_entry(&entry, |read| self.scan_stream(&mut scan, read));
        if let Err(e) = result {
            self.sink.fatal(Issue::new(
                Severity::Fatal,
                kind.file_name(),
                codes::IO,
                format!("{}.csv cannot be read: {e}", kind.file_name()),
            ));
        }
        self.finish_file(scan)
    }

    fn scan_stream(&mut self, scan: &mut FileScan, read: &mut (dyn Read + Send)) {
        let file = scan.kind.file_name();
        let (buffered, peek) = skip_bom(read);
        if peek.utf16 {
            self.sink.fatal(
                Issue::new(
                    Severity::Fatal,
                    file,
                    codes::NOT_UTF8,
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
                    codes::BOM,
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
                    codes::CRLF,
                    "CRLF line endings; read as line breaks",
                )
                .at_line(1),
            );
        }
        let mut reader = csv_reader(buffered);
        let mut record = csv::StringRecord::new();
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => {
                self.sink.fatal(
                    Issue::new(
                        Severity::Fatal,
                        file,
                        codes::REQUIRED_COLUMN_MISSING,
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
        let header = ColumnMap::from_header(scan.kind, &record);
        header.warnings.into_iter().for_each(|w| self.sink.warn(w));
        if !header.fatal.is_empty() {
            header.fatal.into_iter().for_each(|f| self.sink.fatal(f));
            return;
        }
        let map = header.map;
        let result = for_each_record(&mut reader, |record| {
            self.scan_row(scan, &map, record);
            true
        });
        if let Err(e) = result {
            self.csv_fatal(file, &e);
            return;
        }
        self.resolve_pending(scan, &map);
    }

    fn csv_fatal(&mut self, file: &'static str, e: &csv::Error) {
        let line = e.position().map(|p| p.line());
        let (code, message) = match e.kind() {
            csv::ErrorKind::Utf8 { err, .. } => (
                codes::NOT_UTF8,
                format!(
                    "{file}.csv is not valid UTF-8 (field {}, byte {}); export the file as UTF-8",
                    err.field() + 1,
                    err.valid_up_to() + 1
                ),
            ),
            csv::ErrorKind::Io(io) => (codes::IO, format!("{file}.csv cannot be read: {io}")),
            _ => (
                codes::CSV_MALFORMED,
                format!("{file}.csv is not valid CSV: {e}"),
            ),
        };
        let mut issue = Issue::new(Severity::Fatal, file, code, message);
        if let Some(line) = line {
            issue = issue.at_line(line);
        }
        self.sink.fatal(issue);
    }

    fn scan_row(&mut self, scan: &mut FileScan, map: &ColumnMap, record: &csv::StringRecord) {
        let kind = scan.kind;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        scan.outcome.rows += 1;
        let mut cx = RowCx::new(record, map, kind, line, true);
        let item = parse_row(kind, scan.mode, &mut cx);
        let mut state = if item.is_some() {
            IdState::Accepted
        } else {
            IdState::Rejected
        };
        if record.len() > map.width {
            self.sink.error(
                Issue::new(
                    Severity::Error,
                    kind.file_name(),
                    codes::FIELD_COUNT,
                    format!(
                        "the row has {} fields but the header has {}; the columns would be misaligned",
                        record.len(),
                        map.width
                    ),
                )
                .at_line(line),
            );
            state = IdState::Rejected;
        }
        for issue in cx.errors.drain(..) {
            self.sink.error(issue);
        }
        for (code, column, message) in cx.quirks.drain(..) {
            scan.quirk(code, column, line, message, map);
        }

        let mut deferred = Vec::new();
        if let (IdState::Accepted, Some(RowItem::Upsert(record))) = (state, &item) {
            state = self.check_policy_and_references(scan, map, line, record, &mut deferred);
        }

        let sourced_id = map.position[SOURCED_ID]
            .and_then(|p| record.get(p))
            .map(str::trim)
            .unwrap_or("");
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
                            codes::DUPLICATE_SOURCED_ID,
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
                                codes::DUPLICATE_SOURCED_ID,
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
                            codes::ARCHIVE_TOO_LARGE,
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

    fn resolve(&self, scan: &FileScan, target: EntityKind, id: &str) -> Resolution {
        let (mode, ids) = if target == scan.kind {
            (scan.mode, &scan.ids)
        } else {
            match self.indexes.get(&target) {
                Some(index) => (index.mode, &index.ids),
                None => return Resolution::Unchecked,
            }
        };
        match ids.get(id) {
            Some(entry) => Resolution::Found(entry.state),
            None if mode == FileMode::Bulk => Resolution::Missing,
            None => Resolution::Unchecked,
        }
    }

    /// Applies the import policy (roles) and checks the row's references.
    /// Returns the row's state: accepted, skipped or rejected.
    fn check_policy_and_references(
        &mut self,
        scan: &mut FileScan,
        map: &ColumnMap,
        line: u64,
        record: &Record<'_>,
        deferred: &mut Vec<DeferredReference>,
    ) -> IdState {
        let kind = scan.kind;
        let check =
            |this: &mut Self, scan: &mut FileScan, column: usize, target: EntityKind, id: &str| {
                this.check_reference(scan, map, line, column, target, id);
            };
        match record {
            Record::Org(org) => {
                if let Some(parent) = org.parent_sourced_id {
                    check(self, scan, 6, EntityKind::Orgs, parent);
                }
            }
            Record::AcademicSession(session) => {
                if let Some(parent) = session.parent_sourced_id {
                    check(self, scan, 7, EntityKind::AcademicSessions, parent);
                }
            }
            Record::Course(course) => {
                if let Some(year) = course.school_year_sourced_id {
                    check(self, scan, 3, EntityKind::AcademicSessions, year);
                }
                check(self, scan, 7, EntityKind::Orgs, course.org_sourced_id);
            }
            Record::Class(class) => {
                check(self, scan, 5, EntityKind::Courses, class.course_sourced_id);
                check(self, scan, 9, EntityKind::Orgs, class.school_sourced_id);
                for term in class.term_sourced_ids.iter() {
                    check(self, scan, 10, EntityKind::AcademicSessions, term);
                }
            }
            Record::User(user) => {
                if !self.options.imported_roles.contains(user.role) {
                    return IdState::Skipped;
                }
                for org in user.org_sourced_ids.iter() {
                    check(self, scan, 4, EntityKind::Orgs, org);
                }
                for agent in user.agent_sourced_ids.iter() {
                    check(self, scan, 15, EntityKind::Users, agent);
                }
            }
            Record::Enrollment(e) => {
                let targets = [
                    (5, EntityKind::Users, e.user_sourced_id, codes::UNKNOWN_USER),
                    (
                        3,
                        EntityKind::Classes,
                        e.class_sourced_id,
                        codes::UNKNOWN_CLASS,
                    ),
                ];
                for (column, target, id, code) in targets {
                    match self.resolve(scan, target, id) {
                        Resolution::Found(IdState::Accepted) => {}
                        Resolution::Found(IdState::Skipped) => return IdState::Skipped,
                        Resolution::Found(IdState::Rejected | IdState::Duplicate)
                        | Resolution::Unchecked => {
                            deferred.push(DeferredReference {
                                file: kind,
                                line,
                                sourced_id: e.common.sourced_id.to_string(),
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
                    }
                }
                check(self, scan, 4, EntityKind::Orgs, e.school_sourced_id);
            }
            Record::Demographics(d) => {
                if let Resolution::Found(IdState::Skipped) =
                    self.resolve(scan, EntityKind::Users, d.common.sourced_id)
                {
                    return IdState::Skipped;
                }
                check(
                    self,
                    scan,
                    SOURCED_ID,
                    EntityKind::Users,
                    d.common.sourced_id,
                );
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
        column: usize,
        target: EntityKind,
        id: &str,
    ) {
        match self.resolve(scan, target, id) {
            Resolution::Found(_) | Resolution::Unchecked => {}
            Resolution::Missing if target == scan.kind => {
                scan.pending.push((line, column, id.into()));
            }
            Resolution::Missing => scan.quirk(
                codes::UNRESOLVED_REFERENCE,
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
                    codes::UNRESOLVED_REFERENCE,
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

impl FileOutcome {
    /// (accepted, rejected, skipped) rows. Skipped rows have unique ids (a
    /// duplicated id turns every copy into a rejection), so they are counted by id.
    fn counts(&self) -> (u64, u64, u64) {
        let skipped = self.skipped_ids.len() as u64;
        let rejected = self.excluded_lines.len() as u64 - skipped;
        (self.rows - rejected - skipped, rejected, skipped)
    }
}

impl ValidatedPackage {
    /// How `kind` is delivered in this package.
    pub fn mode(&self, kind: EntityKind) -> FileMode {
        self.files
            .get(&kind)
            .map(|f| f.mode)
            .unwrap_or(FileMode::Absent)
    }

    /// What pass 1 learned about `kind`.
    pub fn outcome(&self, kind: EntityKind) -> Option<&FileOutcome> {
        self.files.get(&kind)
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Enrollment references to check against the store.
    pub fn deferred_references(&self) -> &[DeferredReference] {
        &self.deferred
    }

    /// Streams every accepted row of `kind`, in file order, to `consume`.
    /// Rows that pass 1 rejected or skipped are not handed over.
    pub fn for_each_row<E, F>(&self, kind: EntityKind, mut consume: F) -> Result<(), E>
    where
        E: From<ReadError>,
        F: FnMut(RowItem<'_>) -> Result<(), E>,
    {
        let Some(outcome) = self.files.get(&kind) else {
            return Ok(());
        };
        let Some(entry) = &outcome.entry else {
            return Ok(());
        };
        let file = kind.file_name();
        let io = |source: std::io::Error| ReadError::Io { file, source };
        let changed = |line: u64, detail: String| ReadError::Changed { file, line, detail };
        let result = self.package.with_entry(entry, |read| -> Result<(), E> {
            let (buffered, _) = skip_bom(read);
            let mut reader = csv_reader(buffered);
            let mut record = csv::StringRecord::new();
            let csv_error = |e: csv::Error| {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                changed(line, e.to_string())
            };
            if !reader.read_record(&mut record).map_err(csv_error)? {
                return Err(changed(1, "the header is gone".into()).into());
            }
            let header = ColumnMap::from_header(kind, &record);
            if !header.fatal.is_empty() {
                return Err(changed(1, "the header no longer validates".into()).into());
            }
            let map = header.map;
            let mut excluded = outcome.excluded_lines.iter().peekable();
            let mut rows = 0u64;
            let mut failure: Option<E> = None;
            for_each_record(&mut reader, |record| {
                rows += 1;
                let line = record.position().map(|p| p.line()).unwrap_or(0);
                while excluded.next_if(|l| **l < line).is_some() {}
                if excluded.next_if(|l| **l == line).is_some() {
                    return true;
                }
                let mut cx = RowCx::new(record, &map, kind, line, false);
                let outcome = match parse_row(kind, outcome.mode, &mut cx) {
                    Some(item) => consume(item),
                    None => Err(changed(
                        line,
                        "a row that was accepted no longer validates".into(),
                    )
                    .into()),
                };
                match outcome {
                    Ok(()) => true,
                    Err(e) => {
                        failure = Some(e);
                        false
                    }
                }
            })
            .map_err(csv_error)?;
            if let Some(e) = failure {
                return Err(e);
            }
            if rows != outcome.rows {
                return Err(changed(
                    0,
                    format!("{rows} rows now, {} when validated", outcome.rows),
                )
                .into());
            }
            Ok(())
        });
        result.map_err(|e| E::from(io(e)))?
    }
}
