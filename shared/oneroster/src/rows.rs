//! Turning one CSV row into a typed record: every field checked, every error
//! of the row reported, tolerated quirks counted.

use crate::fields::{self, Vocabulary};
use crate::model::*;
use crate::report::{Issue, IssueCode, Severity};
use crate::schema::{ColumnMap, DATE_LAST_MODIFIED, STATUS};
use chrono::{DateTime, NaiveDate, Utc};

mod parse;

pub(crate) use parse::parse_row;

/// A quirk seen in a row: (code, specified column index or `usize::MAX`), message.
pub(crate) type Quirk = (IssueCode, usize, String);

/// Field access and checking for one row. Errors reject the row; quirks are
/// tolerated. When `collect` is false (the second, applying pass over an
/// already validated file) nothing is recorded.
pub(crate) struct RowCx<'r> {
    record: crate::records::Fields<'r>,
    map: &'r ColumnMap,
    file: &'static str,
    line: u64,
    collect: bool,
    /// A 1.2 package's roles, by user: set for its `users.csv`.
    pub(crate) roles: Option<&'r crate::v1p2::UserRoles>,
    /// A 1.2 package: `ext:` values are read in extensible vocabularies,
    /// and 1.2's wider vocabularies (`demographics.sex`) apply.
    v1p2: bool,
    pub(crate) failed: bool,
    /// The row is valid but skipped by policy (a 1.2 user whose primary
    /// role the platform does not know).
    pub(crate) skipped: bool,
    pub(crate) errors: Vec<Issue>,
    pub(crate) quirks: Vec<Quirk>,
}

impl<'r> RowCx<'r> {
    pub(crate) fn new(
        record: crate::records::Fields<'r>,
        map: &'r ColumnMap,
        kind: EntityKind,
        line: u64,
        collect: bool,
    ) -> Self {
        Self::for_file(record, map, kind.file_name(), line, collect)
    }

    /// Field access for a row of `file`, which need not be an imported kind's.
    pub(crate) fn for_file(
        record: crate::records::Fields<'r>,
        map: &'r ColumnMap,
        file: &'static str,
        line: u64,
        collect: bool,
    ) -> Self {
        RowCx {
            record,
            map,
            file,
            line,
            collect,
            roles: None,
            v1p2: false,
            failed: false,
            skipped: false,
            errors: Vec::new(),
            quirks: Vec::new(),
        }
    }

    /// The trimmed value of specified column `idx` ("" when the column is absent).
    pub(crate) fn text(&mut self, idx: usize) -> &'r str {
        let Some(pos) = self.map.position[idx] else {
            return "";
        };
        let raw = self.record.get(pos).unwrap_or("");
        let trimmed = trim(raw);
        if trimmed.len() != raw.len() && self.collect {
            self.quirk(
                IssueCode::Whitespace,
                idx,
                "leading or trailing spaces were trimmed".into(),
            );
        }
        trimmed
    }

    /// Reads a 1.2 package's `users.csv`, whose roles are in `roles`.
    pub(crate) fn with_roles(mut self, roles: Option<&'r crate::v1p2::UserRoles>) -> Self {
        self.roles = roles;
        self
    }

    /// Reads a package of `version` (1.2 reads `ext:` values).
    pub(crate) fn in_version(mut self, version: crate::OneRosterVersion) -> Self {
        self.v1p2 = version == crate::OneRosterVersion::V1p2;
        self
    }

    /// Whether the row is of a OneRoster 1.2 package.
    pub(crate) fn is_v1p2(&self) -> bool {
        self.v1p2
    }

    /// The row's line.
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    pub(crate) fn error(&mut self, code: IssueCode, idx: usize, value: &str, message: String) {
        self.failed = true;
        if self.collect {
            let mut issue = Issue::new(Severity::Error, self.file, code, message)
                .at_line(self.line)
                .in_column(self.map.name(idx));
            if !value.is_empty() {
                issue = issue.with_value(value);
            }
            self.errors.push(issue);
        }
    }

    fn quirk(&mut self, code: IssueCode, idx: usize, message: String) {
        if self.collect && !self.quirks.iter().any(|q| q.0 == code && q.1 == idx) {
            self.quirks.push((code, idx, message));
        }
    }

    /// A required text value.
    pub(crate) fn required(&mut self, idx: usize) -> Option<&'r str> {
        let value = self.text(idx);
        if value.is_empty() {
            let name = self.map.name(idx);
            self.error(
                IssueCode::MissingValue,
                idx,
                "",
                format!("`{name}` is required and is empty"),
            );
            return None;
        }
        Some(value)
    }

    /// An optional text value.
    pub(crate) fn optional(&mut self, idx: usize) -> Option<&'r str> {
        let value = self.text(idx);
        (!value.is_empty()).then_some(value)
    }

    /// `Some(Some(value))`, `Some(None)` for an empty optional value, or
    /// `None` (with an error recorded) for an empty required one.
    fn present(&mut self, idx: usize, required: bool) -> Option<Option<&'r str>> {
        if required {
            self.required(idx).map(Some)
        } else {
            Some(self.optional(idx))
        }
    }

    /// An enumeration value; `required` decides whether empty is an error.
    /// A value of an extensible vocabulary: the specification's, or in a
    /// 1.2 package an `ext:` value.
    pub(crate) fn extensible<V: Vocabulary>(
        &mut self,
        idx: usize,
        required: bool,
    ) -> Option<Extensible<'r, V>> {
        match self.optional(idx) {
            Some(value) if self.v1p2 && is_ext_value(value) => Some(Extensible::Ext(value)),
            _ => self.vocabulary(idx, required).map(Extensible::Known),
        }
    }

    pub(crate) fn vocabulary<V: Vocabulary>(&mut self, idx: usize, required: bool) -> Option<V> {
        self.vocabulary_among(V::ALL, idx, required)
    }

    /// A value among `values`, a part of a vocabulary (a version's).
    pub(crate) fn vocabulary_among<V: Vocabulary>(
        &mut self,
        values: &[V],
        idx: usize,
        required: bool,
    ) -> Option<V> {
        let value = self.present(idx, required)??;
        match fields::parse_among(values, value) {
            Some(n) => {
                if n.quirk {
                    self.quirk(
                        IssueCode::EnumCase,
                        idx,
                        format!("`{value}` read as `{}`", n.value.text()),
                    );
                }
                Some(n.value)
            }
            None => {
                let expected = fields::expected_among(values);
                self.error(
                    IssueCode::InvalidEnum,
                    idx,
                    value,
                    format!("`{value}` is not one of {expected}"),
                );
                None
            }
        }
    }

    /// A boolean; returns `Some(None)` for an empty optional value, `None` on error.
    pub(crate) fn boolean(&mut self, idx: usize, required: bool) -> Option<Option<bool>> {
        let Some(value) = self.present(idx, required)? else {
            return Some(None);
        };
        match fields::parse_bool(value) {
            Some(n) => {
                if n.quirk {
                    self.quirk(
                        IssueCode::BooleanForm,
                        idx,
                        format!("`{value}` read as `{}`", n.value),
                    );
                }
                Some(Some(n.value))
            }
            None => {
                self.error(
                    IssueCode::InvalidBoolean,
                    idx,
                    value,
                    format!("`{value}` is not a boolean; expected true or false"),
                );
                None
            }
        }
    }

    /// A `YYYY-MM-DD` date; `Some(None)` when empty and optional. A
    /// date-time is tolerated: its date as written is kept.
    pub(crate) fn date(&mut self, idx: usize, required: bool) -> Option<Option<NaiveDate>> {
        let Some(value) = self.present(idx, required)? else {
            return Some(None);
        };
        if let Some(date) = fields::parse_date(value) {
            return Some(Some(date));
        }
        match fields::parse_date_of_datetime(value) {
            Some(date) => {
                // The value is not echoed: it may be a birth date.
                self.quirk(
                    IssueCode::DateTimeInDateColumn,
                    idx,
                    "a date and time where a date is expected; read as the date written (the time and offset are dropped)".into(),
                );
                Some(Some(date))
            }
            None => {
                self.error(
                    IssueCode::InvalidDate,
                    idx,
                    value,
                    format!("`{value}` is not a date; expected YYYY-MM-DD"),
                );
                None
            }
        }
    }

    /// `dateLastModified`; a date alone is tolerated.
    pub(crate) fn date_last_modified(&mut self) -> Option<Option<DateTime<Utc>>> {
        let Some(value) = self.optional(DATE_LAST_MODIFIED) else {
            return Some(None);
        };
        match fields::parse_datetime(value) {
            Some(n) => {
                if n.quirk {
                    self.quirk(
                        IssueCode::DateOnlyDatetime,
                        DATE_LAST_MODIFIED,
                        format!("`{value}` has no time; read as midnight UTC"),
                    );
                }
                Some(Some(n.value))
            }
            None => {
                self.error(
                    IssueCode::InvalidDatetime,
                    DATE_LAST_MODIFIED,
                    value,
                    format!("`{value}` is not a date-time; expected YYYY-MM-DDTHH:MM:SS.sssZ"),
                );
                None
            }
        }
    }

    /// `status`: blank is active in bulk files and an error in delta files.
    pub(crate) fn status(&mut self, mode: FileMode) -> Option<Status> {
        let value = self.text(STATUS);
        if value.is_empty() && mode == FileMode::Delta {
            self.error(
                IssueCode::MissingValue,
                STATUS,
                "",
                "`status` is required in a delta file; expected active or tobedeleted".into(),
            );
            return None;
        }
        match fields::parse_status(value) {
            Some(n) => {
                if n.quirk {
                    if value.eq_ignore_ascii_case("inactive") {
                        self.quirk(
                            IssueCode::InactiveStatus,
                            STATUS,
                            "OneRoster 1.0 status `inactive` read as `tobedeleted`".into(),
                        );
                    } else {
                        self.quirk(
                            IssueCode::EnumCase,
                            STATUS,
                            format!("`{value}` read in lower case"),
                        );
                    }
                }
                if n.value == Status::ToBeDeleted && mode == FileMode::Bulk {
                    self.quirk(
                        IssueCode::TobedeletedInBulk,
                        STATUS,
                        "a `tobedeleted` row in a bulk file is read as a deletion".into(),
                    );
                }
                Some(n.value)
            }
            None => {
                self.error(
                    IssueCode::InvalidEnum,
                    STATUS,
                    value,
                    format!("`{value}` is not a status; expected active or tobedeleted"),
                );
                None
            }
        }
    }

    /// A list of grades (CEDS codes).
    pub(crate) fn grades(&mut self, idx: usize) -> Option<GradeSet> {
        let value = self.text(idx);
        let mut set = GradeSet::default();
        let mut ok = true;
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match fields::parse_grade(item) {
                Some(n) => {
                    if n.quirk {
                        self.quirk(
                            IssueCode::GradeForm,
                            idx,
                            format!("grade `{item}` read as `{}`", n.value.as_str()),
                        );
                    }
                    set.insert(n.value);
                }
                None => {
                    self.error(
                        IssueCode::InvalidGrade,
                        idx,
                        item,
                        format!("`{item}` is not a CEDS grade; expected IT, PR, PK, TK, KG, 01-13, PS, UG or Other"),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(set)
    }

    /// A comma-separated list; `required` means at least one item.
    pub(crate) fn list(&mut self, idx: usize, required: bool) -> Option<List<'r>> {
        let value = self.text(idx);
        let list = List(value);
        if required && list.is_empty() {
            let name = self.map.name(idx);
            self.error(
                IssueCode::MissingValue,
                idx,
                value,
                format!("`{name}` needs at least one sourcedId"),
            );
            return None;
        }
        Some(list)
    }

    /// `users.userIds`.
    pub(crate) fn user_ids(&mut self, idx: usize) -> Option<UserIds<'r>> {
        let value = self.text(idx);
        if let Some(Err(e)) = fields::split_user_ids(value).find(|r| r.is_err()) {
            self.error(
                IssueCode::InvalidUserIds,
                idx,
                value,
                format!(
                    "malformed userIds entry at character {}; expected {{type:identifier}} entries separated by commas",
                    e.at + 1
                ),
            );
            return None;
        }
        Some(UserIds(value))
    }

    /// `academicSessions.schoolYear`.
    pub(crate) fn year(&mut self, idx: usize) -> Option<u16> {
        let value = self.required(idx)?;
        match fields::parse_year(value) {
            Some(year) => Some(year),
            None => {
                self.error(
                    IssueCode::InvalidYear,
                    idx,
                    value,
                    format!("`{value}` is not a school year; expected four digits (YYYY)"),
                );
                None
            }
        }
    }

    /// Extension attributes of the row.
    pub(crate) fn extensions(&self) -> Extensions<'r> {
        Extensions {
            columns: &self.map.extensions,
            record: self.record,
        }
    }
}

/// `str::trim`, with a fast path for the usual value that needs none.
fn trim(value: &str) -> &str {
    match value.as_bytes() {
        [] => value,
        [first, .., last] | [first @ last]
            if *first > b' ' && *first < 0x80 && *last > b' ' && *last < 0x80 =>
        {
            value
        }
        _ => value.trim(),
    }
}
