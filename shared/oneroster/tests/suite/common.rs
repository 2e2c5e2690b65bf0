//! Builders for fixture packages: small, hand-written OneRoster 1.1 packages
//! written to a temporary folder or zip, one quirk or fault at a time.
#![allow(dead_code)]

use oneroster::report::IssueCode;
use oneroster::{validate_package, EntityKind, Issue, RowItem, Validation, ValidationOptions};
use std::path::PathBuf;
pub use testkit::zip::write_zip;

pub const MANIFEST: &str = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.academicSessions,bulk\nfile.courses,bulk\nfile.classes,bulk\nfile.users,bulk\nfile.enrollments,bulk\nfile.demographics,bulk\n";
pub const ORGS: &str = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nd1,active,2024-01-01T00:00:00.000Z,District,district,,\ns1,active,2024-01-01T00:00:00.000Z,School One,school,S1,d1\n";
pub const SESSIONS: &str = "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\ny1,active,,2024-25,schoolYear,2024-08-01,2025-06-30,,2025\nt1,active,,Fall,semester,2024-08-01,2024-12-20,y1,2025\n";
pub const COURSES: &str = "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\nc1,active,,y1,Reading,R1,\"01,02\",s1,Reading,\n";
pub const CLASSES: &str = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\ncl1,active,,Reading 1,01,c1,R1-1,scheduled,Room 1,s1,t1,,,1\ncl2,active,,Reading 2,02,c1,R1-2,homeroom,,s1,t1,,,2\n";
pub const USERS_HEADER: &str = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n";
pub const USERS_ROWS: &str = "t1u,active,,true,s1,teacher,tina,{Fed:100},Tina,Teach,,T1,tina@example.org,,,,,hunter2\nst1,active,,true,s1,student,sam,{Fed:200},Sam,Stu,,S1,sam@example.org,,,g1,01,s3cr3t-pw\nst2,active,,true,s1,student,sue,,Sue,Stu,,S2,,,,,02,\ng1,active,,true,s1,guardian,gina,,Gina,Guard,,,,,,st1,,\n";
pub const ENROLLMENTS: &str = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\ne1,active,,cl1,s1,t1u,teacher,true,,\ne2,active,,cl1,s1,st1,student,false,2024-08-01,\ne3,active,,cl2,s1,st2,student,false,,\n";
pub const DEMOGRAPHICS: &str = "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus\nst1,active,,2017-03-04,male,false,false,false,false,true,false,false,US,NY,Albany,\n";

/// A package under construction: file name -> bytes.
pub struct Fixture {
    pub files: Vec<(String, Vec<u8>)>,
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Fixture {
    /// A complete, valid package.
    pub fn valid() -> Fixture {
        Fixture::empty()
            .with("manifest.csv", MANIFEST)
            .with("orgs.csv", ORGS)
            .with("academicSessions.csv", SESSIONS)
            .with("courses.csv", COURSES)
            .with("classes.csv", CLASSES)
            .with("users.csv", &format!("{USERS_HEADER}{USERS_ROWS}"))
            .with("enrollments.csv", ENROLLMENTS)
            .with("demographics.csv", DEMOGRAPHICS)
    }

    pub fn empty() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_path_buf();
        Fixture {
            files: Vec::new(),
            _dir: dir,
            root,
        }
    }

    /// Adds or replaces a file.
    pub fn with(self, name: &str, content: &str) -> Fixture {
        self.with_bytes(name, content.as_bytes())
    }

    pub fn with_bytes(mut self, name: &str, content: &[u8]) -> Fixture {
        self.files.retain(|(n, _)| n != name);
        self.files.push((name.to_string(), content.to_vec()));
        self
    }

    pub fn without(mut self, name: &str) -> Fixture {
        self.files.retain(|(n, _)| n != name);
        self
    }

    /// Writes the files as a folder and returns its path.
    pub fn folder(&self) -> PathBuf {
        let dir = self.root.join("package");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &self.files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        dir
    }

    /// Writes the files as a zip and returns its path.
    pub fn zip(&self) -> PathBuf {
        let path = self.root.join("package.zip");
        write_zip(
            &path,
            self.files.iter().map(|(n, b)| (n.as_str(), b.as_slice())),
        );
        path
    }

    /// Validates the folder form; the result keeps the files alive for pass 2.
    pub fn validate(self) -> Checked {
        self.validate_with(&ValidationOptions::default())
    }

    /// Validates the folder form with `options`.
    pub fn validate_with(self, options: &ValidationOptions) -> Checked {
        let validation = validate_package(&self.folder(), options);
        Checked {
            validation,
            _fixture: self,
        }
    }
}

/// A validation that keeps its fixture's files on disk.
pub struct Checked {
    pub validation: Validation,
    _fixture: Fixture,
}

impl std::ops::Deref for Checked {
    type Target = Validation;
    fn deref(&self) -> &Validation {
        &self.validation
    }
}

/// The codes of the report's errors.
pub fn error_codes(v: &Validation) -> Vec<IssueCode> {
    v.report.errors.iter().map(|e| e.code).collect()
}

/// The codes of the report's warnings.
pub fn warning_codes(v: &Validation) -> Vec<IssueCode> {
    v.report.warnings.iter().map(|e| e.code).collect()
}

pub fn warning(v: &Validation, code: IssueCode) -> &Issue {
    v.report
        .warnings
        .iter()
        .find(|w| w.code == code)
        .unwrap_or_else(|| panic!("no warning {code} in {:#?}", v.report.warnings))
}

pub fn error(v: &Validation, code: IssueCode) -> &Issue {
    v.report
        .errors
        .iter()
        .find(|w| w.code == code)
        .unwrap_or_else(|| panic!("no error {code} in {:#?}", v.report.errors))
}

/// The sourcedIds pass 2 hands over for `kind`, with a marker for deletions.
/// Both ways of streaming are read, and must agree.
pub fn streamed(v: &Validation, kind: EntityKind) -> Vec<String> {
    let package = v.package.as_ref().expect("package accepted");
    let name = |row: RowItem<'_>| match row {
        RowItem::Upsert(r) => r.sourced_id().to_string(),
        RowItem::Delete { sourced_id, .. } => format!("-{sourced_id}"),
    };
    let mut out = Vec::new();
    package
        .for_each_row(kind, |row| {
            out.push(name(row));
            Ok::<(), oneroster::ReadError>(())
        })
        .unwrap();
    let mut prepared = Vec::new();
    package
        .for_each_row_prepared(
            kind,
            |row, slot: &mut String| *slot = name(row),
            |slot| {
                prepared.push(std::mem::take(slot));
                Ok::<(), oneroster::ReadError>(())
            },
        )
        .unwrap();
    assert_eq!(prepared, out, "the prepared stream of {kind:?}");
    out
}
