//! The validation report: what was read, what was rejected and why, and the
//! quirks that were tolerated.
//!
//! Every issue names the file, the 1-based line (the header is line 1), the
//! column (its header name), a stable machine-readable code and a message a
//! person can act on. Row errors are listed one by one (up to a cap, with the
//! total always counted); tolerated quirks are aggregated into one warning per
//! file, code and column, with a count and the first place they were seen.

use serde::Serialize;
use std::collections::BTreeMap;

/// How serious an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The whole package is rejected; nothing from it may be applied.
    Fatal,
    /// One row is rejected; the rest of the file is imported.
    Error,
    /// Tolerated and normalised; reported so the district can tidy its export.
    Warning,
}

/// One finding, located as precisely as the data allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// File name without extension (`users`), or `package` for the archive itself.
    pub file: String,
    /// 1-based line in the file (header = 1); `None` for whole-file findings.
    pub line: Option<u64>,
    /// The header name of the column, when one is concerned.
    pub column: Option<String>,
    /// The offending value (truncated), when showing it helps and is not a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Stable machine-readable code, stored as its name.
    pub code: IssueCode,
    /// What is wrong and what was expected.
    pub message: String,
    /// Severity of the finding.
    pub severity: Severity,
    /// For aggregated warnings: how many times the quirk was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// Longest value quoted back in an issue.
const MAX_VALUE_CHARS: usize = 80;

impl Issue {
    /// A new issue without location details.
    pub fn new(
        severity: Severity,
        file: impl Into<String>,
        code: IssueCode,
        message: impl Into<String>,
    ) -> Self {
        Issue {
            file: file.into(),
            line: None,
            column: None,
            value: None,
            code,
            message: message.into(),
            severity,
            count: None,
        }
    }

    /// Sets the line.
    pub fn at_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    /// Sets the column.
    pub fn in_column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }

    /// Sets the offending value, truncated to a readable length.
    pub fn with_value(mut self, value: &str) -> Self {
        self.value = Some(truncate(value));
        self
    }

    /// One-line human rendering: `users.csv:12 [role] invalid_enum: ...`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.file);
        if self.file != PACKAGE_FILE {
            out.push_str(".csv");
        }
        if let Some(line) = self.line {
            out.push_str(&format!(":{line}"));
        }
        if let Some(column) = &self.column {
            out.push_str(&format!(" [{}]", escape_controls(column)));
        }
        out.push_str(&format!(
            " {}: {}",
            self.code,
            escape_controls(&self.message)
        ));
        if let Some(count) = self.count {
            if count > 1 {
                out.push_str(&format!(" ({count} times)"));
            }
        }
        out
    }
}

/// Text for a terminal or a message, on one line: every control character
/// (escape sequences, carriage returns, line breaks, tabs), Unicode line and
/// paragraph separator and text-direction control is shown as `\u{1b}`,
/// never emitted. A value from a district's file cannot move the cursor,
/// recolour the screen, reorder what follows or forge a line of output.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(breaks_text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if breaks_text(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Characters that break a line, or reorder what follows, when shown.
fn breaks_text(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn truncate(value: &str) -> String {
    if value.chars().count() <= MAX_VALUE_CHARS {
        value.to_string()
    } else {
        let mut s: String = value.chars().take(MAX_VALUE_CHARS).collect();
        s.push('…');
        s
    }
}

/// The pseudo file name used for findings about the package as a whole.
pub const PACKAGE_FILE: &str = "package";

/// The longest sourcedId accepted, in bytes: ids are keys (DynamoDB's sort key
/// `E#{sourcedId}`, index keys), and no SIS's ids come near it.
pub const MAX_SOURCED_ID_BYTES: usize = 256;

/// The longest row accepted, in bytes of field content: a OneRoster row is a
/// few hundred bytes, and a row far longer is a broken export (an unclosed
/// quote swallowing lines) or an attack. It also keeps every stored item well
/// under DynamoDB's 400 KB item limit.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// The most fields a row may have: a OneRoster row has about twenty, and the
/// extension columns a SIS adds are a handful. A row past it is rejected like
/// a row past [`MAX_RECORD_BYTES`] (a row of commas holds no content).
pub const MAX_RECORD_FIELDS: usize = 16 * 1024;

/// The longest email or username accepted, in bytes: both become index keys
/// (DynamoDB refuses a partition key over 2,048 bytes, which would block
/// every later sync of the tenant), and no real address comes near it.
pub const MAX_INDEXED_VALUE_BYTES: usize = 1024;

/// Defines [`IssueCode`] from one table: each code's variant, its stable
/// name and its plain-language explanation, so that a code cannot lack either.
macro_rules! issue_codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal : $explanation:literal;)*) => {
        /// A stable issue code. Part of the interface: tools and runbooks
        /// match on its name, which is what reports and run records store.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum IssueCode {
            $($(#[$doc])* $variant,)*
        }

        impl IssueCode {
            /// Every code, in the order they are listed.
            pub const ALL: &'static [IssueCode] = &[$(IssueCode::$variant,)*];

            /// The stable snake_case name (`not_utf8`), as reports store it.
            pub fn name(self) -> &'static str {
                match self {
                    $(IssueCode::$variant => $name,)*
                }
            }

            /// What the code means and what to do about it, in plain words
            /// for a district's data manager reading the report page.
            pub fn explanation(self) -> &'static str {
                match self {
                    $(IssueCode::$variant => $explanation,)*
                }
            }
        }
    };
}

issue_codes! {
    // Fatal: the package is rejected.
    /// No `manifest.csv` in the package.
    ManifestMissing = "manifest_missing":
        "The package has no manifest.csv. ClassLink's OneRoster export always includes one: export again with the OneRoster 1.1 template.";
    /// `manifest.csv` is unreadable or has an invalid row.
    ManifestInvalid = "manifest_invalid":
        "manifest.csv could not be read as OneRoster's list of property names and values.";
    /// `oneroster.version` is not 1.1.
    UnsupportedVersion = "unsupported_version":
        "The package is not OneRoster 1.1. Choose the OneRoster 1.1 template in ClassLink's Roster Server.";
    /// A file declared `bulk` or `delta` is not in the package.
    DeclaredFileMissing = "declared_file_missing":
        "manifest.csv says a file is in the package, but it is not there. The export or upload was incomplete: send the whole package again.";
    /// A column that carries a required value is missing from the header.
    RequiredColumnMissing = "required_column_missing":
        "A column OneRoster requires is missing from this file's header. The export template was changed: restore the column.";
    /// The same column name appears twice in a header.
    DuplicateColumn = "duplicate_column":
        "The same column appears twice in this file's header.";
    /// A file is not valid UTF-8.
    NotUtf8 = "not_utf8":
        "The file is not in UTF-8 text encoding at this line (often a file saved from a spreadsheet program). Export it again as UTF-8.";
    /// The path is neither a zip nor a folder of CSV files.
    NotAPackage = "not_a_package":
        "The upload is not a OneRoster package: upload a .zip of the CSV files, or manifest.csv and the CSV files.";
    /// The CSV could not be parsed at all.
    CsvMalformed = "csv_malformed":
        "This line is not well-formed CSV (for example, a quote that is never closed).";
    /// An archive entry name is absolute or climbs out with `..`.
    UnsafeEntryName = "unsafe_entry_name":
        "An entry in the zip has a name that could write outside its folder; the package is refused for safety.";
    /// An archive inside the archive.
    NestedArchive = "nested_archive":
        "The zip contains another archive. Put the CSV files directly in one zip.";
    /// Uncompressed size over the limit.
    ArchiveTooLarge = "archive_too_large":
        "The package is larger than this system accepts.";
    /// Compression ratio over the limit (zip bomb).
    CompressionRatio = "compression_ratio":
        "An entry in the zip expands far more than real CSV data does; the package is refused for safety.";
    /// A folder file or zip entry named like a CSV file that is not a regular
    /// file (a symbolic link, a named pipe, a device, a folder).
    NotARegularFile = "not_a_regular_file":
        "Where a CSV file should be, the package has a shortcut (symbolic link), a pipe, a device or a folder; it is refused for safety. Put the CSV file itself in the folder, or upload a .zip.";
    /// An entry decompressed to more bytes than its header declared.
    EntrySizeMismatch = "entry_size_mismatch":
        "An entry in the zip is not the size the zip says: the file is damaged. Upload it again.";
    /// The package could not be read.
    Io = "io":
        "The file could not be read to the end. Upload it again.";

    // Row errors: the row is rejected.
    /// A required value is empty.
    MissingValue = "missing_value":
        "A required value is empty in this row; the row is not imported.";
    /// A value outside its enumeration.
    InvalidEnum = "invalid_enum":
        "The value is not one OneRoster allows in this column (for example a role or status); the row is not imported.";
    /// Not a `YYYY-MM-DD` date.
    InvalidDate = "invalid_date":
        "The value is not a date in the form YYYY-MM-DD.";
    /// Not a `YYYY-MM-DDTHH:MM:SS(.sss)Z` date-time.
    InvalidDatetime = "invalid_datetime":
        "The value is not a date and time in the form YYYY-MM-DDThh:mm:ssZ.";
    /// Not a boolean.
    InvalidBoolean = "invalid_boolean":
        "The value is not true or false.";
    /// `schoolYear` is not a four-digit year.
    InvalidYear = "invalid_year":
        "The value is not a four-digit school year.";
    /// A grade that is not a CEDS code.
    InvalidGrade = "invalid_grade":
        "The value is not a grade OneRoster knows (for example KG, 01 to 13, PS).";
    /// A malformed `userIds` entry.
    InvalidUserIds = "invalid_user_ids":
        "The userIds value is not a list of {type:identifier} pairs.";
    /// The same sourcedId more than once in one file (every copy is rejected).
    DuplicateSourcedId = "duplicate_sourced_id":
        "Two rows of this file have the same sourcedId; the later one is not imported. Each record needs its own id in the SIS.";
    /// An enrollment's user is neither in the package nor resolvable later.
    UnknownUser = "unknown_user":
        "The row refers to a user who is not in users.csv (or was not imported); the row is not imported.";
    /// An enrollment's class is neither in the package nor resolvable later.
    UnknownClass = "unknown_class":
        "The row refers to a class that is not in classes.csv (or was not imported); the row is not imported.";
    /// A row with more fields than the header.
    FieldCount = "field_count":
        "This line has more or fewer values than the header has columns.";
    /// A sourcedId longer than [`crate::report::MAX_SOURCED_ID_BYTES`].
    IdTooLong = "id_too_long":
        "The sourcedId is longer than 256 bytes; the row is not imported. Ids that long are not ids: check the export's columns.";
    /// A row longer than [`crate::report::MAX_RECORD_BYTES`].
    RecordTooLong = "record_too_long":
        "The row holds more than 64 KiB, or more than 16,384 fields; it is not imported (it is read past without being kept). OneRoster rows are a few hundred bytes: look for an unclosed quote on this line, which swallows the lines after it.";
    /// An email or username longer than [`crate::report::MAX_INDEXED_VALUE_BYTES`].
    ValueTooLong = "value_too_long":
        "The email or username is longer than 1,024 bytes; the row is not imported. These values are used to find people at sign-in, and no real one is that long.";

    // Warnings: tolerated and normalised.
    /// UTF-8 byte order mark at the start of a file.
    Bom = "bom":
        "The file starts with a byte-order mark; it was ignored.";
    /// CRLF line endings.
    Crlf = "crlf":
        "The file uses Windows line endings; they were read as usual.";
    /// Columns in a different order than the specification.
    HeaderOrder = "header_order":
        "The columns are in another order than OneRoster lists them; they were read by name.";
    /// A column name differing from the specification only in case.
    HeaderCase = "header_case":
        "A column name is in another letter case than OneRoster's; it was read anyway.";
    /// A column outside the specification, kept as an extension attribute.
    ExtensionColumn = "extension_column":
        "A column OneRoster does not define; it was ignored.";
    /// A column of an optional value is missing (read as empty).
    OptionalColumnMissing = "optional_column_missing":
        "An optional column is missing; its values are taken as empty.";
    /// An enumeration value in non-canonical case.
    EnumCase = "enum_case":
        "A value is in another letter case than OneRoster's (for example Teacher for teacher); it was read anyway.";
    /// A boolean written as `1`/`0` or in non-canonical case.
    BooleanForm = "boolean_form":
        "A true/false value was written as 1/0 or in another case; it was read anyway.";
    /// A grade written in a non-canonical form (`9` for `09`, `kg`).
    GradeForm = "grade_form":
        "A grade was written in another form (9 for 09, kg for KG); it was read anyway.";
    /// `dateLastModified` given as a date only.
    DateOnlyDatetime = "date_only_datetime":
        "dateLastModified had a date but no time; midnight UTC was assumed.";
    /// A date-time in a date column (`beginDate` of `2025-08-11T00:00:00Z`): read as its date.
    DateTimeInDateColumn = "date_time_in_date_column":
        "A date column (for example beginDate) had a date and a time; the date was kept as written and the time dropped.";
    /// OneRoster 1.0's `inactive` status, read as `tobedeleted`.
    InactiveStatus = "inactive_status":
        "The status inactive (OneRoster 1.0) was read as tobedeleted.";
    /// A `tobedeleted` row inside a bulk file, read as a deletion.
    TobedeletedInBulk = "tobedeleted_in_bulk":
        "A row marked tobedeleted inside a bulk file was read as a removal.";
    /// A CSV file not declared in the manifest, read as bulk.
    UndeclaredFile = "undeclared_file":
        "A CSV file that manifest.csv does not declare; it was read as bulk.";
    /// A file declared `absent` that is present anyway; it is not read.
    FileDeclaredAbsent = "file_declared_absent":
        "manifest.csv says this file is absent, but it is present; it was not read.";
    /// A reference to a record that is not in the package; kept.
    UnresolvedReference = "unresolved_reference":
        "The row refers to a record that is not in this package; the reference was kept.";
    /// A manifest property this reader does not know.
    UnknownManifestProperty = "unknown_manifest_property":
        "manifest.csv has a property this system does not know; it was ignored.";
    /// `manifest.version` other than 1.0.
    ManifestVersion = "manifest_version":
        "manifest.version is not 1.0; the package was read anyway.";
    /// A gradebook or resource file: counted, not imported.
    NotImported = "not_imported":
        "Gradebook and resource files are counted, not imported.";
    /// A file or archive entry that is not part of a OneRoster package; ignored.
    IgnoredEntry = "ignored_entry":
        "A file that is not part of a OneRoster package; it was ignored.";
    /// A value with leading or trailing spaces, trimmed.
    Whitespace = "whitespace":
        "A value had spaces before or after it; they were removed.";

    // Run records: an upload not validated at all.
    /// An upload set aside without being read (not a package, a tenant not
    /// configured or disabled).
    SetAside = "set_aside":
        "The upload was set aside without being read. The reason follows; nothing in the roster was changed.";
    /// Part of a package arrived, but not all of it within the waiting time.
    IncompleteSet = "incomplete_set":
        "Some of the package's files arrived, but not manifest.csv and all the files it declares, within the waiting time. Send the whole package again.";
}

impl IssueCode {
    /// The code named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<IssueCode> {
        IssueCode::ALL
            .iter()
            .copied()
            .find(|code| code.name() == name)
    }
}

impl std::fmt::Display for IssueCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Stored as its name.
impl Serialize for IssueCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// A code equals its name.
impl PartialEq<str> for IssueCode {
    fn eq(&self, name: &str) -> bool {
        self.name() == name
    }
}

/// A code equals its name.
impl PartialEq<&str> for IssueCode {
    fn eq(&self, name: &&str) -> bool {
        self.name() == *name
    }
}

/// Per-file counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    /// `bulk`, `delta` or `absent`.
    pub mode: String,
    /// Whether the file's records are imported (rostering files) or only counted.
    pub imported: bool,
    /// Data rows (header excluded).
    pub rows: u64,
    /// Rows accepted for import.
    pub accepted: u64,
    /// Rows rejected (each has an error).
    pub rejected: u64,
    /// Rows skipped by policy (roles the tenant does not import, and what hangs off them).
    pub skipped: u64,
    /// Warnings counted in this file (each occurrence).
    pub warnings: u64,
}

/// The outcome of reading and validating a package.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ValidationReport {
    /// True when the package may be applied (warnings and row errors allowed).
    pub ok: bool,
    /// The manifest's `oneroster.version`, when it could be read.
    pub oneroster_version: Option<String>,
    /// The manifest's `source.systemName`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_system_name: Option<String>,
    /// The manifest's `source.systemCode`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_system_code: Option<String>,
    /// Per-file summary, by file name without extension.
    pub files: BTreeMap<String, FileSummary>,
    /// Fatal issues first, then row errors (up to the cap).
    pub errors: Vec<Issue>,
    /// All errors, including those beyond the cap.
    pub error_count: u64,
    /// Aggregated warnings.
    pub warnings: Vec<Issue>,
}

impl ValidationReport {
    /// The fatal issues (why the package was rejected).
    pub fn fatal(&self) -> impl Iterator<Item = &Issue> {
        self.errors
            .iter()
            .filter(|issue| issue.severity == Severity::Fatal)
    }
}

/// Collects issues while a package is read, keeping memory bounded.
#[derive(Debug)]
pub(crate) struct IssueSink {
    max_errors: usize,
    pub(crate) fatal: Vec<Issue>,
    pub(crate) errors: Vec<Issue>,
    pub(crate) error_count: u64,
    /// (file, code, column) -> aggregated warning.
    warnings: BTreeMap<(String, IssueCode, Option<String>), Issue>,
    warning_order: Vec<(String, IssueCode, Option<String>)>,
}

impl IssueSink {
    pub(crate) fn new(max_errors: usize) -> Self {
        IssueSink {
            max_errors,
            fatal: Vec::new(),
            errors: Vec::new(),
            error_count: 0,
            warnings: BTreeMap::new(),
            warning_order: Vec::new(),
        }
    }

    pub(crate) fn fatal(&mut self, issue: Issue) {
        self.fatal.push(Issue {
            severity: Severity::Fatal,
            ..issue
        });
    }

    pub(crate) fn has_fatal(&self) -> bool {
        !self.fatal.is_empty()
    }

    pub(crate) fn error(&mut self, issue: Issue) {
        self.error_count += 1;
        if self.errors.len() < self.max_errors {
            self.errors.push(Issue {
                severity: Severity::Error,
                ..issue
            });
        }
    }

    /// Records one occurrence of a tolerated quirk; the first occurrence
    /// keeps its location and message.
    pub(crate) fn warn(&mut self, issue: Issue) {
        let key = (issue.file.clone(), issue.code, issue.column.clone());
        match self.warnings.get_mut(&key) {
            Some(existing) => {
                *existing.count.get_or_insert(1) += 1;
            }
            None => {
                self.warning_order.push(key.clone());
                self.warnings.insert(
                    key,
                    Issue {
                        severity: Severity::Warning,
                        count: Some(1),
                        ..issue
                    },
                );
            }
        }
    }

    /// Adds `n` to the count of an aggregated warning (creating it from `issue`).
    pub(crate) fn warn_n(&mut self, issue: Issue, n: u64) {
        if n == 0 {
            return;
        }
        let key = (issue.file.clone(), issue.code, issue.column.clone());
        self.warn(issue);
        if let Some(existing) = self.warnings.get_mut(&key) {
            if let Some(count) = existing.count.as_mut() {
                *count += n - 1;
            }
        }
    }

    /// Warnings counted for `file` so far (each occurrence).
    pub(crate) fn warning_total(&self, file: &str) -> u64 {
        self.warnings
            .values()
            .filter(|w| w.file == file)
            .map(|w| w.count.unwrap_or(1))
            .sum()
    }

    pub(crate) fn into_parts(self) -> (Vec<Issue>, u64, Vec<Issue>) {
        let IssueSink {
            fatal,
            errors,
            error_count,
            mut warnings,
            warning_order,
            ..
        } = self;
        let fatal_count = fatal.len() as u64;
        let mut all = fatal;
        all.extend(errors);
        let ordered = warning_order
            .into_iter()
            .filter_map(|key| warnings.remove(&key))
            .collect();
        (all, error_count + fatal_count, ordered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_aggregated_per_file_code_and_column() {
        let mut sink = IssueSink::new(10);
        for line in 2..5 {
            sink.warn(
                Issue::new(Severity::Warning, "users", IssueCode::EnumCase, "m")
                    .at_line(line)
                    .in_column("role"),
            );
        }
        sink.warn(
            Issue::new(Severity::Warning, "orgs", IssueCode::EnumCase, "m").in_column("type"),
        );
        assert_eq!(sink.warning_total("users"), 3);
        let (_, _, warnings) = sink.into_parts();
        assert_eq!(warnings.len(), 2);
        assert_eq!(warnings[0].count, Some(3));
        assert_eq!(
            warnings[0].line,
            Some(2),
            "first occurrence keeps its location"
        );
    }

    #[test]
    fn errors_beyond_the_cap_are_counted_not_kept() {
        let mut sink = IssueSink::new(2);
        for _ in 0..5 {
            sink.error(Issue::new(
                Severity::Error,
                "users",
                IssueCode::MissingValue,
                "m",
            ));
        }
        let (errors, count, _) = sink.into_parts();
        assert_eq!(errors.len(), 2);
        assert_eq!(count, 5);
    }

    /// Reports and run records store a code as its name: the same
    /// snake_case text the codes had as string constants.
    #[test]
    fn a_code_is_stored_as_its_name() {
        let issue = Issue::new(Severity::Fatal, "users", IssueCode::NotUtf8, "m");
        let json = serde_json::to_value(&issue).unwrap();
        assert_eq!(json["code"], "not_utf8");
        assert_eq!(
            IssueCode::TobedeletedInBulk.to_string(),
            "tobedeleted_in_bulk"
        );
        assert_eq!(
            IssueCode::DateTimeInDateColumn.name(),
            "date_time_in_date_column"
        );
        let mut names = std::collections::BTreeSet::new();
        for code in IssueCode::ALL {
            let name = code.name();
            assert!(names.insert(name), "{name} twice");
            assert!(name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            assert_eq!(IssueCode::from_name(name), Some(*code));
            assert_eq!(serde_json::to_value(code).unwrap(), name);
            assert!(*code == name);
        }
        assert_eq!(IssueCode::from_name("no_such_code"), None);
    }

    #[test]
    fn long_values_are_truncated() {
        let issue = Issue::new(Severity::Error, "users", IssueCode::InvalidEnum, "m")
            .with_value(&"x".repeat(500));
        assert_eq!(issue.value.unwrap().chars().count(), MAX_VALUE_CHARS + 1);
    }
}
