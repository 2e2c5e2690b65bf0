//! `rosterctl tenants status`: the morning check, one line per district —
//! its last applied run and how long ago, its newest delivery and whether
//! the roster is fresh (or the district silent, or its delivery not applied),
//! whether a Primary Administrator exists, SSO on or off, and whether it is overdue.
//! What needs doing follows the table, one line per district that needs it.

use crate::outcome::*;
use crate::tenants_cmd::check::age_of;
use chrono::{DateTime, Utc};
use roster::freshness::{Freshness, LastDelivery};
use roster::{RunRecord, RunStatus, Store, TenantConfig, TenantState};
use serde::Serialize;
use std::fmt::Write as _;

/// The arguments of `rosterctl tenants status`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// Only this tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// A district is overdue when its last applied run is older than this
    /// (the stack's NoSyncAlarmDays).
    #[arg(long, default_value_t = 3, value_name = "DAYS")]
    pub overdue_days: u32,
    #[command(flatten)]
    pub store: crate::stores::StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl StatusArgs {
    /// Runs `rosterctl tenants status`.
    pub async fn run(self) -> Outcome {
        let (tenant, days, json) = (self.tenant.as_deref(), self.overdue_days, self.json);
        let default_pause = match crate::outcome::default_pause(json) {
            Ok(window) => window,
            Err(outcome) => return outcome,
        };
        let default_retain_days = match roster::retention::retain_days_from_env() {
            Ok(days) => days,
            Err(e) => return failure(json, &e),
        };
        let report = Report {
            overdue_days: days,
            json,
            default_pause,
            default_retain_days,
        };
        crate::on_store!(self.store, json, s => tenants_status(&s, tenant, &report).await)
    }
}

/// One district's line.
#[derive(Debug, Clone, Serialize)]
pub struct StatusRow {
    /// The tenant id.
    pub tenant: String,
    /// Whether it syncs.
    pub enabled: bool,
    /// The newest run, whatever its outcome.
    pub last_run: Option<LastRun>,
    /// The last applied run.
    pub last_applied_run: Option<String>,
    /// When it was applied.
    pub last_applied_at: Option<DateTime<Utc>>,
    /// Its age in seconds.
    pub last_applied_age_seconds: Option<i64>,
    /// The Primary Administrators.
    pub primary_admins: Vec<String>,
    /// Whether there is one.
    pub has_primary_admin: bool,
    /// Whether teachers sign in with ClassLink SSO.
    pub sso_enabled: bool,
    /// Enabled, synced before, and the last applied run older than the overdue days.
    pub overdue: bool,
    /// The newest delivery (a package or a pull), whatever its outcome.
    pub last_delivery: Option<LastDelivery>,
    /// Fresh; or silent (nothing sent for the overdue days); or not applied (sent, held or refused).
    pub freshness: Freshness,
    /// The pause window holding the district now, if any (dated, in its time zone).
    pub paused_now: Option<String>,
    /// The deployment's default pause window (`MM-DD..MM-DD`, yearly) when it
    /// applies to the district: it has no windows of its own.
    pub default_pause: Option<String>,
    /// Days an archived person keeps their personal data (the tenant's own,
    /// else the deployment's `RETAIN_ARCHIVED_DAYS`); `None`: retention off.
    pub retain_archived_days: Option<u32>,
    /// The pairs of a re-key in progress (a run applying it, stopped part
    /// way, or with a part held apart): the run file the tenant's state names.
    pub rekey_in_progress: Option<String>,
}

/// How `tenants status` reports.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    /// A district is overdue when its last applied run is older than this.
    pub overdue_days: u32,
    /// JSON output.
    pub json: bool,
    /// The deployment's default pause window (`DEFAULT_PAUSE_WINDOW`).
    pub default_pause: Option<roster::YearlyWindow>,
    /// The deployment's retention of archived people (`RETAIN_ARCHIVED_DAYS`).
    pub default_retain_days: u32,
}

/// The newest run of a district.
#[derive(Debug, Clone, Serialize)]
pub struct LastRun {
    /// The run.
    pub run_id: String,
    /// Its outcome.
    pub status: String,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Its message.
    pub message: String,
    /// Items written.
    pub items_written: u64,
}

/// The row of one district (pure).
pub fn row(
    t: &TenantConfig,
    last: Option<&RunRecord>,
    last_delivery: Option<LastDelivery>,
    state: &TenantState,
    primary_admins: Vec<String>,
    now: DateTime<Utc>,
    overdue_days: u32,
) -> StatusRow {
    StatusRow {
        tenant: t.tenant.clone(),
        enabled: t.enabled,
        last_run: last.map(|r| LastRun {
            run_id: r.run_id.clone(),
            status: r.status.as_str().to_string(),
            ended_at: r.ended_at,
            message: r.message.clone(),
            items_written: r.items_written,
        }),
        last_applied_run: state.last_applied_run.clone(),
        last_applied_at: state.last_applied_at,
        last_applied_age_seconds: state.last_applied_at.map(|at| (now - at).num_seconds()),
        has_primary_admin: !primary_admins.is_empty(),
        primary_admins,
        sso_enabled: t.sso_enabled,
        overdue: roster::tenant::sync_overdue(t, state, now, overdue_days),
        freshness: Freshness::of(last_delivery.as_ref(), now, overdue_days),
        last_delivery,
        paused_now: None,
        default_pause: None,
        retain_archived_days: None,
        rekey_in_progress: state.rekey_in_progress.clone(),
    }
}

impl StatusRow {
    /// The row with the district's pause at `now`: its own windows, or the
    /// deployment's `default` when it has none.
    pub fn paused(
        mut self,
        t: &TenantConfig,
        default: Option<&roster::YearlyWindow>,
        now: DateTime<Utc>,
    ) -> StatusRow {
        self.paused_now = t.paused_at(now, default).map(|w| w.to_string());
        self.default_pause = default
            .filter(|_| t.default_pause_applies(default))
            .map(|w| w.to_string());
        self
    }

    /// The row with the retention in force for the district (its own, else `default`).
    pub fn retention(mut self, t: &TenantConfig, default: u32) -> StatusRow {
        self.retain_archived_days = roster::retention::retention_days(t, default);
        self
    }

    /// What pauses the district: "the tenant's pause window", or the deployment's default.
    fn pause_source(&self) -> String {
        match &self.default_pause {
            Some(yearly) => format!("the deployment's default pause window ({yearly} yearly)"),
            None => "the tenant's pause window".into(),
        }
    }
}

/// The table and what needs doing, for people.
pub fn render(rows: &[StatusRow], now: DateTime<Utc>, overdue_days: u32) -> String {
    let mut table = vec![[
        "TENANT".to_string(),
        "LAST APPLIED".to_string(),
        "AGE".to_string(),
        "LAST DELIVERY".to_string(),
        "FRESHNESS".to_string(),
        "PRIMARY ADMIN".to_string(),
        "SSO".to_string(),
        "OVERDUE".to_string(),
        "RETENTION".to_string(),
    ]];
    let mut todo = Vec::new();
    for r in rows {
        let t = &r.tenant;
        let delivery = r
            .last_delivery
            .as_ref()
            .map_or("none yet".to_string(), |d| {
                format!("{} {}", d.received_at.format("%Y-%m-%d"), d.status.as_str())
            });
        table.push([
            if r.enabled {
                t.clone()
            } else {
                format!("{t} (disabled)")
            },
            r.last_applied_run.clone().unwrap_or_else(|| "never".into()),
            r.last_applied_at
                .map(|at| age_of(now, at))
                .unwrap_or_else(|| "-".into()),
            delivery,
            r.freshness.as_str().replace('_', " "),
            if r.has_primary_admin { "yes" } else { "NONE" }.into(),
            if r.sso_enabled { "on" } else { "off" }.into(),
            if r.overdue { "OVERDUE" } else { "no" }.into(),
            r.retain_archived_days
                .map_or("off".to_string(), |days| format!("{days}d")),
        ]);
        if !r.has_primary_admin {
            todo.push(format!("{t}: no Primary Administrator — the roster is not usable until one is promoted (rosterctl admins promote --tenant {t} SOURCEDID)"));
        }
        if r.overdue {
            todo.push(format!("{t}: no applied run for more than {overdue_days} days (rosterctl runs list --tenant {t}; rosterctl tenants check {t})"));
        }
        todo.extend(freshness_todo(r, now, overdue_days));
    }
    let widths: Vec<usize> = (0..9)
        .map(|c| {
            table
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in &table {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    if rows.is_empty() {
        out.push_str("no tenants yet: add one with `rosterctl tenants add TENANT`\n");
    }
    let paused: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            let window = r.paused_now.as_ref()?;
            Some(match &r.default_pause {
                Some(yearly) => {
                    format!(
                        "{}: {window} — pause: {yearly} yearly (deployment default)",
                        r.tenant
                    )
                }
                None => format!("{}: {window}", r.tenant),
            })
        })
        .collect();
    if !paused.is_empty() {
        out.push_str(
            "\nPaused now (deliveries are reported, not applied, until the window ends):\n",
        );
        for p in paused {
            let _ = writeln!(out, "  {p}");
        }
    }
    let rekeys: Vec<String> = rows
        .iter()
        .filter_map(|r| Some(format!("{}: {}", r.tenant, r.rekey_in_progress.as_ref()?)))
        .collect();
    if !rekeys.is_empty() {
        out.push_str("\nRe-keys in progress (a run applying one now, stopped part way, or with a part held apart; the next run, or the approval, carries each on; the pairs are in this file):\n");
        for r in rekeys {
            let _ = writeln!(out, "  {r}");
        }
    }
    if !todo.is_empty() {
        out.push_str("\nTo do:\n");
        for t in todo {
            let _ = writeln!(out, "  {t}");
        }
    }
    out
}

/// What a district's freshness asks of us: whose side the stale roster is on.
fn freshness_todo(r: &StatusRow, now: DateTime<Utc>, overdue_days: u32) -> Option<String> {
    let (t, d) = (&r.tenant, r.last_delivery.as_ref()?);
    let day = d.received_at.format("%Y-%m-%d");
    match (r.freshness, d.status) {
        (Freshness::NotApplied, RunStatus::Held) => Some(format!("{t}: the district sent on {day}; we did not apply it: run {} is held — rosterctl runs show {} then runs approve or runs discard", d.run_id, d.run_id)),
        (Freshness::NotApplied, RunStatus::Paused) => Some(format!("{t}: the district sent on {day}; run {} is paused by {} and applied when the window ends", d.run_id, r.pause_source())),
        (Freshness::NotApplied, status) => Some(format!("{t}: the district sent on {day}; we did not apply it: run {} was {} — rosterctl runs show {}", d.run_id, status.as_str(), d.run_id)),
        (Freshness::Silent, _) => Some(format!("{t}: the district has sent nothing for {} days (more than {overdue_days}; last on {day}) — ask the district whether ClassLink's export or API sharing still runs (rosterctl tenants check {t})", (now - d.received_at).num_days())),
        _ => None,
    }
}

/// `rosterctl tenants status`.
pub async fn tenants_status<S: Store>(store: &S, only: Option<&str>, report: &Report) -> Outcome {
    let (overdue_days, json) = (report.overdue_days, report.json);
    let tenants = match store.list_tenants().await {
        Ok(t) => t,
        Err(e) => return store_failure(json, &e),
    };
    let now = Utc::now();
    let mut rows = Vec::new();
    for t in tenants
        .iter()
        .filter(|t| only.is_none_or(|o| o == t.tenant))
    {
        let last = match store.list_runs(Some(&t.tenant), 1).await {
            Ok(runs) => runs.into_iter().next(),
            Err(e) => return store_failure(json, &e),
        };
        let admins = match store.primary_admins(&t.tenant).await {
            Ok(a) => a,
            Err(e) => return store_failure(json, &e),
        };
        let state = match store.get_state(&t.tenant).await {
            Ok(s) => s,
            Err(e) => return store_failure(json, &e),
        };
        let delivery = match roster::freshness::tenant_last_delivery(store, &t.tenant).await {
            Ok(d) => d,
            Err(e) => return store_failure(json, &e),
        };
        rows.push(
            row(
                t,
                last.as_ref(),
                delivery,
                &state,
                admins,
                now,
                overdue_days,
            )
            .paused(t, report.default_pause.as_ref(), now)
            .retention(t, report.default_retain_days),
        );
    }
    if let (Some(t), true) = (only, rows.is_empty()) {
        return refused(
            json,
            &format!("no tenant `{t}`; add it with `rosterctl tenants add {t}` (`rosterctl tenants list` shows the tenants)"),
        );
    }
    if json {
        return ok(serde_json::to_string(&rows).unwrap_or_default() + "\n");
    }
    ok(render(&rows, now, overdue_days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use roster::freshness::last_delivery;
    use roster::RunSource;

    #[test]
    fn one_line_per_district_and_what_needs_doing_after() {
        let now = Utc::now();
        let mut ready = TenantConfig::new("springfield").unwrap();
        ready.sso_enabled = true;
        let state = TenantState {
            last_applied_run: Some("r-1".into()),
            last_applied_at: Some(now - Duration::hours(5)),
            ..TenantState::default()
        };
        let mut applied = RunRecord::start(
            "springfield",
            RunSource {
                kind: "csv".into(),
                reference: "x".into(),
            },
            now,
        );
        applied.status = RunStatus::Applied;
        let delivered = last_delivery(std::slice::from_ref(&applied));
        let a = row(
            &ready,
            Some(&applied),
            delivered,
            &state,
            vec!["adm-1".into()],
            now,
            3,
        )
        .retention(&ready, 365);
        assert_eq!(a.retain_archived_days, Some(365));
        assert!(!a.overdue && a.has_primary_admin && a.sso_enabled);
        assert_eq!(a.freshness, Freshness::Fresh);

        let late = TenantConfig::new("shelbyville").unwrap();
        let old = TenantState {
            last_applied_run: Some("r-0".into()),
            last_applied_at: Some(now - Duration::days(4)),
            ..TenantState::default()
        };
        let mut held = applied.clone();
        held.tenant = "shelbyville".into();
        held.status = RunStatus::Held;
        let delivered = last_delivery(std::slice::from_ref(&held));
        let b = row(&late, Some(&held), delivered, &old, vec![], now, 3);
        assert!(b.overdue && !b.has_primary_admin && !b.sso_enabled);
        assert_eq!(b.freshness, Freshness::NotApplied);

        // The district has sent nothing for 6 days: its side, not ours.
        let quiet_config = TenantConfig::new("ogdenville").unwrap();
        let mut quiet_run = applied.clone();
        quiet_run.tenant = "ogdenville".into();
        quiet_run.started_at = now - Duration::days(6);
        let quiet_state = TenantState {
            last_applied_at: Some(quiet_run.started_at),
            ..TenantState::default()
        };
        let delivered = last_delivery(std::slice::from_ref(&quiet_run));
        let c = row(
            &quiet_config,
            Some(&quiet_run),
            delivered,
            &quiet_state,
            vec!["a".into()],
            now,
            3,
        );
        assert_eq!(c.freshness, Freshness::Silent);

        let out = render(&[a, b, c], now, 3);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("TENANT"), "{out}");
        assert!(
            lines[1].starts_with("springfield")
                && lines[1].contains("5h 0m")
                && lines[1].contains("applied"),
            "{out}"
        );
        assert!(
            lines[1].contains(" yes ")
                && lines[1].contains(" on ")
                && lines[1].contains(" no ")
                && lines[1].ends_with("365d"),
            "{out}"
        );
        assert!(
            lines[2].starts_with("shelbyville")
                && lines[2].contains("4d 0h")
                && lines[2].contains(" OVERDUE ")
                && lines[2].ends_with("off"),
            "{out}"
        );
        assert!(
            out.contains("shelbyville: no Primary Administrator"),
            "{out}"
        );
        assert!(
            out.contains("shelbyville: no applied run for more than 3 days"),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "shelbyville: the district sent on {}; we did not apply it: run {} is held",
                now.format("%Y-%m-%d"),
                held.run_id
            )),
            "{out}"
        );
        assert!(lines[2].contains(" not applied "), "{out}");
        assert!(
            out.contains("ogdenville: the district has sent nothing for 6 days (more than 3;"),
            "{out}"
        );
        assert!(lines[3].contains(" silent "), "{out}");
        assert!(
            !out.contains("springfield:"),
            "nothing to do for springfield: {out}"
        );
        assert!(!out.contains("Re-keys in progress"), "{out}");
    }

    #[test]
    fn a_rekey_in_progress_is_shown_with_its_file() {
        let now = Utc::now();
        let config = TenantConfig::new("springfield").unwrap();
        let pairs = "s3://runs/processed/springfield/r-9/rekey-in-progress.json";
        let state = TenantState {
            rekey_in_progress: Some(pairs.into()),
            ..TenantState::default()
        };
        let row = row(&config, None, None, &state, vec!["a".into()], now, 3);
        assert_eq!(row.rekey_in_progress.as_deref(), Some(pairs));
        let out = render(&[row], now, 3);
        let shown = out
            .split("Re-keys in progress")
            .nth(1)
            .unwrap_or_else(|| panic!("{out}"));
        assert!(shown.contains(&format!("springfield: {pairs}")), "{out}");
    }
}
