//! A OneRoster 1.2 delta `roles.csv`: its rows change the users' roles as
//! stored (given here as the sync gives them), beside a delta `users.csv`
//! or none; without the stored roles, `validate` checks the rows alone.

use crate::common::*;
use crate::v1p2::{users, valid_1p2, MANIFEST_1P2, ROLES_HEADER, USERS_1P2_HEADER};
use oneroster::report::IssueCode;
use oneroster::v1p2::StoredRoles;
use oneroster::{stored_roles_wanted, EntityKind, FileMode, ValidationOptions};
use serde_json::json;
use std::sync::Arc;

/// Tina teaches at s1 (her role row kept: it has a begin date); Sam and Sue
/// are plain students at s1, Gina a guardian; Stan, not in this delta's
/// users.csv, a plain student; Arch is archived.
fn stored() -> StoredRoles {
    let mut stored = StoredRoles::default();
    let tina = json!({"givenName": "Tina", "role": "teacher", "orgSourcedIds": ["s1"],
        "roles": [{"sourcedId": "r1", "roleType": "primary", "role": "teacher",
            "beginDate": "2024-08-01", "orgSourcedId": "s1", "userProfileSourcedId": "p1"}]});
    stored.insert("t1u", &tina.to_string(), false, true);
    for (id, role) in [
        ("st1", "student"),
        ("st2", "student"),
        ("g1", "guardian"),
        ("stan", "student"),
        ("arch", "student"),
    ] {
        let content = json!({"givenName": id, "role": role, "orgSourcedIds": ["s1"]});
        stored.insert(id, &content.to_string(), id == "arch", true);
    }
    stored
}

fn manifest(users: &str) -> String {
    MANIFEST_1P2
        .replace("file.users,bulk", &format!("file.users,{users}"))
        .replace("file.roles,bulk", "file.roles,delta")
}

/// The users of the delta: Tina, Sam and Sue, unchanged but for Sue's name.
const DELTA_USERS: &str = "t1u,active,,true,tina,,Tina,Teach,,T1,tina@example.org,,,,,,,,,,,s1,\nst1,active,,true,sam,,Sam,Stu,,S1,,,,,01,,,,,,,,\nst2,active,,true,sue,,Susan,Stu,,S2,,,,,02,,,,,,,,\n";

/// A delta with these role rows, beside a delta users.csv of [`DELTA_USERS`].
fn delta(roles: &str) -> Fixture {
    valid_1p2()
        .with("manifest.csv", &manifest("delta"))
        .with("users.csv", &format!("{USERS_1P2_HEADER}{DELTA_USERS}"))
        .with("roles.csv", &format!("{ROLES_HEADER}{roles}"))
}

fn with_stored(stored: StoredRoles) -> ValidationOptions {
    ValidationOptions {
        stored_roles: Some(Arc::new(stored)),
        ..ValidationOptions::default()
    }
}

#[test]
fn a_delta_changes_roles_as_stored_and_users_without_rows_keep_theirs() {
    // Sue becomes a teacher (her primary role at s1 replaced); Stan, not
    // delivered, gets a secondary role.
    let fixture =
        delta("r3b,active,,st2,primary,teacher,,,s1,\nr9,active,,stan,secondary,aide,,,s1,\n");
    let wanted = stored_roles_wanted(&fixture.folder(), &ValidationOptions::default());
    let wanted: Vec<(String, bool)> = wanted
        .unwrap()
        .into_iter()
        .map(|w| (w.sourced_id, w.content))
        .collect();
    let want = |id: &str, content| (id.to_string(), content);
    assert_eq!(
        wanted,
        [
            want("st1", false),
            want("st2", false),
            want("stan", true),
            want("t1u", false)
        ],
        "only Stan's whole record: the others' rows are delivered"
    );
    let v = fixture.validate_with(&with_stored(stored()));
    assert!(v.report.ok, "{:#?}", v.report);
    assert!(v.report.errors.is_empty(), "{:#?}", v.report.errors);
    assert_eq!(v.report.files["roles"].mode, "delta");
    let users = users(&v);
    assert_eq!(users["st1"]["role"], "student", "Sam keeps his stored role");
    assert_eq!(users["st1"]["orgSourcedIds"], json!(["s1"]));
    assert_eq!(users["st2"]["role"], "teacher");
    assert!(
        users["st2"].get("roles").is_none(),
        "a plain teacher keeps no rows"
    );
    assert_eq!(users["t1u"]["roles"][0]["sourcedId"], "r1");

    let package = v.package.as_ref().unwrap();
    assert_eq!(package.mode(EntityKind::Users), FileMode::Delta);
    let changes = package.role_changes();
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].user, "stan");
    let stan = &changes[0].content;
    assert_eq!(stan["givenName"], "stan", "the rest as stored");
    assert_eq!(stan["role"], "student");
    let roles: Vec<(&str, &str)> = stan["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["role"].as_str().unwrap(),
                r["sourcedId"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [("student", ""), ("aide", "r9")],
        "the stored role has no id"
    );
}

#[test]
fn a_delta_of_roles_alone_changes_stored_users() {
    let v = valid_1p2()
        .with("manifest.csv", &manifest("absent"))
        .without("users.csv")
        .with(
            "roles.csv",
            &format!("{ROLES_HEADER}r9,active,,stan,primary,teacher,,,s1,\nrx,active,,ghost,primary,student,,,s1,\nra,active,,arch,primary,teacher,,,s1,\nrc,active,,st1,primary,counselor,,,s1,\n"),
        )
        .validate_with(&with_stored(stored()));
    assert!(v.report.ok, "{:#?}", v.report);
    let e = error(&v, IssueCode::UnknownUser);
    assert_eq!(
        (e.file.as_str(), e.line, e.value.as_deref()),
        ("roles", Some(3), Some("ghost"))
    );
    let w = warning(&v, IssueCode::RolesNotApplied);
    assert_eq!((w.line, w.value.as_deref()), (Some(4), Some("arch")));
    let roles = &v.report.files["roles"];
    assert_eq!(
        (roles.rows, roles.accepted, roles.rejected, roles.skipped),
        (4, 1, 1, 2),
        "the counselor and the archived user are skipped"
    );
    let package = v.package.as_ref().unwrap();
    assert_eq!(package.mode(EntityKind::Users), FileMode::Delta);
    let changes = package.role_changes();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].user, "stan");
    assert_eq!(changes[0].content["role"], "teacher");
    assert!(changes[0].content.get("roles").is_none(), "a plain teacher");
}

#[test]
fn deleted_roles_are_removed_by_id_or_by_org_and_unknown_ones_told() {
    let v = delta(
        "r1,tobedeleted,,t1u,,,,,,\nrs,tobedeleted,,st1,,,,,s1,\nrq,tobedeleted,,st2,,,,,s7,\n",
    )
    .validate_with(&with_stored(stored()));
    assert!(v.report.ok, "{:#?}", v.report);
    // Tina and Sam lose their only role: their rows are rejected.
    let rejected: Vec<(u64, &str)> = v
        .report
        .errors
        .iter()
        .filter(|e| e.code == IssueCode::UserWithoutRole)
        .map(|e| (e.line.unwrap(), e.file.as_str()))
        .collect();
    assert_eq!(rejected, [(2, "users"), (3, "users")]);
    assert!(v.report.errors[0].message.contains("deletes its last"));
    let w = warning(&v, IssueCode::RoleNotFound);
    assert_eq!((w.line, w.value.as_deref()), (Some(4), Some("rq")));
    assert_eq!(users(&v).keys().collect::<Vec<_>>(), ["st2"]);
}

#[test]
fn a_deleted_role_must_name_its_user() {
    let v = delta("r1,tobedeleted,,,,,,,s1,\n").validate_with(&with_stored(stored()));
    let e = error(&v, IssueCode::MissingValue);
    assert_eq!(
        (e.file.as_str(), e.line, e.column.as_deref()),
        ("roles", Some(2), Some("userSourcedId"))
    );
    assert!(
        e.message.contains("must give its userSourcedId"),
        "{}",
        e.message
    );
    assert_eq!(v.report.files["roles"].rejected, 1);
}

#[test]
fn a_second_primary_role_beside_a_stored_one_rejects_the_user() {
    let v = delta("r8,active,,t1u,primary,aide,,,s1,\n").validate_with(&with_stored(stored()));
    let e = error(&v, IssueCode::MultiplePrimaryRoles);
    assert_eq!((e.file.as_str(), e.line), ("roles", Some(2)));
    assert!(
        e.message
            .contains("the first is stored from an earlier delivery"),
        "{}",
        e.message
    );
    assert!(e.message.contains("with this delta's changes"));
    assert_eq!(v.report.files["users"].rejected, 1);
    // Sam's primary role at s1 was never stored with an id: a delta's
    // primary role there replaces it.
    let v = delta("r7,active,,st1,primary,teacher,,,s1,\n").validate_with(&with_stored(stored()));
    assert!(v.report.errors.is_empty(), "{:#?}", v.report.errors);
    assert_eq!(users(&v)["st1"]["role"], "teacher");
}

#[test]
fn a_new_user_of_a_delta_needs_role_rows() {
    let mut stored = StoredRoles::default();
    for id in ["t1u", "st1"] {
        stored.insert(
            id,
            r#"{"role":"student","orgSourcedIds":["s1"]}"#,
            false,
            false,
        );
    }
    let v = delta("").validate_with(&with_stored(stored));
    let e = error(&v, IssueCode::UserWithoutRole);
    assert_eq!((e.file.as_str(), e.line), ("users", Some(4)));
    assert!(
        e.message.contains("is not stored with roles"),
        "{}",
        e.message
    );
}

#[test]
fn without_the_stored_roles_validate_checks_the_rows_alone() {
    let v = delta("r3b,active,,st2,secondary,aide,,,s1,\nr8,active,,t1u,primary,aide,,,s1,\nr9,active,,t1u,primary,teacher,,,s1,\n")
        .validate();
    assert!(v.report.ok, "{:#?}", v.report);
    warning(&v, IssueCode::RolesCheckedAtSync);
    // Sue's secondary role alone is no error: her primary one is stored.
    let at: Vec<(&str, Option<u64>)> = v
        .report
        .errors
        .iter()
        .map(|e| (e.file.as_str(), e.line))
        .collect();
    assert_eq!(
        at,
        [("roles", Some(4)), ("users", Some(2))],
        "Tina's, twice"
    );
    let users_summary = &v.report.files["users"];
    assert_eq!(
        (users_summary.accepted, users_summary.rejected),
        (2, 1),
        "Tina's roles break the rule"
    );
    let package = v.package.as_ref().unwrap();
    let streamed = package.for_each_row(EntityKind::Users, |_| Ok::<(), oneroster::ReadError>(()));
    assert!(
        matches!(streamed, Err(oneroster::ReadError::RolesPending)),
        "{streamed:?}"
    );
}

#[test]
fn a_delta_of_roles_beside_a_bulk_users_file_is_refused() {
    let v = delta("").with("manifest.csv", &manifest("bulk")).validate();
    assert!(!v.report.ok);
    let fatal = v.report.fatal().next().unwrap();
    assert_eq!(fatal.code, IssueCode::RolesFileMissing);
    assert!(
        fatal.message.contains("beside a bulk users.csv"),
        "{}",
        fatal.message
    );
}

/// A delta of roles alone, of these rows.
fn roles_alone(roles: &str) -> Fixture {
    valid_1p2()
        .with("manifest.csv", &manifest("absent"))
        .without("users.csv")
        .with("roles.csv", &format!("{ROLES_HEADER}{roles}"))
}

#[test]
fn a_deleted_secondary_role_is_not_the_stored_primary_one() {
    let mut stored = StoredRoles::default();
    let teacher = r#"{"role":"teacher","orgSourcedIds":["s1","s2"]}"#;
    stored.insert("stan", teacher, false, true);
    let v = roles_alone(
        "r9,tobedeleted,,stan,secondary,aide,,,s1,\nr8,tobedeleted,,stan,primary,aide,,,s2,\n",
    )
    .validate_with(&with_stored(stored));
    assert!(v.report.ok, "{:#?}", v.report);
    let w = warning(&v, IssueCode::RoleNotFound);
    assert_eq!((w.line, w.count), (Some(2), Some(2)), "{w:?}");
    assert!(v.package.as_ref().unwrap().role_changes().is_empty());
}

#[test]
fn a_role_under_a_new_id_replaces_the_stored_one_without_a_warning() {
    let v = roles_alone(
        "r2n,active,,stan,primary,teacher,,,s1,\nr2,tobedeleted,,stan,primary,student,,,s1,\n",
    )
    .validate_with(&with_stored(stored()));
    assert!(!warning_codes(&v).contains(&IssueCode::RoleNotFound));
    let changes = v.package.as_ref().unwrap().role_changes();
    assert_eq!(changes[0].content["role"], "teacher");
}

#[test]
fn refused_and_skipped_changes_count_every_row() {
    let v = roles_alone("g1,active,,ghost,primary,student,,,s1,\ng2,active,,ghost,secondary,aide,,,s1,\ng3,active,,ghost,primary,teacher,,,s2,\ng4,active,,ghost,secondary,aide,,,s3,\nc1,active,,st1,primary,counselor,,,s1,\nc2,active,,st1,secondary,aide,,,s1,\n")
        .validate_with(&with_stored(stored()));
    let roles = &v.report.files["roles"];
    assert_eq!(
        (roles.rows, roles.accepted, roles.rejected, roles.skipped),
        (6, 0, 4, 2)
    );
    let e = error(&v, IssueCode::UnknownUser);
    assert!(
        e.message.contains("no record of it from the district"),
        "{}",
        e.message
    );
    let e = error(&v, IssueCode::NoPrimaryRole);
    assert!(
        !e.message.contains("as stored"),
        "not stored: {}",
        e.message
    );
}
