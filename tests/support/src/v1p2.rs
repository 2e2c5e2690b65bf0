//! A small OneRoster 1.2 district as a CSV package, for the tests that serve
//! it through the local OneRoster server's 1.2 binding: an administrator of
//! the district, a teacher with a second (`ext:`) role and preferred names,
//! a student, a counselor (whom the platform does not import), a guardian,
//! a class with enrollments, and credentials (a password, a user profile)
//! that must never be read.

use std::path::{Path, PathBuf};

/// The package's files.
pub const FILES: [(&str, &str); 9] = [
    (
        "manifest.csv",
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.academicSessions,bulk\nfile.orgs,bulk\nfile.courses,bulk\nfile.classes,bulk\nfile.users,bulk\nfile.roles,bulk\nfile.userProfiles,bulk\nfile.enrollments,bulk\nfile.demographics,bulk\n",
    ),
    (
        "orgs.csv",
        "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nd1,active,2026-08-01T00:00:00.000Z,District,district,,\ns1,active,2026-08-01T00:00:00.000Z,School One,school,S1,d1\n",
    ),
    (
        "academicSessions.csv",
        "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\ny27,active,2026-08-01T00:00:00.000Z,2026-27,schoolYear,2026-07-01,2027-06-30,,2027\n",
    ),
    (
        "courses.csv",
        "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\nco1,active,2026-08-01T00:00:00.000Z,y27,Reading,R1,03,s1,,\n",
    ),
    (
        "classes.csv",
        "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\ncl1,active,2026-08-01T00:00:00.000Z,Reading 3,03,co1,R1-1,scheduled,,s1,y27,,,\n",
    ),
    (
        "users.csv",
        "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\nadm1,active,2026-08-01T00:00:00.000Z,true,ada,,Ada,Admin,,,ada@example.org,,,,,pw-admin-1,UM-adm1,,,,,d1,\ncn1,active,2026-08-01T00:00:00.000Z,true,cora,,Cora,Couns,,,,,,,,,,,,,,s1,\ng1,active,2026-08-01T00:00:00.000Z,true,gus,,Gus,Guard,,,,,,,,,,,,,,s1,\nst1,active,2026-08-01T00:00:00.000Z,true,sal,{SIS:77},Sal,Stu,,,,,,g1,03,,,,,,,s1,\nt1,active,2026-08-01T00:00:00.000Z,true,tom,,Thomas,Teach,,,tom@example.org,,,,,,UM-t1,,Tom,Quill,Teacher,s1,he/him\n",
    ),
    (
        "roles.csv",
        "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\nr1,active,,adm1,primary,districtAdministrator,,,d1,\nr2,active,,t1,primary,teacher,2026-08-01,2027-06-30,s1,p1\nr3,active,,t1,primary,ext:coach,,,d1,\nr4,active,,st1,primary,student,,,s1,\nr5,active,,cn1,primary,counselor,,,s1,\nr6,active,,g1,primary,guardian,,,s1,\n",
    ),
    (
        "userProfiles.csv",
        "sourcedId,status,dateLastModified,userSourcedId,profileType,vendorId,applicationId,description,credentialType,username,password\np1,active,,t1,app,v1,,,password,tom,Sekrit-PW-9\n",
    ),
    (
        "enrollments.csv",
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\ne1,active,2026-08-01T00:00:00.000Z,cl1,s1,t1,teacher,true,,\ne2,active,2026-08-01T00:00:00.000Z,cl1,s1,st1,student,false,,\n",
    ),
];

/// Demographics of the student, appended as a tenth file.
pub const DEMOGRAPHICS: (&str, &str) = (
    "demographics.csv",
    "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus\nst1,active,2026-08-01T00:00:00.000Z,2018-03-04,female,false,false,false,false,true,false,false,US,IL,,\n",
);

/// Secrets in the package that no store may hold: the administrator's
/// `password` and the teacher's user profile's credential password (the
/// local server sends both in 1.2 users: `password`, `userProfiles[]`).
pub const SECRETS: [&str; 2] = ["pw-admin-1", "Sekrit-PW-9"];

/// Panics when `text` (what `what` names) holds one of [`SECRETS`].
pub fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "`{secret}` in {what}");
    }
}

/// Panics when a file at or under `path` holds one of [`SECRETS`] (a
/// `.gz` file read decompressed). Returns how many files were read.
pub fn assert_no_secret_in(path: &Path) -> usize {
    if path.is_dir() {
        let entries = std::fs::read_dir(path).unwrap();
        return entries
            .map(|e| assert_no_secret_in(&e.unwrap().path()))
            .sum();
    }
    let bytes = std::fs::read(path).unwrap();
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut out)
            .unwrap();
        out
    } else {
        bytes
    };
    assert_no_secret(
        &path.display().to_string(),
        &String::from_utf8_lossy(&bytes),
    );
    1
}

/// Writes the package as the folder `district-1p2` in `dir`.
pub fn package(dir: &Path) -> PathBuf {
    let out = dir.join("district-1p2");
    std::fs::create_dir_all(&out).unwrap();
    for (name, text) in FILES.iter().chain([&DEMOGRAPHICS]) {
        std::fs::write(out.join(name), text).unwrap();
    }
    out
}
