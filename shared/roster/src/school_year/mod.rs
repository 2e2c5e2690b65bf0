//! The school year: which records' time is over.
//!
//! A stored record is **ended** when time has passed over what is already
//! stored, judged on the delivery's generation time (never later than when
//! the delivery was received):
//! - an academic session whose stored `endDate` has passed (a delivery may
//!   give a later end date, never an earlier one), or, with no end date, whose
//!   stored `schoolYear` is over (on 1 July of that year);
//! - a class all of whose stored `termSourcedIds` are ended sessions;
//! - an enrollment whose stored `endDate` has passed or whose class is ended;
//! - a course whose stored `schoolYearSourcedId` is an ended session.
//!
//! What a delivery says of time by itself ends nothing: a session whose end
//! date it moves earlier, or a school year far ahead, are judged as any
//! other change (their archives count toward the safety hold) and noted for
//! the run to say why. Where the stored data says nothing (no dates, unknown
//! terms) a record is not ended. When a bulk file leaves out an ended record
//! the engine archives it with the reason `ended`, and such archives do not
//! count toward the safety hold: a school year's rollover applies on its
//! own, while a file that drops current records is still held. Pure: no I/O.

mod facts;

pub use facts::{RecordFacts, UserFacts};

use chrono::{Datelike, NaiveDate};
use oneroster::EntityKind;
use std::collections::{BTreeSet, HashMap};

/// A session as the calendar knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Session {
    end: Option<NaiveDate>,
    school_year: Option<u16>,
}

impl Session {
    fn of(facts: &RecordFacts) -> Option<Session> {
        match facts {
            RecordFacts::Session {
                end, school_year, ..
            } => Some(Session {
                end: *end,
                school_year: *school_year,
            }),
            _ => None,
        }
    }
}

/// The calendar of one sync: the sessions and classes the store knows, what
/// the delivery says of the sessions, and the day the delivery was made. The
/// engine feeds it each type as it plans (sessions before courses and
/// classes, classes before enrollments) and asks it which archives are ended.
///
/// Only time passing over what is already stored ends a record: a delivery
/// may make a stored session last longer, never end sooner, and a school
/// year a delivery brings ends nothing. What a delivery says that would have
/// ended records (an end date moved earlier, a far school year) is kept as a
/// note for the run to explain itself.
#[derive(Debug, Clone)]
pub struct Calendar {
    today: NaiveDate,
    /// Stored sessions.
    stored_sessions: HashMap<String, Session>,
    /// Sessions the delivery brings.
    delivered_sessions: HashMap<String, Session>,
    /// Stored classes: their terms.
    stored_classes: HashMap<String, Vec<String>>,
    /// School years (`schoolYear`) of the sessions found ended.
    ended_years: BTreeSet<u16>,
}

impl Calendar {
    /// A calendar for a delivery made on `today`.
    pub fn new(today: NaiveDate) -> Calendar {
        Calendar {
            today,
            stored_sessions: HashMap::new(),
            delivered_sessions: HashMap::new(),
            stored_classes: HashMap::new(),
            ended_years: BTreeSet::new(),
        }
    }

    /// A record the delivery brings (sessions are kept: they may extend a
    /// stored session, and are noted when they say something odd).
    pub fn learn_delivered(&mut self, id: &str, facts: &RecordFacts) {
        if let Some(session) = Session::of(facts) {
            self.delivered_sessions.insert(id.to_string(), session);
        }
    }

    /// A stored record (sessions and classes are kept).
    pub fn learn_stored(&mut self, id: &str, facts: &RecordFacts) {
        if let Some(session) = Session::of(facts) {
            self.stored_sessions.insert(id.to_string(), session);
        } else if let RecordFacts::Class { terms, .. } = facts {
            self.stored_classes.insert(id.to_string(), terms.to_vec());
        }
    }

    /// Whether the stored session `id` is over on the delivery's day: its
    /// end date (the stored one, or a later one the delivery gives) has
    /// passed; or, undated, its school year is (the school year `Y` is over
    /// on 1 July of `Y`). Unknown or undated without a year: not ended.
    pub fn session_ended(&self, id: &str) -> bool {
        let Some(stored) = self.stored_sessions.get(id) else {
            return false;
        };
        // A delivery may move a stored end date later, not give an undated
        // session one.
        let delivered_end = self.delivered_sessions.get(id).and_then(|s| s.end);
        let end = stored
            .end
            .map(|end| delivered_end.map_or(end, |d| d.max(end)));
        match end {
            Some(end) => end < self.today,
            None => stored
                .school_year
                .and_then(|year| NaiveDate::from_ymd_opt(i32::from(year), 7, 1))
                .is_some_and(|over| over <= self.today),
        }
    }

    /// Whether a class with these terms is over: it has terms, and every one
    /// is an ended session.
    pub fn terms_ended(&self, terms: &[String]) -> bool {
        !terms.is_empty() && terms.iter().all(|t| self.session_ended(t))
    }

    /// Whether the stored class `id` is over by its stored terms. Unknown
    /// class: not ended.
    pub fn class_ended(&self, id: &str) -> bool {
        self.stored_classes
            .get(id)
            .is_some_and(|terms| self.terms_ended(terms))
    }

    /// Whether a stored record of `kind` with these (stored) facts is over.
    pub fn is_ended(&self, kind: EntityKind, id: &str, facts: &RecordFacts) -> bool {
        match (kind, facts) {
            (EntityKind::AcademicSessions, RecordFacts::Session { .. }) => self.session_ended(id),
            (EntityKind::Courses, RecordFacts::Course { school_year, .. }) => school_year
                .as_deref()
                .is_some_and(|year| self.session_ended(year)),
            (EntityKind::Classes, RecordFacts::Class { terms, .. }) => self.terms_ended(terms),
            (EntityKind::Enrollments, RecordFacts::Enrollment { end, class }) => {
                end.is_some_and(|end| end < self.today)
                    || class.as_deref().is_some_and(|c| self.class_ended(c))
            }
            _ => false,
        }
    }

    /// The delivered sessions' ids, sorted.
    fn delivered_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.delivered_sessions.keys().map(String::as_str).collect();
        ids.sort();
        ids
    }

    /// `(stored end, delivered end)` when the delivery moves the stored
    /// session `id`'s end date earlier.
    fn moved_earlier(&self, id: &str) -> Option<(NaiveDate, NaiveDate)> {
        let was = self.stored_sessions.get(id)?.end?;
        let now = self.delivered_sessions.get(id)?.end?;
        (now < was).then_some((was, now))
    }

    /// What the delivery says of time that the rules did not follow, in
    /// words, one note a session: a stored session's end date moved earlier
    /// ("session as-2027 end date moved from 2027-06-11 to 2026-08-31"), a
    /// school year beyond next year ("session s-2099 brings school year
    /// 2099, beyond 2027"). Sorted by session id.
    pub fn notes(&self) -> Vec<String> {
        let next_year = self.today.year() + 1;
        self.delivered_ids()
            .into_iter()
            .filter_map(|id| {
                if let Some((was, now)) = self.moved_earlier(id) {
                    return Some(moved_note(id, was, now));
                }
                self.delivered_sessions[id]
                    .school_year
                    .filter(|year| i32::from(*year) > next_year)
                    .map(|year| {
                        format!("session {id} brings school year {year}, beyond {next_year}")
                    })
            })
            .collect()
    }

    /// Why the delivery must be held when it ends current sessions itself:
    /// stored sessions not over on its day whose end date it moves to a day
    /// already past (sign-in would hide their classes at once, and the next
    /// file would archive them as ended). A later, still future, end date
    /// is an ordinary correction.
    pub fn sessions_ended_early(&self) -> Option<String> {
        let ended: Vec<String> = self
            .delivered_ids()
            .into_iter()
            .filter_map(|id| {
                let (was, now) = self.moved_earlier(id)?;
                (now < self.today && self.today <= was).then(|| moved_note(id, was, now))
            })
            .collect();
        let count = ended.len();
        (count > 0).then(|| {
            format!(
                "would end {count} current session{} at once by moving {} end date into the past ({})",
                if count == 1 { "" } else { "s" },
                if count == 1 { "its" } else { "their" },
                listed(&ended, 5)
            )
        })
    }

    /// Notes the school years of an ended record's sessions, for the run's
    /// summary ("school year 2025–2026").
    pub fn note_ended(&mut self, kind: EntityKind, id: &str, facts: &RecordFacts) {
        let mut sessions: Vec<&str> = Vec::new();
        match (kind, facts) {
            (EntityKind::AcademicSessions, _) => sessions.push(id),
            (EntityKind::Courses, RecordFacts::Course { school_year, .. }) => {
                sessions.extend(school_year.as_deref())
            }
            (EntityKind::Classes, RecordFacts::Class { terms, .. }) => {
                sessions.extend(terms.iter().map(String::as_str))
            }
            _ => {}
        }
        let years: Vec<u16> = sessions
            .iter()
            .filter_map(|s| self.stored_sessions.get(*s).and_then(|s| s.school_year))
            .collect();
        self.ended_years.extend(years);
    }

    /// The school years whose records were archived as ended, in words:
    /// `school year 2025–2026`, `school years 2024–2025 and 2025–2026`.
    pub fn ended_years_label(&self) -> Option<String> {
        let names: Vec<String> = self
            .ended_years
            .iter()
            .map(|y| format!("{}–{}", y - 1, y))
            .collect();
        match names.as_slice() {
            [] => None,
            [one] => Some(format!("school year {one}")),
            [rest @ .., last] => Some(format!("school years {} and {last}", rest.join(", "))),
        }
    }
}

/// "session {id} end date moved from {was} to {now}".
fn moved_note(id: &str, was: NaiveDate, now: NaiveDate) -> String {
    format!("session {id} end date moved from {was} to {now}")
}

/// The first `max` items joined by "; ", and how many more.
pub(crate) fn listed(items: &[String], max: usize) -> String {
    let mut text = items[..items.len().min(max)].join("; ");
    if items.len() > max {
        text.push_str(&format!("; and {} more", items.len() - max));
    }
    text
}

/// Whether a class with these terms is current on `day`: it has no terms we
/// know dates of, or one of its terms includes `day`. `terms` maps each term
/// to its `(startDate, endDate)`; a term missing from it counts as current.
pub fn class_is_current(
    terms: &[String],
    dates: &HashMap<String, (Option<NaiveDate>, Option<NaiveDate>)>,
    day: NaiveDate,
) -> bool {
    terms.is_empty()
        || terms.iter().any(|t| match dates.get(t) {
            None => true,
            Some((start, end)) => start.is_none_or(|s| s <= day) && end.is_none_or(|e| day <= e),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::SisContent;
    use serde_json::json;

    fn content(value: serde_json::Value) -> SisContent {
        SisContent::from_value(value)
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn session(start: &str, end: &str, year: u16) -> RecordFacts {
        RecordFacts::of(
            EntityKind::AcademicSessions,
            &content(json!({"startDate": start, "endDate": end, "schoolYear": year})),
        )
    }

    fn class(terms: &[&str]) -> RecordFacts {
        RecordFacts::of(
            EntityKind::Classes,
            &content(json!({ "termSourcedIds": terms })),
        )
    }

    /// August 2026: last year's sessions stored, this year's delivered.
    fn august() -> Calendar {
        let mut c = Calendar::new(day("2026-08-20"));
        c.learn_delivered("y27", &session("2026-08-17", "2027-06-11", 2027));
        c.learn_stored("y27", &session("2026-08-17", "2027-06-11", 2027));
        c.learn_stored("y26", &session("2025-08-18", "2026-06-12", 2026));
        c.learn_stored(
            "undated-old",
            &RecordFacts::of(
                EntityKind::AcademicSessions,
                &content(json!({"schoolYear": 2026})),
            ),
        );
        c.learn_stored(
            "undated",
            &RecordFacts::of(EntityKind::AcademicSessions, &content(json!({}))),
        );
        c
    }

    #[test]
    fn a_session_is_ended_when_its_stored_end_date_has_passed() {
        let c = august();
        assert!(c.session_ended("y26"));
        assert!(!c.session_ended("y27"));
        let mut on_the_last_day = Calendar::new(day("2026-06-12"));
        on_the_last_day.learn_stored("y26", &session("2025-08-18", "2026-06-12", 2026));
        assert!(
            !on_the_last_day.session_ended("y26"),
            "the end date is the last day, inclusive"
        );
    }

    #[test]
    fn a_delivery_extends_a_session_but_never_ends_one_sooner() {
        let mut c = Calendar::new(day("2026-09-01"));
        c.learn_delivered("y27", &session("2026-08-17", "2026-08-31", 2027));
        c.learn_stored("y27", &session("2026-08-17", "2027-06-11", 2027));
        assert!(!c.session_ended("y27"), "the stored end date holds");
        c.learn_delivered("y26", &session("2025-08-18", "2026-12-18", 2026));
        c.learn_stored("y26", &session("2025-08-18", "2026-06-12", 2026));
        assert!(!c.session_ended("y26"), "a later end date is taken");
        // An undated stored session takes no end date from a delivery.
        c.learn_stored(
            "undated-27",
            &RecordFacts::of(
                EntityKind::AcademicSessions,
                &content(json!({"schoolYear": 2027})),
            ),
        );
        c.learn_delivered("undated-27", &session("2026-08-17", "2026-08-31", 2027));
        assert!(!c.session_ended("undated-27"));
        // A session the store does not know ends nothing, whatever it says.
        c.learn_delivered("new", &session("2020-01-01", "2020-06-01", 2020));
        assert!(!c.session_ended("new"));
        assert_eq!(
            c.notes(),
            vec!["session y27 end date moved from 2027-06-11 to 2026-08-31".to_string()]
        );
        assert_eq!(
            c.sessions_ended_early().as_deref(),
            Some("would end 1 current session at once by moving its end date into the past (session y27 end date moved from 2027-06-11 to 2026-08-31)")
        );
        // Moved earlier, yet still ahead: a correction, not held.
        let mut corrected = Calendar::new(day("2026-09-01"));
        corrected.learn_stored("y27", &session("2026-08-17", "2027-06-11", 2027));
        corrected.learn_delivered("y27", &session("2026-08-17", "2027-06-04", 2027));
        assert_eq!(corrected.sessions_ended_early(), None);
        assert_eq!(corrected.notes().len(), 1);
    }

    #[test]
    fn a_far_school_year_ends_nothing_and_is_noted() {
        let mut c = Calendar::new(day("2026-09-01"));
        c.learn_delivered("s2099", &session("2098-08-01", "2099-06-30", 2099));
        c.learn_stored("y27", &session("2026-08-17", "2027-06-11", 2027));
        c.learn_stored(
            "undated-27",
            &RecordFacts::of(
                EntityKind::AcademicSessions,
                &content(json!({"schoolYear": 2027})),
            ),
        );
        assert!(!c.session_ended("y27"));
        assert!(!c.session_ended("undated-27"));
        assert_eq!(
            c.notes(),
            vec!["session s2099 brings school year 2099, beyond 2027".to_string()]
        );
    }

    #[test]
    fn an_undated_session_ends_with_its_school_year() {
        let c = august();
        assert!(c.session_ended("undated-old"), "school year 2026 is over");
        assert!(
            !c.session_ended("undated"),
            "no dates, no year: the data says nothing"
        );
        assert!(!c.session_ended("unknown"));
        let mut june = Calendar::new(day("2026-06-30"));
        june.learn_stored(
            "undated-old",
            &RecordFacts::of(
                EntityKind::AcademicSessions,
                &content(json!({"schoolYear": 2026})),
            ),
        );
        assert!(!june.session_ended("undated-old"), "not before 1 July");
    }

    #[test]
    fn a_class_is_ended_when_every_term_is() {
        let c = august();
        assert!(c.is_ended(EntityKind::Classes, "c1", &class(&["y26"])));
        assert!(!c.is_ended(EntityKind::Classes, "c2", &class(&["y26", "y27"])));
        assert!(!c.is_ended(EntityKind::Classes, "c3", &class(&[])));
        assert!(!c.is_ended(EntityKind::Classes, "c4", &class(&["y26", "unknown"])));
    }

    #[test]
    fn an_enrollment_is_ended_by_its_end_date_or_its_class() {
        let mut c = august();
        c.learn_stored("old-class", &class(&["y26"]));
        c.learn_stored("new-class", &class(&["y27"]));
        let enrollment = |class: &str, end: Option<&str>| {
            RecordFacts::of(
                EntityKind::Enrollments,
                &content(json!({"classSourcedId": class, "endDate": end})),
            )
        };
        let ended = |f: &RecordFacts| c.is_ended(EntityKind::Enrollments, "e", f);
        assert!(ended(&enrollment("old-class", None)));
        assert!(ended(&enrollment("new-class", Some("2026-06-12"))));
        assert!(!ended(&enrollment("new-class", None)));
        assert!(!ended(&enrollment("new-class", Some("2026-08-20"))));
        assert!(!ended(&enrollment("unknown-class", None)));
    }

    #[test]
    fn a_course_is_ended_with_its_school_year() {
        let c = august();
        let course = |year: Option<&str>| {
            RecordFacts::of(
                EntityKind::Courses,
                &content(json!({ "schoolYearSourcedId": year })),
            )
        };
        assert!(c.is_ended(EntityKind::Courses, "k", &course(Some("y26"))));
        assert!(!c.is_ended(EntityKind::Courses, "k", &course(Some("y27"))));
        assert!(!c.is_ended(EntityKind::Courses, "k", &course(None)));
        assert!(!c.is_ended(EntityKind::Users, "u", &RecordFacts::None));
    }

    #[test]
    fn the_ended_school_years_are_named() {
        let mut c = august();
        assert_eq!(c.ended_years_label(), None);
        c.note_ended(EntityKind::Classes, "c1", &class(&["y26"]));
        assert_eq!(
            c.ended_years_label().as_deref(),
            Some("school year 2025–2026")
        );
        c.learn_stored("y25", &session("2024-08-19", "2025-06-13", 2025));
        c.note_ended(EntityKind::AcademicSessions, "y25", &RecordFacts::None);
        assert_eq!(
            c.ended_years_label().as_deref(),
            Some("school years 2024–2025 and 2025–2026")
        );
    }

    #[test]
    fn identity_rewrites_count_changes_and_removals_not_first_fills() {
        let user = |email: Option<&str>, username: &str| {
            RecordFacts::of(
                EntityKind::Users,
                &content(json!({"email": email, "username": username})),
            )
        };
        let stored = user(Some("a@x.org"), "ann");
        assert!(
            !user(Some("A@X.org"), "ANN").rewrites_identity_of(&stored),
            "case aside"
        );
        assert!(user(Some("b@x.org"), "ann").rewrites_identity_of(&stored));
        assert!(user(None, "ann").rewrites_identity_of(&stored));
        assert!(user(Some("a@x.org"), "anne").rewrites_identity_of(&stored));
        assert!(!user(Some("a@x.org"), "ann").rewrites_identity_of(&user(None, "ann")));
    }

    #[test]
    fn a_class_is_current_when_a_term_includes_the_day_or_nothing_says_otherwise() {
        let dates: HashMap<String, (Option<NaiveDate>, Option<NaiveDate>)> = [
            (
                "y26".to_string(),
                (Some(day("2025-08-18")), Some(day("2026-06-12"))),
            ),
            (
                "y27".to_string(),
                (Some(day("2026-08-17")), Some(day("2027-06-11"))),
            ),
            ("undated".to_string(), (None, None)),
        ]
        .into();
        let today = day("2026-09-01");
        let terms = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!class_is_current(&terms(&["y26"]), &dates, today));
        assert!(class_is_current(&terms(&["y26", "y27"]), &dates, today));
        assert!(class_is_current(&terms(&["undated"]), &dates, today));
        assert!(class_is_current(&terms(&[]), &dates, today));
        assert!(class_is_current(&terms(&["unknown"]), &dates, today));
    }
}
