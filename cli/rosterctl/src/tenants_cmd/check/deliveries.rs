//! The pull schedule and the last delivery.

use super::{Facts, Line, Status};
use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc};
use roster::{Connection, PullSchedule, RunStatus};

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

pub(super) fn schedule_line(f: &Facts) -> Line {
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

/// The tenant's pause windows, when it has any, or the deployment's default
/// when it applies to the tenant: paused now (a warning), or the windows to come.
pub(super) fn pause_line(f: &Facts) -> Option<Line> {
    let default = f.default_pause.as_ref();
    let (listed, now_note) = match default {
        Some(yearly) if f.config.default_pause_applies(default) => {
            let text = format!(
                "pause: {yearly} yearly (deployment default, {})",
                f.config.timezone()
            );
            (text.clone(), format!("; {text}"))
        }
        _ if f.config.pause.is_empty() => return None,
        _ => {
            let windows: Vec<String> = f.config.pause.iter().map(|w| w.to_string()).collect();
            (format!("windows: {}", windows.join(", ")), String::new())
        }
    };
    Some(match f.config.paused_at(f.now, default) {
        Some(window) => Line::new(
            "pause",
            Status::Warn,
            format!("paused now ({window}{now_note}): deliveries are validated and reported, not applied"),
        )
        .then(format!("the newest delivery of the window is applied when it ends; {}", apply_sooner(f))),
        None => Line::new("pause", Status::Ok, format!("not paused now; {listed}")),
    })
}

/// How to apply a paused tenant's deliveries before its window ends.
fn apply_sooner(f: &Facts) -> String {
    let t = &f.config.tenant;
    if f.config.default_pause_applies(f.default_pause.as_ref()) {
        format!("to apply sooner, give the tenant windows of its own, which replace the deployment's default: rosterctl tenants update {t} --pause START..END --timezone TZ")
    } else {
        format!("to apply sooner: rosterctl tenants update {t} --no-pause")
    }
}

pub(super) fn delivery_line(f: &Facts) -> Line {
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
        RunStatus::Paused => Line::new(
            "last delivery",
            Status::Warn,
            format!("{detail}: received during a pause window, not applied"),
        )
        .then(format!(
            "the newest delivery of the window is applied when it ends; {}",
            apply_sooner(f)
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
