//! `rosterctl tenants check TENANT`: whether a district is ready, line by
//! line, each failing line saying what to do next. Gathering the facts (the
//! store, Transfer Family, Secrets Manager, the district's API, EventBridge
//! Scheduler) is apart from judging them ([`assess`], pure), so the judgement
//! is tested on its own.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc};
use oneroster::EntityKind;
use roster::school_year::RecordFacts;
use roster::{Connection, PullSchedule, RunRecord, RunStatus, Store, TenantConfig};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

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

/// What was found of the district's Transfer Family user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SftpFinding {
    /// No server id was given: not looked up.
    NotChecked,
    /// The server has no user named after the tenant.
    Missing,
    /// The user exists; `problems` lists what is wrong with it (none: ready).
    Found {
        /// Settings that differ from what the district needs.
        problems: Vec<String>,
    },
    /// Transfer Family could not be asked.
    Error(String),
}

/// What was found of the district's OneRoster API connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiFinding {
    /// The tenant has no API settings.
    NoSettings,
    /// The credentials secret does not exist or cannot be read.
    NoCredentials(String),
    /// A test request (one org) failed.
    RequestFailed(String),
    /// A test request succeeded.
    Answered {
        /// The API URL.
        url: String,
    },
}

/// What was found of the pull schedule in EventBridge Scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleFinding {
    /// The schedule exists and is enabled.
    Enabled,
    /// The schedule exists and is disabled.
    Disabled,
    /// No such schedule in the group.
    Missing,
    /// Scheduler could not be asked.
    Error(String),
}

/// What was found of the district's run-notice contacts and their subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeFinding {
    /// The tenant names no contacts.
    NoContacts,
    /// Contacts, but no notice topic to check their subscriptions on.
    NotChecked {
        /// How many contacts.
        contacts: usize,
    },
    /// The contacts' subscriptions on the topic.
    Checked {
        /// How many contacts.
        contacts: usize,
        /// Contacts whose subscription awaits the address's confirmation.
        pending: usize,
        /// Contacts with no subscription admitting this tenant.
        missing: usize,
    },
    /// The topic could not be read.
    Error(String),
}

/// Counts of one type's stored records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TypeCounts {
    /// Active (provisional users included).
    pub active: u64,
    /// Archived.
    pub archived: u64,
}

/// Everything the check judges, gathered from the store and AWS.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The tenant's configuration.
    pub config: TenantConfig,
    /// The Transfer Family user, for SFTP districts.
    pub sftp: Option<SftpFinding>,
    /// The API connection, for API districts.
    pub api: Option<ApiFinding>,
    /// The pull schedule, for API districts with one configured.
    pub schedule: Option<ScheduleFinding>,
    /// The newest run of the tenant.
    pub last_run: Option<RunRecord>,
    /// When the last applied run ended.
    pub last_applied_at: Option<DateTime<Utc>>,
    /// Stored records per type.
    pub counts: BTreeMap<&'static str, TypeCounts>,
    /// Active administrators in the roster (sourcedIds, sorted).
    pub administrators: Vec<String>,
    /// Primary Administrators who are active administrators.
    pub primary_admins: Vec<String>,
    /// Sign-ins of the last 7 days by outcome.
    pub sign_ins: BTreeMap<String, u64>,
    /// ClassLink users refused as not in the roster in the last 7 days.
    pub refused_teachers: u64,
    /// Provisional users (teachers signed in before the roster had them).
    pub provisional: u64,
    /// The run-notice contacts.
    pub notices: NoticeFinding,
    /// The tenant the store's mapping item of the ClassLink TenantId names
    /// (`None`: no id, or no mapping item).
    pub classlink_mapping: Option<String>,
    /// Now.
    pub now: DateTime<Utc>,
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
    lines.push(delivery_line(f));
    lines.push(roster_line(f));
    lines.push(administrators_line(f));
    lines.push(primary_admin_line(f));
    lines.extend(sso_lines(f));
    lines.push(notice_line(f));
    lines
}

/// Whether the tenant is enabled.
fn tenant_line(f: &Facts) -> Line {
    let t = &f.config.tenant;
    if f.config.enabled {
        Line::new(
            "tenant",
            Status::Ok,
            format!("{t} ({}) is enabled", f.config.display_name),
        )
    } else {
        Line::new(
            "tenant",
            Status::Fail,
            format!("{t} is disabled: no delivery is synced"),
        )
        .then(format!(
            "re-enable it: rosterctl tenants update {t} --enabled true"
        ))
    }
}

/// The district's SFTP user, as found.
fn sftp_line(t: &str, sftp: &SftpFinding) -> Line {
    match sftp {
        SftpFinding::NotChecked => Line::new(
            "sftp user",
            Status::Warn,
            "not checked: no Transfer Family server id",
        )
        .then("pass --sftp-server-id (the stack's SftpServerId output) or set ROSTER_SFTP_SERVER_ID"),
        SftpFinding::Missing => Line::new(
            "sftp user",
            Status::Fail,
            format!("the SFTP server has no user `{t}`: ClassLink's Roster Server cannot upload"),
        )
        .then(format!("create it with the command `rosterctl tenants show {t}` and `tenants add` print (sftp_user), with the district's Roster Server public key")),
        SftpFinding::Found { problems } if problems.is_empty() => Line::new(
            "sftp user",
            Status::Ok,
            format!("user `{t}` exists, confined to inbound/{t}, with a public key"),
        ),
        SftpFinding::Found { problems } => Line::new(
            "sftp user",
            Status::Fail,
            format!("user `{t}` exists but {}", problems.join("; ")),
        )
        .then("fix the user as `tenants add` prints it (sftp_user): LOGICAL home mapped to inbound/<tenant>, and the district's public key"),
        SftpFinding::Error(e) => Line::new(
            "sftp user",
            Status::Fail,
            format!("Transfer Family could not be asked: {e}"),
        )
        .then("check the AWS credentials, the region and the server id"),
    }
}

/// The district's OneRoster API: settings, credentials, a test request.
fn api_line(t: &str, api: &ApiFinding) -> Line {
    match api {
        ApiFinding::NoSettings => Line::new("api connection", Status::Fail, "the tenant uses the API but has no API URL")
            .then(format!("rosterctl tenants update {t} --api-url URL --api-key KEY --api-secret SECRET (ClassLink's OneRoster API Application Key, Secret and URL)")),
        ApiFinding::NoCredentials(e) => Line::new(
            "api connection",
            Status::Fail,
            format!("no usable credentials: {e}"),
        )
        .then(format!("store them: rosterctl tenants update {t} --api-key KEY --api-secret SECRET (from the district's OneRoster API connection in ClassLink)")),
        ApiFinding::RequestFailed(e) => Line::new(
            "api connection",
            Status::Fail,
            format!("a test request failed: {e}"),
        )
        .then("check the API URL and the Application Key and Secret in ClassLink's OneRoster API settings; the district must have shared its roster with the app"),
        ApiFinding::Answered { url } => Line::new(
            "api connection",
            Status::Ok,
            format!("credentials present; a test request to {url} succeeded"),
        ),
    }
}

/// What the roster holds: active records per type, provisional teachers.
fn roster_line(f: &Facts) -> Line {
    let t = &f.config.tenant;
    let users = f.counts.get("users").copied().unwrap_or_default();
    let counts: Vec<String> = f
        .counts
        .iter()
        .map(|(kind, c)| format!("{kind} {}", c.active))
        .collect();
    if users.active == 0 {
        Line::new("roster", Status::Fail, "no active users stored")
            .then("wait for the first delivery (above), or check why it was not applied")
    } else {
        let mut detail = format!("active: {}", counts.join(", "));
        if f.provisional > 0 {
            detail.push_str(&format!(
                "; {} provisional teacher(s) made at sign-in (rosterctl users list --tenant {t} --provisional)",
                f.provisional
            ));
        }
        Line::new("roster", Status::Info, detail)
    }
}

/// Whether the roster has an active administrator.
fn administrators_line(f: &Facts) -> Line {
    if f.administrators.is_empty() {
        Line::new("administrators", Status::Fail, "no active administrator in the roster")
            .then("turn on *Unenrolled Users* in ClassLink's Roster Server so administrators are sent, then promote one")
    } else {
        Line::new(
            "administrators",
            Status::Ok,
            format!("{} active administrator(s)", f.administrators.len()),
        )
    }
}

/// Whether one is a Primary Administrator.
fn primary_admin_line(f: &Facts) -> Line {
    let t = &f.config.tenant;
    match (f.primary_admins.as_slice(), f.administrators.first()) {
        ([], Some(first)) => Line::new(
            "primary administrator",
            Status::Fail,
            "none promoted: the district cannot manage its account",
        )
        .then(format!(
            "promote one: rosterctl admins promote --tenant {t} {first} (administrators: {})",
            f.administrators.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        )),
        ([], None) => Line::new("primary administrator", Status::Fail, "none promoted")
            .then("once administrators are in the roster, promote one: rosterctl admins promote --tenant TENANT SOURCEDID"),
        (promoted, _) => Line::new(
            "primary administrator",
            Status::Ok,
            format!("promoted: {}", promoted.join(", ")),
        ),
    }
}

fn notice_line(f: &Facts) -> Line {
    let t = &f.config.tenant;
    let add = format!("name the district's data contacts: rosterctl tenants update {t} --notify-email a@district.org,b@district.org");
    let sync = "run `rosterctl tenants notices` (with the stack's RunNoticeTopicArn)";
    match &f.notices {
        NoticeFinding::NoContacts => Line::new(
            "notices",
            Status::Warn,
            "no contacts: the district hears of rejected or held files only from us",
        )
        .then(add),
        NoticeFinding::NotChecked { contacts } => Line::new(
            "notices",
            Status::Warn,
            format!("{contacts} contact(s); their subscriptions were not checked: no notice topic"),
        )
        .then(format!("pass --notice-topic-arn (the stack's RunNoticeTopicArn output) or set {}", super::notices::NOTICE_TOPIC_ENV)),
        NoticeFinding::Error(e) => Line::new(
            "notices",
            Status::Warn,
            format!("the notice topic could not be read: {e}"),
        )
        .then("check the topic ARN and the credentials' sns:ListSubscriptionsByTopic"),
        NoticeFinding::Checked { contacts, missing, .. } if *missing > 0 => Line::new(
            "notices",
            Status::Warn,
            format!("{missing} of {contacts} contact(s) not subscribed for {t}: they hear nothing"),
        )
        .then(sync),
        NoticeFinding::Checked { contacts, pending, .. } if *pending > 0 => Line::new(
            "notices",
            Status::Warn,
            format!("{pending} of {contacts} contact(s) have not confirmed SNS's subscription email: nothing reaches them until they do"),
        )
        .then("ask them to follow the link in the email \"AWS Notification - Subscription Confirmation\" (look in spam), then run `rosterctl tenants notices`"),
        NoticeFinding::Checked { contacts, .. } => Line::new(
            "notices",
            Status::Ok,
            format!("{contacts} contact(s) subscribed to run notices"),
        ),
    }
}

/// The notice finding of `config`'s contacts on the topic's `subscriptions`.
pub fn notice_finding(
    config: &TenantConfig,
    subscriptions: &[cloud::sns::EmailSubscription],
) -> NoticeFinding {
    if config.notify_emails.is_empty() {
        return NoticeFinding::NoContacts;
    }
    let (mut pending, mut missing) = (0, 0);
    for email in &config.notify_emails {
        match subscriptions
            .iter()
            .find(|s| s.endpoint.eq_ignore_ascii_case(email))
        {
            Some(s) if s.arn.is_none() => pending += 1,
            Some(s)
                if s.tenants
                    .as_ref()
                    .is_some_and(|t| t.contains(&config.tenant)) => {}
            // A hand-made subscription without a tenant filter hears of every district.
            Some(s) if s.tenants.is_none() => {}
            _ => missing += 1,
        }
    }
    NoticeFinding::Checked {
        contacts: config.notify_emails.len(),
        pending,
        missing,
    }
}

fn schedule_line(f: &Facts) -> Line {
    let t = &f.config.tenant;
    let Some(schedule) = &f.config.schedule else {
        return Line::new("schedule", Status::Fail, "no pull schedule: the API is never pulled")
            .then(format!("rosterctl tenants update {t} --schedule-days MON,TUE,WED,THU,FRI --schedule-time 02:00 --timezone America/Chicago --pull-function-arn ARN --scheduler-role-arn ARN"));
    };
    let when = format!(
        "{} at {} {}",
        schedule.days.join(","),
        schedule.time,
        schedule.timezone
    );
    let next = match next_run(schedule, f.now) {
        Some(at) => format!(
            "next run {}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        None => format!(
            "time zone `{}` unknown: next run not computed",
            schedule.timezone
        ),
    };
    match &f.schedule {
        Some(ScheduleFinding::Enabled) => {
            Line::new("schedule", Status::Ok, format!("{when}; {next}"))
        }
        Some(ScheduleFinding::Disabled) => Line::new(
            "schedule",
            Status::Fail,
            format!("{when}: the schedule is disabled in EventBridge Scheduler"),
        )
        .then(format!("rosterctl tenants update {t} --enabled true --pull-function-arn ARN --scheduler-role-arn ARN")),
        Some(ScheduleFinding::Missing) | None => Line::new(
            "schedule",
            Status::Fail,
            format!("{when} is configured but no schedule `{t}-pull` exists in EventBridge Scheduler"),
        )
        .then(format!("create it: rosterctl tenants update {t} --pull-function-arn ARN --scheduler-role-arn ARN (the stack's outputs)")),
        Some(ScheduleFinding::Error(e)) => Line::new(
            "schedule",
            Status::Fail,
            format!("EventBridge Scheduler could not be asked: {e}"),
        )
        .then("check the AWS credentials, the region and --schedule-group"),
    }
}

fn delivery_line(f: &Facts) -> Line {
    let t = &f.config.tenant;
    let Some(run) = &f.last_run else {
        let how = if f.config.uses(Connection::Api) {
            "wait for the scheduled pull, or pull now (rosterctl pull)"
        } else {
            "ask the district to run the export in ClassLink's Roster Server (SFTP, OneRoster CSV template), or wait for its schedule"
        };
        return Line::new("last delivery", Status::Fail, "nothing delivered yet").then(how);
    };
    let age = age_of(f.now, run.ended_at.unwrap_or(run.started_at));
    let detail = format!("run {} {} ({age} ago)", run.run_id, run.status.as_str());
    let show = format!("rosterctl runs show {}", run.run_id);
    match run.status {
        RunStatus::Applied | RunStatus::Running | RunStatus::Continued => {
            Line::new("last delivery", Status::Ok, detail)
        }
        RunStatus::Held => Line::new(
            "last delivery",
            Status::Fail,
            format!("{detail}: it would archive too much"),
        )
        .then(format!(
            "review it ({show}), then rosterctl runs approve {} or rosterctl runs discard {}",
            run.run_id, run.run_id
        )),
        RunStatus::Rejected => Line::new(
            "last delivery",
            Status::Fail,
            format!("{detail}: {} error(s)", run.error_count),
        )
        .then(format!(
            "see what is wrong ({show}) and ask the district to fix its export"
        )),
        RunStatus::Stale => Line::new(
            "last delivery",
            Status::Warn,
            format!("{detail}: older than what is applied"),
        )
        .then("ask the district whether an old export was re-sent"),
        RunStatus::Failed => Line::new(
            "last delivery",
            Status::Fail,
            format!("{detail}: {}", run.message),
        )
        .then(format!(
            "see {show}; a retry or the next delivery runs it again"
        )),
        RunStatus::Busy | RunStatus::Discarded | RunStatus::Planned => {
            let applied = f
                .last_applied_at
                .map(|at| format!("; last applied {} ago", age_of(f.now, at)))
                .unwrap_or_else(|| "; nothing applied yet".into());
            let status = if f.last_applied_at.is_some() {
                Status::Ok
            } else {
                Status::Fail
            };
            let line = Line::new("last delivery", status, format!("{detail}{applied}"));
            if status == Status::Fail {
                line.then(format!("sync a delivery for {t}"))
            } else {
                line
            }
        }
    }
}

/// Single sign-on: the ClassLink TenantId and switch, its mapping, and (when
/// on) the recent sign-ins and refused teachers.
fn sso_lines(f: &Facts) -> Vec<Line> {
    let mut lines = vec![sso_line(f)];
    lines.extend(sso_mapping_line(f));
    if f.config.sso_enabled {
        lines.extend(sign_in_lines(f));
    }
    lines
}

/// The ClassLink TenantId and whether SSO is on.
fn sso_line(f: &Facts) -> Line {
    let t = &f.config.tenant;
    match (&f.config.classlink_tenant_id, f.config.sso_enabled) {
        (None, true) => Line::new("sso", Status::Fail, "SSO is on but there is no ClassLink TenantId: sign-in cannot find the district")
            .then(format!("rosterctl tenants update {t} --classlink-tenant-id ID (the TenantId is in ClassLink's Management Console)")),
        (None, false) => Line::new("sso", Status::Warn, "SSO is off and there is no ClassLink TenantId: teachers cannot sign in from the LaunchPad")
            .then(format!("when the district wants it: rosterctl tenants update {t} --classlink-tenant-id ID --sso true (the TenantId is in ClassLink's Management Console)")),
        (Some(id), false) => Line::new("sso", Status::Warn, format!("ClassLink TenantId {id}; SSO is off: teachers cannot sign in from the LaunchPad"))
            .then(format!("when the district wants it: rosterctl tenants update {t} --sso true")),
        (Some(id), true) => Line::new(
            "sso",
            Status::Ok,
            format!(
                "ClassLink TenantId {id}; SSO on{}{}",
                if f.config.sso_match_by_email { "; matching by email/username" } else { "" },
                if f.config.sso_provision_teachers { "; provisioning teachers" } else { "" },
            ),
        ),
    }
}

/// A ClassLink TenantId the store does not map to this tenant.
fn sso_mapping_line(f: &Facts) -> Option<Line> {
    let t = &f.config.tenant;
    let id = f.config.classlink_tenant_id.as_ref()?;
    if f.classlink_mapping.as_deref() == Some(t.as_str()) {
        return None;
    }
    let status = if f.config.sso_enabled {
        Status::Fail
    } else {
        Status::Warn
    };
    let detail = match &f.classlink_mapping {
        None => format!("the store has no mapping of ClassLink TenantId {id} to {t} (saved before the mapping existed, or edited by hand): sign-in falls back to reading every tenant, and refuses the district if another claims the id"),
        Some(other) => format!("the store maps ClassLink TenantId {id} to tenant `{other}`, not {t}: {t}'s teachers are not signed in as {t}"),
    };
    Some(
        Line::new("sso mapping", status, detail)
            .then(format!("rosterctl tenants update {t} (saving the tenant writes its mapping; it is refused while another tenant holds the id)")),
    )
}

/// The recent sign-ins by outcome, and the teachers refused as not in the roster.
fn sign_in_lines(f: &Facts) -> Vec<Line> {
    let t = &f.config.tenant;
    let mut lines = Vec::new();
    let total: u64 = f.sign_ins.values().sum();
    let by_outcome: Vec<String> = f
        .sign_ins
        .iter()
        .map(|(outcome, n)| format!("{outcome} {n}"))
        .collect();
    lines.push(if total == 0 {
        Line::new(
            "sign-ins",
            Status::Warn,
            format!("none in the last {SIGN_IN_WINDOW_DAYS} days"),
        )
        .then("check that the district assigned the app to its teachers on the ClassLink LaunchPad")
    } else {
        Line::new(
            "sign-ins",
            Status::Info,
            format!("last {SIGN_IN_WINDOW_DAYS} days: {}", by_outcome.join(", ")),
        )
    });
    if f.refused_teachers > 0 {
        let mut next = "turn on *Unenrolled Users* in ClassLink's Roster Server so teachers without classes are sent".to_string();
        if !f.config.sso_provision_teachers {
            next.push_str(&format!(", or let them in until then: rosterctl tenants update {t} --sso-provision-teachers true"));
        }
        lines.push(
            Line::new(
                "refused teachers",
                Status::Warn,
                format!(
                    "{} ClassLink user(s) refused as not in the roster (rosterctl sso audit --tenant {t})",
                    f.refused_teachers
                ),
            )
            .then(next),
        );
    }
    lines
}

/// `3d 4h`, `5h 2m`, `7m`: how long ago.
pub fn age_of(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let d = now.signed_duration_since(at).max(Duration::zero());
    if d.num_days() > 0 {
        format!("{}d {}h", d.num_days(), d.num_hours() % 24)
    } else if d.num_hours() > 0 {
        format!("{}h {}m", d.num_hours(), d.num_minutes() % 60)
    } else {
        format!("{}m", d.num_minutes())
    }
}

/// The first time after `now` the schedule fires (its days and time of day in
/// its time zone); `None` for an unknown time zone.
pub fn next_run(schedule: &PullSchedule, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let zone: chrono_tz::Tz = schedule.timezone.parse().ok()?;
    let time = NaiveTime::parse_from_str(&schedule.time, "%H:%M").ok()?;
    let local_today = now.with_timezone(&zone).date_naive();
    (0..=7).find_map(|offset| {
        let day = local_today + Duration::days(offset);
        let name = day.weekday().to_string().to_ascii_uppercase();
        if !schedule.days.contains(&name) {
            return None;
        }
        // A time skipped by a daylight-saving change fires at the next valid minute.
        let at = zone
            .from_local_datetime(&day.and_time(time))
            .earliest()
            .or_else(|| {
                zone.from_local_datetime(&(day.and_time(time) + Duration::hours(1)))
                    .earliest()
            })?
            .with_timezone(&Utc);
        (at > now).then_some(at)
    })
}

/// Gathers what the store knows: runs, counts, administrators, sign-ins.
pub async fn store_facts<S: Store>(
    store: &S,
    config: TenantConfig,
    now: DateTime<Utc>,
) -> Result<Facts, roster::StoreError> {
    let t = config.tenant.clone();
    let last_run = store.list_runs(Some(&t), 1).await?.into_iter().next();
    let state = store.get_state(&t).await?;
    let mut counts = BTreeMap::new();
    let mut administrators = Vec::new();
    let mut provisional = 0;
    for kind in EntityKind::ALL {
        let mut c = TypeCounts::default();
        for s in store.load_summaries(&t, kind).await? {
            if s.archived {
                c.archived += 1;
                continue;
            }
            c.active += 1;
            provisional += u64::from(s.provisional);
            if let RecordFacts::User {
                administrator: true,
                ..
            } = s.facts
            {
                administrators.push(s.sourced_id.into_string());
            }
        }
        counts.insert(kind.file_name(), c);
    }
    administrators.sort();
    let primary_admins = store
        .primary_admins(&t)
        .await?
        .into_iter()
        .filter(|id| administrators.binary_search(id).is_ok())
        .collect();
    let since = now - Duration::days(SIGN_IN_WINDOW_DAYS);
    let mut sign_ins = BTreeMap::new();
    let mut refused = BTreeSet::new();
    for audit in store.list_sign_in_audits(Some(&t), 1000, now).await? {
        if audit.at < since {
            continue;
        }
        if audit.outcome == "not_in_roster" {
            refused.insert(audit.classlink_user_id.unwrap_or(audit.request_id));
        }
        *sign_ins.entry(audit.outcome).or_insert(0) += 1;
    }
    let classlink_mapping = match &config.classlink_tenant_id {
        Some(id) => store.classlink_mapping(id).await?,
        None => None,
    };
    Ok(Facts {
        classlink_mapping,
        sftp: None,
        api: None,
        schedule: None,
        last_run,
        last_applied_at: state.last_applied_at,
        counts,
        administrators,
        primary_admins,
        sign_ins,
        refused_teachers: refused.len() as u64,
        provisional,
        notices: match config.notify_emails.len() {
            0 => NoticeFinding::NoContacts,
            contacts => NoticeFinding::NotChecked { contacts },
        },
        config,
        now,
    })
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
            now,
        }
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
