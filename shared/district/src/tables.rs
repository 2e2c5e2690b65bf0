//! What the CSV files hold: their headers, the fixed content (manifest,
//! academic sessions) and the rows of every other table, drawn from the plan.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::catalogue::{Term, GRADES, PE};
use crate::dates::{civil_from_days, days_from_civil};
use crate::names::{
    FAMILY_NAMES, FOREIGN_BIRTHPLACES, RACE_WEIGHTS, RESIDENCE_STATUS, RESIDENCE_WEIGHTS, US_STATES,
};
use crate::plan::{
    draw_person, guardian_id, Plan, School, FIRST_SCHOOL_YEAR, STUDENTS_PER_GUARDIAN,
};
use crate::rng::{
    pick, rng_for, scramble, weighted, K_ADMIN, K_DEMOGRAPHICS, K_GUARDIAN, K_TEACHER,
};
use crate::writer::Table;

// Headers, in spec order; `users.csv` ends with ClassLink's extension columns.

pub(crate) const MANIFEST_HEADER: &[&str] = &["propertyName", "value"];
pub(crate) const ORGS_HEADER: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "name",
    "type",
    "identifier",
    "parentSourcedId",
];
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
pub(crate) const DEMOGRAPHICS_HEADER: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "birthDate",
    "sex",
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
    "countryOfBirthCode",
    "stateOfBirthAbbreviation",
    "cityOfBirth",
    "publicSchoolResidenceStatus",
];

/// The rows of `manifest.csv`.
pub(crate) const MANIFEST: &[[&str; 2]] = &[
    ["manifest.version", "1.0"],
    ["oneroster.version", "1.1"],
    ["file.academicSessions", "bulk"],
    ["file.categories", "absent"],
    ["file.classes", "bulk"],
    ["file.classResources", "absent"],
    ["file.courses", "bulk"],
    ["file.courseResources", "absent"],
    ["file.demographics", "bulk"],
    ["file.enrollments", "bulk"],
    ["file.lineItems", "absent"],
    ["file.orgs", "bulk"],
    ["file.resources", "absent"],
    ["file.results", "absent"],
    ["file.users", "bulk"],
    ["source.systemName", "rosterctl generate"],
    ["source.systemCode", "synthetic"],
];

const ACTIVE: &str = "active";
/// `dateLastModified` of every row.
pub(crate) const DATE_LAST_MODIFIED: &str = "2026-08-01T12:00:00.000Z";

// The school year and its sessions: 2026–27 for the first year, each rollover
// one year later (new session ids, the same calendar shifted by whole years).

/// The sessions and dates of one school year, as text.
pub(crate) struct SchoolYear {
    /// `schoolYear`: the calendar year it ends in (2027 for 2026–27).
    year: String,
    school_year_id: String,
    fall_id: String,
    spring_id: String,
    both_semesters: String,
    start: String,
    end: String,
    fall_end: String,
    spring_start: String,
    /// `dateLastModified` of the year's own rows (sessions, courses, classes,
    /// enrollments).
    modified: String,
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
        let date = |y: u32, md: &str| format!("{y}-{md}");
        let (start, end) = (date(y0, "08-17"), date(y1, "06-11"));
        let (fall_end, spring_start) = (date(y0, "12-18"), date(y1, "01-05"));
        let fall_id = format!("{id}-s1");
        let spring_id = format!("{id}-s2");
        let span = format!("{y0}-{y1}");
        let session =
            |sid: String, title: String, kind: &str, from: &str, to: &str, parent: &str| {
                [
                    sid,
                    title,
                    kind.to_string(),
                    from.to_string(),
                    to.to_string(),
                    parent.to_string(),
                ]
            };
        let sessions = vec![
            session(id.clone(), span.clone(), "schoolYear", &start, &end, ""),
            session(
                fall_id.clone(),
                format!("Fall {y0}"),
                "semester",
                &start,
                &fall_end,
                &id,
            ),
            session(
                spring_id.clone(),
                format!("Spring {y1}"),
                "semester",
                &spring_start,
                &end,
                &id,
            ),
            session(
                format!("{id}-gp1"),
                format!("Quarter 1 {span}"),
                "gradingPeriod",
                &start,
                &date(y0, "10-16"),
                &id,
            ),
            session(
                format!("{id}-gp2"),
                format!("Quarter 2 {span}"),
                "gradingPeriod",
                &date(y0, "10-19"),
                &fall_end,
                &id,
            ),
            session(
                format!("{id}-gp3"),
                format!("Quarter 3 {span}"),
                "gradingPeriod",
                &spring_start,
                &date(y1, "03-19"),
                &id,
            ),
            session(
                format!("{id}-gp4"),
                format!("Quarter 4 {span}"),
                "gradingPeriod",
                &date(y1, "03-22"),
                &end,
                &id,
            ),
        ];
        SchoolYear {
            year: y1.to_string(),
            both_semesters: format!("{fall_id},{spring_id}"),
            school_year_id: id,
            fall_id,
            spring_id,
            start,
            end,
            fall_end,
            spring_start,
            modified: modified_in(year),
            sessions,
        }
    }

    /// `(termSourcedIds, beginDate, endDate)` of a class.
    fn class_term(&self, term: Term, section: u32) -> (&str, &str, &str) {
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

    /// sourcedId of school `s`'s class `local`: `cls-0001-001`, and after a
    /// rollover `cls-0001-001-2028` (the school year's own).
    pub(crate) fn class_id(&self, s: &School, local: u32) -> String {
        match self.rollovers {
            0 => s.class_id(local),
            _ => format!("{}-{}", s.class_id(local), self.school_year()),
        }
    }

    /// sourcedId of the `n`-th enrollment: `enr-0000001`, and after a rollover
    /// `enr-2028-0000001`.
    pub(crate) fn enrollment_id(&self, n: u64) -> String {
        match self.rollovers {
            0 => format!("enr-{n:07}"),
            _ => format!("enr-{}-{n:07}", self.school_year()),
        }
    }

    /// `dateLastModified` of the student in place `i`: the first year's for
    /// one there since then (its rows never change), else the year it joined.
    pub(crate) fn student_modified(&self, i: u32) -> String {
        modified_in(FIRST_SCHOOL_YEAR + self.student_generation(i))
    }
}

/// The rows of `manifest.csv`.
pub(crate) fn write_manifest(t: &mut Table<'_, '_>) -> csv::Result<()> {
    for row in MANIFEST {
        t.row(row)?;
    }
    Ok(())
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

/// The rows of `orgs.csv`: the district, then its schools.
pub(crate) fn write_orgs(plan: &Plan, t: &mut Table<'_, '_>) -> csv::Result<()> {
    let d = &plan.district;
    t.row([
        d.id.as_str(),
        ACTIVE,
        DATE_LAST_MODIFIED,
        &d.name,
        "district",
        &d.identifier,
        "",
    ])?;
    for s in &plan.schools {
        t.row([
            s.id.as_str(),
            ACTIVE,
            DATE_LAST_MODIFIED,
            &s.name(),
            "school",
            &s.identifier,
            &d.id,
        ])?;
    }
    Ok(())
}

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

/// The rows of `users.csv`: administrators, teachers, students, guardians.
pub(crate) fn write_users(plan: &Plan, t: &mut Table<'_, '_>) -> csv::Result<()> {
    let d = &plan.district;
    let mut ordinal = 0u32;
    let staff = |t: &mut Table<'_, '_>,
                 id: String,
                 org: &str,
                 role: &str,
                 rng: &mut ChaCha8Rng,
                 ordinal: u32|
     -> csv::Result<()> {
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
            id.as_str(),
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
    };

    // Administrators: district first, then per school.
    let mut admin = 0u32;
    for _ in 0..2 {
        admin += 1;
        ordinal += 1;
        let mut rng = rng_for(plan.seed, K_ADMIN, u64::from(admin));
        staff(
            t,
            format!("adm-{admin:04}"),
            &d.id,
            "administrator",
            &mut rng,
            ordinal,
        )?;
    }
    for s in &plan.schools {
        for _ in 0..s.admins {
            admin += 1;
            ordinal += 1;
            let mut rng = rng_for(plan.seed, K_ADMIN, u64::from(admin));
            staff(
                t,
                format!("adm-{admin:04}"),
                &s.id,
                "administrator",
                &mut rng,
                ordinal,
            )?;
        }
    }
    // Teachers.
    for s in &plan.schools {
        for tch in s.first_teacher..s.first_teacher + s.teachers {
            ordinal += 1;
            let mut rng = rng_for(plan.seed, K_TEACHER, u64::from(tch));
            staff(
                t,
                format!("tch-{:05}", tch + 1),
                &s.id,
                "teacher",
                &mut rng,
                ordinal,
            )?;
        }
    }
    // Students.
    for s in &plan.schools {
        for (g, gp) in &s.grades {
            for i in gp.first_student..gp.first_student + gp.students {
                ordinal += 1;
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
                    &s.id,
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
                    GRADES[usize::from(*g)],
                    "",
                    d.sis,
                    &number,
                ])?;
            }
        }
    }
    // Guardians.
    for g in 0..plan.guardians {
        ordinal += 1;
        let first_child = g * STUDENTS_PER_GUARDIAN;
        let school = plan.school_of_student(first_child);
        let family = plan.family_name(first_child);
        let mut rng = rng_for(plan.seed, K_GUARDIAN, u64::from(g));
        let p = draw_person(&mut rng, family, 0.2);
        let email = plan.email(&p, ordinal);
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

/// The rows of `demographics.csv`, one per student.
pub(crate) fn write_demographics(plan: &Plan, t: &mut Table<'_, '_>) -> csv::Result<()> {
    let d = &plan.district;
    let tf = |b: bool| if b { "true" } else { "false" };
    for s in &plan.schools {
        for (g, gp) in &s.grades {
            // Born between Sept 2 and Sept 1 of the following year.
            let first_birthday = days_from_civil(2020 - i64::from(*g), 9, 2);
            for i in gp.first_student..gp.first_student + gp.students {
                let p = plan.student_person(i);
                let mut rng = rng_for(plan.seed, K_DEMOGRAPHICS, plan.student_key(i));
                let birth = civil_from_days(first_birthday + rng.gen_range(0..365));
                let mut race = [false; 5];
                race[weighted(&mut rng, RACE_WEIGHTS)] = true;
                if rng.gen_bool(0.06) {
                    race[weighted(&mut rng, RACE_WEIGHTS)] = true;
                }
                let two_or_more = race.iter().filter(|r| **r).count() >= 2;
                let hispanic = rng.gen_bool(0.27);
                let (country, state, city) = if rng.gen_bool(0.88) {
                    if rng.gen_bool(0.85) {
                        let city = if rng.gen_bool(0.6) { d.city } else { "" };
                        ("US", d.state, city)
                    } else {
                        ("US", pick(&mut rng, US_STATES), "")
                    }
                } else {
                    let (c, city) = pick(&mut rng, FOREIGN_BIRTHPLACES);
                    (c, "", city)
                };
                let residence = RESIDENCE_STATUS[weighted(&mut rng, RESIDENCE_WEIGHTS)];
                t.row([
                    plan.student_id(i).as_str(),
                    ACTIVE,
                    &plan.student_modified(i),
                    &birth,
                    if p.female { "female" } else { "male" },
                    tf(race[0]),
                    tf(race[1]),
                    tf(race[2]),
                    tf(race[3]),
                    tf(race[4]),
                    tf(two_or_more),
                    tf(hispanic),
                    country,
                    state,
                    city,
                    residence,
                ])?;
            }
        }
    }
    Ok(())
}
