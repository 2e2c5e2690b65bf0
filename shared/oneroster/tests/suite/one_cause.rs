//! One cause, one error: a reference to a rejected row points at that row's
//! error; references into a refused file are counted under one error; a
//! flood of one error leaves room in the report for the others.

use crate::common::*;
use oneroster::report::IssueCode;
use oneroster::EntityKind;

/// users.csv with st2's role misspelled (line 4), and two more enrollments of st2.
fn with_st2_rejected() -> Checked {
    let users = USERS_ROWS.replace("st2,active,,true,s1,student", "st2,active,,true,s1,pupil");
    Fixture::valid()
        .with("users.csv", &format!("{USERS_HEADER}{users}"))
        .with(
            "enrollments.csv",
            &format!("{ENROLLMENTS}e4,active,,cl1,s1,st2,student,false,,\ne5,active,,cl1,s1,st1,student,false,,\n"),
        )
        .validate()
}

#[test]
fn a_reference_to_a_rejected_row_points_at_that_row() {
    let v = with_st2_rejected();
    assert_eq!(error(&v, IssueCode::InvalidEnum).line, Some(4));
    assert!(
        !error_codes(&v).contains(&IssueCode::UnknownUser),
        "st2 is in users.csv: {:#?}",
        v.report.errors
    );
    let warned = warning(&v, IssueCode::RejectedReference);
    assert_eq!(warned.file, "enrollments");
    assert_eq!((warned.line, warned.count), (Some(4), Some(2)));
    assert_eq!(
        warned.message,
        "2 rows name users whose own rows were rejected (first: `st2`, its row users.csv:4 was rejected: invalid_enum); such a row is rejected at the sync unless the district's roster already has it"
    );
    assert!(
        !warning_codes(&v).contains(&IssueCode::DeferredReference),
        "not called undelivered: {:#?}",
        v.report.warnings
    );
    // The sync learns the cause with the reference.
    let deferred = v.package.as_ref().unwrap().deferred_references();
    let causes: Vec<_> = deferred
        .iter()
        .map(|d| (d.sourced_id.as_str(), d.cause))
        .collect();
    let cause = Some(oneroster::RejectedRow {
        file: EntityKind::Users,
        line: 4,
        code: IssueCode::InvalidEnum,
    });
    assert_eq!(causes, vec![("e3", cause), ("e4", cause)]);
    assert_eq!(
        deferred[0].cause.unwrap().to_string(),
        "its row users.csv:4 was rejected: invalid_enum"
    );
}

#[test]
fn a_reference_to_a_duplicated_id_names_the_duplicate() {
    let v = Fixture::valid()
        .with(
            "users.csv",
            &format!(
                "{USERS_HEADER}{USERS_ROWS}st2,active,,true,s1,student,sue2,,Sue,Again,,,,,,,,\n"
            ),
        )
        .validate();
    let warned = warning(&v, IssueCode::RejectedReference);
    assert!(
        warned
            .message
            .contains("its row users.csv:4 was rejected: duplicate_sourced_id"),
        "{}",
        warned.message
    );
}

/// users.csv without its `role` column: refused at its header.
fn with_users_refused() -> Checked {
    let header = USERS_HEADER.replace(",role,", ",");
    let rows: String = USERS_ROWS
        .lines()
        .map(|l| {
            let mut fields: Vec<&str> = l.split(',').collect();
            fields.remove(5);
            fields.join(",") + "\n"
        })
        .collect();
    Fixture::valid()
        .with("users.csv", &format!("{header}{rows}"))
        .validate()
}

#[test]
fn references_into_a_refused_file_are_one_error() {
    let v = with_users_refused();
    assert!(!v.report.ok);
    assert_eq!(
        v.report.errors[0].code,
        IssueCode::RequiredColumnMissing,
        "{:#?}",
        v.report.errors
    );
    assert!(
        !error_codes(&v).contains(&IssueCode::UnknownUser),
        "one error per enrollment: {:#?}",
        v.report.errors
    );
    let refused: Vec<_> = v
        .report
        .errors
        .iter()
        .filter(|e| e.code == IssueCode::RefusedReference)
        .collect();
    // Enrollments (three rows) and demographics (one) each say it once.
    let said: Vec<_> = refused
        .iter()
        .map(|e| (e.file.as_str(), e.line, e.count))
        .collect();
    assert_eq!(
        said,
        vec![
            ("enrollments", Some(2), Some(3)),
            ("demographics", Some(2), Some(1))
        ],
        "{refused:#?}"
    );
    assert_eq!(
        refused[0].message,
        "names a user in users.csv, which was refused (users.csv:1 required_column_missing); not checked"
    );
}

#[test]
fn a_flood_of_one_error_leaves_room_for_the_others() {
    let mut enrollments = ENROLLMENTS.to_string();
    for n in 0..300 {
        enrollments.push_str(&format!("x{n},active,,cl1,s1,st1,pupil,false,,\n"));
    }
    enrollments.push_str("y1,active,,cl1,s1,st1,student,maybe,,\n");
    let v = Fixture::valid()
        .with("enrollments.csv", &enrollments)
        .validate();
    assert_eq!(v.report.error_count, 301);
    let listed = |code| {
        v.report
            .errors
            .iter()
            .filter(|e| e.code == code && e.line.is_some())
            .count()
    };
    assert_eq!(listed(IssueCode::InvalidEnum), 100, "first 100 per code");
    assert_eq!(
        listed(IssueCode::InvalidBoolean),
        1,
        "the other code is listed"
    );
    let rest = v
        .report
        .errors
        .iter()
        .find(|e| e.code == IssueCode::InvalidEnum && e.line.is_none())
        .expect("a count for the rest");
    assert_eq!(rest.count, Some(200));
    assert_eq!(rest.message, "200 more rows with this error are not listed");
    assert_eq!(v.report.files["enrollments"].rejected, 301);
    assert_eq!(
        streamed(&v, EntityKind::Enrollments),
        vec!["e1", "e2", "e3"]
    );
}
