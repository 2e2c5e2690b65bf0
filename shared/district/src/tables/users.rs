//! `users.csv`: administrators, teachers, students, guardians.

use rand_chacha::ChaCha8Rng;

use super::{ACTIVE, DATE_LAST_MODIFIED};
use crate::catalogue::GRADES;
use crate::names::FAMILY_NAMES;
use crate::plan::{draw_person, guardian_id, Plan, STUDENTS_PER_GUARDIAN};
use crate::rng::{pick, rng_for, scramble, K_ADMIN, K_GUARDIAN, K_TEACHER};
use crate::writer::Table;

pub(crate) const USERS_HEADER: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
    "metadata.classlink.sourceSystem",
    "metadata.classlink.studentNumber",
];

/// The rows of `users.csv`: administrators, teachers, students, guardians.
/// Each user takes the next ordinal, which their email and ids derive from.
pub(crate) fn write_users(plan: &Plan, t: &mut Table<'_, '_>) -> csv::Result<()> {
    let mut ordinal = 0u32;
    write_admins(plan, t, &mut ordinal)?;
    write_teachers(plan, t, &mut ordinal)?;
    write_students(plan, t, &mut ordinal)?;
    write_guardians(plan, t, &mut ordinal)
}

/// The row of a member of staff `id` of `org` in `role`, drawn from `rng`.
fn write_staff(
    plan: &Plan,
    t: &mut Table<'_, '_>,
    id: &str,
    org: &str,
    role: &str,
    rng: &mut ChaCha8Rng,
    ordinal: u32,
) -> csv::Result<()> {
    let d = &plan.district;
    let family = pick(rng, FAMILY_NAMES);
    let p = draw_person(rng, family, 0.3);
    let email = plan.email(&p, ordinal);
    let username = email.split('@').next().unwrap_or_default();
    let user_ids = format!(
        "{{Fed:{:07}}},{{StateID:{}{:06}}}",
        scramble(u64::from(ordinal), 7),
        d.state,
        scramble(u64::from(ordinal), 6)
    );
    let identifier = format!("E{:06}", ordinal);
    let phone = plan.phone(rng);
    t.row([
        id,
        ACTIVE,
        DATE_LAST_MODIFIED,
        "true",
        org,
        role,
        username,
        &user_ids,
        p.given,
        p.family,
        p.middle,
        &identifier,
        &email,
        "",
        &phone,
        "",
        "",
        "",
        d.sis,
        "",
    ])
}

/// Administrators: the district's first, then each school's.
fn write_admins(plan: &Plan, t: &mut Table<'_, '_>, ordinal: &mut u32) -> csv::Result<()> {
    let mut admin = 0u32;
    let mut write = |t: &mut Table<'_, '_>, org: &str| {
        admin += 1;
        *ordinal += 1;
        let mut rng = rng_for(plan.seed, K_ADMIN, u64::from(admin));
        let id = format!("adm-{admin:04}");
        write_staff(plan, t, &id, org, "administrator", &mut rng, *ordinal)
    };
    for _ in 0..2 {
        write(t, &plan.district.id)?;
    }
    for s in &plan.schools {
        for _ in 0..s.admins {
            write(t, &s.id)?;
        }
    }
    Ok(())
}

/// Teachers, school by school.
fn write_teachers(plan: &Plan, t: &mut Table<'_, '_>, ordinal: &mut u32) -> csv::Result<()> {
    for s in &plan.schools {
        for tch in s.first_teacher..s.first_teacher + s.teachers {
            *ordinal += 1;
            let mut rng = rng_for(plan.seed, K_TEACHER, u64::from(tch));
            let id = format!("tch-{:05}", tch + 1);
            write_staff(plan, t, &id, &s.id, "teacher", &mut rng, *ordinal)?;
        }
    }
    Ok(())
}

/// Students, school by school and grade by grade.
fn write_students(plan: &Plan, t: &mut Table<'_, '_>, ordinal: &mut u32) -> csv::Result<()> {
    for s in &plan.schools {
        for (g, gp) in &s.grades {
            for i in gp.first_student..gp.first_student + gp.students {
                *ordinal += 1;
                write_student(plan, t, &s.id, GRADES[usize::from(*g)], i, *ordinal)?;
            }
        }
    }
    Ok(())
}

/// The row of student `i`, of `school` in `grade`.
fn write_student(
    plan: &Plan,
    t: &mut Table<'_, '_>,
    school: &str,
    grade: &str,
    i: u32,
    ordinal: u32,
) -> csv::Result<()> {
    let d = &plan.district;
    let p = plan.student_person(i);
    let email = plan.email(&p, ordinal);
    let username = email.split('@').next().unwrap_or_default();
    let key = plan.student_key(i);
    let number = (100_001 + key).to_string();
    let user_ids = format!(
        "{{StateID:{}{:08}}},{{LocalID:{number}}}",
        d.state,
        scramble(key, 8)
    );
    let agents = plan.guardian_of(i).map(guardian_id).unwrap_or_default();
    t.row([
        plan.student_id(i).as_str(),
        ACTIVE,
        &plan.student_modified(i),
        "true",
        school,
        "student",
        username,
        &user_ids,
        p.given,
        p.family,
        p.middle,
        &number,
        &email,
        "",
        "",
        &agents,
        grade,
        "",
        d.sis,
        &number,
    ])
}

/// Guardians, in the order of their first children.
fn write_guardians(plan: &Plan, t: &mut Table<'_, '_>, ordinal: &mut u32) -> csv::Result<()> {
    let d = &plan.district;
    for g in 0..plan.guardians {
        *ordinal += 1;
        let first_child = g * STUDENTS_PER_GUARDIAN;
        let school = plan.school_of_student(first_child);
        let family = plan.family_name(first_child);
        let mut rng = rng_for(plan.seed, K_GUARDIAN, u64::from(g));
        let p = draw_person(&mut rng, family, 0.2);
        let email = plan.email(&p, *ordinal);
        let username = email.split('@').next().unwrap_or_default();
        let phone = plan.phone(&mut rng);
        let agents = plan
            .children_of(g)
            .map(|i| plan.student_id(i))
            .collect::<Vec<_>>()
            .join(",");
        t.row([
            guardian_id(g).as_str(),
            ACTIVE,
            DATE_LAST_MODIFIED,
            "true",
            &school.id,
            "guardian",
            username,
            "",
            p.given,
            p.family,
            p.middle,
            "",
            &email,
            &phone,
            &phone,
            &agents,
            "",
            "",
            d.sis,
            "",
        ])?;
    }
    Ok(())
}
