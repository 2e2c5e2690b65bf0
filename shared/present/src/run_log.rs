//! The per-run log lines every function writes: one structured summary line
//! and one CloudWatch EMF metrics line (namespace `RosterBridge`, dimensions
//! `Stack`, `Function` and `Status`). Ids and counts only: never names or emails.

use cloud::metrics::{stack_line, Metric};
use roster::engine::total_counts;
use roster::run::RunRecord;
use serde_json::json;
use std::time::Duration;

/// Writes the summary line (tracing) and the EMF line (stdout) of a run.
pub fn emit(function: &str, run: &RunRecord, elapsed: Duration, object_key: Option<&str>) {
    let totals = total_counts(run);
    tracing::info!(
        function,
        tenant = %run.tenant,
        run_id = %run.run_id,
        key = object_key.unwrap_or(""),
        source = %run.source.kind,
        status = run.status.as_str(),
        inserted = totals.inserted,
        updated = totals.updated,
        unchanged = totals.unchanged,
        archived = totals.archived,
        rejected = totals.rejected,
        items_written = run.items_written,
        duration_ms = elapsed.as_millis() as u64,
        "run finished"
    );
    println!(
        "{}",
        metrics_line(
            &cloud::metrics::stack_name(),
            function,
            run,
            elapsed,
            chrono::Utc::now().timestamp_millis()
        )
    );
}

/// The EMF line of a run. Dimensions: `Stack` (from `STACK_NAME`, so that
/// two deployments in one account do not trigger each other's alarms),
/// `Function`, `Status`.
pub fn metrics_line(
    stack: &str,
    function: &str,
    run: &RunRecord,
    elapsed: Duration,
    timestamp_ms: i64,
) -> String {
    let totals = total_counts(run);
    let rows_read = totals.inserted
        + totals.updated
        + totals.unchanged
        + totals.unarchived
        + totals.rejected
        + totals.skipped;
    let metrics = [
        Metric::count("RowsRead", rows_read),
        Metric::count("RecordsWritten", run.items_written),
        Metric::count("RecordsArchived", totals.archived),
        Metric::count("RecordsEnded", totals.ended),
        Metric::count("RowsRejected", totals.rejected),
        // People whose personal data a retention pass or a forget erased.
        Metric::count("RecordsErased", totals.erased),
        // 1 for a run that archived records as ended beyond the hold's limits
        // (its alarm tells the operators; the district gets a notice).
        Metric::count("MassEndedRuns", u64::from(!run.mass_ended.is_empty())),
        // Schools whose part of an applied run was held apart for approval.
        Metric::count(
            "SchoolsHeldApart",
            if run.held_apart.is_some() {
                run.held_schools.len() as u64
            } else {
                0
            },
        ),
        Metric::millis("DurationMs", elapsed),
    ];
    stack_line(
        stack,
        &[("Function", function), ("Status", run.status.as_str())],
        &metrics,
        &[("tenant", json!(run.tenant)), ("run_id", json!(run.run_id))],
        timestamp_ms,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster::run::{RunSource, RunStatus};

    #[test]
    fn a_run_line_has_ids_counts_and_the_status_dimension() {
        let mut run = RunRecord::start(
            "d1",
            RunSource {
                kind: "api".into(),
                reference: "https://x".into(),
            },
            chrono::Utc::now(),
        );
        run.finish(RunStatus::Held, "held", chrono::Utc::now());
        run.items_written = 0;
        let line: serde_json::Value = serde_json::from_str(&metrics_line(
            "roster-dev",
            "oneroster-pull",
            &run,
            Duration::from_millis(1500),
            1,
        ))
        .unwrap();
        assert_eq!(line["Stack"], "roster-dev");
        assert_eq!(line["Function"], "oneroster-pull");
        assert_eq!(line["Status"], "held");
        assert_eq!(line["DurationMs"], 1500.0);
        assert_eq!(line["tenant"], "d1");
        assert_eq!(line["MassEndedRuns"], 0.0);
        assert_eq!(line["RecordsErased"], 0.0);
        run.mass_ended.insert("classes".into(), "82 of 82".into());
        let line: serde_json::Value = serde_json::from_str(&metrics_line(
            "roster-dev",
            "csv-ingest",
            &run,
            Duration::from_millis(1),
            1,
        ))
        .unwrap();
        assert_eq!(line["MassEndedRuns"], 1.0);
    }
}
