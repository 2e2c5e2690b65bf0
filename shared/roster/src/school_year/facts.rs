//! What a record says of time, read from its SIS content: the facts the
//! calendar judges (and the mass-update guard reads).

use crate::content::{Probe, SisContent, YearField};
use chrono::NaiveDate;
use compact_str::CompactString;
use oneroster::EntityKind;
use std::borrow::Cow;

/// What the school-year rules and the mass-update guard need of one record,
/// read from its SIS content (kept with each stored summary).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RecordFacts {
    /// Nothing the rules use (orgs, demographics).
    #[default]
    None,
    /// An academic session.
    Session {
        /// `startDate`.
        start: Option<NaiveDate>,
        /// `endDate`.
        end: Option<NaiveDate>,
        /// `schoolYear` (the year the school year ends in).
        school_year: Option<u16>,
    },
    /// A course.
    Course {
        /// `schoolYearSourcedId`.
        school_year: Option<CompactString>,
    },
    /// A class.
    Class {
        /// `termSourcedIds`.
        terms: Vec<String>,
    },
    /// An enrollment.
    Enrollment {
        /// `endDate`.
        end: Option<NaiveDate>,
        /// `classSourcedId` (short ids are kept inline: no allocation).
        class: Option<CompactString>,
    },
    /// A user: the keys single sign-on matches on, lower-case.
    User {
        /// `email`.
        email: Option<Box<str>>,
        /// `username`.
        username: Option<Box<str>>,
        /// Role `administrator` (readiness checks count them).
        administrator: bool,
    },
}

/// A `YYYY-MM-DD` date; the common form is read without chrono's format
/// parser (every stored enrollment's end date is read at every sync), any
/// other by it, as before.
fn date(text: &Option<Cow<'_, str>>) -> Option<NaiveDate> {
    text.as_deref().and_then(|text| {
        oneroster::fields::parse_date(text)
            .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
    })
}

fn year(value: &Option<YearField<'_>>) -> Option<u16> {
    match value.as_ref()? {
        YearField::Number(y) => u16::try_from(*y).ok(),
        YearField::Text(s) => s.trim().parse().ok(),
    }
}

impl RecordFacts {
    /// The facts of a record of `kind` with this content.
    pub fn of(kind: EntityKind, content: &SisContent) -> RecordFacts {
        Self::of_probe(kind, &content.probe())
    }

    /// The facts of a record of `kind` whose content reads as `probe`.
    pub fn of_probe(kind: EntityKind, probe: &Probe<'_>) -> RecordFacts {
        let text = |key: &Option<Cow<'_, str>>| key.as_deref().map(CompactString::from);
        let lower =
            |key: &Option<Cow<'_, str>>| key.as_deref().map(|k| k.to_lowercase().into_boxed_str());
        match kind {
            EntityKind::AcademicSessions => RecordFacts::Session {
                start: date(&probe.start_date),
                end: date(&probe.end_date),
                school_year: year(&probe.school_year),
            },
            EntityKind::Courses => RecordFacts::Course {
                school_year: text(&probe.school_year_sourced_id),
            },
            EntityKind::Classes => RecordFacts::Class {
                terms: probe
                    .term_sourced_ids
                    .iter()
                    .flatten()
                    .map(|t| t.to_string())
                    .collect(),
            },
            EntityKind::Enrollments => RecordFacts::Enrollment {
                end: date(&probe.end_date),
                class: text(&probe.class_sourced_id),
            },
            EntityKind::Users => RecordFacts::User {
                email: lower(&probe.email),
                username: lower(&probe.username),
                administrator: probe.role.as_deref() == Some("administrator"),
            },
            EntityKind::Orgs | EntityKind::Demographics => RecordFacts::None,
        }
    }

    /// The facts a stored summary keeps of a record whose stored content
    /// text is `text` (see [`RecordFacts::for_summary`]).
    pub fn for_stored_text(kind: EntityKind, text: &str, archived: bool) -> RecordFacts {
        if archived && !matches!(kind, EntityKind::AcademicSessions | EntityKind::Classes) {
            return RecordFacts::None;
        }
        match Probe::of_text(text) {
            Some(probe) => Self::of_probe(kind, &probe),
            None => Self::of(kind, &SisContent::from_stored(text.to_string())),
        }
    }

    /// The facts a stored summary keeps: an archived record is never archived
    /// again nor its keys compared, so only the sessions and classes the
    /// calendar reads are kept for it (memory: a store holds every past
    /// year's enrollments, archived).
    pub fn for_summary(kind: EntityKind, content: &SisContent, archived: bool) -> RecordFacts {
        if archived && !matches!(kind, EntityKind::AcademicSessions | EntityKind::Classes) {
            RecordFacts::None
        } else {
            RecordFacts::of(kind, content)
        }
    }

    /// Whether a delivered user's sign-in keys differ from these stored ones:
    /// a stored email or username that the delivery changes or removes (case
    /// aside). Filling in a key that was empty is not a change: nothing signs
    /// in by it yet.
    pub fn rewrites_identity_of(&self, stored: &RecordFacts) -> bool {
        match (stored, self) {
            (
                RecordFacts::User {
                    email, username, ..
                },
                RecordFacts::User {
                    email: new_email,
                    username: new_username,
                    ..
                },
            ) => {
                (email.is_some() && email != new_email)
                    || (username.is_some() && username != new_username)
            }
            _ => false,
        }
    }
}
