//! `rosterctl tenants check TENANT`: whether a district is ready, line by
//! line, each failing line saying what to do next. Gathering the facts (the
//! store, Transfer Family, Secrets Manager, the district's API, EventBridge
//! Scheduler) is apart from judging them ([`assess`], pure), so the judgement
//! is tested on its own.
//!
//! One module per subject of the check: `connection` (the tenant, its SFTP
//! user, its API), `deliveries` (the pull schedule, the last delivery),
//! `records` (the roster and its administrators), `sso` (sign-in), `notices`
//! (the district's run notices); `facts` gathers what the store knows.

mod connection;
mod deliveries;
mod facts;
mod notices;
mod records;
mod sso;

pub use connection::{ApiFinding, SftpFinding};
pub use deliveries::{age_of, next_run, ScheduleFinding};
pub use facts::{store_facts, Facts, TypeCounts};
pub use notices::{notice_finding, NoticeFinding};

use connection::{api_line, sftp_line, tenant_line};
use deliveries::{delivery_line, pause_line, schedule_line};
use notices::notice_line;
use records::{administrators_line, primary_admin_line, roster_line};
use serde::Serialize;
use sso::sso_lines;

/// How one line of the check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Ready.
    Ok,
    /// Works, but something deserves a look.
    Warn,
    /// Not ready: the line says what to do.
    Fail,
    /// For information (counts).
    Info,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Info => "info",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    /// What is checked (`connection`, `last delivery`, ...).
    pub topic: &'static str,
    /// How it came out.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do next (for warnings and failures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl Line {
    fn new(topic: &'static str, status: Status, detail: impl Into<String>) -> Line {
        Line {
            topic,
            status,
            detail: detail.into(),
            next: None,
        }
    }

    fn then(mut self, next: impl Into<String>) -> Line {
        self.next = Some(next.into());
        self
    }
}

/// How far back sign-ins are counted.
pub const SIGN_IN_WINDOW_DAYS: i64 = 7;

/// Judges the facts: one line per topic, in the order an engineer works through them.
pub fn assess(f: &Facts) -> Vec<Line> {
    let t = &f.config.tenant;
    let mut lines = vec![tenant_line(f)];
    if let Some(sftp) = &f.sftp {
        lines.push(sftp_line(t, sftp));
    }
    if let Some(api) = &f.api {
        lines.push(api_line(t, api));
        lines.push(schedule_line(f));
    }
    lines.extend(pause_line(f));
    lines.push(delivery_line(f));
    lines.push(roster_line(f));
    lines.push(administrators_line(f));
    lines.push(primary_admin_line(f));
    lines.extend(sso_lines(f));
    lines.push(notice_line(f));
    lines
}

/// The report as an operator reads it.
pub fn render(tenant: &str, lines: &[Line]) -> String {
    let ready = lines.iter().all(|l| l.status != Status::Fail);
    let mut out = format!(
        "Tenant {tenant}: {}\n",
        if ready { "ready" } else { "not ready" }
    );
    for l in lines {
        out.push_str(&format!(
            "  [{:<4}] {:<22} {}\n",
            l.status.label(),
            l.topic,
            l.detail
        ));
        if let Some(next) = &l.next {
            out.push_str(&format!("  {:<6} {:<22} → {next}\n", "", ""));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, Utc};
    use roster::{PauseWindow, PullSchedule, RunRecord, RunStatus, TenantConfig};
    use std::collections::BTreeMap;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_next_run_is_in_the_districts_time_zone_and_on_its_days() {
        let s = PullSchedule::new("MON,WED", "02:30", "America/Chicago").unwrap();
        // Tuesday 2026-12-01 12:00 UTC: next is Wednesday 02:30 Chicago (UTC-6).
        assert_eq!(
            next_run(&s, at("2026-12-01T12:00:00Z")),
            Some(at("2026-12-02T08:30:00Z"))
        );
        // Just after Monday's run: Wednesday.
        assert_eq!(
            next_run(&s, at("2026-11-30T08:31:00Z")),
            Some(at("2026-12-02T08:30:00Z"))
        );
        // Summer time (UTC-5).
        assert_eq!(
            next_run(&s, at("2026-07-01T00:00:00Z")),
            Some(at("2026-07-01T07:30:00Z"))
        );
        let nowhere = PullSchedule::new("MON", "02:30", "Mars/Olympus").unwrap();
        assert_eq!(next_run(&nowhere, at("2026-12-01T12:00:00Z")), None);
    }

    fn ready_facts() -> Facts {
        let mut config = TenantConfig::new("d1").unwrap();
        config.classlink_tenant_id = Some("4242".into());
        config.sso_enabled = true;
        let now = at("2026-12-03T12:00:00Z");
        let mut run = RunRecord::start(
            "d1",
            roster::RunSource {
                kind: "csv".into(),
                reference: "x".into(),
            },
            now - Duration::hours(5),
        );
        run.status = RunStatus::Applied;
        Facts {
            config,
            sftp: Some(SftpFinding::Found { problems: vec![] }),
            api: None,
            schedule: None,
            last_run: Some(run),
            last_applied_at: Some(now - Duration::hours(5)),
            counts: BTreeMap::from([(
                "users",
                TypeCounts {
                    active: 10,
                    archived: 0,
                },
            )]),
            administrators: vec!["ad1".into()],
            primary_admins: vec!["ad1".into()],
            sign_ins: BTreeMap::from([("signed_in".to_string(), 4)]),
            refused_teachers: 0,
            provisional: 0,
            notices: NoticeFinding::Checked {
                contacts: 1,
                pending: 0,
                missing: 0,
            },
            classlink_mapping: Some("d1".into()),
            default_pause: None,
            now,
        }
    }

    #[test]
    fn the_deployment_default_pause_shows_for_tenants_without_windows() {
        let mut f = ready_facts();
        let pause = |f: &Facts| assess(f).into_iter().find(|l| l.topic == "pause");
        assert_eq!(pause(&f), None, "no windows, no default: no line");
        // Now is 3 December, 12:00 UTC.
        f.default_pause = Some(roster::YearlyWindow::parse("06-15..08-10").unwrap());
        let line = pause(&f).unwrap();
        assert_eq!(line.status, Status::Ok);
        assert_eq!(
            line.detail,
            "not paused now; pause: 06-15..08-10 yearly (deployment default, America/New_York)"
        );
        f.default_pause = Some(roster::YearlyWindow::parse("12-01..01-05").unwrap());
        let line = pause(&f).unwrap();
        assert_eq!(line.status, Status::Warn);
        assert!(
            line.detail.starts_with("paused now (2026-12-01..2027-01-05 (America/New_York); pause: 12-01..01-05 yearly (deployment default"),
            "{}",
            line.detail
        );
        assert!(line.next.unwrap().contains("windows of its own"));

        // Windows of its own replace the default.
        f.config.pause = vec![PauseWindow::parse("2026-06-15..2026-08-10", "UTC").unwrap()];
        let line = pause(&f).unwrap();
        assert_eq!(line.status, Status::Ok);
        assert_eq!(
            line.detail,
            "not paused now; windows: 2026-06-15..2026-08-10 (UTC)"
        );
    }

    #[test]
    fn a_classlink_tenant_id_without_its_mapping_is_a_failing_line() {
        let mut f = ready_facts();
        assert!(!assess(&f).iter().any(|l| l.topic == "sso mapping"));
        f.classlink_mapping = None;
        let lines = assess(&f);
        let line = lines
            .iter()
            .find(|l| l.topic == "sso mapping")
            .expect("a line");
        assert_eq!(line.status, Status::Fail);
        assert!(line.detail.contains("no mapping"), "{}", line.detail);
        f.classlink_mapping = Some("other".into());
        let lines = assess(&f);
        let line = lines.iter().find(|l| l.topic == "sso mapping").unwrap();
        assert!(line.detail.contains("`other`"), "{}", line.detail);
        f.config.sso_enabled = false;
        let lines = assess(&f);
        assert_eq!(
            lines
                .iter()
                .find(|l| l.topic == "sso mapping")
                .unwrap()
                .status,
            Status::Warn
        );
    }

    #[test]
    fn contacts_without_a_confirmed_subscription_for_the_tenant_are_warned_of() {
        use cloud::sns::EmailSubscription;
        let mut config = ready_facts().config;
        assert_eq!(notice_finding(&config, &[]), NoticeFinding::NoContacts);
        config.notify_emails = vec!["a@d.org".into(), "b@d.org".into(), "c@d.org".into()];
        let sub = |arn: Option<&str>, email: &str, tenants: &[&str]| EmailSubscription {
            arn: arn.map(str::to_string),
            endpoint: email.into(),
            tenants: Some(tenants.iter().map(|s| s.to_string()).collect()),
        };
        let subscriptions = [
            sub(Some("arn:1"), "A@d.org", &[config.tenant.as_str()]),
            sub(None, "b@d.org", &[]),
            sub(Some("arn:3"), "c@d.org", &["another-district"]),
        ];
        let finding = notice_finding(&config, &subscriptions);
        assert_eq!(
            finding,
            NoticeFinding::Checked {
                contacts: 3,
                pending: 1,
                missing: 1
            }
        );
        let mut f = ready_facts();
        f.notices = finding;
        let line = notice_line(&f);
        assert_eq!(line.status, Status::Warn);
        assert!(
            line.detail.contains("1 of 3 contact(s) not subscribed"),
            "{line:?}"
        );
        assert!(line.next.unwrap().contains("rosterctl tenants notices"));
        f.notices = NoticeFinding::NoContacts;
        assert!(notice_line(&f).next.unwrap().contains("--notify-email"));
    }

    #[test]
    fn a_ready_district_has_no_failing_line() {
        let lines = assess(&ready_facts());
        assert!(
            lines
                .iter()
                .all(|l| l.status != Status::Fail && l.status != Status::Warn),
            "{lines:#?}"
        );
        assert!(render("d1", &lines).starts_with("Tenant d1: ready"));
    }

    #[test]
    fn every_failing_line_says_what_to_do() {
        let mut f = ready_facts();
        f.sftp = Some(SftpFinding::Missing);
        f.last_run = None;
        f.administrators.clear();
        f.primary_admins.clear();
        f.config.classlink_tenant_id = None;
        f.refused_teachers = 2;
        let lines = assess(&f);
        let failing: Vec<&Line> = lines.iter().filter(|l| l.status == Status::Fail).collect();
        let topics: Vec<&str> = failing.iter().map(|l| l.topic).collect();
        assert_eq!(
            topics,
            vec![
                "sftp user",
                "last delivery",
                "administrators",
                "primary administrator",
                "sso"
            ]
        );
        for l in &lines {
            if matches!(l.status, Status::Fail | Status::Warn) {
                assert!(l.next.as_deref().is_some_and(|n| !n.is_empty()), "{l:?}");
            }
        }
        let admins = lines.iter().find(|l| l.topic == "administrators").unwrap();
        assert!(admins.next.as_deref().unwrap().contains("Unenrolled Users"));
        let refused = lines
            .iter()
            .find(|l| l.topic == "refused teachers")
            .unwrap();
        assert!(refused
            .next
            .as_deref()
            .unwrap()
            .contains("--sso-provision-teachers true"));
        assert!(render("d1", &lines).starts_with("Tenant d1: not ready"));
    }

    #[test]
    fn a_held_or_rejected_delivery_names_the_run_and_the_command() {
        let mut f = ready_facts();
        let run = f.last_run.as_mut().unwrap();
        run.status = RunStatus::Held;
        let id = run.run_id.clone();
        let line = assess(&f)
            .into_iter()
            .find(|l| l.topic == "last delivery")
            .unwrap();
        assert_eq!(line.status, Status::Fail);
        assert!(line
            .next
            .unwrap()
            .contains(&format!("rosterctl runs approve {id}")));
        f.last_run.as_mut().unwrap().status = RunStatus::Rejected;
        let line = assess(&f)
            .into_iter()
            .find(|l| l.topic == "last delivery")
            .unwrap();
        assert!(line
            .next
            .unwrap()
            .contains(&format!("rosterctl runs show {id}")));
    }
}
