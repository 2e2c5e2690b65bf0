//! Turning one CSV row into a typed record: every field checked, every error
//! of the row reported, tolerated quirks counted.

use crate::fields::{self, expected_values, Vocabulary};
use crate::model::*;
use crate::report::{Issue, IssueCode, Severity};
use crate::schema::{ColumnMap, DATE_LAST_MODIFIED, SOURCED_ID, STATUS};
use chrono::{DateTime, NaiveDate, Utc};

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
    /// A 1.2 package: `ext:` values are read in extensible vocabularies.
    extensions: bool,
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
            extensions: false,
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
        self.extensions = version == crate::OneRosterVersion::V1p2;
        self
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
            Some(value) if self.extensions && is_ext_value(value) => Some(Extensible::Ext(value)),
            _ => self.vocabulary(idx, required).map(Extensible::Known),
        }
    }

    pub(crate) fn vocabulary<V: Vocabulary>(&mut self, idx: usize, required: bool) -> Option<V> {
        let value = self.present(idx, required)??;
        match fields::parse_vocabulary::<V>(value) {
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
                let expected = expected_values::<V>();
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

/// Reads one row of `kind` in a file of `mode`. `None` when the row is
/// rejected (the errors are in `cx`).
pub(crate) fn parse_row<'r>(
    kind: EntityKind,
    mode: FileMode,
    cx: &mut RowCx<'r>,
) -> Option<RowItem<'r>> {
    let sourced_id = cx.required(SOURCED_ID);
    let status = cx.status(mode);
    let date_last_modified = cx.date_last_modified();
    if status == Some(Status::ToBeDeleted) {
        // A deletion needs only its identity; other fields are not checked.
        return Some(RowItem::Delete {
            kind,
            sourced_id: sourced_id?,
            date_last_modified: date_last_modified?,
        });
    }
    // Every field is checked even when one already failed, so that a row's
    // report lists all of its problems at once.
    let common = Common {
        sourced_id: sourced_id.unwrap_or_default(),
        status: status.unwrap_or(Status::Active),
        date_last_modified: date_last_modified.flatten(),
        extensions: cx.extensions(),
    };
    let record = match kind {
        EntityKind::Orgs => parse_org(cx, common).map(Record::Org),
        EntityKind::AcademicSessions => {
            parse_academic_session(cx, common).map(Record::AcademicSession)
        }
        EntityKind::Courses => parse_course(cx, common).map(Record::Course),
        EntityKind::Classes => parse_class(cx, common).map(Record::Class),
        EntityKind::Users => match cx.roles {
            Some(roles) => crate::v1p2::users::parse_user(cx, common, roles).map(Record::User),
            None => parse_user(cx, common).map(Record::User),
        },
        EntityKind::Enrollments => parse_enrollment(cx, common).map(Record::Enrollment),
        EntityKind::Demographics => parse_demographics(cx, common).map(Record::Demographics),
    };
    if cx.failed || cx.skipped {
        return None;
    }
    record.map(RowItem::Upsert)
}

fn parse_org<'r>(cx: &mut RowCx<'r>, common: Common<'r>) -> Option<Org<'r>> {
    let name = cx.required(3);
    let org_type = cx.extensible::<OrgType>(4, true);
    let identifier = cx.optional(5);
    let parent_sourced_id = cx.optional(6);
    Some(Org {
        common,
        name: name?,
        org_type: org_type?,
        identifier,
        parent_sourced_id,
    })
}

fn parse_academic_session<'r>(
    cx: &mut RowCx<'r>,
    common: Common<'r>,
) -> Option<AcademicSession<'r>> {
    let title = cx.required(3);
    let session_type = cx.extensible::<SessionType>(4, true);
    let start_date = cx.date(5, true);
    let end_date = cx.date(6, true);
    let parent_sourced_id = cx.optional(7);
    let school_year = cx.year(8);
    Some(AcademicSession {
        common,
        title: title?,
        session_type: session_type?,
        start_date: start_date??,
        end_date: end_date??,
        parent_sourced_id,
        school_year: school_year?,
    })
}

fn parse_course<'r>(cx: &mut RowCx<'r>, common: Common<'r>) -> Option<Course<'r>> {
    let school_year_sourced_id = cx.optional(3);
    let title = cx.required(4);
    let course_code = cx.optional(5);
    let grades = cx.grades(6);
    let org_sourced_id = cx.required(7);
    let subjects = cx.list(8, false);
    let subject_codes = cx.list(9, false);
    Some(Course {
        common,
        school_year_sourced_id,
        title: title?,
        course_code,
        grades: grades?,
        org_sourced_id: org_sourced_id?,
        subjects: subjects?,
        subject_codes: subject_codes?,
    })
}

fn parse_class<'r>(cx: &mut RowCx<'r>, common: Common<'r>) -> Option<Class<'r>> {
    let title = cx.required(3);
    let grades = cx.grades(4);
    let course_sourced_id = cx.required(5);
    let class_code = cx.optional(6);
    let class_type = cx.extensible::<ClassType>(7, true);
    let location = cx.optional(8);
    let school_sourced_id = cx.required(9);
    let term_sourced_ids = cx.list(10, true);
    let subjects = cx.list(11, false);
    let subject_codes = cx.list(12, false);
    let periods = cx.list(13, false);
    Some(Class {
        common,
        title: title?,
        grades: grades?,
        course_sourced_id: course_sourced_id?,
        class_code,
        class_type: class_type?,
        location,
        school_sourced_id: school_sourced_id?,
        term_sourced_ids: term_sourced_ids?,
        subjects: subjects?,
        subject_codes: subject_codes?,
        periods: periods?,
    })
}

fn parse_user<'r>(cx: &mut RowCx<'r>, common: Common<'r>) -> Option<User<'r>> {
    // Column 17 (`password`) is deliberately never read.
    let enabled_user = cx.boolean(3, true);
    let org_sourced_ids = cx.list(4, true);
    let role = cx.vocabulary::<Role>(5, true);
    let username = cx.required(6);
    let user_ids = cx.user_ids(7);
    let given_name = cx.required(8);
    let family_name = cx.required(9);
    let middle_name = cx.optional(10);
    let identifier = cx.optional(11);
    let email = cx.optional(12);
    let sms = cx.optional(13);
    let phone = cx.optional(14);
    let agent_sourced_ids = cx.list(15, false);
    let grades = cx.grades(16);
    Some(User {
        common,
        enabled_user: enabled_user??,
        org_sourced_ids: org_sourced_ids?,
        role: role?,
        username: username?,
        user_ids: user_ids?,
        given_name: given_name?,
        family_name: family_name?,
        middle_name,
        identifier,
        email,
        sms,
        phone,
        agent_sourced_ids: agent_sourced_ids?,
        grades: grades?,
        user_master_identifier: None,
        resource_sourced_ids: List::default(),
        preferred_given_name: None,
        preferred_middle_name: None,
        preferred_family_name: None,
        primary_org_sourced_id: None,
        pronouns: None,
        roles: &[],
    })
}

fn parse_enrollment<'r>(cx: &mut RowCx<'r>, common: Common<'r>) -> Option<Enrollment<'r>> {
    let class_sourced_id = cx.required(3);
    let school_sourced_id = cx.required(4);
    let user_sourced_id = cx.required(5);
    let role = cx.extensible::<EnrollmentRole>(6, true);
    let primary = cx.boolean(7, false);
    let begin_date = cx.date(8, false);
    let end_date = cx.date(9, false);
    Some(Enrollment {
        common,
        class_sourced_id: class_sourced_id?,
        school_sourced_id: school_sourced_id?,
        user_sourced_id: user_sourced_id?,
        role: role?,
        primary: primary?,
        begin_date: begin_date?,
        end_date: end_date?,
    })
}

fn parse_demographics<'r>(cx: &mut RowCx<'r>, common: Common<'r>) -> Option<Demographics<'r>> {
    let birth_date = cx.date(3, false);
    let sex = cx.vocabulary::<Sex>(4, false);
    let sex_ok = sex.is_some() || cx.optional(4).is_none();
    let flags: Vec<Option<Option<bool>>> = (5..=11).map(|idx| cx.boolean(idx, false)).collect();
    let country_of_birth_code = cx.optional(12);
    let state_of_birth_abbreviation = cx.optional(13);
    let city_of_birth = cx.optional(14);
    let public_school_residence_status = cx.optional(15);
    if !sex_ok || flags.iter().any(Option::is_none) {
        return None;
    }
    let flag = |i: usize| flags[i].flatten();
    Some(Demographics {
        common,
        birth_date: birth_date?,
        sex,
        american_indian_or_alaska_native: flag(0),
        asian: flag(1),
        black_or_african_american: flag(2),
        native_hawaiian_or_other_pacific_islander: flag(3),
        white: flag(4),
        demographic_race_two_or_more_races: flag(5),
        hispanic_or_latino_ethnicity: flag(6),
        country_of_birth_code,
        state_of_birth_abbreviation,
        city_of_birth,
        public_school_residence_status,
    })
}
