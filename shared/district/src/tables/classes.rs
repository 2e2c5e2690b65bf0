//! `classes.csv`, and the sourcedIds of classes.

use super::ACTIVE;
use crate::catalogue::{GRADES, PE};
use crate::plan::{Plan, School};
use crate::writer::Table;

pub(crate) const CLASSES_HEADER: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "grades",
    "courseSourcedId",
    "classCode",
    "classType",
    "location",
    "schoolSourcedId",
    "termSourcedIds",
    "subjects",
    "subjectCodes",
    "periods",
];

impl Plan {
    /// sourcedId of school `s`'s class `local`: `cls-0001-001`, and after a
    /// rollover `cls-0001-001-2028` (the school year's own).
    pub(crate) fn class_id(&self, s: &School, local: u32) -> String {
        match self.rollovers {
            0 => s.class_id(local),
            _ => format!("{}-{}", s.class_id(local), self.school_year()),
        }
    }
}

/// The rows of `classes.csv`: every section of every offering.
pub(crate) fn write_classes(plan: &Plan, t: &mut Table<'_, '_>) -> csv::Result<()> {
    let year = plan.calendar();
    for s in &plan.schools {
        for (o, off) in s.offerings.iter().enumerate() {
            let course = &s.courses[off.course];
            let course_id = s.course_id(off.course);
            for section in 0..off.sections {
                let local = off.first_class + section;
                let teacher_room = 101 + (s.teacher_of(local) - s.first_teacher);
                let location = match course.subject {
                    PE => "Gymnasium".to_string(),
                    "Music" => "Music Room".to_string(),
                    "Art" => "Art Room".to_string(),
                    _ => format!("Room {teacher_room}"),
                };
                let (title, grades, code, class_type, periods) = match off.grade {
                    Some(g) => {
                        let gl = GRADES[usize::from(g)];
                        (
                            format!("Homeroom {gl} - {}", section + 1),
                            gl.to_string(),
                            format!("HR-{gl}-{:02}", section + 1),
                            "homeroom",
                            "HR".to_string(),
                        )
                    }
                    None => (
                        format!("{} - Section {}", course.title, section + 1),
                        course.grades(),
                        format!("{}-{:02}", course.code, section + 1),
                        "scheduled",
                        ((o as u32 + section) % 7 + 1).to_string(),
                    ),
                };
                let (terms, _, _) = year.class_term(course.term, section);
                t.row([
                    plan.class_id(s, local).as_str(),
                    ACTIVE,
                    &year.modified,
                    &title,
                    &grades,
                    &course_id,
                    &code,
                    class_type,
                    &location,
                    &s.id,
                    terms,
                    course.subject,
                    course.subject_code,
                    &periods,
                ])?;
            }
        }
    }
    Ok(())
}
