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
        school_year: Option<Box<str>>,
        /// `orgSourcedId` (the per-school hold holds a school's courses).
        org: Option<Box<str>>,
    },
    /// A class.
    Class {
        /// `termSourcedIds`.
        terms: Box<[String]>,
        /// `schoolSourcedId` (the per-school hold counts a school's classes).
        school: Option<Box<str>>,
    },
    /// An enrollment.
    Enrollment {
        /// `endDate`.
        end: Option<NaiveDate>,
        /// `classSourcedId` (short ids are kept inline: no allocation).
        class: Option<CompactString>,
    },
    /// A user: the keys single sign-on matches on, and its orgs.
    User(UserFacts),
}

/// Appends `key` lower-cased (ASCII in place, without a copy).
fn push_lower(text: &mut String, key: &str) {
    if key.is_ascii() {
        let start = text.len();
        text.push_str(key);
        text[start..].make_ascii_lowercase();
    } else {
        text.push_str(&key.to_lowercase());
    }
}

/// What is kept of a user: its sign-in keys (lower-case) and the orgs it
/// belongs to, end to end in one text cut by lengths (a summary is kept of
/// every stored user: one allocation, not three). An empty key is no key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFacts {
    /// `email`, then `username`, then `orgSourcedIds` joined by commas (a
    /// CSV list cannot hold an id with a comma).
    text: Box<str>,
    email_end: u32,
    username_end: u32,
    administrator: bool,
}

impl UserFacts {
    /// The facts of a user with these keys (lower-cased here), orgs and role.
    pub fn new<'o>(
        email: Option<&str>,
        username: Option<&str>,
        orgs: impl Iterator<Item = &'o str> + Clone,
        administrator: bool,
    ) -> UserFacts {
        let (email, username) = (email.unwrap_or_default(), username.unwrap_or_default());
        let orgs_len: usize = orgs.clone().map(|o| o.len() + 1).sum();
        // One allocation, of the exact size: a summary is kept of every user.
        let mut text = String::with_capacity(email.len() + username.len() + orgs_len);
        push_lower(&mut text, email);
        let email_end = text.len();
        push_lower(&mut text, username);
        let username_end = text.len();
        for (i, org) in orgs.enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(org);
        }
        // Keys past 4 GiB are cut; no user's email or username is that long.
        let end = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        UserFacts {
            text: text.into_boxed_str(),
            email_end: end(email_end),
            username_end: end(username_end),
            administrator,
        }
    }

    fn part(&self, from: u32, to: u32) -> &str {
        self.text
            .get(from as usize..to as usize)
            .unwrap_or_default()
    }

    /// `email`, lower-case.
    pub fn email(&self) -> Option<&str> {
        Some(self.part(0, self.email_end)).filter(|k| !k.is_empty())
    }

    /// `username`, lower-case.
    pub fn username(&self) -> Option<&str> {
        Some(self.part(self.email_end, self.username_end)).filter(|k| !k.is_empty())
    }

    /// `orgSourcedIds`.
    pub fn orgs(&self) -> impl Iterator<Item = &str> {
        self.part(self.username_end, self.text.len() as u32)
            .split(',')
            .filter(|org| !org.is_empty())
    }

    /// Role `administrator` (readiness checks count them).
    pub fn administrator(&self) -> bool {
        self.administrator
    }
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
        match kind {
            EntityKind::AcademicSessions => RecordFacts::Session {
                start: date(&probe.start_date),
                end: date(&probe.end_date),
                school_year: year(&probe.school_year),
            },
            EntityKind::Courses => RecordFacts::Course {
                school_year: probe.school_year_sourced_id.as_deref().map(Box::from),
                org: probe.org_sourced_id.as_deref().map(Box::from),
            },
            EntityKind::Classes => RecordFacts::Class {
                terms: probe
                    .term_sourced_ids
                    .iter()
                    .flatten()
                    .map(|t| t.to_string())
                    .collect(),
                school: probe.school_sourced_id.as_deref().map(Box::from),
            },
            EntityKind::Enrollments => RecordFacts::Enrollment {
                end: date(&probe.end_date),
                class: text(&probe.class_sourced_id),
            },
            EntityKind::Users => RecordFacts::User(UserFacts::new(
                probe.email.as_deref(),
                probe.username.as_deref(),
                probe.org_sourced_ids.iter().flatten().map(|o| &**o),
                probe.role.as_deref() == Some("administrator"),
            )),
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
            (RecordFacts::User(stored), RecordFacts::User(new)) => {
                (stored.email().is_some() && stored.email() != new.email())
                    || (stored.username().is_some() && stored.username() != new.username())
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_s_keys_and_orgs_read_back_from_one_text() {
        let user = UserFacts::new(Some("A@X.org"), None, ["s1", "d1"].into_iter(), true);
        assert_eq!(user.email(), Some("a@x.org"));
        assert_eq!(user.username(), None);
        assert_eq!(user.orgs().collect::<Vec<_>>(), ["s1", "d1"]);
        assert!(user.administrator());
        let bare = UserFacts::new(Some(""), Some("Kim"), [].into_iter(), false);
        assert_eq!((bare.email(), bare.username()), (None, Some("kim")));
        assert_eq!(bare.orgs().count(), 0);
        let accented = UserFacts::new(Some("ÉLOÏSE@X.org"), Some("Éa"), ["s1"].into_iter(), false);
        assert_eq!(
            (accented.email(), accented.username()),
            (Some("éloïse@x.org"), Some("éa"))
        );
        assert_eq!(accented.orgs().collect::<Vec<_>>(), ["s1"]);
    }

    #[test]
    fn a_summary_s_facts_stay_small() {
        // Kept for every stored record: 8M of them in a 1M-student district.
        assert!(std::mem::size_of::<RecordFacts>() <= 40);
    }
}
