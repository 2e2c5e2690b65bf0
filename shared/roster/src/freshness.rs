//! Whether a district's roster is fresh, and when it is not, on whose side:
//! the district has sent nothing for days, or it sent and we did not apply
//! (held, paused, rejected, failed, stale, discarded). For `rosterctl tenants status`
//! and csv-ingest's sweep (its metrics feed the dashboard).

use crate::run::{RunRecord, RunStatus};
use crate::store::{Store, StoreResult};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Runs read to find a tenant's newest delivery among its newest runs.
const RUNS_READ: usize = 20;

/// A tenant's newest delivery (a CSV package or an API pull).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastDelivery {
    /// Its run.
    pub run_id: String,
    /// When it was received (or pulled).
    pub received_at: DateTime<Utc>,
    /// Its run's outcome.
    pub status: RunStatus,
}

/// How fresh a tenant's roster is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    /// Nothing delivered yet.
    NothingYet,
    /// The newest delivery was applied (or is being applied), within the days allowed.
    Fresh,
    /// The district has sent nothing for more than the days allowed.
    Silent,
    /// The district sent; its newest delivery was not applied.
    NotApplied,
}

impl Freshness {
    /// Judges a tenant from its newest delivery, `now`, and the days a
    /// district may go without sending.
    pub fn of(last: Option<&LastDelivery>, now: DateTime<Utc>, days: u32) -> Freshness {
        let Some(last) = last else {
            return Freshness::NothingYet;
        };
        match last.status {
            RunStatus::Held
            | RunStatus::Rejected
            | RunStatus::Failed
            | RunStatus::Stale
            | RunStatus::Discarded
            | RunStatus::Paused => Freshness::NotApplied,
            _ if now - last.received_at > chrono::Duration::days(i64::from(days)) => {
                Freshness::Silent
            }
            _ => Freshness::Fresh,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Freshness::NothingYet => "nothing_yet",
            Freshness::Fresh => "fresh",
            Freshness::Silent => "silent",
            Freshness::NotApplied => "not_applied",
        }
    }
}

/// Whether `run` took in a delivery (a package or a pull): not a revert, not a dry run.
fn is_delivery(run: &RunRecord) -> bool {
    matches!(run.source.kind.as_str(), "csv" | "api") && run.status != RunStatus::Planned
}

/// The delivery among `runs` (newest first) that came last: reverts and dry runs are not deliveries.
pub fn last_delivery(runs: &[RunRecord]) -> Option<LastDelivery> {
    runs.iter().find(|r| is_delivery(r)).map(|r| LastDelivery {
        run_id: r.run_id.clone(),
        received_at: r.received(),
        status: r.status,
    })
}

/// The run whose delivery is due now that `tenant`'s pause is over: the
/// newest paused delivery (of `runs`, newest first), passing over deliveries
/// of a window that were rejected (a bad file is not what was kept), when no
/// window holds `now` (the tenant's own, or the deployment's `default` for a
/// tenant without any). Older paused deliveries are never due; once the due
/// one is delivered again, its new run comes first and ends the search.
pub fn due_after_pause<'r>(
    tenant: &crate::tenant::TenantConfig,
    runs: &'r [RunRecord],
    now: DateTime<Utc>,
    default: Option<&crate::tenant::YearlyWindow>,
) -> Option<&'r RunRecord> {
    if tenant.paused_at(now, default).is_some() {
        return None;
    }
    let deliveries = runs.iter().filter(|r| is_delivery(r));
    for run in deliveries {
        match run.status {
            RunStatus::Paused => return Some(run),
            RunStatus::Rejected if tenant.paused_at(run.received(), default).is_some() => continue,
            _ => return None,
        }
    }
    None
}

/// The newest delivery of `tenant`.
pub async fn tenant_last_delivery<S: Store>(
    store: &S,
    tenant: &str,
) -> StoreResult<Option<LastDelivery>> {
    Ok(last_delivery(
        &store.list_runs(Some(tenant), RUNS_READ).await?,
    ))
}

/// The enabled tenants that are silent and those whose newest delivery was not applied.
pub async fn stale_tenants<S: Store>(
    store: &S,
    now: DateTime<Utc>,
    days: u32,
) -> StoreResult<(Vec<String>, Vec<String>)> {
    let (mut silent, mut not_applied) = (Vec::new(), Vec::new());
    for config in store
        .list_tenants()
        .await?
        .into_iter()
        .filter(|t| t.enabled)
    {
        let last = tenant_last_delivery(store, &config.tenant).await?;
        match Freshness::of(last.as_ref(), now, days) {
            Freshness::Silent => silent.push(config.tenant),
            Freshness::NotApplied => not_applied.push(config.tenant),
            Freshness::NothingYet | Freshness::Fresh => {}
        }
    }
    Ok((silent, not_applied))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn delivered(days_ago: i64, status: RunStatus) -> LastDelivery {
        LastDelivery {
            run_id: "r".into(),
            received_at: Utc::now() - Duration::days(days_ago),
            status,
        }
    }

    #[test]
    fn silence_and_unapplied_deliveries_are_told_apart() {
        let now = Utc::now();
        let of = |d: Option<LastDelivery>| Freshness::of(d.as_ref(), now, 3);
        assert_eq!(of(None), Freshness::NothingYet);
        assert_eq!(of(Some(delivered(1, RunStatus::Applied))), Freshness::Fresh);
        assert_eq!(
            of(Some(delivered(5, RunStatus::Applied))),
            Freshness::Silent
        );
        assert_eq!(
            of(Some(delivered(1, RunStatus::Held))),
            Freshness::NotApplied
        );
        assert_eq!(
            of(Some(delivered(9, RunStatus::Rejected))),
            Freshness::NotApplied,
            "our side first"
        );
        assert_eq!(
            of(Some(delivered(1, RunStatus::Continued))),
            Freshness::Fresh
        );
    }

    #[test]
    fn only_the_newest_paused_delivery_is_due_and_only_after_the_window() {
        let run = |status, days_ago| {
            let source = crate::run::RunSource {
                kind: "csv".into(),
                reference: format!("d{days_ago}"),
            };
            let mut r = RunRecord::start("t", source, Utc::now() - Duration::days(days_ago));
            r.status = status;
            r
        };
        let mut tenant = crate::tenant::TenantConfig::new("t").unwrap();
        let today = Utc::now().date_naive();
        let window = format!(
            "{}..{}",
            today - Duration::days(9),
            today + Duration::days(1)
        );
        tenant.pause = vec![crate::tenant::PauseWindow::parse(&window, "UTC").unwrap()];
        let runs = [
            run(RunStatus::Paused, 1),
            run(RunStatus::Paused, 3),
            run(RunStatus::Applied, 20),
        ];
        assert!(
            due_after_pause(&tenant, &runs, Utc::now(), None).is_none(),
            "still paused"
        );
        tenant.pause.clear();
        let due = due_after_pause(&tenant, &runs, Utc::now(), None).unwrap();
        assert_eq!(due.source.reference, "d1", "the newest of the window");
        let replayed = [run(RunStatus::Applied, 0), runs[0].clone()];
        assert!(
            due_after_pause(&tenant, &replayed, Utc::now(), None).is_none(),
            "applied once"
        );

        // The window is over; its last delivery was a bad file: the paused one before it is due.
        let over = format!(
            "{}..{}",
            today - Duration::days(9),
            today - Duration::days(2)
        );
        tenant.pause = vec![crate::tenant::PauseWindow::parse(&over, "UTC").unwrap()];
        let runs = [run(RunStatus::Rejected, 3), run(RunStatus::Paused, 5)];
        let due = due_after_pause(&tenant, &runs, Utc::now(), None).unwrap();
        assert_eq!(due.source.reference, "d5");
        let after = [run(RunStatus::Rejected, 1), run(RunStatus::Paused, 5)];
        assert!(
            due_after_pause(&tenant, &after, Utc::now(), None).is_none(),
            "a bad file after the window ends the search"
        );
    }

    #[test]
    fn a_delivery_paused_by_the_default_window_is_due_when_it_ends() {
        let mut paused = RunRecord::start(
            "t",
            crate::run::RunSource {
                kind: "csv".into(),
                reference: "d1".into(),
            },
            Utc::now() - Duration::days(1),
        );
        paused.status = RunStatus::Paused;
        let runs = [paused];
        let tenant = crate::tenant::TenantConfig::new("t").unwrap();
        // Month-days around today, wide enough for any time zone.
        let yearly = |from: i64, to: i64| {
            let today = Utc::now().date_naive();
            let md = |d: chrono::NaiveDate| d.format("%m-%d").to_string();
            let text = format!(
                "{}..{}",
                md(today + Duration::days(from)),
                md(today + Duration::days(to))
            );
            crate::tenant::YearlyWindow::parse(&text).unwrap()
        };
        let now = Utc::now();
        let current = yearly(-3, 3);
        assert!(
            due_after_pause(&tenant, &runs, now, Some(&current)).is_none(),
            "still in the default window"
        );
        let ended = yearly(-20, -3);
        let due = due_after_pause(&tenant, &runs, now, Some(&ended)).unwrap();
        assert_eq!(due.source.reference, "d1");
    }

    #[test]
    fn reverts_and_dry_runs_are_not_deliveries() {
        let mut revert = RunRecord::start(
            "t",
            crate::run::RunSource {
                kind: "revert".into(),
                reference: "x".into(),
            },
            Utc::now(),
        );
        revert.status = RunStatus::Applied;
        let mut csv = RunRecord::start(
            "t",
            crate::run::RunSource {
                kind: "csv".into(),
                reference: "y".into(),
            },
            Utc::now() - Duration::days(2),
        );
        csv.status = RunStatus::Held;
        let last = last_delivery(&[revert, csv.clone()]).unwrap();
        assert_eq!((last.run_id, last.status), (csv.run_id, RunStatus::Held));
    }
}
