//! What the page lists of a validation: the per-file counts, the errors and
//! the tolerated quirks, as typed values. Read back from `report.json` (the
//! JSON of [`oneroster::ValidationReport`]) or taken from the report itself.

use oneroster::report::{ApiLocation, FileSummary, Issue};
use oneroster::ValidationReport;
use roster::run::{RunIssue, RunRecord};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A validation report as the page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Findings {
    /// True when the package may be applied.
    pub ok: bool,
    /// Per-file counts, by file name without extension.
    #[serde(default)]
    pub files: BTreeMap<String, FileCounts>,
    /// The listed errors (the first ones).
    #[serde(default)]
    pub errors: Vec<Finding>,
    /// All errors, including those beyond the listed ones (absent: as many as listed).
    #[serde(default)]
    pub error_count: Option<u64>,
    /// The tolerated quirks, each with how many times it was seen.
    #[serde(default)]
    pub warnings: Vec<Finding>,
}

/// One file's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FileCounts {
    /// `bulk` or `delta`.
    pub mode: String,
    /// Data rows read.
    pub rows: u64,
    /// Rows accepted.
    pub accepted: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Rows skipped by policy.
    pub skipped: u64,
    /// Quirks tolerated (each occurrence).
    pub warnings: u64,
}

/// One error or tolerated quirk: where, the value, the code and the message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Finding {
    /// The file: a type (`users`), a file name, or `package`.
    pub file: String,
    /// The line, 1-based with the header on line 1.
    pub line: Option<u64>,
    /// The column header.
    pub column: Option<String>,
    /// The value as found (never shown for a `password` column).
    pub value: Option<String>,
    /// The issue code.
    pub code: String,
    /// The finding's own words.
    pub message: String,
    /// How many times a quirk was seen.
    pub count: Option<u64>,
    /// A record pulled from a OneRoster API, as the district sent it (then
    /// there is no line).
    pub record: Option<ApiLocation>,
}

impl Findings {
    /// The findings of a validation report in hand.
    pub fn of(report: &ValidationReport) -> Self {
        let files = report
            .files
            .iter()
            .map(|(name, f)| (name.clone(), FileCounts::of(f)))
            .collect();
        Findings {
            ok: report.ok,
            files,
            errors: report.errors.iter().map(Finding::of).collect(),
            error_count: Some(report.error_count),
            warnings: report.warnings.iter().map(Finding::of).collect(),
        }
    }

    /// The findings in a validation report's JSON (`report.json`'s
    /// `validation`); `None` when it is not one.
    pub fn from_value(value: &serde_json::Value) -> Option<Self> {
        Findings::deserialize(value).ok()
    }

    /// A run's own errors, when it has any (a run whose validation report is gone).
    pub fn of_run(run: &RunRecord) -> Option<Self> {
        (!run.errors.is_empty()).then(|| Findings {
            ok: false,
            files: BTreeMap::new(),
            errors: run.errors.iter().map(Finding::of_run).collect(),
            error_count: Some(run.error_count),
            warnings: Vec::new(),
        })
    }

    /// All errors, listed or not.
    pub fn error_total(&self) -> u64 {
        self.error_count
            .unwrap_or(self.errors.len() as u64)
            .max(self.errors.len() as u64)
    }
}

impl FileCounts {
    fn of(f: &FileSummary) -> Self {
        FileCounts {
            mode: f.mode.clone(),
            rows: f.rows,
            accepted: f.accepted,
            rejected: f.rejected,
            skipped: f.skipped,
            warnings: f.warnings,
        }
    }
}

impl Finding {
    fn of(issue: &Issue) -> Self {
        Finding {
            file: issue.file.clone(),
            line: issue.line,
            column: issue.column.clone(),
            value: issue.value.clone(),
            code: issue.code.to_string(),
            message: issue.message.clone(),
            count: issue.count,
            record: issue.record.clone(),
        }
    }

    fn of_run(issue: &RunIssue) -> Self {
        Finding {
            file: issue.file.clone(),
            line: issue.line,
            column: issue.column.clone(),
            value: None,
            code: issue.code.clone(),
            message: issue.message.clone(),
            count: None,
            record: issue.record.clone(),
        }
    }

    /// The file as the district knows it: `users` is `users.csv`; a pulled
    /// record's collection by its name.
    pub fn file_name(&self) -> String {
        if let Some(record) = &self.record {
            record.collection.clone()
        } else if self.file.contains('.') || self.file == oneroster::report::PACKAGE_FILE {
            self.file.clone()
        } else {
            format!("{}.csv", self.file)
        }
    }

    /// Where in the file: its line, or a pulled record's sourcedId and page.
    pub fn place(&self) -> String {
        match (&self.record, self.line) {
            (Some(r), _) => {
                let id = match r.sourced_id.as_str() {
                    "" => "(no sourcedId)",
                    id => id,
                };
                let field = r.field.as_deref().map(|f| format!(", {f}"));
                format!(
                    "{id}, page at offset {}{}",
                    r.offset,
                    field.unwrap_or_default()
                )
            }
            (None, Some(line)) => line.to_string(),
            (None, None) => String::new(),
        }
    }

    /// The value to show: none for a `password` column, whatever it holds.
    pub fn shown_value(&self) -> &str {
        match (&self.column, &self.value) {
            (Some(c), _) if c.eq_ignore_ascii_case("password") => "",
            (_, Some(v)) => v,
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_read_back_equals_the_report_in_hand() {
        let options = oneroster::ValidationOptions::default();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("users.csv"), "sourcedId\nu1\n").unwrap();
        let report = oneroster::validate_package(dir.path(), &options).report;
        assert!(!report.errors.is_empty(), "a package without a manifest");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(Findings::from_value(&json), Some(Findings::of(&report)));
    }

    #[test]
    fn a_password_value_is_never_shown_and_a_type_is_a_csv_file() {
        let finding = Finding {
            file: "users".into(),
            column: Some("Password".into()),
            value: Some("hunter2".into()),
            ..Finding::default()
        };
        assert_eq!(finding.shown_value(), "");
        assert_eq!(finding.file_name(), "users.csv");
        let package = Finding {
            file: "package".into(),
            ..Finding::default()
        };
        assert_eq!(package.file_name(), "package");
    }

    #[test]
    fn a_pulled_record_is_placed_by_its_id_page_and_field() {
        let record = |field: Option<&str>| Finding {
            record: Some(oneroster::report::ApiLocation {
                collection: "users".into(),
                offset: 2,
                sourced_id: "st1".into(),
                field: field.map(str::to_string),
            }),
            line: Some(7),
            ..Finding::default()
        };
        assert_eq!(
            record(Some("roles[1]")).place(),
            "st1, page at offset 2, roles[1]"
        );
        assert_eq!(record(None).place(), "st1, page at offset 2");
        let line = Finding {
            line: Some(7),
            ..Finding::default()
        };
        assert_eq!(line.place(), "7");
    }

    #[test]
    fn json_that_is_not_a_report_gives_no_findings() {
        assert_eq!(
            Findings::from_value(&serde_json::json!({"key": "x.zip"})),
            None
        );
    }
}
