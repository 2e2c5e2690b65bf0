//! The district plan: the district, its schools with their courses,
//! offerings and per-grade students, and how teachers, administrators and
//! guardians are shared out; plus the people drawn for each row and their ids.
//!
//! Only this plan is kept in memory; the rows are drawn from it as they are
//! written (see `tables`).

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::catalogue::{catalogue, Course, Kind, Level};
use crate::names::{
    ascii_fold, DISTRICT_CITIES, DISTRICT_KINDS, FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES,
    PLACE_WORDS, SCHOOL_NAMES, SIS_NAMES,
};
use crate::rng::{
    pick, rng_for, K_CHOICE, K_DISTRICT, K_FAMILY, K_LEAVER, K_SCHOOL_NAMES, K_STUDENT,
};

const STUDENTS_PER_SCHOOL: u64 = 500;
const STUDENTS_PER_TEACHER: u64 = 15;
/// Guardian `g` is the agent of students `10g` (and maybe `10g + 1`).
pub(crate) const STUDENTS_PER_GUARDIAN: u32 = 10;
/// Students per class section, rounded.
const CLASS_SIZE: u32 = 25;

/// A set of classes of one course (homerooms: one offering per grade).
#[derive(Debug)]
pub(crate) struct Offering {
    pub(crate) course: usize,
    /// Homerooms: the grade of the offering.
    pub(crate) grade: Option<u8>,
    /// Students enrolled over all sections.
    pub(crate) count: u32,
    pub(crate) sections: u32,
    /// School-local index of the first class.
    pub(crate) first_class: u32,
}

/// The students of one grade in one school, and the offerings they are in.
#[derive(Debug, Default, Clone)]
pub(crate) struct GradePlan {
    pub(crate) students: u32,
    /// Global index of the first student of this grade in this school.
    pub(crate) first_student: u32,
    /// Offering (index) of the grade's homeroom.
    pub(crate) homeroom: usize,
    /// Offerings (indexes) every student of the grade is in.
    pub(crate) core: Vec<usize>,
    /// Offerings (indexes) students of the grade choose from.
    pub(crate) electives: Vec<usize>,
}

/// One school: its catalogue, offerings, students and staff.
#[derive(Debug)]
pub(crate) struct School {
    /// 1-based.
    no: u32,
    pub(crate) id: String,
    /// Name without the level suffix.
    name: &'static str,
    /// How many schools of the same level had this name before (see
    /// `PLACE_WORDS`).
    series: usize,
    pub(crate) level: Level,
    pub(crate) identifier: String,
    pub(crate) courses: Vec<Course>,
    pub(crate) offerings: Vec<Offering>,
    pub(crate) grades: Vec<(u8, GradePlan)>,
    pub(crate) students: u32,
    pub(crate) first_student: u32,
    classes: u32,
    pub(crate) first_teacher: u32,
    pub(crate) teachers: u32,
    pub(crate) admins: u32,
}

impl School {
    /// The school's full name, unique in the district.
    pub(crate) fn name(&self) -> String {
        let (name, suffix) = (self.name, self.level.suffix());
        match PLACE_WORDS.get(self.series) {
            Some(&"") => format!("{name} {suffix}"),
            Some(place) => format!("{name} {place} {suffix}"),
            None => format!("{name} {suffix} No. {}", self.series + 1),
        }
    }
    /// sourcedId of school-local class `local`.
    pub(crate) fn class_id(&self, local: u32) -> String {
        format!("cls-{:04}-{:03}", self.no, local + 1)
    }
    /// sourcedId of the school's course `course`.
    pub(crate) fn course_id(&self, course: usize) -> String {
        format!("crs-{:04}-{:02}", self.no, course + 1)
    }
    /// Global teacher index teaching school-local class `local`: classes
    /// are dealt round-robin, so homerooms (numbered first) go to distinct
    /// teachers and loads differ by at most one class.
    pub(crate) fn teacher_of(&self, local: u32) -> u32 {
        self.first_teacher + local % self.teachers.max(1)
    }
}

/// The district org and what its people's contact details derive from.
#[derive(Debug)]
pub(crate) struct District {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) city: &'static str,
    pub(crate) state: &'static str,
    pub(crate) area_code: &'static str,
    pub(crate) identifier: String,
    pub(crate) sis: &'static str,
}

/// The calendar year the first school year (2026–2027) ends in.
pub(crate) const FIRST_SCHOOL_YEAR: u32 = 2027;

/// The share of students who leave at each rollover (as many join).
pub(crate) const LEAVER_SHARE: f64 = 0.08;

/// Everything the rows are drawn from.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) seed: u64,
    /// School-year rollovers since the first year (2026–2027): 0 for it.
    pub(crate) rollovers: u32,
    pub(crate) students: u32,
    pub(crate) district: District,
    pub(crate) schools: Vec<School>,
    pub(crate) guardians: u32,
}

/// A person's drawn sex and names.
pub(crate) struct Person {
    pub(crate) female: bool,
    pub(crate) given: &'static str,
    pub(crate) middle: &'static str,
    pub(crate) family: &'static str,
}

/// Draws a person of the given family; a middle name with probability
/// `middle_p`.
pub(crate) fn draw_person(rng: &mut ChaCha8Rng, family: &'static str, middle_p: f64) -> Person {
    let female = rng.gen_bool(0.5);
    let names = if female { FEMALE_NAMES } else { MALE_NAMES };
    let given = pick(rng, names);
    let middle = if rng.gen_bool(middle_p) {
        pick(rng, names)
    } else {
        ""
    };
    Person {
        female,
        given,
        middle,
        family,
    }
}

/// Splits `total` into `parts` near-equal shares, the remainder going to the
/// shares starting at `rotate`.
fn share(total: u32, parts: u32, index: u32, rotate: u32) -> u32 {
    let base = total / parts;
    let rem = total % parts;
    base + u32::from((index + rotate) % parts < rem)
}

/// Sections of an offering of `count` students (none when `count = 0`).
fn sections_for(count: u32) -> u32 {
    if count == 0 {
        0
    } else {
        ((count + CLASS_SIZE / 2) / CLASS_SIZE).max(1)
    }
}

impl District {
    /// The district org drawn for `seed`.
    fn draw(seed: u64) -> District {
        let mut rng = rng_for(seed, K_DISTRICT, 0);
        let (city, state, fips, area_code) = pick(&mut rng, DISTRICT_CITIES);
        District {
            id: "dist-0001".to_string(),
            name: format!("{city} {}", pick(&mut rng, DISTRICT_KINDS)),
            city,
            state,
            area_code,
            identifier: format!("{fips}{:05}", rng.gen_range(100..100_000)),
            sis: pick(&mut rng, SIS_NAMES),
        }
    }
}

/// The levels of a district's `n_schools` schools, in order.
fn school_levels(n_schools: u32) -> Vec<Level> {
    match n_schools {
        1 => vec![Level::K12],
        2 => vec![Level::K8, Level::High],
        s => {
            let high = ((s * 4 + 6) / 13).max(1);
            let middle = ((s * 3 + 6) / 13).max(1);
            let elementary = s - high - middle;
            let mut v = vec![Level::Elementary; elementary as usize];
            v.extend(std::iter::repeat_n(Level::Middle, middle as usize));
            v.extend(std::iter::repeat_n(Level::High, high as usize));
            v
        }
    }
}

/// The schools of `levels`, with their names, courses, offerings and
/// students (`students` spread over the grades, then over the schools
/// serving each grade).
fn plan_schools(seed: u64, district: &District, levels: &[Level], students: u32) -> Vec<School> {
    let mut names: Vec<&str> = SCHOOL_NAMES.to_vec();
    names.shuffle(&mut rng_for(seed, K_SCHOOL_NAMES, 0));
    let per_grade: Vec<u32> = (0..13u32)
        .map(|g| students / 13 + u32::from(g < students % 13))
        .collect();
    let mut serving: [Vec<usize>; 13] = Default::default();
    for (k, level) in levels.iter().enumerate() {
        let (lo, hi) = level.grades();
        for g in lo..=hi {
            serving[usize::from(g)].push(k);
        }
    }

    let mut schools = Vec::with_capacity(levels.len());
    let mut next_student = 0u32;
    // Names are numbered per level, so that "Lincoln Elementary School"
    // and "Lincoln High School" may both exist.
    let mut per_level = [0usize; 5];
    for (k, &level) in levels.iter().enumerate() {
        let nth = &mut per_level[level as usize];
        let (name, series) = (names[*nth % names.len()], *nth / names.len());
        *nth += 1;
        let (lo, hi) = level.grades();
        let first_student = next_student;
        let mut grades = Vec::new();
        for g in lo..=hi {
            let gi = usize::from(g);
            let peers = &serving[gi];
            let pos = peers.iter().position(|&s| s == k).unwrap_or(0) as u32;
            let count = share(per_grade[gi], peers.len() as u32, pos, u32::from(g));
            let plan = GradePlan {
                students: count,
                first_student: next_student,
                ..GradePlan::default()
            };
            grades.push((g, plan));
            next_student += count;
        }
        let no = k as u32 + 1;
        let mut school = School {
            no,
            id: format!("sch-{no:04}"),
            name,
            series,
            level,
            identifier: format!("{}{:05}", district.identifier, no * 10),
            courses: catalogue(level),
            offerings: Vec::new(),
            grades,
            students: next_student - first_student,
            first_student,
            classes: 0,
            first_teacher: 0,
            teachers: 0,
            admins: 0,
        };
        school.plan_offerings(seed);
        school.admins = if school.students > 400 { 2 } else { 1 };
        schools.push(school);
    }
    schools
}

/// Shares `teachers` out: one per school, the rest proportionally to the
/// schools' classes.
fn share_teachers(schools: &mut [School], teachers: u32, n_schools: u32) {
    let extra = u64::from(teachers.saturating_sub(n_schools));
    let total_classes: u64 = schools.iter().map(|s| u64::from(s.classes)).sum();
    let mut cum = 0u64;
    let mut given = 0u64;
    let mut next_teacher = 0u32;
    for (k, school) in schools.iter_mut().enumerate() {
        cum += u64::from(school.classes);
        let upto = match (cum * extra).checked_div(total_classes) {
            Some(upto) => upto,
            // No classes at all: the extra teachers go to the first school.
            None if k == 0 => extra,
            None => given,
        };
        let share = upto - given;
        given = upto;
        school.first_teacher = next_teacher;
        school.teachers = share as u32 + u32::from(teachers >= n_schools);
        next_teacher += school.teachers;
    }
}

impl Plan {
    /// The plan of the district of `students` students for `seed`, as it is
    /// `rollovers` school years after the first (2026–2027).
    pub(crate) fn build(students: u32, seed: u64, rollovers: u32) -> Plan {
        let n = u64::from(students);
        let district = District::draw(seed);
        let n_schools = ((n + STUDENTS_PER_SCHOOL / 2) / STUDENTS_PER_SCHOOL).max(1) as u32;
        let levels = school_levels(n_schools);
        let mut schools = plan_schools(seed, &district, &levels, students);
        let teachers = n.div_ceil(STUDENTS_PER_TEACHER).max(1) as u32;
        share_teachers(&mut schools, teachers, n_schools);
        Plan {
            seed,
            rollovers,
            students,
            district,
            schools,
            guardians: students / STUDENTS_PER_GUARDIAN,
        }
    }

    /// The school of student `i` (global index).
    pub(crate) fn school_of_student(&self, i: u32) -> &School {
        let k = self
            .schools
            .partition_point(|s| s.first_student + s.students <= i);
        &self.schools[k.min(self.schools.len() - 1)]
    }

    /// Guardian of student `i`, if any.
    pub(crate) fn guardian_of(&self, i: u32) -> Option<u32> {
        let g = i / STUDENTS_PER_GUARDIAN;
        let linked = match i % STUDENTS_PER_GUARDIAN {
            0 => true,
            1 => has_two_children(g),
            _ => false,
        };
        (g < self.guardians && linked).then_some(g)
    }

    /// Children (global student indexes) of guardian `g`.
    pub(crate) fn children_of(&self, g: u32) -> impl Iterator<Item = u32> {
        let first = g * STUDENTS_PER_GUARDIAN;
        let n = if has_two_children(g) { 2 } else { 1 };
        let students = self.students;
        (first..first + n).filter(move |&i| i < students)
    }

    /// Family name of student `i`.
    pub(crate) fn family_name(&self, i: u32) -> &'static str {
        // Siblings share the family name of the first child of the guardian.
        let root = match self.guardian_of(i) {
            Some(g) => g * STUDENTS_PER_GUARDIAN,
            None => i,
        };
        pick(
            &mut rng_for(self.seed, K_FAMILY, u64::from(root)),
            FAMILY_NAMES,
        )
    }

    /// The school year (the calendar year it ends in) of this plan.
    pub(crate) fn school_year(&self) -> u32 {
        FIRST_SCHOOL_YEAR + self.rollovers
    }

    /// The rollover (1 to `rollovers`) at which the student now in place `i`
    /// joined, or 0 for one there since the first year: at each rollover about
    /// [`LEAVER_SHARE`] of the students leave and as many new ones take their
    /// places (same school and grade).
    pub(crate) fn student_generation(&self, i: u32) -> u32 {
        (1..=self.rollovers)
            .rev()
            .find(|&k| {
                rng_for(
                    self.seed,
                    K_LEAVER,
                    (u64::from(i) << 8) | u64::from(k & 0xff),
                )
                .gen_bool(LEAVER_SHARE)
            })
            .unwrap_or(0)
    }

    /// The key of the random streams of the student in place `i`: `i` for one
    /// there since the first year, so that its draws (and rows) never change.
    pub(crate) fn student_key(&self, i: u32) -> u64 {
        u64::from(i) | (u64::from(self.student_generation(i)) << 32)
    }

    /// sourcedId of the student in place `i`: `stu-000123`, or for one who
    /// joined at a rollover `stu-000123-2028` (the school year it joined).
    pub(crate) fn student_id(&self, i: u32) -> String {
        match self.student_generation(i) {
            0 => student_id(i),
            k => format!("{}-{}", student_id(i), FIRST_SCHOOL_YEAR + k),
        }
    }

    /// Student `i` as a person (the same draws for users.csv and
    /// demographics.csv). A student who joined at a rollover is a new person.
    pub(crate) fn student_person(&self, i: u32) -> Person {
        let key = self.student_key(i);
        let family = if key == u64::from(i) {
            self.family_name(i)
        } else {
            pick(&mut rng_for(self.seed, K_FAMILY, key), FAMILY_NAMES)
        };
        draw_person(&mut rng_for(self.seed, K_STUDENT, key), family, 0.6)
    }

    /// The unique email of the `ordinal`-th user.
    pub(crate) fn email(&self, p: &Person, ordinal: u32) -> String {
        format!(
            "{}.{}{ordinal}@district{}.example.org",
            ascii_fold(p.given),
            ascii_fold(p.family),
            self.seed
        )
    }

    /// A fictional (555-01xx) phone number in the district's area code.
    pub(crate) fn phone(&self, rng: &mut ChaCha8Rng) -> String {
        format!(
            "({}) 555-01{:02}",
            self.district.area_code,
            rng.gen_range(0..100)
        )
    }
}

/// Every fourth guardian (0, 4, 8, ...) has two children, `10g` and `10g + 1`.
// `u32::is_multiple_of` needs Rust 1.87; the workspace declares 1.85.
#[allow(clippy::manual_is_multiple_of)]
fn has_two_children(g: u32) -> bool {
    g % 4 == 0
}

/// sourcedId of student `i` (global index).
pub(crate) fn student_id(i: u32) -> String {
    format!("stu-{:06}", i + 1)
}

/// sourcedId of guardian `g`.
pub(crate) fn guardian_id(g: u32) -> String {
    format!("gdn-{:06}", g + 1)
}

impl School {
    /// Builds offerings, counts students per offering (drawing elective
    /// choices), and numbers the classes.
    fn plan_offerings(&mut self, seed: u64) {
        let mut offering_of_course = vec![usize::MAX; self.courses.len()];
        for (c, course) in self.courses.iter().enumerate() {
            if course.kind == Kind::Homeroom {
                for (g, _) in &self.grades {
                    self.offerings.push(Offering {
                        course: c,
                        grade: Some(*g),
                        count: 0,
                        sections: 0,
                        first_class: 0,
                    });
                }
            } else {
                offering_of_course[c] = self.offerings.len();
                self.offerings.push(Offering {
                    course: c,
                    grade: None,
                    count: 0,
                    sections: 0,
                    first_class: 0,
                });
            }
        }
        for (o, off) in self.offerings.iter().enumerate() {
            if let Some(g) = off.grade {
                if let Some((_, gp)) = self.grades.iter_mut().find(|(gg, _)| *gg == g) {
                    gp.homeroom = o;
                }
            }
        }
        for (g, gp) in &mut self.grades {
            for (c, course) in self.courses.iter().enumerate() {
                if course.lo <= *g && *g <= course.hi {
                    match course.kind {
                        Kind::Homeroom => {}
                        Kind::Core => gp.core.push(offering_of_course[c]),
                        Kind::Elective => gp.electives.push(offering_of_course[c]),
                    }
                }
            }
        }
        // Count enrollments per offering.
        let mut chosen = Vec::new();
        let mut counts = vec![0u32; self.offerings.len()];
        for (_, gp) in &self.grades {
            for i in gp.first_student..gp.first_student + gp.students {
                self.student_offerings(seed, gp, i, &mut chosen);
                for &o in &chosen {
                    counts[o] += 1;
                }
            }
        }
        let mut next_class = 0;
        for (off, count) in self.offerings.iter_mut().zip(counts) {
            off.count = count;
            off.sections = sections_for(count);
            off.first_class = next_class;
            next_class += off.sections;
        }
        self.classes = next_class;
    }

    /// Offerings (indexes) student `i` of grade plan `gp` is enrolled in.
    pub(crate) fn student_offerings(
        &self,
        seed: u64,
        gp: &GradePlan,
        i: u32,
        out: &mut Vec<usize>,
    ) {
        out.clear();
        out.push(gp.homeroom);
        out.extend_from_slice(&gp.core);
        if gp.electives.is_empty() {
            return;
        }
        let mut rng = rng_for(seed, K_CHOICE, u64::from(i));
        // Elementary grades have one special; secondary grades one or two electives.
        let secondary = gp
            .electives
            .first()
            .is_some_and(|&o| self.courses[self.offerings[o].course].lo >= 6);
        let n = if secondary && rng.gen_bool(0.5) { 2 } else { 1 };
        out.extend(gp.electives.choose_multiple(&mut rng, n));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn school_names_stay_unique_in_large_districts() {
        // 400 schools: 185 elementary schools for 48 base names.
        let plan = Plan::build(200_000, 3, 0);
        assert_eq!(plan.schools.len(), 400);
        let names: HashSet<String> = plan.schools.iter().map(School::name).collect();
        assert_eq!(names.len(), 400);
        assert!(names.iter().all(|n| !n.contains("No.")));
    }
}
