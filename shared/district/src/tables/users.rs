//! `users.csv`: administrators, teachers, students, guardians; and, in
//! OneRoster 1.2, `roles.csv`: each user's role at its org.

use rand_chacha::ChaCha8Rng;

use super::{ACTIVE, DATE_LAST_MODIFIED};
use crate::catalogue::GRADES;
use crate::names::FAMILY_NAMES;
use crate::plan::{draw_person, guardian_id, Person, Plan, STUDENTS_PER_GUARDIAN};
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

/// `users.csv` in OneRoster 1.2: no `orgSourcedIds` or `role` (they are in
/// `roles.csv`), and 1.2's seven new columns before ClassLink's extensions.
pub(crate) const USERS_1P2_HEADER: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
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
    "userMasterIdentifier",
    "resourceSourcedIds",
    "preferredGivenName",
    "preferredMiddleName",
    "preferredFamilyName",
    "primaryOrgSourcedId",
    "pronouns",
    "metadata.classlink.sourceSystem",
    "metadata.classlink.studentNumber",
];

/// `roles.csv` (OneRoster 1.2 only).
pub(crate) const ROLES_HEADER: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "userSourcedId",
    "roleType",
    "role",
    "beginDate",
    "endDate",
    "orgSourcedId",
    "userProfileSourcedId",
];

/// One user: the values of its row, whatever the version.
struct User<'a> {
    id: &'a str,
    modified: &'a str,
    /// The user's one org (`orgSourcedIds` in 1.1).
    org: &'a str,
    /// Whether `org` is the district (an administrator there is a
    /// `districtAdministrator` in 1.2, elsewhere a `siteAdministrator`).
    at_district: bool,
    /// The role in OneRoster 1.1's vocabulary.
    role: &'a str,
    ordinal: u32,
    person: &'a Person,
    username: &'a str,
    user_ids: &'a str,
    identifier: &'a str,
    email: &'a str,
    sms: &'a str,
    phone: &'a str,
    agents: &'a str,
    grades: &'a str,
    sis: &'a str,
    student_number: &'a str,
}

impl User<'_> {
    /// The row in OneRoster 1.1's columns ([`USERS_HEADER`]).
    fn row_1p1(&self) -> [&str; 20] {
        let p = self.person;
        [
            self.id,
            ACTIVE,
            self.modified,
            "true",
            self.org,
            self.role,
            self.username,
            self.user_ids,
            p.given,
            p.family,
            p.middle,
            self.identifier,
            self.email,
            self.sms,
            self.phone,
            self.agents,
            self.grades,
            "",
            self.sis,
            self.student_number,
        ]
    }

    /// The row in OneRoster 1.2's columns ([`USERS_1P2_HEADER`]): the same
    /// values, the first org as the primary one, and a few of 1.2's extras
    /// drawn from the ordinal (no random draw, so 1.1's bytes are untouched):
    /// every tenth user with a middle name goes by it, every 25th states
    /// pronouns.
    fn row_1p2(&self) -> [&str; 25] {
        let p = self.person;
        let preferred = if self.ordinal % 10 == 3 { p.middle } else { "" };
        let pronouns = match (self.ordinal.is_multiple_of(25), p.female) {
            (false, _) => "",
            (true, true) => "she/her",
            (true, false) => "he/him",
        };
        [
            self.id,
            ACTIVE,
            self.modified,
            "true",
            self.username,
            self.user_ids,
            p.given,
            p.family,
            p.middle,
            self.identifier,
            self.email,
            self.sms,
            self.phone,
            self.agents,
            self.grades,
            "",
            "",
            "",
            preferred,
            "",
            "",
            self.org,
            pronouns,
            self.sis,
            self.student_number,
        ]
    }

    /// The user's one row of `roles.csv`: its primary role at its org, in
    /// 1.2's vocabulary.
    fn write_role(&self, t: &mut Table<'_, '_>) -> csv::Result<()> {
        let role = match (self.role, self.at_district) {
            ("administrator", true) => "districtAdministrator",
            ("administrator", false) => "siteAdministrator",
            (role, _) => role,
        };
        let id = format!("rol-{}-1", self.id);
        t.row([
            id.as_str(),
            ACTIVE,
            self.modified,
            self.id,
            "primary",
            role,
            "",
            "",
            self.org,
            "",
        ])
    }
}

/// The rows of `users.csv` in OneRoster 1.1: administrators, teachers,
/// students, guardians.
pub(crate) fn write_users(plan: &Plan, t: &mut Table<'_, '_>) -> csv::Result<()> {
    for_each_user(plan, &mut |u| t.row(u.row_1p1()))
}

/// The rows of `users.csv` in OneRoster 1.2, in the same order.
pub(crate) fn write_users_1p2(plan: &Plan, t: &mut Table<'_, '_>) -> csv::Result<()> {
    for_each_user(plan, &mut |u| t.row(u.row_1p2()))
}

/// The rows of `roles.csv`: one per user, in the order of `users.csv`.
pub(crate) fn write_roles(plan: &Plan, t: &mut Table<'_, '_>) -> csv::Result<()> {
    for_each_user(plan, &mut |u| u.write_role(t))
}

/// What is done with each user.
type Visit<'f> = dyn FnMut(&User<'_>) -> csv::Result<()> + 'f;

/// Draws every user in turn and hands it to `visit`. Each user takes the
/// next ordinal, which their email and ids derive from.
fn for_each_user(plan: &Plan, visit: &mut Visit<'_>) -> csv::Result<()> {
    let mut ordinal = 0u32;
    visit_admins(plan, visit, &mut ordinal)?;
    visit_teachers(plan, visit, &mut ordinal)?;
    visit_students(plan, visit, &mut ordinal)?;
    visit_guardians(plan, visit, &mut ordinal)
}

/// A member of staff `id` of `org` in `role`, drawn from `rng`.
#[allow(clippy::too_many_arguments)]
fn visit_staff(
    plan: &Plan,
    visit: &mut Visit<'_>,
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
    visit(&User {
        id,
        modified: DATE_LAST_MODIFIED,
        org,
        at_district: org == d.id,
        role,
        ordinal,
        person: &p,
        username,
        user_ids: &user_ids,
        identifier: &identifier,
        email: &email,
        sms: "",
        phone: &phone,
        agents: "",
        grades: "",
        sis: d.sis,
        student_number: "",
    })
}

/// Administrators: the district's first, then each school's.
fn visit_admins(plan: &Plan, visit: &mut Visit<'_>, ordinal: &mut u32) -> csv::Result<()> {
    let mut admin = 0u32;
    let mut each = |visit: &mut Visit<'_>, org: &str| {
        admin += 1;
        *ordinal += 1;
        let mut rng = rng_for(plan.seed, K_ADMIN, u64::from(admin));
        let id = format!("adm-{admin:04}");
        visit_staff(plan, visit, &id, org, "administrator", &mut rng, *ordinal)
    };
    for _ in 0..2 {
        each(visit, &plan.district.id)?;
    }
    for s in &plan.schools {
        for _ in 0..s.admins {
            each(visit, &s.id)?;
        }
    }
    Ok(())
}

/// Teachers, school by school.
fn visit_teachers(plan: &Plan, visit: &mut Visit<'_>, ordinal: &mut u32) -> csv::Result<()> {
    for s in &plan.schools {
        for tch in s.first_teacher..s.first_teacher + s.teachers {
            *ordinal += 1;
            let mut rng = rng_for(plan.seed, K_TEACHER, u64::from(tch));
            let id = format!("tch-{:05}", tch + 1);
            visit_staff(plan, visit, &id, &s.id, "teacher", &mut rng, *ordinal)?;
        }
    }
    Ok(())
}

/// Students, school by school and grade by grade.
fn visit_students(plan: &Plan, visit: &mut Visit<'_>, ordinal: &mut u32) -> csv::Result<()> {
    for s in &plan.schools {
        for (g, gp) in &s.grades {
            for i in gp.first_student..gp.first_student + gp.students {
                *ordinal += 1;
                visit_student(plan, visit, &s.id, GRADES[usize::from(*g)], i, *ordinal)?;
            }
        }
    }
    Ok(())
}

/// Student `i`, of `school` in `grade`.
fn visit_student(
    plan: &Plan,
    visit: &mut Visit<'_>,
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
    visit(&User {
        id: &plan.student_id(i),
        modified: &plan.student_modified(i),
        org: school,
        at_district: false,
        role: "student",
        ordinal,
        person: &p,
        username,
        user_ids: &user_ids,
        identifier: &number,
        email: &email,
        sms: "",
        phone: "",
        agents: &agents,
        grades: grade,
        sis: d.sis,
        student_number: &number,
    })
}

/// Guardians, in the order of their first children.
fn visit_guardians(plan: &Plan, visit: &mut Visit<'_>, ordinal: &mut u32) -> csv::Result<()> {
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
        visit(&User {
            id: &guardian_id(g),
            modified: DATE_LAST_MODIFIED,
            org: &school.id,
            at_district: false,
            role: "guardian",
            ordinal: *ordinal,
            person: &p,
            username,
            user_ids: "",
            identifier: "",
            email: &email,
            sms: &phone,
            phone: &phone,
            agents: &agents,
            grades: "",
            sis: d.sis,
            student_number: "",
        })?;
    }
    Ok(())
}
