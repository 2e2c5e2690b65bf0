//! Tests of whole packages: determinism, counts, referential integrity and
//! the exact output format.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{self, File};
use std::io;
use std::path::Path;

use super::*;
use crate::catalogue::{Level, GRADES};
use crate::tables::{DATE_LAST_MODIFIED, MANIFEST};

fn opts(students: u32, seed: u64) -> GenerateOptions {
    GenerateOptions {
        students,
        seed,
        rollovers: 0,
        oneroster: OneRosterVersion::V1p1,
    }
}

const FILES: [&str; 8] = [
    "manifest.csv",
    "orgs.csv",
    "academicSessions.csv",
    "courses.csv",
    "classes.csv",
    "users.csv",
    "enrollments.csv",
    "demographics.csv",
];

fn header_of(name: &str) -> &'static [&'static str] {
    match name {
        "manifest.csv" => MANIFEST_HEADER,
        "orgs.csv" => ORGS_HEADER,
        "academicSessions.csv" => ACADEMIC_SESSIONS_HEADER,
        "courses.csv" => COURSES_HEADER,
        "classes.csv" => CLASSES_HEADER,
        "users.csv" => USERS_HEADER,
        "enrollments.csv" => ENROLLMENTS_HEADER,
        "demographics.csv" => DEMOGRAPHICS_HEADER,
        _ => unreachable!(),
    }
}

/// A parsed CSV file: rows as column-name → value maps.
struct Parsed {
    rows: Vec<HashMap<String, String>>,
}

impl Parsed {
    fn col<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.rows.iter().map(move |r| r[name].as_str())
    }
    fn ids(&self) -> HashSet<String> {
        self.col("sourcedId").map(str::to_string).collect()
    }
}

fn parse(dir: &Path, name: &str) -> Parsed {
    let bytes = fs::read(dir.join(name)).unwrap();
    // Exact header, every field quoted, LF only, no BOM.
    assert!(!bytes.starts_with(b"\xEF\xBB\xBF"), "{name}: BOM");
    assert!(!bytes.contains(&b'\r'), "{name}: CR");
    let text = std::str::from_utf8(&bytes).unwrap();
    let expected_header = header_of(name)
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(text.lines().next().unwrap(), expected_header, "{name}");
    for line in text.lines() {
        assert!(
            line.starts_with('"') && line.ends_with('"'),
            "{name}: {line}"
        );
    }
    let mut rdr = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header, header_of(name));
    let rows = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(r.len(), header.len(), "{name}");
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect();
    Parsed { rows }
}

fn list(s: &str) -> Vec<&str> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(',').collect()
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn unique(p: &Parsed, name: &str) {
    let ids = p.ids();
    assert_eq!(ids.len(), p.rows.len(), "{name}: duplicate sourcedIds");
}

/// Checks structure, values and referential integrity; returns the
/// parsed files.
fn check_package(dir: &Path, summary: &GenerateSummary) -> HashMap<&'static str, Parsed> {
    let mut files = HashMap::new();
    for name in FILES {
        let p = parse(dir, name);
        assert_eq!(summary.files[name], p.rows.len() as u64, "{name}");
        files.insert(name, p);
    }
    let total: u64 = FILES
        .iter()
        .map(|f| fs::metadata(dir.join(f)).unwrap().len())
        .sum();
    assert_eq!(summary.csv_bytes, total);

    let manifest: Vec<(String, String)> = files["manifest.csv"]
        .rows
        .iter()
        .map(|r| (r["propertyName"].clone(), r["value"].clone()))
        .collect();
    let expected: Vec<(String, String)> = MANIFEST
        .iter()
        .map(|[k, v]| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(manifest, expected);

    for name in FILES.iter().skip(1) {
        let p = &files[name];
        unique(p, name);
        assert!(p.col("status").all(|s| s == "active"), "{name}");
        // The first year's time, or (after rollovers) 1 August of a later year.
        assert!(
            p.col("dateLastModified").all(|s| s == DATE_LAST_MODIFIED
                || (s.ends_with("-08-01T12:00:00.000Z") && s > DATE_LAST_MODIFIED)),
            "{name}"
        );
    }

    let orgs = &files["orgs.csv"];
    let org_ids = orgs.ids();
    let districts: Vec<_> = orgs
        .rows
        .iter()
        .filter(|r| r["type"] == "district")
        .collect();
    assert_eq!(districts.len(), 1);
    for r in &orgs.rows {
        match r["type"].as_str() {
            "district" => assert_eq!(r["parentSourcedId"], ""),
            "school" => assert_eq!(r["parentSourcedId"], districts[0]["sourcedId"]),
            other => panic!("org type {other}"),
        }
    }
    let school_ids: HashSet<String> = orgs
        .rows
        .iter()
        .filter(|r| r["type"] == "school")
        .map(|r| r["sourcedId"].clone())
        .collect();

    let sessions = &files["academicSessions.csv"];
    let session_ids = sessions.ids();
    let mut year = None;
    // One school year (2027 unless the package is a later year's), ending in
    // the year its school-year session ends.
    let school_year = sessions
        .rows
        .iter()
        .find(|r| r["type"] == "schoolYear")
        .map(|r| r["endDate"][..4].to_string())
        .unwrap();
    for r in &sessions.rows {
        assert!(is_date(&r["startDate"]) && is_date(&r["endDate"]));
        assert!(r["startDate"] < r["endDate"]);
        assert_eq!(r["schoolYear"], school_year);
        match r["type"].as_str() {
            "schoolYear" => {
                assert_eq!(r["parentSourcedId"], "");
                year = Some(r["sourcedId"].clone());
            }
            "semester" | "gradingPeriod" | "term" => {
                assert!(session_ids.contains(&r["parentSourcedId"]))
            }
            other => panic!("session type {other}"),
        }
    }
    let year = year.unwrap();
    for r in &sessions.rows {
        if r["type"] != "schoolYear" {
            assert_eq!(r["parentSourcedId"], year);
        }
    }

    let courses = &files["courses.csv"];
    let course_ids = courses.ids();
    for r in &courses.rows {
        assert_eq!(r["schoolYearSourcedId"], year);
        assert!(school_ids.contains(&r["orgSourcedId"]));
        assert!(list(&r["grades"]).iter().all(|g| GRADES.contains(g)));
        assert!(!r["grades"].is_empty());
    }

    let classes = &files["classes.csv"];
    let class_ids = classes.ids();
    let mut class_school = HashMap::new();
    for r in &classes.rows {
        assert!(course_ids.contains(&r["courseSourcedId"]));
        assert!(school_ids.contains(&r["schoolSourcedId"]));
        let terms = list(&r["termSourcedIds"]);
        assert!(!terms.is_empty());
        assert!(terms.iter().all(|t| session_ids.contains(*t)));
        assert!(matches!(r["classType"].as_str(), "scheduled" | "homeroom"));
        assert!(list(&r["grades"]).iter().all(|g| GRADES.contains(g)));
        class_school.insert(r["sourcedId"].clone(), r["schoolSourcedId"].clone());
    }

    let users = &files["users.csv"];
    let user_ids = users.ids();
    let roles: HashMap<String, String> = users
        .rows
        .iter()
        .map(|r| (r["sourcedId"].clone(), r["role"].clone()))
        .collect();
    let mut emails = HashSet::new();
    let mut usernames = HashSet::new();
    let agents: HashMap<String, BTreeSet<String>> = users
        .rows
        .iter()
        .map(|r| {
            (
                r["sourcedId"].clone(),
                list(&r["agentSourcedIds"])
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            )
        })
        .collect();
    for r in &users.rows {
        assert_eq!(r["enabledUser"], "true");
        assert_eq!(r["password"], "");
        assert!(matches!(
            r["role"].as_str(),
            "student" | "teacher" | "administrator" | "guardian"
        ));
        let orgs_of = list(&r["orgSourcedIds"]);
        assert!(!orgs_of.is_empty());
        assert!(orgs_of.iter().all(|o| org_ids.contains(*o)));
        let email = &r["email"];
        assert!(
            email.is_ascii() && *email == email.to_lowercase(),
            "{email}"
        );
        assert!(emails.insert(email.clone()), "duplicate email {email}");
        assert!(usernames.insert(r["username"].clone()));
        assert!(list(&r["grades"]).iter().all(|g| GRADES.contains(g)));
        for a in &agents[&r["sourcedId"]] {
            assert!(user_ids.contains(a), "agent {a}");
            assert!(
                agents[a].contains(&r["sourcedId"]),
                "agent {a} not reciprocal"
            );
        }
        match r["role"].as_str() {
            "student" => {
                assert_eq!(list(&r["grades"]).len(), 1);
                assert!(!r["metadata.classlink.studentNumber"].is_empty());
                assert!(agents[&r["sourcedId"]]
                    .iter()
                    .all(|a| roles[a] == "guardian"));
            }
            "guardian" => {
                assert!(!agents[&r["sourcedId"]].is_empty());
                assert!(agents[&r["sourcedId"]]
                    .iter()
                    .all(|a| roles[a] == "student"));
                assert_eq!(r["metadata.classlink.studentNumber"], "");
            }
            _ => assert_eq!(r["metadata.classlink.studentNumber"], ""),
        }
    }

    let enrollments = &files["enrollments.csv"];
    let mut teachers_per_class: HashMap<&str, u32> = HashMap::new();
    let mut students_per_class: HashMap<&str, u32> = HashMap::new();
    for r in &enrollments.rows {
        assert!(class_ids.contains(&r["classSourcedId"]), "{:?}", r);
        assert!(user_ids.contains(&r["userSourcedId"]), "{:?}", r);
        assert_eq!(class_school[&r["classSourcedId"]], r["schoolSourcedId"]);
        assert!(is_date(&r["beginDate"]) && is_date(&r["endDate"]));
        let role = &roles[&r["userSourcedId"]];
        assert_eq!(role, &r["role"]);
        match r["role"].as_str() {
            "teacher" => {
                assert_eq!(r["primary"], "true");
                *teachers_per_class
                    .entry(r["classSourcedId"].as_str())
                    .or_default() += 1;
            }
            "student" => {
                assert_eq!(r["primary"], "false");
                *students_per_class
                    .entry(r["classSourcedId"].as_str())
                    .or_default() += 1;
            }
            other => panic!("enrollment role {other}"),
        }
    }
    for id in &class_ids {
        assert_eq!(teachers_per_class.get(id.as_str()), Some(&1), "{id}");
        assert!(students_per_class.get(id.as_str()).copied().unwrap_or(0) >= 1);
    }

    let demographics = &files["demographics.csv"];
    let students: HashSet<String> = roles
        .iter()
        .filter(|(_, r)| *r == "student")
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(demographics.ids(), students);
    let bools = [
        "americanIndianOrAlaskaNative",
        "asian",
        "blackOrAfricanAmerican",
        "nativeHawaiianOrOtherPacificIslander",
        "white",
        "demographicRaceTwoOrMoreRaces",
        "hispanicOrLatinoEthnicity",
    ];
    for r in &demographics.rows {
        assert!(is_date(&r["birthDate"]));
        assert!(matches!(r["sex"].as_str(), "male" | "female"));
        for b in bools {
            assert!(matches!(r[b].as_str(), "true" | "false"));
        }
        assert_eq!(r["countryOfBirthCode"].len(), 2);
    }
    files
}

fn read_dir_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    FILES
        .iter()
        .map(|f| (f.to_string(), fs::read(dir.join(f)).unwrap()))
        .collect()
}

#[test]
fn deterministic_dir_and_zip() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let sa = generate(&opts(700, 7), &a).unwrap();
    let sb = generate(&opts(700, 7), &b).unwrap();
    assert_eq!(sa.files, sb.files);
    assert_eq!(sa.csv_bytes, sb.csv_bytes);
    assert_eq!(read_dir_files(&a), read_dir_files(&b));

    let za = tmp.path().join("a.zip");
    let zb = tmp.path().join("nested/b.zip");
    let sza = generate(&opts(700, 7), &za).unwrap();
    generate(&opts(700, 7), &zb).unwrap();
    assert_eq!(fs::read(&za).unwrap(), fs::read(&zb).unwrap());
    assert_eq!(sza.files, sa.files);
    assert_eq!(sza.csv_bytes, sa.csv_bytes);

    // The zip holds the same bytes as the loose files, in order, deflated.
    let mut archive = zip::ZipArchive::new(File::open(&za).unwrap()).unwrap();
    assert_eq!(archive.len(), FILES.len());
    for (k, (name, bytes)) in read_dir_files(&a).into_iter().enumerate() {
        let mut entry = archive.by_index(k).unwrap();
        assert_eq!(entry.name().unwrap().as_ref(), name.as_str());
        assert_eq!(entry.compression(), zip::CompressionMethod::Deflated);
        let mut content = Vec::new();
        io::Read::read_to_end(&mut entry, &mut content).unwrap();
        assert_eq!(content, bytes, "{name}");
    }

    // Another seed gives other content.
    let c = tmp.path().join("c");
    generate(&opts(700, 8), &c).unwrap();
    assert_ne!(
        fs::read(a.join("users.csv")).unwrap(),
        fs::read(c.join("users.csv")).unwrap()
    );
}

#[test]
fn counts_and_integrity_for_1000_students() {
    let tmp = tempfile::tempdir().unwrap();
    let n = 1000u32;
    let summary = generate(&opts(n, 1), tmp.path()).unwrap();
    let files = check_package(tmp.path(), &summary);
    let users = &files["users.csv"];
    let count = |role: &str| users.col("role").filter(|r| *r == role).count() as u32;
    assert_eq!(count("student"), n);
    assert_eq!(count("teacher"), n.div_ceil(15));
    assert_eq!(count("guardian"), n / 10);
    // 2 schools (K-8 with > 400 students: 2 admins; 9-12: 1) + 2 district.
    assert_eq!(count("administrator"), 2 + 2 + 1);
    assert_eq!(summary.files["orgs.csv"], 3);
    assert_eq!(summary.files["academicSessions.csv"], 7);
    assert_eq!(summary.files["courses.csv"], 37 + 23);
    assert_eq!(summary.files["demographics.csv"], u64::from(n));
    assert_eq!(summary.files["manifest.csv"], 17);

    let enrollments = &files["enrollments.csv"];
    let student_enrollments = enrollments.col("role").filter(|r| *r == "student").count();
    let per_student = student_enrollments as f64 / f64::from(n);
    assert!((5.0..=7.0).contains(&per_student), "{per_student}");
    let classes = summary.files["classes.csv"] as f64;
    let class_size = student_enrollments as f64 / classes;
    assert!((20.0..=30.0).contains(&class_size), "{class_size}");
    let per_teacher = classes / f64::from(n.div_ceil(15));
    assert!((2.0..=6.0).contains(&per_teacher), "{per_teacher}");
    // Every teacher teaches at least one class.
    let teaching: HashSet<&str> = enrollments
        .rows
        .iter()
        .filter(|r| r["role"] == "teacher")
        .map(|r| r["userSourcedId"].as_str())
        .collect();
    assert_eq!(teaching.len() as u32, n.div_ceil(15));
    // Every student has 6 or 7 enrollments, exactly one homeroom.
    let homeroom: HashSet<&str> = files["classes.csv"]
        .rows
        .iter()
        .filter(|r| r["classType"] == "homeroom")
        .map(|r| r["sourcedId"].as_str())
        .collect();
    let mut per: HashMap<&str, (u32, u32)> = HashMap::new();
    for r in enrollments.rows.iter().filter(|r| r["role"] == "student") {
        let e = per.entry(r["userSourcedId"].as_str()).or_default();
        e.0 += 1;
        e.1 += u32::from(homeroom.contains(r["classSourcedId"].as_str()));
    }
    assert_eq!(per.len(), n as usize);
    assert!(per
        .values()
        .all(|&(all, hr)| (6..=7).contains(&all) && hr == 1));
    // Non-ASCII names make it through.
    assert!(users
        .col("familyName")
        .chain(users.col("givenName"))
        .any(|s| !s.is_ascii()));
}

#[test]
fn integrity_for_edge_sizes() {
    for n in [0u32, 1, 2, 13, 60, 250, 6_000] {
        let tmp = tempfile::tempdir().unwrap();
        let summary = generate(&opts(n, 99), tmp.path()).unwrap();
        check_package(tmp.path(), &summary);
        assert_eq!(summary.files["demographics.csv"], u64::from(n));
        let plan = Plan::build(n, 99, 0);
        let teachers = plan.schools.iter().map(|s| s.teachers).sum::<u32>();
        assert_eq!(teachers, u64::from(n).div_ceil(15).max(1) as u32);
        assert_eq!(plan.schools.iter().map(|s| s.students).sum::<u32>(), n);
    }
    // 6000 students: 12 schools of all three levels.
    let plan = Plan::build(6_000, 99, 0);
    let levels: Vec<Level> = plan.schools.iter().map(|s| s.level).collect();
    assert_eq!(levels.len(), 12);
    for level in [Level::Elementary, Level::Middle, Level::High] {
        assert!(levels.contains(&level));
    }
    for s in &plan.schools {
        assert!((300..=700).contains(&s.students), "{}", s.students);
        assert!((15..=25).contains(&s.courses.len()), "{}", s.courses.len());
    }
}

#[test]
fn a_rollover_writes_the_next_school_year_of_the_same_district() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |rollovers: u32| {
        let dir = tmp.path().join(format!("year-{rollovers}"));
        let options = GenerateOptions {
            rollovers,
            ..opts(2000, 4)
        };
        let summary = generate(&options, &dir).unwrap();
        (check_package(&dir, &summary), dir)
    };
    let (first, first_dir) = write(0);
    let (next, next_dir) = write(1);
    let (later, _) = write(2);

    // Every session, class and enrollment is new; the school year moved on.
    for file in ["academicSessions.csv", "classes.csv", "enrollments.csv"] {
        assert!(
            first[file].ids().is_disjoint(&next[file].ids()),
            "{file}: no sourcedId survives a rollover"
        );
        assert_eq!(first[file].rows.len(), next[file].rows.len(), "{file}");
    }
    assert!(next["academicSessions.csv"]
        .col("schoolYear")
        .all(|y| y == "2028"));
    assert!(next["academicSessions.csv"]
        .col("endDate")
        .all(|d| d.as_bytes() > b"2027-06-11".as_slice()));
    // Courses keep their ids and move to the new school year.
    assert_eq!(first["courses.csv"].ids(), next["courses.csv"].ids());
    assert!(next["courses.csv"]
        .col("schoolYearSourcedId")
        .all(|y| y == "as-2028"));

    // About 8% of the students leave and as many join; everyone else's rows,
    // staff included, are byte-identical.
    let rows = |dir: &Path, name: &str| -> HashSet<String> {
        fs::read_to_string(dir.join(name))
            .unwrap()
            .lines()
            .skip(1)
            .map(String::from)
            .collect()
    };
    let students = |p: &Parsed| -> HashSet<String> {
        p.rows
            .iter()
            .filter(|r| r["role"] == "student")
            .map(|r| r["sourcedId"].clone())
            .collect()
    };
    let (before, after) = (students(&first["users.csv"]), students(&next["users.csv"]));
    assert_eq!(before.len(), after.len());
    let left = before.difference(&after).count();
    assert!((100..=220).contains(&left), "{left} of 2000 students left");
    assert!(after.difference(&before).all(|id| id.ends_with("-2028")));
    let (old_users, new_users) = (rows(&first_dir, "users.csv"), rows(&next_dir, "users.csv"));
    let kept = old_users.intersection(&new_users).count();
    let staff = first["users.csv"]
        .rows
        .iter()
        .filter(|r| r["role"] != "student" && r["role"] != "guardian")
        .count();
    assert!(kept >= staff + (2000 - left), "{kept} rows kept");
    let old_demographics = rows(&first_dir, "demographics.csv");
    let new_demographics = rows(&next_dir, "demographics.csv");
    assert_eq!(
        old_demographics.intersection(&new_demographics).count(),
        2000 - left
    );
    // Each rollover is a year on from the last.
    assert!(next["classes.csv"]
        .ids()
        .is_disjoint(&later["classes.csv"].ids()));
    assert!(later["academicSessions.csv"]
        .col("schoolYear")
        .all(|y| y == "2029"));
}

#[test]
fn the_first_years_bytes_never_change() {
    use sha2::{Digest, Sha256};
    // Pinned: a change to the generator must not change what earlier
    // benchmarks and tests were run on (rollovers only add later years).
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("district.zip");
    generate(&opts(500, 7), &zip).unwrap();
    let digest = Sha256::digest(fs::read(&zip).unwrap());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "8caade348f45201e492e682f4e705449cb44486943b2caef80b403c8acf7ea04"
    );
}

#[test]
fn error_names_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("occupied");
    fs::write(&file, b"x").unwrap();
    let err = generate(&opts(10, 1), &file.join("out")).unwrap_err();
    assert!(matches!(err, GenerateError::Io { .. }));
    assert!(err.to_string().contains("occupied"), "{err}");
}
