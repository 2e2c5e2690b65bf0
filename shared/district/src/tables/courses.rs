//! `courses.csv`.

use super::ACTIVE;
use crate::plan::Plan;
use crate::writer::Table;

pub(crate) const COURSES_HEADER: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "schoolYearSourcedId",
    "title",
    "courseCode",
    "grades",
    "orgSourcedId",
    "subjects",
    "subjectCodes",
];

/// The rows of `courses.csv`, school by school.
pub(crate) fn write_courses(plan: &Plan, t: &mut Table<'_, '_>) -> csv::Result<()> {
    let year = plan.calendar();
    for s in &plan.schools {
        for (c, course) in s.courses.iter().enumerate() {
            t.row([
                s.course_id(c).as_str(),
                ACTIVE,
                &year.modified,
                &year.school_year_id,
                &course.title,
                &course.code,
                &course.grades(),
                &s.id,
                course.subject,
                course.subject_code,
            ])?;
        }
    }
    Ok(())
}
