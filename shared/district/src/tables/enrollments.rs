//! `enrollments.csv`, and the sourcedIds of enrollments.

use super::ACTIVE;
use crate::catalogue::Term;
use crate::plan::Plan;
use crate::writer::Table;

pub(crate) const ENROLLMENTS_HEADER: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "classSourcedId",
    "schoolSourcedId",
    "userSourcedId",
    "role",
    "primary",
    "beginDate",
    "endDate",
];

impl Plan {
    /// sourcedId of the `n`-th enrollment: `enr-0000001`, and after a rollover
    /// `enr-2028-0000001`.
    pub(crate) fn enrollment_id(&self, n: u64) -> String {
        match self.rollovers {
            0 => format!("enr-{n:07}"),
            _ => format!("enr-{}-{n:07}", self.school_year()),
        }
    }
}

/// The rows of `enrollments.csv`: per school, each class's teacher, then
/// the students.
pub(crate) fn write_enrollments(plan: &Plan, t: &mut Table<'_, '_>) -> csv::Result<()> {
    let year = plan.calendar();
    let mut next = 0u64;
    let mut row = |t: &mut Table<'_, '_>,
                   class: &str,
                   school: &str,
                   user: &str,
                   role: &str,
                   term: Term,
                   section: u32|
     -> csv::Result<()> {
        next += 1;
        let (_, begin, end) = year.class_term(term, section);
        t.row([
            plan.enrollment_id(next).as_str(),
            ACTIVE,
            &year.modified,
            class,
            school,
            user,
            role,
            if role == "teacher" { "true" } else { "false" },
            begin,
            end,
        ])
    };
    let mut chosen = Vec::new();
    for s in &plan.schools {
        // One primary teacher per class.
        for off in &s.offerings {
            let term = s.courses[off.course].term;
            for section in 0..off.sections {
                let local = off.first_class + section;
                let teacher = format!("tch-{:05}", s.teacher_of(local) + 1);
                row(
                    t,
                    &plan.class_id(s, local),
                    &s.id,
                    &teacher,
                    "teacher",
                    term,
                    section,
                )?;
            }
        }
        // Students, sections filled in order.
        let mut filled = vec![0u32; s.offerings.len()];
        for (_, gp) in &s.grades {
            for i in gp.first_student..gp.first_student + gp.students {
                let student = plan.student_id(i);
                s.student_offerings(plan.seed, gp, i, &mut chosen);
                for &o in &chosen {
                    let off = &s.offerings[o];
                    let section = filled[o] * off.sections / off.count;
                    filled[o] += 1;
                    let term = s.courses[off.course].term;
                    let class = plan.class_id(s, off.first_class + section);
                    row(t, &class, &s.id, &student, "student", term, section)?;
                }
            }
        }
        debug_assert!(s.offerings.iter().zip(&filled).all(|(o, f)| o.count == *f));
    }
    Ok(())
}
