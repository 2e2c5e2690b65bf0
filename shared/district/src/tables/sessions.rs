//! `academicSessions.csv`, and the school year whose sessions and dates
//! the other tables refer to.

use super::{ACTIVE, DATE_LAST_MODIFIED};
use crate::catalogue::Term;
use crate::plan::{Plan, FIRST_SCHOOL_YEAR};
use crate::writer::Table;

pub(crate) const ACADEMIC_SESSIONS_HEADER: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "type",
    "startDate",
    "endDate",
    "parentSourcedId",
    "schoolYear",
];

// The school year and its sessions: 2026–27 for the first year, each rollover
// one year later (new session ids, the same calendar shifted by whole years).

/// The sessions and dates of one school year, as text.
pub(crate) struct SchoolYear {
    /// `schoolYear`: the calendar year it ends in (2027 for 2026–27).
    year: String,
    pub(super) school_year_id: String,
    fall_id: String,
    spring_id: String,
    both_semesters: String,
    start: String,
    end: String,
    fall_end: String,
    spring_start: String,
    /// `dateLastModified` of the year's own rows (sessions, courses, classes,
    /// enrollments).
    pub(super) modified: String,
    /// `[sourcedId, title, type, startDate, endDate, parentSourcedId]`.
    sessions: Vec<[String; 6]>,
}

/// `dateLastModified` of the rows of the school year ending in `year`.
fn modified_in(year: u32) -> String {
    if year == FIRST_SCHOOL_YEAR {
        DATE_LAST_MODIFIED.to_string()
    } else {
        format!("{}-08-01T12:00:00.000Z", year - 1)
    }
}

impl SchoolYear {
    /// The school year ending in `year` (2027: 2026–27).
    pub(crate) fn ending_in(year: u32) -> SchoolYear {
        let (y0, y1) = (year - 1, year);
        let id = format!("as-{y1}");
        let fall_id = format!("{id}-s1");
        let spring_id = format!("{id}-s2");
        let mut school_year = SchoolYear {
            year: y1.to_string(),
            both_semesters: format!("{fall_id},{spring_id}"),
            school_year_id: id,
            fall_id,
            spring_id,
            start: format!("{y0}-08-17"),
            end: format!("{y1}-06-11"),
            fall_end: format!("{y0}-12-18"),
            spring_start: format!("{y1}-01-05"),
            modified: modified_in(year),
            sessions: Vec::new(),
        };
        school_year.sessions = school_year.session_rows(y0, y1);
        school_year
    }

    /// The rows of the year's sessions (`y0`–`y1`): the year, its two
    /// semesters and its four grading periods.
    fn session_rows(&self, y0: u32, y1: u32) -> Vec<[String; 6]> {
        let id = self.school_year_id.as_str();
        let span = format!("{y0}-{y1}");
        let row = |sid: String, title: String, kind: &str, from: &str, to: &str, parent: &str| {
            let text = |s: &str| s.to_string();
            [sid, title, text(kind), text(from), text(to), text(parent)]
        };
        let quarter = |n: u32, from: &str, to: &str| {
            let (sid, title) = (format!("{id}-gp{n}"), format!("Quarter {n} {span}"));
            row(sid, title, "gradingPeriod", from, to, id)
        };
        let (start, end) = (&self.start, &self.end);
        let (fall_end, spring_start) = (&self.fall_end, &self.spring_start);
        let (fall, spring) = (format!("Fall {y0}"), format!("Spring {y1}"));
        vec![
            row(id.to_string(), span.clone(), "schoolYear", start, end, ""),
            row(self.fall_id.clone(), fall, "semester", start, fall_end, id),
            row(
                self.spring_id.clone(),
                spring,
                "semester",
                spring_start,
                end,
                id,
            ),
            quarter(1, start, &format!("{y0}-10-16")),
            quarter(2, &format!("{y0}-10-19"), fall_end),
            quarter(3, spring_start, &format!("{y1}-03-19")),
            quarter(4, &format!("{y1}-03-22"), end),
        ]
    }

    /// `(termSourcedIds, beginDate, endDate)` of a class.
    pub(super) fn class_term(&self, term: Term, section: u32) -> (&str, &str, &str) {
        match term {
            Term::SchoolYear => (&self.school_year_id, &self.start, &self.end),
            Term::FullYear => (&self.both_semesters, &self.start, &self.end),
            Term::Semester if section % 2 == 1 => (&self.spring_id, &self.spring_start, &self.end),
            Term::Semester => (&self.fall_id, &self.start, &self.fall_end),
        }
    }
}

impl Plan {
    /// This plan's school year.
    pub(crate) fn calendar(&self) -> SchoolYear {
        SchoolYear::ending_in(self.school_year())
    }

    /// `dateLastModified` of the student in place `i`: the first year's for
    /// one there since then (its rows never change), else the year it joined.
    pub(crate) fn student_modified(&self, i: u32) -> String {
        modified_in(FIRST_SCHOOL_YEAR + self.student_generation(i))
    }
}

/// The rows of `academicSessions.csv`.
pub(crate) fn write_sessions(plan: &Plan, t: &mut Table<'_, '_>) -> csv::Result<()> {
    let year = plan.calendar();
    for [id, title, kind, start, end, parent] in &year.sessions {
        t.row([
            id.as_str(),
            ACTIVE,
            &year.modified,
            title,
            kind,
            start,
            end,
            parent,
            &year.year,
        ])?;
    }
    Ok(())
}
