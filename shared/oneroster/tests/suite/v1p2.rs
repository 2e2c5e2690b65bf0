//! OneRoster 1.2 packages: users' roles from roles.csv, 1.2's columns and
//! vocabularies, and the same facts as a 1.1 delivery (roles.csv's own
//! rules are in `v1p2_roles`).

use crate::common::*;
use oneroster::report::IssueCode;
use oneroster::{EntityKind, RowItem, Validation};
use serde_json::Value;
use std::collections::BTreeMap;

pub const MANIFEST_1P2: &str = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.orgs,bulk\nfile.academicSessions,bulk\nfile.courses,bulk\nfile.classes,bulk\nfile.users,bulk\nfile.roles,bulk\nfile.userProfiles,bulk\nfile.enrollments,bulk\nfile.demographics,bulk\n";
pub const USERS_1P2_HEADER: &str = "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n";
/// The people of [`USERS_ROWS`], in 1.2 form (Tina has 1.2's extras).
pub const USERS_1P2_ROWS: &str = "t1u,active,,true,tina,{Fed:100},Tina,Teach,,T1,tina@example.org,,,,,hunter2,M-1,,Tee,,,s1,she/her\nst1,active,,true,sam,{Fed:200},Sam,Stu,,S1,sam@example.org,,,g1,01,s3cr3t-pw,,,,,,,\nst2,active,,true,sue,,Sue,Stu,,S2,,,,,02,,,,,,,,\ng1,active,,true,gina,,Gina,Guard,,,,,,st1,,,,,,,,,\n";
pub const ROLES_HEADER: &str = "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\n";
pub const ROLES_ROWS: &str = "r1,active,,t1u,primary,teacher,2024-08-01,,s1,p1\nr2,active,,st1,primary,student,,,s1,\nr3,active,,st2,primary,student,,,s1,\nr4,active,,g1,primary,guardian,,,s1,\n";
pub const USER_PROFILES: &str = "sourcedId,status,dateLastModified,userSourcedId,profileType,vendorId,applicationId,description,credentialType,username,password\np1,active,,t1u,app,v1,,,password,tina,TopSecret-123\n";

/// [`Fixture::valid`]'s district as a OneRoster 1.2 package.
pub fn valid_1p2() -> Fixture {
    Fixture::valid()
        .with("manifest.csv", MANIFEST_1P2)
        .with("users.csv", &format!("{USERS_1P2_HEADER}{USERS_1P2_ROWS}"))
        .with("roles.csv", &format!("{ROLES_HEADER}{ROLES_ROWS}"))
        .with("userProfiles.csv", USER_PROFILES)
}

pub fn with_roles(rows: &str) -> Checked {
    valid_1p2()
        .with("roles.csv", &format!("{ROLES_HEADER}{ROLES_ROWS}{rows}"))
        .validate()
}

/// Every accepted user's record as JSON, by sourcedId.
pub fn users(v: &Validation) -> BTreeMap<String, Value> {
    let package = v.package.as_ref().expect("package accepted");
    let mut out = BTreeMap::new();
    package
        .for_each_row(EntityKind::Users, |row| {
            if let RowItem::Upsert(record) = row {
                let json = serde_json::to_value(record).unwrap();
                out.insert(record.sourced_id().to_string(), json);
            }
            Ok::<(), oneroster::ReadError>(())
        })
        .unwrap();
    out
}

#[test]
fn a_1p2_package_validates_and_its_users_carry_their_roles() {
    let v = valid_1p2().validate();
    assert!(v.report.ok, "{:#?}", v.report.errors);
    assert!(v.report.errors.is_empty(), "{:#?}", v.report.errors);
    assert_eq!(v.report.oneroster_version.as_deref(), Some("1.2"));
    let users_summary = &v.report.files["users"];
    assert_eq!((users_summary.accepted, users_summary.skipped), (3, 1));
    let roles = &v.report.files["roles"];
    assert_eq!((roles.rows, roles.accepted, roles.rejected), (4, 4, 0));
    let profiles = &v.report.files["userProfiles"];
    assert_eq!((profiles.rows, profiles.imported), (1, false));
    assert!(warning(&v, IssueCode::NotImported)
        .message
        .contains("its credentials are never read"));
    assert_eq!(streamed(&v, EntityKind::Users), ["t1u", "st1", "st2"]);

    let users = users(&v);
    let tina = &users["t1u"];
    assert_eq!(tina["role"], "teacher");
    assert_eq!(tina["orgSourcedIds"], serde_json::json!(["s1"]));
    assert_eq!(tina["pronouns"], "she/her");
    assert_eq!(tina["preferredGivenName"], "Tee");
    assert_eq!(tina["userMasterIdentifier"], "M-1");
    assert_eq!(tina["primaryOrgSourcedId"], "s1");
    assert_eq!(
        tina["roles"],
        serde_json::json!([{"sourcedId": "r1", "dateLastModified": null, "roleType": "primary",
            "role": "teacher", "beginDate": "2024-08-01", "endDate": null,
            "orgSourcedId": "s1", "userProfileSourcedId": "p1"}])
    );
    // Credentials are read into nothing: not a record, not the report.
    let everything = format!("{users:?}{}", serde_json::to_string(&v.report).unwrap());
    for secret in ["hunter2", "s3cr3t-pw", "TopSecret-123"] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
}

#[test]
fn the_same_district_in_1p1_and_1p2_gives_the_same_users() {
    let old = Fixture::valid().validate();
    let new = valid_1p2().validate();
    let (old, new) = (users(&old), users(&new));
    assert_eq!(
        old.keys().collect::<Vec<_>>(),
        new.keys().collect::<Vec<_>>()
    );
    for (id, before) in &old {
        let after = &new[id];
        for (field, value) in before.as_object().unwrap() {
            assert_eq!(&after[field], value, "{id}.{field}");
        }
    }
    // Students whose 1.2 rows say nothing 1.1 did not are the same record
    // (no `roles`): a tenant moving from 1.1 to 1.2 writes nothing for them.
    for id in ["st1", "st2"] {
        assert_eq!(old[id], new[id], "{id}");
    }
    assert!(new["t1u"]["roles"].is_array(), "Tina's role has dates");
}

#[test]
fn several_roles_are_kept_and_the_most_privileged_primary_decides() {
    let v = with_roles(
        "r5,active,,t1u,secondary,ext:coach,,,s1,\nr6,active,,t1u,primary,principal,,,d1,\n",
    );
    assert!(
        v.report.ok && v.report.errors.is_empty(),
        "{:#?}",
        v.report.errors
    );
    let tina = &users(&v)["t1u"];
    assert_eq!(tina["role"], "administrator");
    // Orgs by id, roles by sourcedId: not the rows' order.
    assert_eq!(tina["orgSourcedIds"], serde_json::json!(["d1", "s1"]));
    let roles: Vec<&str> = tina["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["teacher", "ext:coach", "principal"]);
}

#[test]
fn a_user_without_roles_is_rejected_and_a_counselor_skipped() {
    let rows = ROLES_ROWS.replace("r3,active,,st2,primary,student,,,s1,\n", "");
    let rows = rows.replace("g1,primary,guardian", "g1,primary,counselor");
    let v = valid_1p2()
        .with("roles.csv", &format!("{ROLES_HEADER}{rows}"))
        .validate();
    let e = error(&v, IssueCode::UserWithoutRole);
    assert_eq!(
        (e.file.as_str(), e.line, e.column.as_deref()),
        ("users", Some(4), Some("sourcedId"))
    );
    let summary = &v.report.files["users"];
    assert_eq!((summary.rejected, summary.skipped), (1, 1));
}

#[test]
fn roles_beside_bulk_users_must_be_bulk_with_their_columns() {
    let v = valid_1p2()
        .with(
            "manifest.csv",
            &MANIFEST_1P2.replace("file.roles,bulk", "file.roles,delta"),
        )
        .validate();
    assert!(!v.report.ok);
    assert!(v
        .report
        .errors
        .iter()
        .any(|e| e.code == IssueCode::RolesFileMissing));

    let header = ROLES_HEADER.replace("roleType,", "");
    let v = valid_1p2()
        .with(
            "roles.csv",
            &format!("{header}r1,active,,t1u,teacher,,,s1,\n"),
        )
        .validate();
    assert!(!v.report.ok);
    let e = error(&v, IssueCode::RequiredColumnMissing);
    assert_eq!(
        (e.file.as_str(), e.column.as_deref()),
        ("roles", Some("roleType"))
    );
}

#[test]
fn a_1p1_users_file_in_a_1p2_package_is_told_apart() {
    let v = valid_1p2()
        .with("users.csv", &format!("{USERS_HEADER}{USERS_ROWS}"))
        .validate();
    let w = v
        .report
        .warnings
        .iter()
        .find(|w| w.code == IssueCode::ExtensionColumn && w.column.as_deref() == Some("role"))
        .expect("role is an extension column in 1.2");
    assert!(
        w.message.contains("OneRoster 1.2's fields"),
        "{}",
        w.message
    );
}

/// The fixture's files with an `ext:` value in each extensible vocabulary.
fn with_ext_values(fixture: Fixture) -> Fixture {
    fixture
        .with(
            "orgs.csv",
            &ORGS.replace("School One,school", "School One,ext:campus"),
        )
        .with(
            "academicSessions.csv",
            &SESSIONS.replace("Fall,semester", "Fall,ext:trimester"),
        )
        .with(
            "classes.csv",
            &CLASSES.replace("R1-2,homeroom", "R1-2,ext:lab"),
        )
        .with(
            "enrollments.csv",
            &ENROLLMENTS.replace("st2,student", "st2,ext:observer"),
        )
}

#[test]
fn ext_values_are_read_in_1p2_and_refused_in_1p1() {
    let v = with_ext_values(valid_1p2()).validate();
    assert!(v.report.errors.is_empty(), "{:#?}", v.report.errors);
    let first = |kind: EntityKind, field: &str, id: &str| {
        let mut found = Value::Null;
        v.package
            .as_ref()
            .unwrap()
            .for_each_row(kind, |row| {
                if let RowItem::Upsert(record) = row {
                    if record.sourced_id() == id {
                        found = serde_json::to_value(record).unwrap()[field].clone();
                    }
                }
                Ok::<(), oneroster::ReadError>(())
            })
            .unwrap();
        found
    };
    assert_eq!(first(EntityKind::Orgs, "type", "s1"), "ext:campus");
    assert_eq!(
        first(EntityKind::AcademicSessions, "type", "t1"),
        "ext:trimester"
    );
    assert_eq!(first(EntityKind::Classes, "classType", "cl2"), "ext:lab");
    assert_eq!(first(EntityKind::Enrollments, "role", "e3"), "ext:observer");

    let old = with_ext_values(Fixture::valid()).validate();
    let refused: Vec<(&str, Option<&str>)> = old
        .report
        .errors
        .iter()
        .filter(|e| e.code == IssueCode::InvalidEnum)
        .map(|e| (e.file.as_str(), e.value.as_deref()))
        .collect();
    assert_eq!(
        refused,
        [
            ("orgs", Some("ext:campus")),
            ("academicSessions", Some("ext:trimester")),
            ("classes", Some("ext:lab")),
            ("enrollments", Some("ext:observer")),
        ]
    );
    // `ext:` alone names no extension.
    let bare = valid_1p2()
        .with(
            "classes.csv",
            &CLASSES.replace("R1-2,homeroom", "R1-2,ext:"),
        )
        .validate();
    assert_eq!(
        error(&bare, IssueCode::InvalidEnum).value.as_deref(),
        Some("ext:")
    );
}

/// `demographics.csv` with Sam as in the fixture, and Sue and Tina of `sexes`.
fn demographics_with(sue: &str, tina: &str) -> String {
    let row = DEMOGRAPHICS.lines().nth(1).unwrap();
    format!(
        "{DEMOGRAPHICS}{}\n{}\n",
        row.replace("st1,", "st2,")
            .replace(",male,", &format!(",{sue},")),
        row.replace("st1,", "t1u,")
            .replace(",male,", &format!(",{tina},")),
    )
}

#[test]
fn sex_takes_1p2s_values_in_1p2_only() {
    let v = valid_1p2()
        .with(
            "demographics.csv",
            &demographics_with("unspecified", "other"),
        )
        .validate();
    assert!(v.report.errors.is_empty(), "{:#?}", v.report.errors);
    assert_eq!(v.report.files["demographics"].accepted, 3);
    let mut sexes = Vec::new();
    v.package
        .as_ref()
        .unwrap()
        .for_each_row(EntityKind::Demographics, |row| {
            if let RowItem::Upsert(record) = row {
                let json = serde_json::to_value(record).unwrap();
                sexes.push(format!("{}={}", record.sourced_id(), json["sex"]));
            }
            Ok::<(), oneroster::ReadError>(())
        })
        .unwrap();
    assert_eq!(
        sexes,
        ["st1=\"male\"", "st2=\"unspecified\"", "t1u=\"other\""]
    );

    // 1.1 has only male and female; 1.2's list is closed (no `ext:`).
    let old = Fixture::valid()
        .with(
            "demographics.csv",
            &demographics_with("unspecified", "other"),
        )
        .validate();
    let refused: Vec<_> = old
        .report
        .errors
        .iter()
        .map(|e| {
            (
                e.code,
                e.file.as_str(),
                e.line,
                e.column.as_deref(),
                e.value.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            (
                IssueCode::InvalidEnum,
                "demographics",
                Some(3),
                Some("sex"),
                Some("unspecified")
            ),
            (
                IssueCode::InvalidEnum,
                "demographics",
                Some(4),
                Some("sex"),
                Some("other")
            ),
        ]
    );
    assert!(
        old.report.errors[0]
            .message
            .ends_with("is not one of male or female"),
        "{}",
        old.report.errors[0].message
    );
    let ext = valid_1p2()
        .with("demographics.csv", &demographics_with("ext:x", "female"))
        .validate();
    let e = error(&ext, IssueCode::InvalidEnum);
    assert_eq!((e.line, e.value.as_deref()), (Some(3), Some("ext:x")));
    assert!(
        e.message.ends_with("male, female, other or unspecified"),
        "{}",
        e.message
    );
}

/// A user whose primary roles have no platform role is skipped whatever the
/// tenant imports; an aide is imported by default, as in 1.1.
#[test]
fn a_counselor_is_skipped_under_any_role_filter_and_an_aide_imported_by_default() {
    let rows = ROLES_ROWS
        .replace("st1,primary,student", "st1,primary,counselor")
        .replace("st2,primary,student", "st2,primary,ext:coach");
    // Sam's secondary teacher role does not decide: his primary role does.
    let rows = format!("{rows}r5,active,,st1,secondary,teacher,,,s1,\n");
    let rows = rows.replace("g1,primary,guardian", "g1,primary,aide");
    let fixture = || valid_1p2().with("roles.csv", &format!("{ROLES_HEADER}{rows}"));
    let everyone = oneroster::ValidationOptions {
        imported_roles: oneroster::model::Role::ALL.iter().copied().collect(),
        ..Default::default()
    };
    let fixture = fixture();
    let v = oneroster::validate_package(&fixture.folder(), &everyone);
    assert!(v.report.errors.is_empty(), "{:#?}", v.report.errors);
    let summary = &v.report.files["users"];
    assert_eq!((summary.accepted, summary.skipped), (2, 2));
    assert_eq!(streamed(&v, EntityKind::Users), ["t1u", "g1"]);

    let v = fixture.validate();
    assert_eq!(streamed(&v, EntityKind::Users), ["t1u", "g1"]);
    assert_eq!(users(&v)["g1"]["role"], "aide");
}
