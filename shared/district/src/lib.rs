//! Deterministic synthetic school-district generator producing a OneRoster 1.1
//! or 1.2 CSV package (loose files in a directory, or a deflated zip archive).
//!
//! The output imitates what ClassLink exports: UTF-8 without BOM, LF line
//! endings, every field quoted, columns in spec order, `metadata.classlink.*`
//! extension columns appended to `users.csv`.
//!
//! # Shape for `N` students
//!
//! * orgs: 1 district + `S = max(1, round(N / 500))` schools. `S = 1`: one K-12
//!   school; `S = 2`: a K-8 school and a 9-12 high school; `S >= 3`:
//!   `max(1, round(S*4/13))` high schools (09-12), `max(1, round(S*3/13))`
//!   middle schools (06-08), the rest elementary (KG-05).
//! * students: `N`, spread evenly over the 13 grades, then evenly over the
//!   schools serving each grade.
//! * academicSessions: 7 (school year 2026-27, two semesters, four grading
//!   periods, all parented by the school year).
//! * courses per school: elementary 20, middle 18, high 23, K-8 37, K-12 59
//!   (each school has one `Homeroom` course).
//! * enrollments per student: one homeroom + 4 core courses + electives
//!   (KG-05: 1; 06-12: 1 or 2, 50/50), i.e. 6 to 7, about 6.3 on average.
//! * classes: for each course offering (homeroom: one offering per grade)
//!   with `c` enrolled students, `max(1, round(c / 25))` sections (none when
//!   `c = 0`); one teacher enrollment (primary) per class.
//! * teachers: `T = max(1, ceil(N / 15))`; each school gets one, the rest is
//!   shared out proportionally to the school's number of classes; within a
//!   school, classes are dealt out to teachers round-robin.
//! * administrators: 2 at the district (orgSourcedIds = district) + per
//!   school 1, or 2 when the school has more than 400 students.
//! * guardians: `G = floor(N / 10)`; guardian `g` is the agent of student
//!   `10g` and, when `g % 4 == 0`, also of student `10g + 1` (a sibling sharing
//!   the family name); students point back via agentSourcedIds.
//! * demographics: one row per student (sourcedId = the student's sourcedId).
//!
//! # OneRoster 1.2
//!
//! The same district, the same values: the manifest says `1.2` and lists
//! `file.roles,bulk`; `users.csv` has 1.2's columns (no `orgSourcedIds` or
//! `role`; `primaryOrgSourcedId` = the user's org, and a few extras: every
//! tenth user with a middle name has it as `preferredGivenName`, every 25th
//! has `pronouns`); `roles.csv` gives each user one primary role at its org
//! (`rol-{user}-1`), an administrator being a `districtAdministrator` at the
//! district and a `siteAdministrator` at a school. The other files are 1.1's,
//! byte for byte.
//!
//! Determinism: every random decision is drawn from a `ChaCha8Rng` seeded with
//! the seed and a per-entity stream number, and everything is iterated in a
//! fixed order, so the same `(students, seed)` yields byte-identical output
//! (the zip entries carry a fixed modification time too). Rows are streamed
//! to the output; only per-school plans (offerings, counters) are kept in
//! memory.
//!
//! # Layout
//!
//! Each module only uses those listed before it: `rng` (seeded streams),
//! `names` (reference data), `dates`, `catalogue` (courses per school level),
//! `error`, `writer` (directory or zip output), `plan` (the district plan)
//! and `tables` (the headers and rows of each CSV file).

#![warn(missing_docs)]

mod catalogue;
mod dates;
mod error;
mod names;
mod plan;
mod rng;
mod tables;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_1p2;
mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use error::GenerateError;
use plan::Plan;
use tables::{
    write_classes, write_courses, write_demographics, write_enrollments, write_manifest,
    write_manifest_1p2, write_orgs, write_roles, write_sessions, write_users, write_users_1p2,
    ACADEMIC_SESSIONS_HEADER, CLASSES_HEADER, COURSES_HEADER, DEMOGRAPHICS_HEADER,
    ENROLLMENTS_HEADER, MANIFEST_HEADER, ORGS_HEADER, ROLES_HEADER, USERS_1P2_HEADER, USERS_HEADER,
};
use writer::{Sink, TableBody};

/// Options of the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Number of students (`N` in the shape above).
    pub students: u32,
    /// Seed of every random stream; the same `(students, seed)` gives the
    /// same bytes.
    pub seed: u64,
    /// School-year rollovers since the first year (2026–2027; 0 writes it).
    /// Each rollover writes the next school year of the same district: new
    /// sessions, classes and enrollments (new sourcedIds), courses moved to
    /// the new school year, and about 8% of the students replaced by new ones
    /// (same school and grade); everyone else's rows are byte-identical.
    pub rollovers: u32,
    /// The OneRoster version of the package (the same district either way).
    pub oneroster: OneRosterVersion,
}

/// The OneRoster version a package is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OneRosterVersion {
    /// OneRoster 1.1: roles and orgs in `users.csv`.
    #[default]
    V1p1,
    /// OneRoster 1.2 (CSV binding 1.2.1): roles in `roles.csv`.
    V1p2,
}

impl OneRosterVersion {
    /// The version as manifests write it (`1.1`, `1.2`).
    pub fn as_str(self) -> &'static str {
        match self {
            OneRosterVersion::V1p1 => "1.1",
            OneRosterVersion::V1p2 => "1.2",
        }
    }
}

impl std::str::FromStr for OneRosterVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "1.1" => Ok(OneRosterVersion::V1p1),
            "1.2" => Ok(OneRosterVersion::V1p2),
            other => Err(format!(
                "OneRoster version `{other}` is not one the generator writes (1.1 or 1.2)"
            )),
        }
    }
}

/// What was written (counts per file, total bytes of CSV).
#[derive(Debug, Clone, serde::Serialize)]
pub struct GenerateSummary {
    /// File name (e.g. `users.csv`) → number of data rows (header excluded).
    pub files: BTreeMap<String, u64>,
    /// Total size of the CSV files, uncompressed, headers included.
    pub csv_bytes: u64,
    /// Where the package was written.
    pub out: PathBuf,
}

/// Writes the package to `out`: a directory (created if missing) of loose CSV
/// files, or, when `out` ends in `.zip`, a zip archive (deflate).
///
/// In directory mode, files of the same names are overwritten and other files
/// are left alone. In zip mode, a missing parent directory is created and an
/// existing archive is replaced.
pub fn generate(opts: &GenerateOptions, out: &Path) -> Result<GenerateSummary, GenerateError> {
    generate_with_progress(opts, out, &|_| {})
}

/// What [`generate_with_progress`] reports as it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenerateEvent<'a> {
    /// A file is begun (`users.csv`).
    File(&'a str),
    /// More data rows of the current file are written.
    Rows(u64),
}

/// [`generate`], telling `progress` of each file begun and of the rows written.
pub fn generate_with_progress(
    opts: &GenerateOptions,
    out: &Path,
    progress: &dyn Fn(GenerateEvent<'_>),
) -> Result<GenerateSummary, GenerateError> {
    let plan = Plan::build(opts.students, opts.seed, opts.rollovers);
    // Each zip entry's uncompressed size must stay below 4 GiB unless zip64
    // is used; enrollments.csv is ~0.85 kB per student.
    let mut sink = Sink::create(out, opts.students >= 2_000_000)?;

    let v1p2 = opts.oneroster == OneRosterVersion::V1p2;
    let (manifest, users_header, users): (TableBody<'_>, &[&str], TableBody<'_>) = if v1p2 {
        (&write_manifest_1p2, USERS_1P2_HEADER, &|t| {
            write_users_1p2(&plan, t)
        })
    } else {
        (&write_manifest, USERS_HEADER, &|t| write_users(&plan, t))
    };
    // In the order ClassLink lists them; the manifest first.
    let files: [(&str, &[&str], TableBody<'_>); 9] = [
        ("manifest.csv", MANIFEST_HEADER, manifest),
        ("orgs.csv", ORGS_HEADER, &|t| write_orgs(&plan, t)),
        ("academicSessions.csv", ACADEMIC_SESSIONS_HEADER, &|t| {
            write_sessions(&plan, t)
        }),
        ("courses.csv", COURSES_HEADER, &|t| write_courses(&plan, t)),
        ("classes.csv", CLASSES_HEADER, &|t| write_classes(&plan, t)),
        ("users.csv", users_header, users),
        ("roles.csv", ROLES_HEADER, &|t| write_roles(&plan, t)),
        ("enrollments.csv", ENROLLMENTS_HEADER, &|t| {
            write_enrollments(&plan, t)
        }),
        ("demographics.csv", DEMOGRAPHICS_HEADER, &|t| {
            write_demographics(&plan, t)
        }),
    ];
    // roles.csv is 1.2's only.
    let files = files
        .into_iter()
        .filter(|(name, ..)| v1p2 || *name != "roles.csv");
    let mut summary = GenerateSummary {
        files: BTreeMap::new(),
        csv_bytes: 0,
        out: out.to_path_buf(),
    };
    for (name, header, body) in files {
        let (rows, bytes) = sink.table(name, header, body, progress)?;
        summary.files.insert(name.to_string(), rows);
        summary.csv_bytes += bytes;
    }
    sink.finish()?;
    Ok(summary)
}
