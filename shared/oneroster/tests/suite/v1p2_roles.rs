//! OneRoster 1.2's `roles.csv` rules, each with its own fixture: one primary
//! role per user and org, roles naming users and orgs, ids met twice, and
//! every field checked where it is.

use crate::common::*;
use crate::v1p2::{users, valid_1p2, with_roles, ROLES_HEADER, ROLES_ROWS};
use oneroster::report::IssueCode;
use oneroster::Validation;

#[test]
fn a_second_primary_role_at_an_org_rejects_the_user_where_it_is() {
    let v = with_roles("r5,active,,st2,primary,teacher,,,s1,\n");
    let e = error(&v, IssueCode::MultiplePrimaryRoles);
    assert_eq!(
        (
            e.file.as_str(),
            e.line,
            e.column.as_deref(),
            e.value.as_deref()
        ),
        ("roles", Some(6), Some("roleType"), Some("primary"))
    );
    assert!(
        e.message.contains("the first is at line 4"),
        "{}",
        e.message
    );
    let on_user: Vec<_> = v
        .report
        .errors
        .iter()
        .filter(|e| e.file == "users")
        .collect();
    assert_eq!(on_user.len(), 1, "{on_user:#?}");
    assert_eq!(on_user[0].code, IssueCode::MultiplePrimaryRoles);
    assert_eq!(on_user[0].line, Some(4));
    assert!(on_user[0].message.contains("roles.csv:6"));
    assert_eq!(v.report.files["users"].rejected, 1);
}

#[test]
fn roles_at_an_org_with_none_primary_are_refused() {
    let v = with_roles("r5,active,,st1,secondary,aide,,,d1,\n");
    let e = error(&v, IssueCode::NoPrimaryRole);
    assert_eq!(
        (e.line, e.column.as_deref(), e.value.as_deref()),
        (Some(6), Some("roleType"), Some("secondary"))
    );
    assert!(e.message.contains("`st1`") && e.message.contains("`d1`"));
    assert_eq!(v.report.files["users"].rejected, 1);
}

#[test]
fn a_user_whose_only_role_is_secondary_is_refused() {
    let rows = ROLES_ROWS.replace("st2,primary,student", "st2,secondary,student");
    let v = valid_1p2()
        .with("roles.csv", &format!("{ROLES_HEADER}{rows}"))
        .validate();
    let e = error(&v, IssueCode::NoPrimaryRole);
    assert_eq!(
        (e.line, e.column.as_deref(), e.value.as_deref()),
        (Some(4), Some("roleType"), Some("secondary"))
    );
    assert!(e.message.contains("`st2`"), "{}", e.message);
    assert_eq!(v.report.files["users"].rejected, 1);
}

/// A role at an org whose id holds a comma is rejected (a user's orgs are
/// a comma-separated list): the user's other roles stand; a user with no
/// other role is told its only row was rejected.
#[test]
fn a_role_at_an_org_id_with_a_comma_is_rejected() {
    let rows = ROLES_ROWS.replace(
        "st2,primary,student,,,s1,",
        "st2,primary,student,,,\"d,2\",",
    );
    let v = valid_1p2()
        .with(
            "roles.csv",
            &format!("{ROLES_HEADER}{rows}r5,active,,st1,secondary,aide,,,\"d,1\",\n"),
        )
        .validate();
    let e = error(&v, IssueCode::OrgIdWithComma);
    assert_eq!(
        (
            e.file.as_str(),
            e.line,
            e.column.as_deref(),
            e.value.as_deref()
        ),
        ("roles", Some(4), Some("orgSourcedId"), Some("d,2"))
    );
    assert_eq!(v.report.files["roles"].rejected, 2);
    assert_eq!(users(&v)["st1"]["orgSourcedIds"], serde_json::json!(["s1"]));
    let e = error(&v, IssueCode::UserWithoutRole);
    assert_eq!(e.value.as_deref(), Some("st2"));
    assert!(e.message.contains("no accepted row"), "{}", e.message);
}

#[test]
fn roles_must_name_users_and_orgs_and_a_known_role() {
    let v = with_roles(
        "r5,active,,nobody,primary,student,,,s1,\nr6,active,,st1,secondary,student,,,s1,\nr7,active,,st1,primary,janitor,,,s1,\n",
    );
    let e = error(&v, IssueCode::UnknownUser);
    assert_eq!(
        (e.file.as_str(), e.line, e.column.as_deref()),
        ("roles", Some(6), Some("userSourcedId"))
    );
    let e = error(&v, IssueCode::InvalidEnum);
    assert_eq!((e.line, e.column.as_deref()), (Some(8), Some("role")));
    assert!(e.message.contains("districtAdministrator"), "{}", e.message);
    assert_eq!(v.report.files["roles"].rejected, 2);

    let v = with_roles("r5,active,,st1,primary,student,,,nowhere,\n");
    let w = warning(&v, IssueCode::UnresolvedReference);
    assert_eq!(
        (
            w.file.as_str(),
            w.line,
            w.column.as_deref(),
            w.value.as_deref()
        ),
        ("roles", Some(6), Some("orgSourcedId"), Some("nowhere"))
    );
    assert_eq!(
        users(&v)["st1"]["orgSourcedIds"],
        serde_json::json!(["nowhere", "s1"])
    );
}

/// The duplicate_sourced_id errors: (line, message).
fn duplicates(v: &Validation) -> Vec<(Option<u64>, &str)> {
    v.report
        .errors
        .iter()
        .filter(|e| e.code == IssueCode::DuplicateSourcedId)
        .inspect(|e| {
            assert_eq!(
                (e.file.as_str(), e.column.as_deref()),
                ("roles", Some("sourcedId"))
            )
        })
        .map(|e| (e.line, e.message.as_str()))
        .collect()
}

#[test]
fn a_role_id_met_again_rejects_every_copy_as_1p1_does() {
    // r2 is Sam's student role; the copy would give Sue a second one.
    let v = with_roles("r2,active,,st2,secondary,aide,,,s1,\n");
    assert_eq!(
        duplicates(&v),
        [
            (
                Some(3),
                "sourcedId `r2` also appears at line 6; every copy is rejected"
            ),
            (
                Some(6),
                "sourcedId `r2` also appears at line 3; every copy is rejected"
            ),
        ]
    );
    assert_eq!(
        error(&v, IssueCode::DuplicateSourcedId).value.as_deref(),
        Some("r2")
    );
    assert_eq!(v.report.files["roles"].rejected, 2);
    // Sam is left without a role; Sue with her primary student role only.
    let e = error(&v, IssueCode::UserWithoutRole);
    assert_eq!(
        (e.file.as_str(), e.value.as_deref()),
        ("users", Some("st1"))
    );
    let sue = &users(&v)["st2"];
    assert_eq!(sue["role"], "student");
    assert!(sue["roles"].is_null(), "{sue}");

    // 1.1's users.csv says the same of a user's id met again.
    let rows = format!("{USERS_ROWS}st1,tobedeleted,,,,,,,,,,,,,,,,\n");
    let old = Fixture::valid()
        .with("users.csv", &format!("{USERS_HEADER}{rows}"))
        .validate();
    let e: Vec<_> = old
        .report
        .errors
        .iter()
        .filter(|e| e.code == IssueCode::DuplicateSourcedId)
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    assert_eq!(
        e,
        [
            (
                Some(3),
                "sourcedId `st1` also appears at line 6; every copy is rejected"
            ),
            (
                Some(6),
                "sourcedId `st1` also appears at line 3; every copy is rejected"
            ),
        ]
    );
}

#[test]
fn a_role_id_of_an_active_row_and_a_deletion_rejects_both() {
    for (rows, lines) in [
        // The active row first, then the deletion, and the other way round.
        (
            "r5,active,,st2,secondary,aide,,,s1,\nr5,tobedeleted,,,,,,,,\n",
            (6, 7),
        ),
        (
            "r5,tobedeleted,,,,,,,,\nr5,active,,st2,secondary,aide,,,s1,\n",
            (6, 7),
        ),
    ] {
        let v = with_roles(rows);
        let (a, b) = lines;
        assert_eq!(
            duplicates(&v),
            [
                (
                    Some(a),
                    format!("sourcedId `r5` also appears at line {b}; every copy is rejected")
                        .as_str()
                ),
                (
                    Some(b),
                    format!("sourcedId `r5` also appears at line {a}; every copy is rejected")
                        .as_str()
                ),
            ],
            "{rows}"
        );
        let roles = &v.report.files["roles"];
        assert_eq!((roles.rows, roles.rejected), (6, 2), "{rows}");
        // Sue keeps her student role alone, with no aide role.
        let sue = &users(&v)["st2"];
        assert!(sue["roles"].is_null(), "{rows}: {sue}");
        assert_eq!(v.report.files["users"].rejected, 0, "{rows}");
    }
}

/// Neither 1.1 nor 1.2 compares a row's own dates: a role that ends before
/// it begins is kept as an enrollment that does is.
#[test]
fn a_role_ending_before_it_begins_is_read_as_an_enrollment_is() {
    let enrollments = ENROLLMENTS.replace("false,2024-08-01,", "false,2024-08-01,2024-01-01");
    let v = valid_1p2()
        .with("enrollments.csv", &enrollments)
        .with(
            "roles.csv",
            &format!(
                "{ROLES_HEADER}{}",
                ROLES_ROWS.replace("2024-08-01,,", "2024-08-01,2024-01-01,")
            ),
        )
        .validate();
    assert!(v.report.errors.is_empty(), "{:#?}", v.report.errors);
    assert!(
        v.report
            .warnings
            .iter()
            .all(|w| w.file != "roles" && w.file != "enrollments"),
        "{:#?}",
        v.report.warnings
    );
    assert_eq!(users(&v)["t1u"]["roles"][0]["endDate"], "2024-01-01");
}

#[test]
fn each_field_of_a_role_is_checked_where_it_is() {
    let v = with_roles(concat!(
        "r5,active,,st1,tertiary,aide,,,s1,\n",
        "r6,active,,st1,secondary,aide,2024-13-01,,s1,\n",
        "r7,active,,st1,secondary,aide,,soon,s1,\n",
        "r8,active,,,secondary,aide,,,s1,\n",
        "r9,active,,st1,secondary,aide,,,,\n",
        "r10,active,,st1,secondary,,,,s1,\n",
        "r11,active,,st1,,aide,,,s1,\n",
    ));
    let found: Vec<_> = v
        .report
        .errors
        .iter()
        .map(|e| {
            let at = (e.file.as_str(), e.line, e.column.as_deref());
            (e.code, at, e.value.as_deref())
        })
        .collect();
    let at = |line: u64, column: &'static str| ("roles", Some(line), Some(column));
    assert_eq!(
        found,
        [
            (IssueCode::InvalidEnum, at(6, "roleType"), Some("tertiary")),
            (
                IssueCode::InvalidDate,
                at(7, "beginDate"),
                Some("2024-13-01")
            ),
            (IssueCode::InvalidDate, at(8, "endDate"), Some("soon")),
            (IssueCode::MissingValue, at(9, "userSourcedId"), None),
            (IssueCode::MissingValue, at(10, "orgSourcedId"), None),
            (IssueCode::MissingValue, at(11, "role"), None),
            (IssueCode::MissingValue, at(12, "roleType"), None),
        ]
    );
    assert!(
        error(&v, IssueCode::InvalidEnum)
            .message
            .contains("primary or secondary"),
        "{}",
        error(&v, IssueCode::InvalidEnum).message
    );
    let roles = &v.report.files["roles"];
    assert_eq!((roles.rows, roles.rejected), (11, 7));
    // Sam keeps his one valid role.
    assert_eq!(users(&v)["st1"]["role"], "student");
    assert_eq!(v.report.files["users"].rejected, 0);
}
