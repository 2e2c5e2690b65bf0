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
    /// Stable machine-readable code (see [`codes`]).
    pub code: &'static str,
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
        code: &'static str,
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

/// Stable issue codes. They are part of the interface: tools and runbooks match on them.
pub mod codes {
    // Fatal: the package is rejected.
    /// No `manifest.csv` in the package.
    pub const MANIFEST_MISSING: &str = "manifest_missing";
    /// `manifest.csv` is unreadable or has an invalid row.
    pub const MANIFEST_INVALID: &str = "manifest_invalid";
    /// `oneroster.version` is not 1.1.
    pub const UNSUPPORTED_VERSION: &str = "unsupported_version";
    /// A file declared `bulk` or `delta` is not in the package.
    pub const DECLARED_FILE_MISSING: &str = "declared_file_missing";
    /// A column that carries a required value is missing from the header.
    pub const REQUIRED_COLUMN_MISSING: &str = "required_column_missing";
    /// The same column name appears twice in a header.
    pub const DUPLICATE_COLUMN: &str = "duplicate_column";
    /// A file is not valid UTF-8.
    pub const NOT_UTF8: &str = "not_utf8";
    /// The path is neither a zip nor a folder of CSV files.
    pub const NOT_A_PACKAGE: &str = "not_a_package";
    /// The CSV could not be parsed at all.
    pub const CSV_MALFORMED: &str = "csv_malformed";
    /// An archive entry name is absolute or climbs out with `..`.
    pub const UNSAFE_ENTRY_NAME: &str = "unsafe_entry_name";
    /// An archive inside the archive.
    pub const NESTED_ARCHIVE: &str = "nested_archive";
    /// Uncompressed size over the limit.
    pub const ARCHIVE_TOO_LARGE: &str = "archive_too_large";
    /// Compression ratio over the limit (zip bomb).
    pub const COMPRESSION_RATIO: &str = "compression_ratio";
    /// A folder file or zip entry named like a CSV file that is not a regular
    /// file (a symbolic link, a named pipe, a device, a folder).
    pub const NOT_A_REGULAR_FILE: &str = "not_a_regular_file";
    /// An entry decompressed to more bytes than its header declared.
    pub const ENTRY_SIZE_MISMATCH: &str = "entry_size_mismatch";
    /// The package could not be read.
    pub const IO: &str = "io";

    // Row errors: the row is rejected.
    /// A required value is empty.
    pub const MISSING_VALUE: &str = "missing_value";
    /// A value outside its enumeration.
    pub const INVALID_ENUM: &str = "invalid_enum";
    /// Not a `YYYY-MM-DD` date.
    pub const INVALID_DATE: &str = "invalid_date";
    /// Not a `YYYY-MM-DDTHH:MM:SS(.sss)Z` date-time.
    pub const INVALID_DATETIME: &str = "invalid_datetime";
    /// Not a boolean.
    pub const INVALID_BOOLEAN: &str = "invalid_boolean";
    /// `schoolYear` is not a four-digit year.
    pub const INVALID_YEAR: &str = "invalid_year";
    /// A grade that is not a CEDS code.
    pub const INVALID_GRADE: &str = "invalid_grade";
    /// A malformed `userIds` entry.
    pub const INVALID_USER_IDS: &str = "invalid_user_ids";
    /// The same sourcedId more than once in one file (every copy is rejected).
    pub const DUPLICATE_SOURCED_ID: &str = "duplicate_sourced_id";
    /// An enrollment's user is neither in the package nor resolvable later.
    pub const UNKNOWN_USER: &str = "unknown_user";
    /// An enrollment's class is neither in the package nor resolvable later.
    pub const UNKNOWN_CLASS: &str = "unknown_class";
    /// A row with more fields than the header.
    pub const FIELD_COUNT: &str = "field_count";
    /// A sourcedId longer than [`crate::report::MAX_SOURCED_ID_BYTES`].
    pub const ID_TOO_LONG: &str = "id_too_long";
    /// A row longer than [`crate::report::MAX_RECORD_BYTES`].
    pub const RECORD_TOO_LONG: &str = "record_too_long";
    /// An email or username longer than [`crate::report::MAX_INDEXED_VALUE_BYTES`].
    pub const VALUE_TOO_LONG: &str = "value_too_long";

    // Warnings: tolerated and normalised.
    /// UTF-8 byte order mark at the start of a file.
    pub const BOM: &str = "bom";
    /// CRLF line endings.
    pub const CRLF: &str = "crlf";
    /// Columns in a different order than the specification.
    pub const HEADER_ORDER: &str = "header_order";
    /// A column name differing from the specification only in case.
    pub const HEADER_CASE: &str = "header_case";
    /// A column outside the specification, kept as an extension attribute.
    pub const EXTENSION_COLUMN: &str = "extension_column";
    /// A column of an optional value is missing (read as empty).
    pub const OPTIONAL_COLUMN_MISSING: &str = "optional_column_missing";
    /// An enumeration value in non-canonical case.
    pub const ENUM_CASE: &str = "enum_case";
    /// A boolean written as `1`/`0` or in non-canonical case.
    pub const BOOLEAN_FORM: &str = "boolean_form";
    /// A grade written in a non-canonical form (`9` for `09`, `kg`).
    pub const GRADE_FORM: &str = "grade_form";
    /// `dateLastModified` given as a date only.
    pub const DATE_ONLY_DATETIME: &str = "date_only_datetime";
    /// A date-time in a date column (`beginDate` of `2025-08-11T00:00:00Z`): read as its date.
    pub const DATE_TIME_IN_DATE_COLUMN: &str = "date_time_in_date_column";
    /// OneRoster 1.0's `inactive` status, read as `tobedeleted`.
    pub const INACTIVE_STATUS: &str = "inactive_status";
    /// A `tobedeleted` row inside a bulk file, read as a deletion.
    pub const TOBEDELETED_IN_BULK: &str = "tobedeleted_in_bulk";
    /// A CSV file not declared in the manifest, read as bulk.
    pub const UNDECLARED_FILE: &str = "undeclared_file";
    /// A file declared `absent` that is present anyway; it is not read.
    pub const FILE_DECLARED_ABSENT: &str = "file_declared_absent";
    /// A reference to a record that is not in the package; kept.
    pub const UNRESOLVED_REFERENCE: &str = "unresolved_reference";
    /// A manifest property this reader does not know.
    pub const UNKNOWN_MANIFEST_PROPERTY: &str = "unknown_manifest_property";
    /// `manifest.version` other than 1.0.
    pub const MANIFEST_VERSION: &str = "manifest_version";
    /// A gradebook or resource file: counted, not imported.
    pub const NOT_IMPORTED: &str = "not_imported";
    /// A file or archive entry that is not part of a OneRoster package; ignored.
    pub const IGNORED_ENTRY: &str = "ignored_entry";
    /// A value with leading or trailing spaces, trimmed.
    pub const WHITESPACE: &str = "whitespace";
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
    warnings: BTreeMap<(String, &'static str, Option<String>), Issue>,
    warning_order: Vec<(String, &'static str, Option<String>)>,
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
                Issue::new(Severity::Warning, "users", codes::ENUM_CASE, "m")
                    .at_line(line)
                    .in_column("role"),
            );
        }
        sink.warn(Issue::new(Severity::Warning, "orgs", codes::ENUM_CASE, "m").in_column("type"));
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
                codes::MISSING_VALUE,
                "m",
            ));
        }
        let (errors, count, _) = sink.into_parts();
        assert_eq!(errors.len(), 2);
        assert_eq!(count, 5);
    }

    #[test]
    fn long_values_are_truncated() {
        let issue = Issue::new(Severity::Error, "users", codes::INVALID_ENUM, "m")
            .with_value(&"x".repeat(500));
        assert_eq!(issue.value.unwrap().chars().count(), MAX_VALUE_CHARS + 1);
    }
}
