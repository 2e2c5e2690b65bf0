//! Which files a OneRoster 1.2 package delivers its roles with: roles are
//! applied with their users' rows, and the roles of users a package does
//! not deliver are counted as not applied.

use crate::common::*;
use crate::v1p2::{users, valid_1p2, MANIFEST_1P2, ROLES_HEADER, USERS_1P2_HEADER};
use oneroster::report::IssueCode;

/// [`valid_1p2`] without `users.csv`.
fn without_users() -> Fixture {
    valid_1p2()
        .with(
            "manifest.csv",
            &MANIFEST_1P2.replace("file.users,bulk", "file.users,absent"),
        )
        .without("users.csv")
}

#[test]
fn roles_without_users_are_counted_as_not_applied() {
    let v = without_users().validate();
    assert!(v.report.ok, "{:#?}", v.report.errors);
    let w = warning(&v, IssueCode::RolesNotApplied);
    assert_eq!((w.file.as_str(), w.count), ("roles", Some(4)));
    assert!(w.message.contains("has 4 rows"), "{}", w.message);
    let roles = &v.report.files["roles"];
    assert_eq!((roles.rows, roles.imported), (4, false));

    // A roles.csv of a header alone: nothing to say of it.
    let v = without_users().with("roles.csv", ROLES_HEADER).validate();
    assert!(!warning_codes(&v).contains(&IssueCode::RolesNotApplied));
    assert_eq!(v.report.files["roles"].rows, 0);
}

#[test]
fn a_delta_counts_the_roles_of_users_it_does_not_deliver() {
    let v = valid_1p2()
        .with(
            "manifest.csv",
            &MANIFEST_1P2.replace("file.users,bulk", "file.users,delta"),
        )
        .with(
            "users.csv",
            &format!("{USERS_1P2_HEADER}st2,active,,true,sue,,Sue,Stu,,S2,,,,,02,,,,,,,,\n"),
        )
        .validate();
    assert!(v.report.ok, "{:#?}", v.report.errors);
    let w = warning(&v, IssueCode::RolesNotApplied);
    assert_eq!(
        (
            w.file.as_str(),
            w.line,
            w.column.as_deref(),
            w.value.as_deref(),
            w.count
        ),
        (
            "roles",
            Some(2),
            Some("userSourcedId"),
            Some("t1u"),
            Some(3)
        ),
        "the roles of t1u, st1 and g1, at the first: {}",
        w.message
    );
    assert_eq!(users(&v)["st2"]["role"], "student", "st2's role is applied");
    assert_eq!(v.report.files["roles"].rejected, 0);

    // Every user delivered: nothing to say.
    let all = valid_1p2()
        .with(
            "manifest.csv",
            &MANIFEST_1P2.replace("file.users,bulk", "file.users,delta"),
        )
        .validate();
    assert!(!warning_codes(&all).contains(&IssueCode::RolesNotApplied));
}
