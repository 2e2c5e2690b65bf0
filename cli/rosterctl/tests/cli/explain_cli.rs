//! `rosterctl explain` as a support engineer runs it: the real binary on a
//! synced SQLite roster, for a teacher, one of their classes, a student and
//! an id the roster has never had.

use chrono::{NaiveDate, Utc};
use std::path::Path;
use testkit::cli::Cli;

fn rosterctl(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl")).dir(dir).run(args);
    (out.code, out.stdout)
}

/// A synced generated district (school year 2026–27) with SSO on.
fn synced(d: &Path) {
    let args = [
        "generate",
        "--students",
        "40",
        "--seed",
        "3",
        "--out",
        "district",
    ];
    assert_eq!(rosterctl(d, &args).0, 0);
    assert_eq!(rosterctl(d, &["sync", "district", "--tenant", "t1"]).0, 0);
    let update = [
        "tenants",
        "update",
        "t1",
        "--sso",
        "true",
        "--classlink-tenant-id",
        "77",
    ];
    let (code, out) = rosterctl(d, &update);
    assert_eq!(code, 0, "{out}");
}

/// What the generated district's classes are on the day the test runs.
fn class_verdict_today() -> &'static str {
    let today = Utc::now().date_naive();
    let year = NaiveDate::from_ymd_opt(2026, 8, 1).unwrap()
        ..=NaiveDate::from_ymd_opt(2027, 6, 30).unwrap();
    if year.contains(&today) {
        "listed at sign-in (its term "
    } else {
        "not listed: none of its terms includes"
    }
}

#[test]
fn explain_answers_for_a_teacher_a_class_a_student_and_an_unknown_id() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    synced(d);

    let (code, teacher) = rosterctl(d, &["explain", "--tenant", "t1", "tch-00001"]);
    assert_eq!(code, 0, "{teacher}");
    assert!(
        teacher.contains("State: an active teacher, first delivered by run"),
        "{teacher}"
    );
    assert!(
        teacher.contains("Sign-in: tenant enabled, SSO on, ClassLink TenantId 77;"),
        "{teacher}"
    );
    assert!(
        teacher.contains("  - cls-0001-001: ") && teacher.contains(class_verdict_today()),
        "{teacher}"
    );
    assert!(
        teacher.contains("Last sign-ins: none found for `tch-00001`"),
        "{teacher}"
    );

    let (code, class) = rosterctl(
        d,
        &[
            "explain",
            "--tenant",
            "t1",
            "tch-00001",
            "--class",
            "cls-0001-001",
        ],
    );
    assert_eq!(code, 0);
    assert!(
        !class.contains("Classes ("),
        "only the class asked about: {class}"
    );
    let (_, other) = rosterctl(
        d,
        &[
            "explain",
            "--tenant",
            "t1",
            "tch-00001",
            "--class",
            "cls-9999",
        ],
    );
    assert!(
        other.contains("Class cls-9999: `tch-00001` has no enrollment in it."),
        "{other}"
    );

    let (_, student) = rosterctl(d, &["explain", "--tenant", "t1", "stu-000001"]);
    assert!(
        student.contains("Students never sign in with ClassLink here"),
        "{student}"
    );

    let (code, ghost) = rosterctl(d, &["explain", "--tenant", "t1", "ghost", "--json"]);
    assert_eq!(code, 0);
    let value: serde_json::Value = serde_json::from_str(&ghost).unwrap();
    assert!(value["explanation"]["user"].is_null(), "{value}");
    assert_eq!(value["explanation"]["recent_runs"][0]["status"], "applied");
    assert!(
        value["next"][0]
            .as_str()
            .unwrap()
            .contains("*Unenrolled Users*"),
        "{value}"
    );

    let (code, _) = rosterctl(d, &["explain", "--tenant", "nowhere", "tch-00001"]);
    assert_eq!(code, 1, "no such tenant");
}
