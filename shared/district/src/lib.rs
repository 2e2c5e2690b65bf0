//! Deterministic synthetic school-district generator producing a OneRoster 1.1
//! CSV package (loose files in a directory, or a deflated zip archive).
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
//! Determinism: every random decision is drawn from a `ChaCha8Rng` seeded with
//! the seed and a per-entity stream number, and everything is iterated in a
//! fixed order, so the same `(students, seed)` yields byte-identical output
//! (the zip entries carry a fixed modification time too). Rows are streamed
//! to the output; only per-school plans (offerings, counters) are kept in
//! memory.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Options of the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateOptions {
    pub students: u32,
    pub seed: u64,
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

/// Failure while writing the package.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing CSV {file}: {source}")]
    Csv {
        file: String,
        #[source]
        source: csv::Error,
    },
    #[error("writing zip archive {}: {source}", path.display())]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
}

impl GenerateError {
    fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        GenerateError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Writes the package to `out`: a directory (created if missing) of loose CSV
/// files, or, when `out` ends in `.zip`, a zip archive (deflate).
///
/// In directory mode, files of the same names are overwritten and other files
/// are left alone. In zip mode, a missing parent directory is created and an
/// existing archive is replaced.
pub fn generate(opts: &GenerateOptions, out: &Path) -> Result<GenerateSummary, GenerateError> {
    let plan = Plan::build(opts.students, opts.seed);
    let is_zip = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    let mut sink = if is_zip {
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)
                .map_err(|e| GenerateError::io("creating directory", parent, e))?;
        }
        let file = File::create(out).map_err(|e| GenerateError::io("creating", out, e))?;
        Sink::Zip {
            path: out.to_path_buf(),
            zip: Box::new(zip::ZipWriter::new(BufWriter::with_capacity(1 << 16, file))),
            // Each entry's uncompressed size must stay below 4 GiB unless
            // zip64 is used; enrollments.csv is ~0.85 kB per student.
            large_file: opts.students >= 2_000_000,
        }
    } else {
        fs::create_dir_all(out).map_err(|e| GenerateError::io("creating directory", out, e))?;
        Sink::Dir(out.to_path_buf())
    };

    // In the order ClassLink lists them; the manifest first.
    let files: [(&str, &[&str], TableBody<'_>); 8] = [
        ("manifest.csv", MANIFEST_HEADER, &write_manifest),
        ("orgs.csv", ORGS_HEADER, &|t| plan.write_orgs(t)),
        (
            "academicSessions.csv",
            ACADEMIC_SESSIONS_HEADER,
            &write_sessions,
        ),
        ("courses.csv", COURSES_HEADER, &|t| plan.write_courses(t)),
        ("classes.csv", CLASSES_HEADER, &|t| plan.write_classes(t)),
        ("users.csv", USERS_HEADER, &|t| plan.write_users(t)),
        ("enrollments.csv", ENROLLMENTS_HEADER, &|t| {
            plan.write_enrollments(t)
        }),
        ("demographics.csv", DEMOGRAPHICS_HEADER, &|t| {
            plan.write_demographics(t)
        }),
    ];
    let mut summary = GenerateSummary {
        files: BTreeMap::new(),
        csv_bytes: 0,
        out: out.to_path_buf(),
    };
    for (name, header, body) in files {
        let (rows, bytes) = sink.table(name, header, body)?;
        summary.files.insert(name.to_string(), rows);
        summary.csv_bytes += bytes;
    }
    sink.finish()?;
    Ok(summary)
}

// ---------------------------------------------------------------------------
// Headers and fixed content
// ---------------------------------------------------------------------------

const MANIFEST_HEADER: &[&str] = &["propertyName", "value"];
const ORGS_HEADER: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "name",
    "type",
    "identifier",
    "parentSourcedId",
];
const ACADEMIC_SESSIONS_HEADER: &[&str] = &[
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
const COURSES_HEADER: &[&str] = &[
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
const CLASSES_HEADER: &[&str] = &[
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
const USERS_HEADER: &[&str] = &[
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
const ENROLLMENTS_HEADER: &[&str] = &[
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
const DEMOGRAPHICS_HEADER: &[&str] = &[
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

const MANIFEST: &[[&str; 2]] = &[
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
const DATE_LAST_MODIFIED: &str = "2026-08-01T12:00:00.000Z";

const SCHOOL_YEAR_ID: &str = "as-2027";
const FALL_ID: &str = "as-2027-s1";
const SPRING_ID: &str = "as-2027-s2";
const BOTH_SEMESTERS: &str = "as-2027-s1,as-2027-s2";
const YEAR_START: &str = "2026-08-17";
const YEAR_END: &str = "2027-06-11";
const FALL_END: &str = "2026-12-18";
const SPRING_START: &str = "2027-01-05";

/// `[sourcedId, title, type, startDate, endDate, parentSourcedId]`.
const SESSIONS: &[[&str; 6]] = &[
    [
        SCHOOL_YEAR_ID,
        "2026-2027",
        "schoolYear",
        YEAR_START,
        YEAR_END,
        "",
    ],
    [
        FALL_ID,
        "Fall 2026",
        "semester",
        YEAR_START,
        FALL_END,
        SCHOOL_YEAR_ID,
    ],
    [
        SPRING_ID,
        "Spring 2027",
        "semester",
        SPRING_START,
        YEAR_END,
        SCHOOL_YEAR_ID,
    ],
    [
        "as-2027-gp1",
        "Quarter 1 2026-2027",
        "gradingPeriod",
        YEAR_START,
        "2026-10-16",
        SCHOOL_YEAR_ID,
    ],
    [
        "as-2027-gp2",
        "Quarter 2 2026-2027",
        "gradingPeriod",
        "2026-10-19",
        FALL_END,
        SCHOOL_YEAR_ID,
    ],
    [
        "as-2027-gp3",
        "Quarter 3 2026-2027",
        "gradingPeriod",
        SPRING_START,
        "2027-03-19",
        SCHOOL_YEAR_ID,
    ],
    [
        "as-2027-gp4",
        "Quarter 4 2026-2027",
        "gradingPeriod",
        "2027-03-22",
        YEAR_END,
        SCHOOL_YEAR_ID,
    ],
];
const SCHOOL_YEAR: &str = "2027";

/// CEDS grade levels, index 0 = kindergarten.
#[rustfmt::skip]
const GRADES: [&str; 13] = [
    "KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12",
];

const STUDENTS_PER_SCHOOL: u64 = 500;
const STUDENTS_PER_TEACHER: u64 = 15;
const STUDENTS_PER_GUARDIAN: u32 = 10;
const CLASS_SIZE: u32 = 25;

fn write_manifest(t: &mut Table<'_>) -> csv::Result<()> {
    for row in MANIFEST {
        t.row(row)?;
    }
    Ok(())
}

fn write_sessions(t: &mut Table<'_>) -> csv::Result<()> {
    for &[id, title, kind, start, end, parent] in SESSIONS {
        t.row([
            id,
            ACTIVE,
            DATE_LAST_MODIFIED,
            title,
            kind,
            start,
            end,
            parent,
            SCHOOL_YEAR,
        ])?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Output plumbing
// ---------------------------------------------------------------------------

/// Counts bytes; `flush` is deliberately a no-op so that the CSV writer's
/// final flush does not force a deflate sync block into zip entries (loose
/// files are flushed explicitly).
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)?;
        self.bytes += buf.len() as u64;
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the data rows of one CSV file.
type TableBody<'a> = &'a dyn Fn(&mut Table<'_>) -> csv::Result<()>;

/// One CSV file being written.
struct Table<'a> {
    w: csv::Writer<&'a mut dyn Write>,
    rows: u64,
}

impl Table<'_> {
    fn row<I, T>(&mut self, fields: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.w.write_record(fields)?;
        self.rows += 1;
        Ok(())
    }
}

fn write_table(out: &mut dyn Write, header: &[&str], body: TableBody<'_>) -> csv::Result<u64> {
    let w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(1 << 16)
        .from_writer(out);
    let mut t = Table { w, rows: 0 };
    t.w.write_record(header)?;
    body(&mut t)?;
    t.w.flush()?;
    Ok(t.rows)
}

enum Sink {
    Dir(PathBuf),
    Zip {
        path: PathBuf,
        zip: Box<zip::ZipWriter<BufWriter<File>>>,
        large_file: bool,
    },
}

impl Sink {
    /// Writes one CSV file; returns (data rows, bytes).
    fn table(
        &mut self,
        name: &str,
        header: &[&str],
        body: TableBody<'_>,
    ) -> Result<(u64, u64), GenerateError> {
        match self {
            Sink::Dir(dir) => {
                let path = dir.join(name);
                let file =
                    File::create(&path).map_err(|e| GenerateError::io("creating", &path, e))?;
                let mut out = Counting {
                    inner: BufWriter::with_capacity(1 << 16, file),
                    bytes: 0,
                };
                let rows =
                    write_table(&mut out, header, body).map_err(|source| GenerateError::Csv {
                        file: path.display().to_string(),
                        source,
                    })?;
                out.inner
                    .flush()
                    .map_err(|e| GenerateError::io("writing", &path, e))?;
                Ok((rows, out.bytes))
            }
            Sink::Zip {
                path,
                zip,
                large_file,
            } => {
                let modified = zip::DateTime::from_date_and_time(2026, 1, 1, 0, 0, 0)
                    .unwrap_or(zip::DateTime::DEFAULT);
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .compression_level(Some(6))
                    .last_modified_time(modified)
                    .unix_permissions(0o644)
                    .large_file(*large_file);
                zip.start_file(name, options)
                    .map_err(|source| GenerateError::Zip {
                        path: path.clone(),
                        source,
                    })?;
                let mut out = Counting {
                    inner: &mut **zip,
                    bytes: 0,
                };
                let rows =
                    write_table(&mut out, header, body).map_err(|source| GenerateError::Csv {
                        file: format!("{}:{name}", path.display()),
                        source,
                    })?;
                Ok((rows, out.bytes))
            }
        }
    }

    fn finish(self) -> Result<(), GenerateError> {
        match self {
            Sink::Dir(_) => Ok(()),
            Sink::Zip { path, zip, .. } => {
                let mut file = zip.finish().map_err(|source| GenerateError::Zip {
                    path: path.clone(),
                    source,
                })?;
                file.flush()
                    .map_err(|e| GenerateError::io("writing", &path, e))
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------

const K_DISTRICT: u64 = 1;
const K_SCHOOL_NAMES: u64 = 2;
const K_CHOICE: u64 = 3;
const K_STUDENT: u64 = 4;
const K_FAMILY: u64 = 5;
const K_DEMOGRAPHICS: u64 = 6;
const K_TEACHER: u64 = 7;
const K_ADMIN: u64 = 8;
const K_GUARDIAN: u64 = 9;

/// An independent, reproducible random stream for entity `idx` of `kind`.
fn rng_for(seed: u64, kind: u64, idx: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream((kind << 56) | (idx & ((1 << 56) - 1)));
    rng
}

/// A bijection of `[0, 10^digits)` used to make unique, random-looking ids.
fn scramble(x: u64, digits: u32) -> u64 {
    let m = 10u64.pow(digits);
    (x % m * 7_919 + 1_234_567) % m
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.gen_range(0..items.len())]
}

/// Index drawn with the given integer weights.
fn weighted(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.gen_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

// ---------------------------------------------------------------------------
// Reference data
// ---------------------------------------------------------------------------

#[rustfmt::skip]
const FEMALE_NAMES: &[&str] = &[
    "Emma", "Olivia", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn", "Abigail",
    "Emily", "Ella", "Elizabeth", "Camila", "Luna", "Sofía", "Avery", "Mila", "Aria", "Scarlett",
    "Penelope", "Layla", "Chloe", "Victoria", "Madison", "Eleanor", "Grace", "Nora", "Riley",
    "Zoë", "Hannah", "Hazel", "Lily", "Violet", "Aaliyah", "Fatima", "Aisha", "Priya", "Ananya",
    "Mei", "Yuki", "Linh", "Ngozi", "Amara", "Ximena", "Valentina", "Renée", "Siobhán", "Ingrid",
    "Leilani", "Nayeli", "Chiara", "Anh", "Maryam",
];
#[rustfmt::skip]
const MALE_NAMES: &[&str] = &[
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry",
    "Theodore", "Jack", "Levi", "Alexander", "Jackson", "Mateo", "Daniel", "Michael", "Mason",
    "Sebastian", "Ethan", "Logan", "Owen", "Samuel", "Jacob", "Asher", "Aiden", "John", "Joseph",
    "Wyatt", "David", "Leo", "Luke", "Julian", "Hudson", "Grayson", "Matthew", "Ezra", "Gabriel",
    "Carter", "Isaac", "José", "Santiago", "Diego", "Muhammad", "Omar", "Arjun", "Wei", "Hiroshi",
    "Minh", "Kwame", "Chidi", "Tariq", "Björn", "François", "Dmitri", "Kai",
];
#[rustfmt::skip]
const FAMILY_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott",
    "Torres", "Nguyễn", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera",
    "Campbell", "Mitchell", "Carter", "Roberts", "Kim", "Patel", "Chen", "Wang", "Singh", "Kumar",
    "Shah", "Tran", "Pham", "Park", "Choi", "Yamamoto", "Tanaka", "Sato", "Müller", "Schmidt",
    "Novak", "Kowalski", "Łukasik", "Ivanov", "Petrov", "O'Connor", "O'Brien", "Murphy", "Kelly",
    "Sullivan", "Okafor", "Adeyemi", "Mensah", "Diallo", "Haddad", "Khalil", "Rahman", "Hussain",
    "Cohen", "Levy", "Rossi", "Russo", "Peña", "Castillo", "Jiménez", "Gómez", "Núñez", "Ortiz",
    "Silva", "Santos", "Pereira", "Costa", "Andersson", "Håkansson", "Çelik", "Yılmaz",
    "Papadopoulos", "Begay", "Yazzie", "Kealoha", "García-López",
];

/// `(city, state, state FIPS, area code)` of the synthetic district.
const DISTRICT_CITIES: &[(&str, &str, &str, &str)] = &[
    ("Springfield", "IL", "17", "217"),
    ("Riverside", "CA", "06", "951"),
    ("Fairview", "TX", "48", "972"),
    ("Franklin", "TN", "47", "615"),
    ("Greenville", "SC", "45", "864"),
    ("Bristol", "CT", "09", "860"),
    ("Clinton", "NY", "36", "315"),
    ("Salem", "OR", "41", "503"),
    ("Madison", "WI", "55", "608"),
    ("Georgetown", "KY", "21", "502"),
    ("Arlington", "VA", "51", "703"),
    ("Marion", "OH", "39", "740"),
    ("Las Cruces", "NM", "35", "575"),
    ("Hilo", "HI", "15", "808"),
];
const DISTRICT_KINDS: &[&str] = &[
    "Unified School District",
    "Public Schools",
    "Independent School District",
    "City School District",
];
#[rustfmt::skip]
const SIS_NAMES: &[&str] = &[
    "PowerSchool", "Infinite Campus", "Skyward", "Aeries", "Synergy",
];
#[rustfmt::skip]
const SCHOOL_NAMES: &[&str] = &[
    "Lincoln", "Washington", "Roosevelt", "Jefferson", "Cesar Chavez", "Sojourner Truth",
    "Maple Grove", "Riverside", "Oak Hill", "Pine Ridge", "Lakeview", "Harriet Tubman", "Sunset",
    "Highland", "Cedar Creek", "Willow Brook", "Frederick Douglass", "Sally Ride", "Eastwood",
    "Westfield", "Northgate", "Southside", "Meadowbrook", "Fairmont", "Hillcrest", "Mountain View",
    "Valley Vista", "Ellen Ochoa", "Thurgood Marshall", "Amelia Earhart", "Booker T. Washington",
    "Rosa Parks", "John Muir", "Clara Barton", "Dolores Huerta", "Sequoyah", "Liliʻuokalani",
    "Garfield", "Madison", "Monroe", "Kennedy", "Franklin", "Edison", "Whittier", "Emerson",
    "Longfellow", "Hawthorne", "Irving",
];
/// Distinguishes schools of the same level and base name.
const PLACE_WORDS: &[&str] = &["", "Park", "Heights", "Hills", "Grove", "Valley", "Springs"];
#[rustfmt::skip]
const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY",
];
/// `(ISO 3166-1 alpha-2, city)` for students born abroad.
const FOREIGN_BIRTHPLACES: &[(&str, &str)] = &[
    ("MX", "Guadalajara"),
    ("MX", "Monterrey"),
    ("VN", "Hồ Chí Minh City"),
    ("CN", "Guangzhou"),
    ("IN", "Hyderabad"),
    ("PH", "Quezon City"),
    ("SV", "San Salvador"),
    ("GT", "Quetzaltenango"),
    ("DO", "Santo Domingo"),
    ("KR", "Seoul"),
    ("UA", "Kyiv"),
    ("NG", "Lagos"),
    ("SO", "Mogadishu"),
    ("BR", "São Paulo"),
    ("HT", "Port-au-Prince"),
];
/// CEDS public school residence status codes and their weights.
const RESIDENCE_STATUS: &[&str] = &["01652", "01653", "01654", "01656"];
const RESIDENCE_WEIGHTS: &[u32] = &[90, 6, 3, 1];
/// Race weights: American Indian/Alaska Native, Asian, Black, Native
/// Hawaiian/Pacific Islander, White.
const RACE_WEIGHTS: &[u32] = &[2, 7, 15, 1, 55];

/// Lowercase ASCII transliteration of a name for emails and usernames
/// (letters and digits only).
fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let folded = match c {
            'a'..='z' | '0'..='9' => c,
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ā' => 'a',
            'ç' | 'č' => 'c',
            'é' | 'è' | 'ê' | 'ë' | 'ễ' | 'ế' | 'ệ' | 'ē' => 'e',
            'í' | 'ì' | 'î' | 'ï' | 'ı' => 'i',
            'ł' => 'l',
            'ñ' => 'n',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'ồ' => 'o',
            'ş' | 'š' => 's',
            'ú' | 'ù' | 'û' | 'ü' | 'ư' => 'u',
            'ý' | 'ÿ' => 'y',
            'ž' => 'z',
            _ => continue,
        };
        out.push(folded);
    }
    out
}

// ---------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

// ---------------------------------------------------------------------------
// Plan
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Elementary,
    Middle,
    High,
    K8,
    K12,
}

impl Level {
    fn grades(self) -> (u8, u8) {
        match self {
            Level::Elementary => (0, 5),
            Level::Middle => (6, 8),
            Level::High => (9, 12),
            Level::K8 => (0, 8),
            Level::K12 => (0, 12),
        }
    }
    fn suffix(self) -> &'static str {
        match self {
            Level::Elementary => "Elementary School",
            Level::Middle => "Middle School",
            Level::High => "High School",
            Level::K8 => "K-8 Academy",
            Level::K12 => "K-12 School",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Homeroom,
    Core,
    Elective,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    /// Whole school year session (homerooms).
    SchoolYear,
    /// Both semesters.
    FullYear,
    /// One semester; even sections in the fall, odd ones in the spring.
    Semester,
}

#[derive(Debug)]
struct Course {
    title: String,
    code: String,
    lo: u8,
    hi: u8,
    subject: &'static str,
    subject_code: &'static str,
    kind: Kind,
    term: Term,
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
    fn grades(&self) -> String {
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
const PE: &str = "Physical Education";

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
        out.push(Course::new(
            format!("English Language Arts {g}"),
            format!("ELA-{gl}"),
            (g, g),
            (ELA, "01051"),
            Core,
            FullYear,
        ));
        out.push(Course::new(
            math[i],
            format!("MATH-{gl}"),
            (g, g),
            (MATH, "02001"),
            Core,
            FullYear,
        ));
        out.push(Course::new(
            science[i],
            format!("SCI-{gl}"),
            (g, g),
            (SCIENCE, "03001"),
            Core,
            FullYear,
        ));
        out.push(Course::new(
            social[i],
            format!("SS-{gl}"),
            (g, g),
            (SOCIAL, "04001"),
            Core,
            FullYear,
        ));
    }
    let ms = (6, 8);
    out.push(Course::new(
        "Physical Education 6-8",
        "PE-68",
        ms,
        (PE, "08001"),
        Elective,
        FullYear,
    ));
    out.push(Course::new(
        "Art 6-8",
        "ART-68",
        ms,
        ("Art", "05154"),
        Elective,
        Semester,
    ));
    out.push(Course::new(
        "Band",
        "BAND-68",
        ms,
        ("Music", "05101"),
        Elective,
        FullYear,
    ));
    out.push(Course::new(
        "Exploratory Spanish",
        "SPAN-68",
        ms,
        ("World Languages", "06100"),
        Elective,
        FullYear,
    ));
    out.push(Course::new(
        "Technology",
        "TECH-68",
        ms,
        ("Computer Science", "10001"),
        Elective,
        Semester,
    ));
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

fn catalogue(level: Level) -> Vec<Course> {
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

/// A set of classes of one course (homerooms: one offering per grade).
#[derive(Debug)]
struct Offering {
    course: usize,
    /// Homerooms: the grade of the offering.
    grade: Option<u8>,
    /// Students enrolled over all sections.
    count: u32,
    sections: u32,
    /// School-local index of the first class.
    first_class: u32,
}

#[derive(Debug, Default, Clone)]
struct GradePlan {
    students: u32,
    /// Global index of the first student of this grade in this school.
    first_student: u32,
    homeroom: usize,
    core: Vec<usize>,
    electives: Vec<usize>,
}

#[derive(Debug)]
struct School {
    /// 1-based.
    no: u32,
    id: String,
    /// Name without the level suffix.
    name: &'static str,
    /// How many schools of the same level had this name before (see
    /// `PLACE_WORDS`).
    series: usize,
    level: Level,
    identifier: String,
    courses: Vec<Course>,
    offerings: Vec<Offering>,
    grades: Vec<(u8, GradePlan)>,
    students: u32,
    first_student: u32,
    classes: u32,
    first_teacher: u32,
    teachers: u32,
    admins: u32,
}

impl School {
    fn name(&self) -> String {
        let (name, suffix) = (self.name, self.level.suffix());
        match PLACE_WORDS.get(self.series) {
            Some(&"") => format!("{name} {suffix}"),
            Some(place) => format!("{name} {place} {suffix}"),
            None => format!("{name} {suffix} No. {}", self.series + 1),
        }
    }
    fn class_id(&self, local: u32) -> String {
        format!("cls-{:04}-{:03}", self.no, local + 1)
    }
    fn course_id(&self, course: usize) -> String {
        format!("crs-{:04}-{:02}", self.no, course + 1)
    }
    /// Global teacher index teaching school-local class `local`: classes
    /// are dealt round-robin, so homerooms (numbered first) go to distinct
    /// teachers and loads differ by at most one class.
    fn teacher_of(&self, local: u32) -> u32 {
        self.first_teacher + local % self.teachers.max(1)
    }
}

#[derive(Debug)]
struct District {
    id: String,
    name: String,
    city: &'static str,
    state: &'static str,
    area_code: &'static str,
    identifier: String,
    sis: &'static str,
}

#[derive(Debug)]
struct Plan {
    seed: u64,
    students: u32,
    district: District,
    schools: Vec<School>,
    guardians: u32,
}

struct Person {
    female: bool,
    given: &'static str,
    middle: &'static str,
    family: &'static str,
}

fn draw_person(rng: &mut ChaCha8Rng, family: &'static str, middle_p: f64) -> Person {
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

fn sections_for(count: u32) -> u32 {
    if count == 0 {
        0
    } else {
        ((count + CLASS_SIZE / 2) / CLASS_SIZE).max(1)
    }
}

impl Plan {
    fn build(students: u32, seed: u64) -> Plan {
        let n = u64::from(students);
        let mut rng = rng_for(seed, K_DISTRICT, 0);
        let (city, state, fips, area_code) = pick(&mut rng, DISTRICT_CITIES);
        let district = District {
            id: "dist-0001".to_string(),
            name: format!("{city} {}", pick(&mut rng, DISTRICT_KINDS)),
            city,
            state,
            area_code,
            identifier: format!("{fips}{:05}", rng.gen_range(100..100_000)),
            sis: pick(&mut rng, SIS_NAMES),
        };

        // Schools and their levels.
        let n_schools = ((n + STUDENTS_PER_SCHOOL / 2) / STUDENTS_PER_SCHOOL).max(1) as u32;
        let levels: Vec<Level> = match n_schools {
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
        };
        let mut names: Vec<&str> = SCHOOL_NAMES.to_vec();
        names.shuffle(&mut rng_for(seed, K_SCHOOL_NAMES, 0));

        // Students per grade, then per school serving the grade.
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
            let (base, series) = (names[*nth % names.len()], *nth / names.len());
            *nth += 1;
            let no = k as u32 + 1;
            let (lo, hi) = level.grades();
            let courses = catalogue(level);
            let mut grades = Vec::new();
            let first_student = next_student;
            for g in lo..=hi {
                let gi = usize::from(g);
                let peers = &serving[gi];
                let pos = peers.iter().position(|&s| s == k).unwrap_or(0) as u32;
                let count = share(per_grade[gi], peers.len() as u32, pos, u32::from(g));
                grades.push((
                    g,
                    GradePlan {
                        students: count,
                        first_student: next_student,
                        ..GradePlan::default()
                    },
                ));
                next_student += count;
            }
            let mut school = School {
                no,
                id: format!("sch-{no:04}"),
                name: base,
                series,
                level,
                identifier: format!("{}{:05}", district.identifier, no * 10),
                courses,
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

        // Teachers: one per school, the rest proportional to classes.
        let teachers = n.div_ceil(STUDENTS_PER_TEACHER).max(1) as u32;
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
        Plan {
            seed,
            students,
            district,
            schools,
            guardians: students / STUDENTS_PER_GUARDIAN,
        }
    }

    fn school_of_student(&self, i: u32) -> &School {
        let k = self
            .schools
            .partition_point(|s| s.first_student + s.students <= i);
        &self.schools[k.min(self.schools.len() - 1)]
    }

    /// Guardian of student `i`, if any.
    fn guardian_of(&self, i: u32) -> Option<u32> {
        let g = i / STUDENTS_PER_GUARDIAN;
        let linked = match i % STUDENTS_PER_GUARDIAN {
            0 => true,
            1 => has_two_children(g),
            _ => false,
        };
        (g < self.guardians && linked).then_some(g)
    }

    /// Children (global student indexes) of guardian `g`.
    fn children_of(&self, g: u32) -> impl Iterator<Item = u32> {
        let first = g * STUDENTS_PER_GUARDIAN;
        let n = if has_two_children(g) { 2 } else { 1 };
        let students = self.students;
        (first..first + n).filter(move |&i| i < students)
    }

    fn family_name(&self, i: u32) -> &'static str {
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

    fn student_person(&self, i: u32) -> Person {
        let family = self.family_name(i);
        draw_person(
            &mut rng_for(self.seed, K_STUDENT, u64::from(i)),
            family,
            0.6,
        )
    }

    fn email(&self, p: &Person, ordinal: u32) -> String {
        format!(
            "{}.{}{ordinal}@district{}.example.org",
            ascii_fold(p.given),
            ascii_fold(p.family),
            self.seed
        )
    }

    fn phone(&self, rng: &mut ChaCha8Rng) -> String {
        format!(
            "({}) 555-01{:02}",
            self.district.area_code,
            rng.gen_range(0..100)
        )
    }

    // -- files --------------------------------------------------------------

    fn write_orgs(&self, t: &mut Table<'_>) -> csv::Result<()> {
        let d = &self.district;
        t.row([
            d.id.as_str(),
            ACTIVE,
            DATE_LAST_MODIFIED,
            &d.name,
            "district",
            &d.identifier,
            "",
        ])?;
        for s in &self.schools {
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

    fn write_courses(&self, t: &mut Table<'_>) -> csv::Result<()> {
        for s in &self.schools {
            for (c, course) in s.courses.iter().enumerate() {
                t.row([
                    s.course_id(c).as_str(),
                    ACTIVE,
                    DATE_LAST_MODIFIED,
                    SCHOOL_YEAR_ID,
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

    fn write_classes(&self, t: &mut Table<'_>) -> csv::Result<()> {
        for s in &self.schools {
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
                    let (terms, _, _) = class_term(course.term, section);
                    t.row([
                        s.class_id(local).as_str(),
                        ACTIVE,
                        DATE_LAST_MODIFIED,
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

    fn write_users(&self, t: &mut Table<'_>) -> csv::Result<()> {
        let d = &self.district;
        let mut ordinal = 0u32;
        let staff = |t: &mut Table<'_>,
                     id: String,
                     org: &str,
                     role: &str,
                     rng: &mut ChaCha8Rng,
                     ordinal: u32|
         -> csv::Result<()> {
            let family = pick(rng, FAMILY_NAMES);
            let p = draw_person(rng, family, 0.3);
            let email = self.email(&p, ordinal);
            let username = email.split('@').next().unwrap_or_default();
            let user_ids = format!(
                "{{Fed:{:07}}},{{StateID:{}{:06}}}",
                scramble(u64::from(ordinal), 7),
                d.state,
                scramble(u64::from(ordinal), 6)
            );
            let identifier = format!("E{:06}", ordinal);
            let phone = self.phone(rng);
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
            let mut rng = rng_for(self.seed, K_ADMIN, u64::from(admin));
            staff(
                t,
                format!("adm-{admin:04}"),
                &d.id,
                "administrator",
                &mut rng,
                ordinal,
            )?;
        }
        for s in &self.schools {
            for _ in 0..s.admins {
                admin += 1;
                ordinal += 1;
                let mut rng = rng_for(self.seed, K_ADMIN, u64::from(admin));
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
        for s in &self.schools {
            for tch in s.first_teacher..s.first_teacher + s.teachers {
                ordinal += 1;
                let mut rng = rng_for(self.seed, K_TEACHER, u64::from(tch));
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
        for s in &self.schools {
            for (g, gp) in &s.grades {
                for i in gp.first_student..gp.first_student + gp.students {
                    ordinal += 1;
                    let p = self.student_person(i);
                    let email = self.email(&p, ordinal);
                    let username = email.split('@').next().unwrap_or_default();
                    let number = (100_001 + u64::from(i)).to_string();
                    let user_ids = format!(
                        "{{StateID:{}{:08}}},{{LocalID:{number}}}",
                        d.state,
                        scramble(u64::from(i), 8)
                    );
                    let agents = self.guardian_of(i).map(guardian_id).unwrap_or_default();
                    t.row([
                        student_id(i).as_str(),
                        ACTIVE,
                        DATE_LAST_MODIFIED,
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
        for g in 0..self.guardians {
            ordinal += 1;
            let first_child = g * STUDENTS_PER_GUARDIAN;
            let school = self.school_of_student(first_child);
            let family = self.family_name(first_child);
            let mut rng = rng_for(self.seed, K_GUARDIAN, u64::from(g));
            let p = draw_person(&mut rng, family, 0.2);
            let email = self.email(&p, ordinal);
            let username = email.split('@').next().unwrap_or_default();
            let phone = self.phone(&mut rng);
            let agents = self
                .children_of(g)
                .map(student_id)
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

    fn write_enrollments(&self, t: &mut Table<'_>) -> csv::Result<()> {
        let mut next = 0u64;
        let mut row = |t: &mut Table<'_>,
                       class: &str,
                       school: &str,
                       user: &str,
                       role: &str,
                       term: Term,
                       section: u32|
         -> csv::Result<()> {
            next += 1;
            let (_, begin, end) = class_term(term, section);
            t.row([
                format!("enr-{next:07}").as_str(),
                ACTIVE,
                DATE_LAST_MODIFIED,
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
        for s in &self.schools {
            // One primary teacher per class.
            for off in &s.offerings {
                let term = s.courses[off.course].term;
                for section in 0..off.sections {
                    let local = off.first_class + section;
                    let teacher = format!("tch-{:05}", s.teacher_of(local) + 1);
                    row(
                        t,
                        &s.class_id(local),
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
                    let student = student_id(i);
                    s.student_offerings(self.seed, gp, i, &mut chosen);
                    for &o in &chosen {
                        let off = &s.offerings[o];
                        let section = filled[o] * off.sections / off.count;
                        filled[o] += 1;
                        let term = s.courses[off.course].term;
                        let class = s.class_id(off.first_class + section);
                        row(t, &class, &s.id, &student, "student", term, section)?;
                    }
                }
            }
            debug_assert!(s.offerings.iter().zip(&filled).all(|(o, f)| o.count == *f));
        }
        Ok(())
    }

    fn write_demographics(&self, t: &mut Table<'_>) -> csv::Result<()> {
        let d = &self.district;
        let tf = |b: bool| if b { "true" } else { "false" };
        for s in &self.schools {
            for (g, gp) in &s.grades {
                // Born between Sept 2 and Sept 1 of the following year.
                let first_birthday = days_from_civil(2020 - i64::from(*g), 9, 2);
                for i in gp.first_student..gp.first_student + gp.students {
                    let p = self.student_person(i);
                    let mut rng = rng_for(self.seed, K_DEMOGRAPHICS, u64::from(i));
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
                        student_id(i).as_str(),
                        ACTIVE,
                        DATE_LAST_MODIFIED,
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
}

/// Every fourth guardian (0, 4, 8, ...) has two children, `10g` and `10g + 1`.
// `u32::is_multiple_of` needs Rust 1.87; the workspace declares 1.85.
#[allow(clippy::manual_is_multiple_of)]
fn has_two_children(g: u32) -> bool {
    g % 4 == 0
}

fn student_id(i: u32) -> String {
    format!("stu-{:06}", i + 1)
}

fn guardian_id(g: u32) -> String {
    format!("gdn-{:06}", g + 1)
}

/// `(termSourcedIds, beginDate, endDate)` of a class.
fn class_term(term: Term, section: u32) -> (&'static str, &'static str, &'static str) {
    match term {
        Term::SchoolYear => (SCHOOL_YEAR_ID, YEAR_START, YEAR_END),
        Term::FullYear => (BOTH_SEMESTERS, YEAR_START, YEAR_END),
        Term::Semester if section % 2 == 1 => (SPRING_ID, SPRING_START, YEAR_END),
        Term::Semester => (FALL_ID, YEAR_START, FALL_END),
    }
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
    fn student_offerings(&self, seed: u64, gp: &GradePlan, i: u32, out: &mut Vec<usize>) {
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
    use super::*;
    use std::collections::{BTreeSet, HashMap, HashSet};

    fn opts(students: u32, seed: u64) -> GenerateOptions {
        GenerateOptions { students, seed }
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
            assert!(
                p.col("dateLastModified").all(|s| s == DATE_LAST_MODIFIED),
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
        for r in &sessions.rows {
            assert!(is_date(&r["startDate"]) && is_date(&r["endDate"]));
            assert!(r["startDate"] < r["endDate"]);
            assert_eq!(r["schoolYear"], "2027");
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
            let plan = Plan::build(n, 99);
            let teachers = plan.schools.iter().map(|s| s.teachers).sum::<u32>();
            assert_eq!(teachers, u64::from(n).div_ceil(15).max(1) as u32);
            assert_eq!(plan.schools.iter().map(|s| s.students).sum::<u32>(), n);
        }
        // 6000 students: 12 schools of all three levels.
        let plan = Plan::build(6_000, 99);
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
    fn school_names_stay_unique_in_large_districts() {
        // 400 schools: 185 elementary schools for 48 base names.
        let plan = Plan::build(200_000, 3);
        assert_eq!(plan.schools.len(), 400);
        let names: HashSet<String> = plan.schools.iter().map(School::name).collect();
        assert_eq!(names.len(), 400);
        assert!(names.iter().all(|n| !n.contains("No.")));
    }

    #[test]
    fn names_fold_to_ascii() {
        for name in FEMALE_NAMES.iter().chain(MALE_NAMES).chain(FAMILY_NAMES) {
            let f = ascii_fold(name);
            assert!(
                !f.is_empty() && f.bytes().all(|b| b.is_ascii_lowercase()),
                "{name} → {f}"
            );
        }
        assert_eq!(ascii_fold("Nguyễn"), "nguyen");
        assert_eq!(ascii_fold("Zoë"), "zoe");
        assert_eq!(ascii_fold("O'Connor"), "oconnor");
        assert!(FEMALE_NAMES.len() + MALE_NAMES.len() >= 100);
        assert!(FAMILY_NAMES.len() >= 100);
    }

    #[test]
    fn dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(days_from_civil(2020, 2, 29)), "2020-02-29");
        assert_eq!(
            civil_from_days(days_from_civil(2008, 9, 2) + 364),
            "2009-09-01"
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
}
