//! OneRoster 1.1 rostering model: the seven imported entity types, their
//! enumerations, and borrowed record views produced by the reader.
//!
//! Records borrow their text from the CSV row they were read from (zero-copy);
//! values that the reader normalises (enumerations, booleans, dates, grades)
//! are plain Rust values. Consumers that keep a record copy what they need.

pub use crate::user_ids::{UserId, UserIds};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

mod vocabulary;

pub use vocabulary::*;

/// The rostering files this reader models and imports, in dependency order
/// (a file only references files before it, or itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EntityKind {
    /// `orgs.csv`
    Orgs,
    /// `academicSessions.csv`
    AcademicSessions,
    /// `courses.csv`
    Courses,
    /// `classes.csv`
    Classes,
    /// `users.csv`
    Users,
    /// `enrollments.csv`
    Enrollments,
    /// `demographics.csv`
    Demographics,
}

impl EntityKind {
    /// All kinds in dependency order.
    pub const ALL: [EntityKind; 7] = [
        EntityKind::Orgs,
        EntityKind::AcademicSessions,
        EntityKind::Courses,
        EntityKind::Classes,
        EntityKind::Users,
        EntityKind::Enrollments,
        EntityKind::Demographics,
    ];

    /// The file name without extension, as in the manifest (`file.<name>`).
    pub fn file_name(self) -> &'static str {
        match self {
            EntityKind::Orgs => "orgs",
            EntityKind::AcademicSessions => "academicSessions",
            EntityKind::Courses => "courses",
            EntityKind::Classes => "classes",
            EntityKind::Users => "users",
            EntityKind::Enrollments => "enrollments",
            EntityKind::Demographics => "demographics",
        }
    }

    /// What one record of the kind and several are called in messages: `("user", "users")`.
    pub fn nouns(self) -> (&'static str, &'static str) {
        match self {
            EntityKind::Orgs => ("org", "orgs"),
            EntityKind::AcademicSessions => ("academic session", "academic sessions"),
            EntityKind::Courses => ("course", "courses"),
            EntityKind::Classes => ("class", "classes"),
            EntityKind::Users => ("user", "users"),
            EntityKind::Enrollments => ("enrollment", "enrollments"),
            EntityKind::Demographics => ("demographics record", "demographics records"),
        }
    }

    /// Looks a kind up by file name (case-insensitive, without extension).
    pub fn from_file_name(name: &str) -> Option<EntityKind> {
        EntityKind::ALL
            .into_iter()
            .find(|kind| kind.file_name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_name())
    }
}

/// Gradebook and resource files: recognised and counted, not imported.
pub const NOT_IMPORTED_FILES: [&str; 6] = [
    "lineItems",
    "results",
    "categories",
    "resources",
    "classResources",
    "courseResources",
];

/// How the manifest says a file is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileMode {
    /// The file is the complete set of records of its type.
    Bulk,
    /// The file holds changes only.
    Delta,
    /// The file is not part of this delivery.
    Absent,
}

impl FileMode {
    /// The manifest spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FileMode::Bulk => "bulk",
            FileMode::Delta => "delta",
            FileMode::Absent => "absent",
        }
    }
}

/// A comma-separated list of sourcedIds or free-text values, validated and
/// borrowed from the row. Items are trimmed; empty items are skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct List<'a>(pub(crate) &'a str);

impl<'a> List<'a> {
    /// The items.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> {
        self.0.split(',').map(str::trim).filter(|s| !s.is_empty())
    }

    /// Whether the list has no items.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl Serialize for List<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Extension attributes of a row: `metadata.*`, `ext_*` and other columns
/// outside the specification, with their header names. Empty values are skipped.
#[derive(Debug, Clone, Copy)]
pub struct Extensions<'a> {
    pub(crate) columns: &'a [(String, usize)],
    pub(crate) record: crate::records::Fields<'a>,
}

impl<'a> Extensions<'a> {
    /// `(column name, value)` pairs with non-empty values.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let record = self.record;
        self.columns.iter().filter_map(move |(name, idx)| {
            let value = record.get(*idx).map(str::trim).unwrap_or("");
            (!value.is_empty()).then_some((name.as_str(), value))
        })
    }
}

impl Serialize for Extensions<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// Fields every record has.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Common<'a> {
    /// The record's identifier, unique within its file.
    pub sourced_id: &'a str,
    /// `Active` or `ToBeDeleted`.
    pub status: Status,
    /// When the SIS last changed the record.
    #[serde(serialize_with = "crate::fields::serde_text::option_instant")]
    pub date_last_modified: Option<DateTime<Utc>>,
    /// Extension attributes.
    pub extensions: Extensions<'a>,
}

/// A value of a vocabulary OneRoster 1.2 lets a district extend (an org's
/// or academic session's `type`, `classType`, an enrollment's `role`): one
/// of the specification's, or an `ext:` value as written (read only in a
/// 1.2 package; 1.1 has no extensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extensible<'a, V> {
    /// A value of the specification.
    Known(V),
    /// An `ext:` value.
    Ext(&'a str),
}

impl<V: Vocabulary> Extensible<'_, V> {
    /// The value as written in the CSV binding.
    pub fn as_str(&self) -> &str {
        match self {
            Extensible::Known(value) => value.text(),
            Extensible::Ext(text) => text,
        }
    }

    /// The specification's value, when it is one.
    pub fn known(self) -> Option<V> {
        match self {
            Extensible::Known(value) => Some(value),
            Extensible::Ext(_) => None,
        }
    }
}

impl<V: Vocabulary> Serialize for Extensible<'_, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Whether `value` is an extension value of a 1.2 vocabulary: `ext:` and a name.
pub fn is_ext_value(value: &str) -> bool {
    value.len() > 4 && value.starts_with("ext:")
}

/// `orgs.csv` row.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Org<'a> {
    /// Common fields.
    #[serde(flatten)]
    pub common: Common<'a>,
    /// name*
    pub name: &'a str,
    /// type*
    #[serde(rename = "type")]
    pub org_type: Extensible<'a, OrgType>,
    /// identifier
    pub identifier: Option<&'a str>,
    /// parentSourcedId
    pub parent_sourced_id: Option<&'a str>,
}

/// `academicSessions.csv` row.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AcademicSession<'a> {
    /// Common fields.
    #[serde(flatten)]
    pub common: Common<'a>,
    /// title*
    pub title: &'a str,
    /// type*
    #[serde(rename = "type")]
    pub session_type: Extensible<'a, SessionType>,
    /// startDate*
    #[serde(serialize_with = "crate::fields::serde_text::date")]
    pub start_date: NaiveDate,
    /// endDate*
    #[serde(serialize_with = "crate::fields::serde_text::date")]
    pub end_date: NaiveDate,
    /// parentSourcedId
    pub parent_sourced_id: Option<&'a str>,
    /// schoolYear* (four digits)
    pub school_year: u16,
}

/// `courses.csv` row.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Course<'a> {
    /// Common fields.
    #[serde(flatten)]
    pub common: Common<'a>,
    /// schoolYearSourcedId
    pub school_year_sourced_id: Option<&'a str>,
    /// title*
    pub title: &'a str,
    /// courseCode
    pub course_code: Option<&'a str>,
    /// grades
    pub grades: GradeSet,
    /// orgSourcedId*
    pub org_sourced_id: &'a str,
    /// subjects
    pub subjects: List<'a>,
    /// subjectCodes
    pub subject_codes: List<'a>,
}

/// `classes.csv` row.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Class<'a> {
    /// Common fields.
    #[serde(flatten)]
    pub common: Common<'a>,
    /// title*
    pub title: &'a str,
    /// grades
    pub grades: GradeSet,
    /// courseSourcedId*
    pub course_sourced_id: &'a str,
    /// classCode
    pub class_code: Option<&'a str>,
    /// classType*
    pub class_type: Extensible<'a, ClassType>,
    /// location
    pub location: Option<&'a str>,
    /// schoolSourcedId*
    pub school_sourced_id: &'a str,
    /// termSourcedIds* (at least one)
    pub term_sourced_ids: List<'a>,
    /// subjects
    pub subjects: List<'a>,
    /// subjectCodes
    pub subject_codes: List<'a>,
    /// periods
    pub periods: List<'a>,
}

/// `users.csv` row. The `password` column is never read. In a OneRoster 1.2
/// package `role` and `orgSourcedIds` come from `roles.csv` (see [`crate::v1p2`]).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User<'a> {
    /// Common fields.
    #[serde(flatten)]
    pub common: Common<'a>,
    /// enabledUser*
    pub enabled_user: bool,
    /// orgSourcedIds* (at least one)
    pub org_sourced_ids: List<'a>,
    /// role*
    pub role: Role,
    /// username*
    pub username: &'a str,
    /// userIds
    pub user_ids: UserIds<'a>,
    /// givenName*
    pub given_name: &'a str,
    /// familyName*
    pub family_name: &'a str,
    /// middleName
    pub middle_name: Option<&'a str>,
    /// identifier
    pub identifier: Option<&'a str>,
    /// email
    pub email: Option<&'a str>,
    /// sms
    pub sms: Option<&'a str>,
    /// phone
    pub phone: Option<&'a str>,
    /// agentSourcedIds
    pub agent_sourced_ids: List<'a>,
    /// grades
    pub grades: GradeSet,
    /// userMasterIdentifier (1.2)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_master_identifier: Option<&'a str>,
    /// resourceSourcedIds (1.2)
    #[serde(skip_serializing_if = "List::is_empty")]
    pub resource_sourced_ids: List<'a>,
    /// preferredGivenName (1.2)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_given_name: Option<&'a str>,
    /// preferredMiddleName (1.2)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_middle_name: Option<&'a str>,
    /// preferredFamilyName (1.2)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_family_name: Option<&'a str>,
    /// primaryOrgSourcedId (1.2)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_org_sourced_id: Option<&'a str>,
    /// pronouns (1.2)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pronouns: Option<&'a str>,
    /// Every role of the user, from a 1.2 package's `roles.csv` in file
    /// order; empty for 1.1, whose `role` and `orgSourcedIds` are the row's.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub roles: &'a [crate::v1p2::RoleAssignment],
}

/// `enrollments.csv` row.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrollment<'a> {
    /// Common fields.
    #[serde(flatten)]
    pub common: Common<'a>,
    /// classSourcedId*
    pub class_sourced_id: &'a str,
    /// schoolSourcedId*
    pub school_sourced_id: &'a str,
    /// userSourcedId*
    pub user_sourced_id: &'a str,
    /// role*
    pub role: Extensible<'a, EnrollmentRole>,
    /// primary
    pub primary: Option<bool>,
    /// beginDate
    #[serde(serialize_with = "crate::fields::serde_text::option_date")]
    pub begin_date: Option<NaiveDate>,
    /// endDate
    #[serde(serialize_with = "crate::fields::serde_text::option_date")]
    pub end_date: Option<NaiveDate>,
}

/// `demographics.csv` row; `sourcedId` is the user's.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Demographics<'a> {
    /// Common fields.
    #[serde(flatten)]
    pub common: Common<'a>,
    /// birthDate
    #[serde(serialize_with = "crate::fields::serde_text::option_date")]
    pub birth_date: Option<NaiveDate>,
    /// sex
    pub sex: Option<Sex>,
    /// americanIndianOrAlaskaNative
    pub american_indian_or_alaska_native: Option<bool>,
    /// asian
    pub asian: Option<bool>,
    /// blackOrAfricanAmerican
    pub black_or_african_american: Option<bool>,
    /// nativeHawaiianOrOtherPacificIslander
    pub native_hawaiian_or_other_pacific_islander: Option<bool>,
    /// white
    pub white: Option<bool>,
    /// demographicRaceTwoOrMoreRaces
    pub demographic_race_two_or_more_races: Option<bool>,
    /// hispanicOrLatinoEthnicity
    pub hispanic_or_latino_ethnicity: Option<bool>,
    /// countryOfBirthCode
    pub country_of_birth_code: Option<&'a str>,
    /// stateOfBirthAbbreviation
    pub state_of_birth_abbreviation: Option<&'a str>,
    /// cityOfBirth
    pub city_of_birth: Option<&'a str>,
    /// publicSchoolResidenceStatus
    pub public_school_residence_status: Option<&'a str>,
}

/// One accepted, fully validated record of any imported type.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
pub enum Record<'a> {
    /// An org.
    Org(Org<'a>),
    /// An academic session.
    AcademicSession(AcademicSession<'a>),
    /// A course.
    Course(Course<'a>),
    /// A class.
    Class(Class<'a>),
    /// A user.
    User(User<'a>),
    /// An enrollment.
    Enrollment(Enrollment<'a>),
    /// Demographics of a user.
    Demographics(Demographics<'a>),
}

impl<'a> Record<'a> {
    /// The fields every record has.
    pub fn common(&self) -> &Common<'a> {
        match self {
            Record::Org(r) => &r.common,
            Record::AcademicSession(r) => &r.common,
            Record::Course(r) => &r.common,
            Record::Class(r) => &r.common,
            Record::User(r) => &r.common,
            Record::Enrollment(r) => &r.common,
            Record::Demographics(r) => &r.common,
        }
    }

    /// The record's sourcedId.
    pub fn sourced_id(&self) -> &'a str {
        self.common().sourced_id
    }

    /// The kind of record.
    pub fn kind(&self) -> EntityKind {
        match self {
            Record::Org(_) => EntityKind::Orgs,
            Record::AcademicSession(_) => EntityKind::AcademicSessions,
            Record::Course(_) => EntityKind::Courses,
            Record::Class(_) => EntityKind::Classes,
            Record::User(_) => EntityKind::Users,
            Record::Enrollment(_) => EntityKind::Enrollments,
            Record::Demographics(_) => EntityKind::Demographics,
        }
    }
}

/// What a row of a rostering file asks for, as the sync engine consumes it.
// Rows are transient stack values handed to a callback; boxing the large
// variant would cost an allocation per row for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy)]
pub enum RowItem<'a> {
    /// Create or update the record, and make it active.
    Upsert(Record<'a>),
    /// A `tobedeleted` (or `inactive`) row: archive the record with this sourcedId.
    Delete {
        /// The record's kind.
        kind: EntityKind,
        /// The record's sourcedId.
        sourced_id: &'a str,
        /// The row's `dateLastModified`, when given.
        date_last_modified: Option<DateTime<Utc>>,
    },
}

impl<'a> RowItem<'a> {
    /// The sourcedId the row is about.
    pub fn sourced_id(&self) -> &'a str {
        match self {
            RowItem::Upsert(record) => record.sourced_id(),
            RowItem::Delete { sourced_id, .. } => sourced_id,
        }
    }
}
