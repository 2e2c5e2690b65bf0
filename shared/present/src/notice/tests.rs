//! The notices' tests: which runs get one, and what it says and never says.

use super::*;
use roster::run::{KindCounts, RunIssue, RunSource};

fn run(status: RunStatus) -> RunRecord {
    let mut run = RunRecord::start(
        "springfield",
        RunSource {
            kind: "csv".into(),
            reference: "s3://bucket/inbound/springfield/x.zip".into(),
        },
        chrono::Utc::now(),
    );
    run.status = status;
    run
}

#[test]
fn a_school_held_apart_is_told_with_its_numbers_on_both_runs() {
    let school = roster::run::SchoolHold {
        school: "s3".into(),
        archives: vec![roster::run::SchoolArchive {
            kind: "users".into(),
            active_before: 42,
            would_archive: 42,
            over_limit: true,
        }],
        message: "school `s3` would archive 42 of 42 active users (100.0%; the limit is 30% and at least 25)".into(),
    };
    let mut applied = run(RunStatus::Applied);
    applied.held_schools = vec![school.clone()];
    applied.held_apart = Some("run-2".into());
    let mut tenant = TenantConfig::new("springfield").unwrap();
    tenant.notify_emails = vec!["it@springfield.example".into()];
    let told = for_tenant(&tenant, &applied).expect("a school held apart is told unasked");
    assert!(
        told.body.contains("except for the schools below"),
        "{}",
        told.body
    );
    assert!(
        told.body.contains("Held apart for approval as run run-2"),
        "{}",
        told.body
    );
    assert!(
        told.body.contains("42 of 42 active users (100.0%; the limit is 30% and at least 25) (would be archived: users 42 of 42)."),
        "{}",
        told.body
    );
    let mut held = run(RunStatus::Held);
    held.held_schools = vec![school];
    held.held_from = Some(applied.run_id.clone());
    let body = notice(&held).body;
    assert!(
        body.contains("The rest of this delivery was applied"),
        "{body}"
    );
    assert!(
        body.contains(&format!("run {} applied the rest", applied.run_id)),
        "{body}"
    );
}

#[test]
fn only_outcomes_worth_knowing_are_sent() {
    for status in [
        RunStatus::Rejected,
        RunStatus::Held,
        RunStatus::Failed,
        RunStatus::Stale,
    ] {
        assert!(worth_notice(status, false), "{status:?}");
    }
    assert!(!worth_notice(RunStatus::Applied, false));
    assert!(worth_notice(RunStatus::Applied, true));
    for status in [
        RunStatus::Busy,
        RunStatus::Continued,
        RunStatus::Running,
        RunStatus::Discarded,
    ] {
        assert!(!worth_notice(status, true), "{status:?}");
    }
}

#[test]
fn a_rejection_lists_the_first_ten_errors_by_place_and_code_and_no_value() {
    let mut r = run(RunStatus::Rejected);
    r.message = "package rejected: users.csv line 3: email `ada@x.org` is not an email".into();
    for i in 0..12 {
        r.errors.push(RunIssue {
            file: if i == 0 { "users" } else { "users.csv" }.into(),
            line: Some(i + 2),
            column: Some("email".into()),
            code: "invalid_email".into(),
            message: format!("`student{i}@x.org` is not an email, Ada Lovelace"),
            record: None,
        });
    }
    r.error_count = 12;
    r.counts.insert(
        "users".into(),
        KindCounts {
            rejected: 12,
            ..KindCounts::default()
        },
    );
    let n = notice(&r);
    assert_eq!(n.tenant, "springfield");
    assert_eq!(n.outcome, "rejected");
    assert!(n.subject.contains(&r.run_id));
    assert!(n.body.contains("12 error(s); the first 10:"), "{}", n.body);
    assert!(n
        .body
        .contains("users.csv line 2 column email: invalid_email"));
    assert!(n
        .body
        .contains("users.csv line 11 column email: invalid_email"));
    assert!(!n.body.contains("line 12 "), "only ten");
    assert!(n.body.contains("Please correct the errors"));
    for personal in ["@x.org", "Ada", "Lovelace"] {
        assert!(
            !n.body.contains(personal) && !n.subject.contains(personal),
            "{personal}"
        );
    }
}

#[test]
fn only_a_tenant_with_contacts_hears_and_applied_runs_only_when_asked() {
    let mut tenant = TenantConfig::new("springfield").unwrap();
    assert_eq!(for_tenant(&tenant, &run(RunStatus::Rejected)), None);
    tenant.notify_emails = vec!["data@springfield.k12.us".into()];
    assert_eq!(
        for_tenant(&tenant, &run(RunStatus::Rejected)).map(|n| n.outcome),
        Some("rejected".into())
    );
    assert_eq!(for_tenant(&tenant, &run(RunStatus::Applied)), None);
    tenant.notify_applied = true;
    assert_eq!(
        for_tenant(&tenant, &run(RunStatus::Applied)).map(|n| n.outcome),
        Some("applied".into())
    );
    assert_eq!(for_tenant(&tenant, &run(RunStatus::Continued)), None);
    tenant.notify_applied = false;
    let mut mass_ended = run(RunStatus::Applied);
    mass_ended.mass_ended.insert(
        "classes".into(),
        "81 of 82 active records (98.8%; the limit is 10% and at least 25) archived as ended"
            .into(),
    );
    let n = for_tenant(&tenant, &mass_ended).expect("a mass end is told unasked");
    assert!(
        n.body.contains("  classes: 81 of 82 active records (98.8%"),
        "{}",
        n.body
    );
    tenant.enabled = false;
    assert_eq!(for_tenant(&tenant, &run(RunStatus::Rejected)), None);
}

#[test]
fn values_from_a_delivery_cannot_forge_lines_or_links_nor_run_on() {
    let mut r = run(RunStatus::Rejected);
    r.tenant = "springfield\r\nOutcome: applied".into();
    let header = "\n<a href=http://evil>click</a>";
    let long = "x".repeat(10_000);
    for (file, column) in [("users", header), (long.as_str(), long.as_str())] {
        r.errors.push(RunIssue {
            file: file.into(),
            line: Some(1),
            column: Some(column.into()),
            code: "duplicate_column".into(),
            message: String::new(),
            record: None,
        });
    }
    r.error_count = 2;
    r.hold.insert(
        format!("users\u{2028}{long}"),
        roster::run::HoldReason {
            active_before: 10,
            would_archive: 5,
            would_change_identity: 0,
            incoming_rows: 5,
            rejected_rows: 0,
            message: String::new(),
        },
    );
    r.status = RunStatus::Held;
    let n = notice(&r);
    let all = format!("{}\n{}", n.subject, n.body);
    assert!(!n.subject.contains(['\n', '\r']), "{}", n.subject);
    assert!(
        n.body.contains(
            "users.csv line 1 column \\u{a}<a href=http[:]//evil>click</a>: duplicate_column"
        ),
        "{}",
        n.body
    );
    assert!(!all.contains("http://"), "no link: {all}");
    for line in all.lines() {
        assert!(
            !line.starts_with("<a") && !line.starts_with("Outcome: applied"),
            "a forged line: {line}"
        );
        assert!(line.chars().count() < 300, "a line that runs on: {line}");
    }
    assert!(
        all.contains(&format!("{}…", "x".repeat(NOTICE_VALUE_CHARS))),
        "cut with an ellipsis"
    );
    assert!(all.contains("users\\u{2028}x"), "{all}");
    assert!(all.len() < 3_000, "{} bytes", all.len());
}

#[test]
fn shown_values_are_one_line_linkless_and_short() {
    assert_eq!(shown("users.csv"), "users.csv");
    assert_eq!(shown("a\tb\u{202e}c"), "a\\u{9}b\\u{202e}c");
    assert_eq!(shown("see https://x.org"), "see https[:]//x.org");
    let cut = shown(&"é".repeat(NOTICE_VALUE_CHARS + 1));
    assert_eq!(cut.chars().count(), NOTICE_VALUE_CHARS + 1);
    assert!(cut.ends_with("é…"));
    assert_eq!(
        shown(&"é".repeat(NOTICE_VALUE_CHARS)).chars().count(),
        NOTICE_VALUE_CHARS
    );
}

#[test]
fn a_decision_is_told_to_any_enabled_tenant_with_contacts_and_says_what_became_of_the_run() {
    let mut tenant = TenantConfig::new("springfield").unwrap();
    let mut approved = run(RunStatus::Applied);
    approved.decided_by = Some("jsmith".into());
    assert_eq!(for_decision(&tenant, &approved), None, "no contacts");
    tenant.notify_emails = vec!["data@springfield.k12.us".into()];
    let n = for_decision(&tenant, &approved).expect("an approval is told unasked");
    assert_eq!(n.outcome, "applied");
    assert!(
        n.body
            .contains("held, then approved by our team and applied"),
        "{}",
        n.body
    );
    assert!(!n.body.contains("jsmith"), "never the operator's name");
    let mut discarded = run(RunStatus::Discarded);
    discarded.decided_by = Some("jsmith".into());
    let n = for_decision(&tenant, &discarded).unwrap();
    assert_eq!(n.outcome, "discarded");
    assert!(n.body.contains("then discarded by our team"), "{}", n.body);
    assert!(n.body.contains("send it again"), "{}", n.body);
    let mut revert = run(RunStatus::Applied);
    revert.reverts = Some("r-1".into());
    let n = for_decision(&tenant, &revert).unwrap();
    assert_eq!(
        (n.outcome.as_str(), outcome_word(&revert)),
        ("reverted", "reverted")
    );
    assert!(n.body.contains("This run undid run r-1"), "{}", n.body);
    let mut reverted = run(RunStatus::Applied);
    reverted.reverted_by = Some("r-2".into());
    assert_eq!(
        decision(&reverted).as_deref(),
        Some("The changes of this run were undone by run r-2: the records it wrote are back as they were before it.")
    );
    assert_eq!(
        decision(&run(RunStatus::Applied)),
        None,
        "a run no one decided"
    );
    tenant.enabled = false;
    assert_eq!(
        for_decision(&tenant, &approved),
        None,
        "a disabled district"
    );
}

#[test]
fn a_held_run_says_how_much_and_what_to_do() {
    let mut r = run(RunStatus::Held);
    r.hold.insert(
        "users".into(),
        roster::run::HoldReason {
            active_before: 1000,
            would_archive: 400,
            would_change_identity: 0,
            incoming_rows: 600,
            rejected_rows: 0,
            message:
                "would archive 400 of 1000 active records (40.0%; the limit is 10% and at least 25)"
                    .into(),
        },
    );
    let n = notice(&r);
    assert!(
        n.body
            .contains("Held (users): would archive 400 of 1000 active records (40.0%"),
        "{}",
        n.body
    );
    assert!(n.body.contains("waits for a person to approve it"));
}
