//! The validation report: what was read, what was rejected and why, and the
//! quirks that were tolerated.
//!
//! Every issue names the file, the 1-based line (the header is line 1), the
//! column (its header name), a stable machine-readable code and a message a
//! person can act on. Row errors are listed one by one (up to a cap, with the
//! total always counted); tolerated quirks are aggregated into one warning per
//! file, code and column, with a count and the first place they were seen.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod issue_code;

pub use issue_code::IssueCode;

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
    /// For a record pulled from a OneRoster API: the record as the district
    /// sent it, shown instead of the line of the temporary file it was read
    /// from (`line` is then `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<ApiLocation>,
}

/// Where a record pulled from a district's OneRoster API came from: its
/// collection, the page that carried it (the request's `offset`) and its
/// `sourcedId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiLocation {
    /// The collection (`users`).
    pub collection: String,
    /// The `offset` of the page that carried the record.
    pub offset: u64,
    /// The record's `sourcedId` (empty when it had none).
    #[serde(rename = "sourcedId")]
    pub sourced_id: String,
    /// The part of the record concerned, when a row was made of one (a 1.2
    /// user's role: `roles[1]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiLocation {
    /// `users record `stu-1` (page at offset 200)`, and `, roles[1]` for a
    /// part of it.
    pub fn render(&self) -> String {
        let id = if self.sourced_id.is_empty() {
            "without a sourcedId".to_string()
        } else {
            format!("`{}`", escape_controls(&truncate(&self.sourced_id)))
        };
        let field = match &self.field {
            Some(field) => format!(", {}", escape_controls(field)),
            None => String::new(),
        };
        format!(
            "{} record {id} (page at offset {}){field}",
            escape_controls(&self.collection),
            self.offset
        )
    }
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
            record: None,
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

    /// One-line human rendering: `users.csv:12 [role] invalid_enum: ...`,
    /// or for a pulled record `users record `u1` (page at offset 0) [role] ...`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Some(record) = &self.record {
            out.push_str(&record.render());
        } else {
            out.push_str(&self.file);
            if self.file != PACKAGE_FILE {
                out.push_str(".csv");
            }
            if let Some(line) = self.line {
                out.push_str(&format!(":{line}"));
            }
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

/// `value` cut to a readable length (an ellipsis marks the cut).
pub(crate) fn truncate(value: &str) -> String {
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

/// Most row errors of one code in one file that a report lists; the rest are counted.
pub const MAX_LISTED_PER_CODE: usize = 100;

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
    /// (file, code) -> errors (listed, not listed).
    per_code: BTreeMap<(String, IssueCode), (usize, u64)>,
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
            per_code: BTreeMap::new(),
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

    /// Records a row error: listed while its file and code have had fewer
    /// than [`MAX_LISTED_PER_CODE`] and the report fewer than its cap, counted always.
    pub(crate) fn error(&mut self, issue: Issue) {
        self.error_count += 1;
        let (listed, unlisted) = self
            .per_code
            .entry((issue.file.clone(), issue.code))
            .or_default();
        if *listed < MAX_LISTED_PER_CODE && self.errors.len() < self.max_errors {
            *listed += 1;
            self.errors.push(Issue {
                severity: Severity::Error,
                ..issue
            });
        } else {
            *unlisted += 1;
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
            per_code,
            mut warnings,
            warning_order,
            ..
        } = self;
        let fatal_count = fatal.len() as u64;
        let mut all = fatal;
        all.extend(in_line_order(errors));
        for ((file, code), (_, unlisted)) in per_code {
            if unlisted > 0 {
                all.push(Issue {
                    count: Some(unlisted),
                    ..Issue::new(
                        Severity::Error,
                        file,
                        code,
                        format!("{unlisted} more rows with this error are not listed"),
                    )
                });
            }
        }
        let ordered = warning_order
            .into_iter()
            .filter_map(|key| warnings.remove(&key))
            .collect();
        (all, error_count + fatal_count, ordered)
    }
}

/// Each file's errors in line order (a duplicate's first copy is met when
/// the second is), the files in the order their first error came.
fn in_line_order(mut errors: Vec<Issue>) -> Vec<Issue> {
    let mut files: Vec<&str> = Vec::new();
    for e in &errors {
        if !files.contains(&e.file.as_str()) {
            files.push(&e.file);
        }
    }
    let rank: Vec<(String, usize)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.to_string(), i))
        .collect();
    let file_rank = |file: &str| rank.iter().find(|(f, _)| f == file).map_or(0, |(_, i)| *i);
    errors.sort_by_key(|e| (file_rank(&e.file), e.line.unwrap_or(0)));
    errors
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
        assert_eq!(count, 5);
        assert_eq!(errors.len(), 3, "two listed, then one that counts the rest");
        assert_eq!(errors[2].count, Some(3));
        assert_eq!(errors[2].line, None);
    }

    #[test]
    fn a_pulled_record_is_named_by_collection_page_and_sourced_id() {
        let mut issue = Issue::new(Severity::Error, "users", IssueCode::InvalidEnum, "bad role")
            .at_line(7)
            .in_column("role");
        assert_eq!(issue.render(), "users.csv:7 [role] invalid_enum: bad role");
        issue.line = None;
        issue.record = Some(ApiLocation {
            collection: "users".into(),
            offset: 200,
            sourced_id: "u-9".into(),
            field: None,
        });
        assert_eq!(
            issue.render(),
            "users record `u-9` (page at offset 200) [role] invalid_enum: bad role"
        );
        let json = serde_json::to_value(&issue).unwrap();
        assert_eq!(json["record"]["sourcedId"], "u-9");
        assert!(json["record"].get("field").is_none());
        issue.record.as_mut().unwrap().field = Some("roles[1]".into());
        assert_eq!(
            issue.render(),
            "users record `u-9` (page at offset 200), roles[1] [role] invalid_enum: bad role"
        );
        let plain = Issue::new(Severity::Error, "users", IssueCode::InvalidEnum, "m");
        assert!(serde_json::to_value(&plain)
            .unwrap()
            .get("record")
            .is_none());
    }

    #[test]
    fn each_file_s_errors_come_in_line_order() {
        let mut sink = IssueSink::new(10);
        for (file, line) in [
            ("users", 6),
            ("users", 3),
            ("users", 22),
            ("enrollments", 2),
            ("users", 9),
        ] {
            sink.error(
                Issue::new(Severity::Error, file, IssueCode::MissingValue, "m").at_line(line),
            );
        }
        let (errors, _, _) = sink.into_parts();
        let order: Vec<_> = errors
            .iter()
            .map(|e| (e.file.as_str(), e.line.unwrap()))
            .collect();
        assert_eq!(
            order,
            [
                ("users", 3),
                ("users", 6),
                ("users", 9),
                ("users", 22),
                ("enrollments", 2)
            ]
        );
    }

    #[test]
    fn long_values_are_truncated() {
        let issue = Issue::new(Severity::Error, "users", IssueCode::InvalidEnum, "m")
            .with_value(&"x".repeat(500));
        assert_eq!(issue.value.unwrap().chars().count(), MAX_VALUE_CHARS + 1);
    }
}
