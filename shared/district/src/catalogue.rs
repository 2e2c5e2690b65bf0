//! The course catalogue of each school level, and the grade levels.

/// CEDS grade levels, index 0 = kindergarten.
#[rustfmt::skip]
pub(crate) const GRADES: [&str; 13] = [
    "KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12",
];

/// What grades a school serves (see [`Level::grades`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Elementary,
    Middle,
    High,
    K8,
    K12,
}

impl Level {
    /// Lowest and highest grade (indexes of [`GRADES`]).
    pub(crate) fn grades(self) -> (u8, u8) {
        match self {
            Level::Elementary => (0, 5),
            Level::Middle => (6, 8),
            Level::High => (9, 12),
            Level::K8 => (0, 8),
            Level::K12 => (0, 12),
        }
    }
    /// The end of the school's name.
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Level::Elementary => "Elementary School",
            Level::Middle => "Middle School",
            Level::High => "High School",
            Level::K8 => "K-8 Academy",
            Level::K12 => "K-12 School",
        }
    }
}

/// How students come to be enrolled in a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Every student of the school, in the homeroom of their grade.
    Homeroom,
    /// Every student of the course's grades.
    Core,
    /// Chosen: one per student in grades KG-05, one or two in 06-12.
    Elective,
}

/// The sessions a course's classes run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Term {
    /// Whole school year session (homerooms).
    SchoolYear,
    /// Both semesters.
    FullYear,
    /// One semester; even sections in the fall, odd ones in the spring.
    Semester,
}

/// One course of a school's catalogue.
#[derive(Debug)]
pub(crate) struct Course {
    pub(crate) title: String,
    pub(crate) code: String,
    /// Lowest grade.
    pub(crate) lo: u8,
    /// Highest grade.
    pub(crate) hi: u8,
    pub(crate) subject: &'static str,
    /// The `subjectCodes` value (empty for homerooms).
    pub(crate) subject_code: &'static str,
    pub(crate) kind: Kind,
    pub(crate) term: Term,
}

impl Course {
    fn new(
        title: impl Into<String>,
        code: impl Into<String>,
        (lo, hi): (u8, u8),
        (subject, subject_code): (&'static str, &'static str),
        kind: Kind,
        term: Term,
    ) -> Self {
        Course {
            title: title.into(),
            code: code.into(),
            lo,
            hi,
            subject,
            subject_code,
            kind,
            term,
        }
    }
    /// The course's grades as a OneRoster list (`"09,10,11,12"`).
    pub(crate) fn grades(&self) -> String {
        grade_list(self.lo, self.hi)
    }
}

fn grade_list(lo: u8, hi: u8) -> String {
    GRADES[usize::from(lo)..=usize::from(hi)].join(",")
}

const ELA: &str = "English Language Arts";
const MATH: &str = "Mathematics";
const SCIENCE: &str = "Science";
const SOCIAL: &str = "Social Studies";
pub(crate) const PE: &str = "Physical Education";

fn elementary_courses(out: &mut Vec<Course>) {
    use Kind::*;
    use Term::*;
    for g in 0..=5u8 {
        let name = if g == 0 {
            "Kindergarten".to_string()
        } else {
            format!("Grade {g}")
        };
        let gl = GRADES[usize::from(g)];
        out.push(Course::new(
            format!("{name} English Language Arts"),
            format!("ELA-{gl}"),
            (g, g),
            (ELA, "51007"),
            Core,
            FullYear,
        ));
        out.push(Course::new(
            format!("{name} Mathematics"),
            format!("MATH-{gl}"),
            (g, g),
            (MATH, "52003"),
            Core,
            FullYear,
        ));
    }
    for (lo, hi, band) in [(0, 2, "K-2"), (3, 5, "3-5")] {
        out.push(Course::new(
            format!("Science {band}"),
            format!("SCI-{band}"),
            (lo, hi),
            (SCIENCE, "53003"),
            Core,
            FullYear,
        ));
        out.push(Course::new(
            format!("Social Studies {band}"),
            format!("SS-{band}"),
            (lo, hi),
            (SOCIAL, "54003"),
            Core,
            FullYear,
        ));
    }
    let k5 = (0, 5);
    out.push(Course::new(
        "Art",
        "ART-K5",
        k5,
        ("Art", "55001"),
        Elective,
        FullYear,
    ));
    out.push(Course::new(
        "Music",
        "MUS-K5",
        k5,
        ("Music", "55002"),
        Elective,
        FullYear,
    ));
    out.push(Course::new(
        "Physical Education",
        "PE-K5",
        k5,
        (PE, "58003"),
        Elective,
        FullYear,
    ));
}

fn middle_courses(out: &mut Vec<Course>) {
    use Kind::*;
    use Term::*;
    let math = ["Math 6", "Math 7", "Pre-Algebra"];
    let science = ["Earth Science", "Life Science", "Physical Science"];
    let social = ["World Geography", "World History 7", "U.S. History 8"];
    for (i, g) in (6..=8u8).enumerate() {
        let gl = GRADES[usize::from(g)];
        let core = [
            (format!("English Language Arts {g}"), "ELA", (ELA, "01051")),
            (math[i].to_string(), "MATH", (MATH, "02001")),
            (science[i].to_string(), "SCI", (SCIENCE, "03001")),
            (social[i].to_string(), "SS", (SOCIAL, "04001")),
        ];
        for (title, prefix, subject) in core {
            let code = format!("{prefix}-{gl}");
            out.push(Course::new(title, code, (g, g), subject, Core, FullYear));
        }
    }
    let electives: [(&str, &str, &str, &str, Term); 5] = [
        ("Physical Education 6-8", "PE-68", PE, "08001", FullYear),
        ("Art 6-8", "ART-68", "Art", "05154", Semester),
        ("Band", "BAND-68", "Music", "05101", FullYear),
        (
            "Exploratory Spanish",
            "SPAN-68",
            "World Languages",
            "06100",
            FullYear,
        ),
        (
            "Technology",
            "TECH-68",
            "Computer Science",
            "10001",
            Semester,
        ),
    ];
    for (title, code, subject, subject_code, term) in electives {
        let subject = (subject, subject_code);
        out.push(Course::new(title, code, (6, 8), subject, Elective, term));
    }
}

fn high_courses(out: &mut Vec<Course>) {
    use Kind::*;
    use Term::*;
    let core: [(&str, &str, u8, &str, &str); 16] = [
        ("English 9", "ENG9", 9, ELA, "01001"),
        ("English 10", "ENG10", 10, ELA, "01002"),
        ("English 11", "ENG11", 11, ELA, "01003"),
        ("English 12", "ENG12", 12, ELA, "01004"),
        ("Algebra I", "ALG1", 9, MATH, "02052"),
        ("Geometry", "GEOM", 10, MATH, "02072"),
        ("Algebra II", "ALG2", 11, MATH, "02056"),
        ("Precalculus", "PRECALC", 12, MATH, "02110"),
        ("Biology", "BIO", 9, SCIENCE, "03051"),
        ("Chemistry", "CHEM", 10, SCIENCE, "03101"),
        ("Physics", "PHYS", 11, SCIENCE, "03151"),
        ("Environmental Science", "ENVSCI", 12, SCIENCE, "03003"),
        ("World History", "WHIST", 9, SOCIAL, "04051"),
        ("U.S. History", "USHIST", 10, SOCIAL, "04101"),
        ("U.S. Government", "GOV", 11, SOCIAL, "04151"),
        ("Economics", "ECON", 12, SOCIAL, "04201"),
    ];
    for (title, code, g, subject, subject_code) in core {
        out.push(Course::new(
            title,
            code,
            (g, g),
            (subject, subject_code),
            Core,
            FullYear,
        ));
    }
    let hs = (9, 12);
    let electives: [(&str, &str, &str, &str, Term); 6] = [
        ("Physical Education 9-12", "PE-912", PE, "08001", FullYear),
        ("Spanish I", "SPAN1", "World Languages", "06101", FullYear),
        ("Studio Art", "ART-912", "Art", "05154", Semester),
        (
            "AP Computer Science Principles",
            "APCSP",
            "Computer Science",
            "10019",
            FullYear,
        ),
        ("Concert Choir", "CHOIR", "Music", "05110", FullYear),
        ("Health", "HEALTH", "Health", "08051", Semester),
    ];
    for (title, code, subject, subject_code, term) in electives {
        out.push(Course::new(
            title,
            code,
            hs,
            (subject, subject_code),
            Elective,
            term,
        ));
    }
}

/// The courses of a school of `level`, the homeroom first.
pub(crate) fn catalogue(level: Level) -> Vec<Course> {
    let (lo, hi) = level.grades();
    let mut out = vec![Course::new(
        "Homeroom",
        "HR",
        (lo, hi),
        ("", ""),
        Kind::Homeroom,
        Term::SchoolYear,
    )];
    if lo <= 5 {
        elementary_courses(&mut out);
    }
    if lo <= 8 && hi >= 6 {
        middle_courses(&mut out);
    }
    if hi >= 9 {
        high_courses(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_sizes_match_the_shape() {
        for (level, n) in [
            (Level::Elementary, 20),
            (Level::Middle, 18),
            (Level::High, 23),
            (Level::K8, 37),
            (Level::K12, 59),
        ] {
            let courses = catalogue(level);
            assert_eq!(courses.len(), n, "{level:?}");
            let homerooms = courses.iter().filter(|c| c.kind == Kind::Homeroom);
            assert_eq!(homerooms.count(), 1, "{level:?}");
        }
    }
}
