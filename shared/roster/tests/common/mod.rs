//! Shared test support: the two stores (SQLite in memory; DynamoDB Local on
//! the endpoint infra/test.sh starts), a small district builder, and a store
//! that fails after N writes (to kill a run halfway) in `faulty`.
#![allow(dead_code)]

use chrono::{DateTime, Datelike, Duration as Days, NaiveDate, Utc};
use oneroster::EntityKind;
use roster::*;
pub use roster_dynamodb::DynamoStore;
pub use roster_sqlite::SqliteStore;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

mod faulty;
pub use faulty::*;

pub fn sqlite() -> SqliteStore {
    SqliteStore::in_memory().expect("in-memory SQLite")
}

/// A DynamoDB store on a fresh table of DynamoDB Local
/// (`testkit::dynamo_store`). Fails loudly when the emulator is not
/// configured: tests never pass by skipping.
pub async fn dynamo() -> DynamoStore {
    testkit::dynamo_store("roster-test").await
}

/// A small district: one school (or more), classes of students, one
/// teacher per class, an administrator.
#[derive(Clone)]
pub struct District {
    pub students: Vec<Student>,
    pub classes: usize,
    /// Schools `s1` … (class `c` is in school `c % schools + 1`); 1 by default.
    pub schools: usize,
    /// Schools whose records the delivery leaves out (as when ClassLink's
    /// sharing permissions drop a school).
    pub dropped_schools: Vec<String>,
    pub admin_given_name: String,
    pub extra_users: String,
    pub extra_enrollments: String,
    pub manifest_modes: Vec<(&'static str, &'static str)>,
    pub omit: Vec<&'static str>,
    /// The school year (the year it ends in). `None`, the default: the
    /// current one, whatever today is (it began 120 days ago and ends in 240),
    /// with the ids the tests have always used (`y1`, `cl-0`, `en-t0`), so
    /// that no test changes its meaning with the calendar. `Some(year)`: that
    /// year (1 August to 30 June), with its own session, class and enrollment
    /// ids, as after a rollover.
    pub school_year: Option<u32>,
    /// Files written with this text instead of the district's own.
    pub replace: Vec<(&'static str, String)>,
    /// Written as a OneRoster 1.2 package: users' roles in `roles.csv`
    /// (the administrator a `siteAdministrator`), in bulk unless `mode` says.
    pub oneroster_1p2: bool,
}

/// One user of [`District`]: sourcedId, org, role, username, userIds,
/// givenName, familyName, email, grades.
type UserRow = [String; 9];

#[derive(Clone)]
pub struct Student {
    pub id: String,
    pub given: String,
    pub class: usize,
    /// The username (single sign-on matches on it); the sourcedId unless set.
    pub username: String,
    /// A `{StateID:…}` entry of `userIds`; none unless set.
    pub state_id: Option<String>,
}

impl District {
    pub fn new(students: usize, classes: usize) -> District {
        District {
            students: (0..students)
                .map(|i| Student {
                    id: format!("stu-{i:04}"),
                    given: format!("Given{i}"),
                    class: i % classes,
                    username: format!("stu-{i:04}"),
                    state_id: None,
                })
                .collect(),
            classes,
            schools: 1,
            dropped_schools: Vec::new(),
            admin_given_name: "Ada".into(),
            extra_users: String::new(),
            extra_enrollments: String::new(),
            manifest_modes: Vec::new(),
            omit: Vec::new(),
            school_year: None,
            replace: Vec::new(),
            oneroster_1p2: false,
        }
    }

    /// The same district with `file` written as `text`.
    pub fn with_file(mut self, file: &'static str, text: impl Into<String>) -> District {
        self.replace.retain(|(f, _)| *f != file);
        self.replace.push((file, text.into()));
        self
    }

    /// The same district in school year `year` (see [`District::school_year`]).
    pub fn in_school_year(mut self, year: u32) -> District {
        self.school_year = Some(year);
        self
    }

    /// The suffix of this year's session, class and enrollment ids.
    fn year_suffix(&self) -> String {
        match self.school_year {
            None => String::new(),
            Some(year) => format!("-{year}"),
        }
    }

    /// The school year's `(startDate, endDate, schoolYear)`.
    fn school_year_dates(&self) -> (NaiveDate, NaiveDate, i32) {
        match self.school_year {
            None => {
                let today = Utc::now().date_naive();
                let end = today + Days::days(240);
                (today - Days::days(120), end, end.year())
            }
            Some(y) => {
                let y = y as i32;
                let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
                (date(y - 1, 8, 1), date(y, 6, 30), y)
            }
        }
    }

    /// The same district with every school delivered again.
    pub fn with_schools_back(mut self) -> District {
        self.dropped_schools.clear();
        self
    }

    /// The school of class `c`.
    pub fn school_of(&self, c: usize) -> String {
        format!("s{}", c % self.schools + 1)
    }

    /// Whether the delivery leaves out class `c` (its school is dropped).
    fn dropped(&self, c: usize) -> bool {
        self.dropped_schools.contains(&self.school_of(c))
    }

    /// sourcedId of class `c` in this school year.
    pub fn class_id(&self, c: usize) -> String {
        format!("cl-{c}{}", self.year_suffix())
    }

    /// sourcedId of this school year's session.
    pub fn session_id(&self) -> String {
        match self.school_year {
            None => "y1".to_string(),
            Some(year) => format!("y{year}"),
        }
    }

    pub fn mode(mut self, file: &'static str, mode: &'static str) -> District {
        self.manifest_modes.retain(|(f, _)| *f != file);
        self.manifest_modes.push((file, mode));
        self
    }

    /// Total records a first load inserts, per type.
    pub fn record_count(&self) -> usize {
        1 + self.schools
            + 1
            + 1
            + self.classes
            + (self.students.len() + self.classes + 1)
            + (self.students.len() + self.classes)
    }

    pub fn write(&self, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let roles = ["roles"].iter().filter(|_| self.oneroster_1p2);
        let modes = [
            "orgs",
            "academicSessions",
            "courses",
            "classes",
            "users",
            "enrollments",
        ]
        .iter()
        .chain(roles)
        .map(|f| {
            let mode = self
                .manifest_modes
                .iter()
                .find(|(m, _)| m == f)
                .map(|(_, m)| *m)
                .unwrap_or("bulk");
            format!("file.{f},{mode}\n")
        })
        .collect::<String>();
        let files = [
            ("manifest.csv", if self.oneroster_1p2 {
                format!("propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\n{modes}")
            } else {
                format!("propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n{modes}")
            }),
            ("orgs.csv", {
                let mut t = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nd1,active,,District,district,,\n".to_string();
                for s in (1..=self.schools).map(|s| format!("s{s}")) {
                    if !self.dropped_schools.contains(&s) {
                        t.push_str(&format!("{s},active,,School,school,,d1\n"));
                    }
                }
                t
            }),
            ("academicSessions.csv", {
                let (start, end, y) = self.school_year_dates();
                let session = self.session_id();
                format!("sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n{session},active,,{}-{},schoolYear,{start},{end},,{y}\n", y - 1, y % 100)
            }),
            ("courses.csv", format!("sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\nc1,active,,{},Reading,R,01,s1,,\n", self.session_id())),
            ("classes.csv", {
                let mut t = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n".to_string();
                for c in (0..self.classes).filter(|c| !self.dropped(*c)) {
                    t.push_str(&format!("{},active,,Reading {c},01,c1,R{c},scheduled,,{},{},,,\n", self.class_id(c), self.school_of(c), self.session_id()));
                }
                t
            }),
            ("users.csv", self.users_csv()),
            ("roles.csv", self.roles_csv()),
            ("enrollments.csv", {
                let mut t = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n".to_string();
                let suffix = self.year_suffix();
                for c in (0..self.classes).filter(|c| !self.dropped(*c)) {
                    t.push_str(&format!("en-t{c}{suffix},active,,{},{},tch-{c},teacher,true,,\n", self.class_id(c), self.school_of(c)));
                }
                for s in self.students.iter().filter(|s| !self.dropped(s.class)) {
                    t.push_str(&format!("en-{}{suffix},active,,{},{},{},student,false,,\n", s.id, self.class_id(s.class), self.school_of(s.class), s.id));
                }
                t.push_str(&self.extra_enrollments);
                t
            }),
        ];
        for (name, text) in files {
            if name == "roles.csv" && !self.oneroster_1p2 {
                continue;
            }
            let text = self
                .replace
                .iter()
                .find(|(file, _)| *file == name)
                .map_or(text, |(_, text)| text.clone());
            if !self.omit.contains(&name) {
                std::fs::write(dir.join(name), text).unwrap();
            }
        }
        dir.to_path_buf()
    }
}

impl District {
    /// The administrator, a teacher a class and the students, as rows.
    fn user_rows(&self) -> Vec<UserRow> {
        let row = |fields: [&str; 9]| fields.map(str::to_string);
        let mut rows = vec![row([
            "adm-1",
            "s1",
            "administrator",
            "ada",
            "",
            &self.admin_given_name,
            "Admin",
            "ada@d.example",
            "",
        ])];
        for c in (0..self.classes).filter(|c| !self.dropped(*c)) {
            let (id, name) = (format!("tch-{c}"), format!("tch{c}"));
            rows.push(row([
                &id,
                &self.school_of(c),
                "teacher",
                &name,
                "",
                &format!("Teacher{c}"),
                "Teach",
                &format!("{name}@d.example"),
                "",
            ]));
        }
        for s in self.students.iter().filter(|s| !self.dropped(s.class)) {
            let user_ids = s
                .state_id
                .as_ref()
                .map(|id| format!("{{StateID:{id}}}"))
                .unwrap_or_default();
            rows.push(row([
                &s.id,
                &self.school_of(s.class),
                "student",
                &s.username,
                &user_ids,
                &s.given,
                "Stu",
                "",
                "01",
            ]));
        }
        rows
    }

    /// `users.csv` of the district, in its version.
    pub fn users_csv(&self) -> String {
        let mut t = if self.oneroster_1p2 {
            assert!(self.extra_users.is_empty(), "extra users are 1.1 rows");
            "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n"
        } else {
            "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
        }
        .to_string();
        for [id, org, role, username, user_ids, given, family, email, grades] in self.user_rows() {
            t.push_str(&if self.oneroster_1p2 {
                format!("{id},active,,true,{username},{user_ids},{given},{family},,,{email},,,,{grades},,,,,,,,\n")
            } else {
                format!("{id},active,,true,{org},{role},{username},{user_ids},{given},{family},,,{email},,,,{grades},\n")
            });
        }
        t.push_str(&self.extra_users);
        t
    }

    /// A 1.2 package's roles: one primary role a user, at its org.
    pub fn roles_csv(&self) -> String {
        let mut t = "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\n".to_string();
        for [id, org, role, ..] in self.user_rows() {
            let role = if role == "administrator" {
                "siteAdministrator"
            } else {
                role.as_str()
            };
            t.push_str(&format!("r-{id},active,,{id},primary,{role},,,{org},\n"));
        }
        t
    }
}

/// A workspace for one test: a temp dir for packages and run files.
pub struct Bench {
    pub dir: tempfile::TempDir,
    pub artifacts: LocalArtifacts,
    counter: AtomicU64,
}

impl Bench {
    pub fn new() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = LocalArtifacts::new(dir.path().join("runs"));
        Bench {
            dir,
            artifacts,
            counter: AtomicU64::new(0),
        }
    }

    /// Writes `district` as a new package folder.
    pub fn package(&self, district: &District) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        district.write(&self.dir.path().join(format!("pkg-{n}")))
    }
}

pub fn source(path: &Path) -> RunSource {
    RunSource {
        kind: "csv".into(),
        reference: path.display().to_string(),
    }
}

pub async fn tenant<S: Store>(store: &S, id: &str) -> TenantConfig {
    let config = TenantConfig::new(id).unwrap();
    store.put_tenant(&config).await.unwrap();
    config
}

/// Syncs a package with default options and `generated_at`.
pub async fn sync<S: Store>(
    store: &S,
    bench: &Bench,
    tenant: &TenantConfig,
    district: &District,
    generated_at: Option<DateTime<Utc>>,
) -> RunRecord {
    let path = bench.package(district);
    Engine::new(store, &bench.artifacts)
        .sync_package(
            tenant,
            &path,
            source(&path),
            generated_at.map_or_else(|| Delivered::now(None), Delivered::at),
        )
        .await
        .expect("sync completes")
}

pub fn counts(run: &RunRecord, kind: EntityKind) -> KindCounts {
    run.counts
        .get(kind.file_name())
        .copied()
        .unwrap_or_default()
}

/// Digest of every stored record of a tenant: the end state, for comparisons.
pub async fn state_of<S: Store>(store: &S, tenant: &str) -> Vec<(EntityKind, String, u64, bool)> {
    let mut out = Vec::new();
    for kind in EntityKind::ALL {
        for s in store.load_summaries(tenant, kind).await.unwrap() {
            out.push((kind, s.sourced_id.into_string(), s.digest, s.archived));
        }
    }
    out.sort();
    out
}

/// The stored record `kind` `id` of `tenant`. Panics, naming the record,
/// when it is not stored or the store cannot read it.
pub async fn entity<S: Records>(
    store: &S,
    tenant: &str,
    kind: EntityKind,
    id: &str,
) -> StoredEntity {
    store
        .get_entity(tenant, kind, id)
        .await
        .unwrap_or_else(|e| panic!("reading {kind} {id} of tenant {tenant}: {e}"))
        .unwrap_or_else(|| panic!("{kind} {id} of tenant {tenant} is not stored"))
}

/// A time of day on a date, UTC (a delivery's generation time).
pub fn at(date: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("{date}T06:00:00Z"))
        .unwrap()
        .with_timezone(&Utc)
}
