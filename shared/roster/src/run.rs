//! Run records: one per sync attempt, whatever its outcome.
//!
//! The process a local run runs in, and how to tell it has gone, is in
//! `process`.

use chrono::{DateTime, Utc};
use oneroster::report::ApiLocation;
use oneroster::Issue;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod held;
mod process;

pub use held::{HoldReason, RekeySummary, SchoolArchive, SchoolHold};
pub use process::RunProcess;

/// How many errors a run record keeps (the full report is stored beside it).
pub const MAX_RUN_ERRORS: usize = 100;

/// Outcome of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Planning or applying.
    Running,
    /// Applied (possibly with nothing to write).
    Applied,
    /// Not applied: the plan would archive too much; awaiting approval.
    Held,
    /// The package was rejected by validation.
    Rejected,
    /// Older than the last applied bulk delivery.
    Stale,
    /// Another run of the tenant held the lease.
    Busy,
    /// Failed (store or I/O error, or interrupted); nothing is assumed applied.
    Failed,
    /// A held run an operator discarded.
    Discarded,
    /// Received during one of the tenant's pause windows: validated and
    /// reported, not applied (the newest of the window is applied when it ends).
    Paused,
    /// A dry run: planned, nothing written, not stored.
    Planned,
    /// Stopped before a time limit (the Lambda deadline) part-way through
    /// applying; a new invocation continues by re-planning against the store.
    Continued,
}

impl RunStatus {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Applied => "applied",
            RunStatus::Held => "held",
            RunStatus::Rejected => "rejected",
            RunStatus::Stale => "stale",
            RunStatus::Busy => "busy",
            RunStatus::Failed => "failed",
            RunStatus::Discarded => "discarded",
            RunStatus::Paused => "paused",
            RunStatus::Planned => "planned",
            RunStatus::Continued => "continued",
        }
    }
}

/// Where the data of a run came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSource {
    /// `csv` or `api`.
    pub kind: String,
    /// S3 bucket/key/etag, a local path, or the API URL.
    pub reference: String,
}

/// The latest generation time a delivery may claim past its receipt: clocks
/// of the district's machines and ours may differ this much.
pub const GENERATION_TIME_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// When a delivery was made, as it says, and when it reached us: the times
/// a run is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// The generation time the delivery claims (a file's time, an option).
    pub generated_at: Option<DateTime<Utc>>,
    /// When it was received.
    pub received_at: DateTime<Utc>,
}

impl Delivered {
    /// Received now; generated when it says.
    pub fn now(generated_at: Option<DateTime<Utc>>) -> Delivered {
        Delivered {
            generated_at,
            received_at: Utc::now(),
        }
    }

    /// Generated and received at `time` (an S3 object's time; a pull's start).
    pub fn at(time: DateTime<Utc>) -> Delivered {
        Delivered {
            generated_at: Some(time),
            received_at: time,
        }
    }
}

/// What a store's requests consumed (DynamoDB: `ReturnConsumedCapacity: TOTAL`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreUsage {
    /// Requests sent (each page of a query, each batch, each retry).
    pub requests: u64,
    /// Read capacity units.
    pub read_units: f64,
    /// Write capacity units.
    pub write_units: f64,
    /// Requests sent again: the SDK's own retries of throttled, failed or
    /// unanswered requests, and the store's re-sends of what DynamoDB left
    /// unprocessed or refused as retryable (0 on a run without faults).
    #[serde(default)]
    pub retries: u64,
}

impl StoreUsage {
    /// What was consumed since `earlier`.
    pub fn since(self, earlier: StoreUsage) -> StoreUsage {
        StoreUsage {
            requests: self.requests.saturating_sub(earlier.requests),
            read_units: (self.read_units - earlier.read_units).max(0.0),
            write_units: (self.write_units - earlier.write_units).max(0.0),
            retries: self.retries.saturating_sub(earlier.retries),
        }
    }

    /// This and `other` together (a held run's planning and its approval).
    pub fn plus(self, other: StoreUsage) -> StoreUsage {
        StoreUsage {
            requests: self.requests + other.requests,
            read_units: self.read_units + other.read_units,
            write_units: self.write_units + other.write_units,
            retries: self.retries + other.retries,
        }
    }
}

/// Counts for one entity type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounts {
    /// New records.
    pub inserted: u64,
    /// Records whose SIS content changed.
    pub updated: u64,
    /// Records already as the SIS says.
    pub unchanged: u64,
    /// Records archived because they were absent from a bulk file while
    /// their time was not over, or `tobedeleted` in a delta.
    pub archived: u64,
    /// Records archived because they were absent from a bulk file after their
    /// time was over (a past school year's sessions, classes, enrollments):
    /// they never count toward the safety hold.
    #[serde(default)]
    pub ended: u64,
    /// Archived records made active again.
    pub unarchived: u64,
    /// Rows rejected (by validation or by the engine's reference checks).
    pub rejected: u64,
    /// Rows skipped by policy.
    pub skipped: u64,
    /// People whose personal fields were erased (retention, `users forget`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub erased: u64,
}

impl KindCounts {
    /// The names of [`KindCounts::shown`]'s columns, for people (notices, report pages).
    pub const SHOWN: [&'static str; 6] = [
        "Inserted",
        "Updated",
        "Archived",
        "Ended",
        "Un-archived",
        "Rows rejected",
    ];

    /// The counts a person is shown, in the order of [`KindCounts::SHOWN`].
    pub fn shown(&self) -> [u64; 6] {
        [
            self.inserted,
            self.updated,
            self.archived,
            self.ended,
            self.unarchived,
            self.rejected,
        ]
    }

    /// Records this plan writes.
    pub fn writes(&self) -> u64 {
        self.inserted + self.updated + self.archived + self.ended + self.unarchived
    }
}

/// An error as a run record keeps it: located and coded, without the
/// offending value (which may be personal data; the full report has it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunIssue {
    /// File name without extension.
    pub file: String,
    /// 1-based line (header = 1).
    pub line: Option<u64>,
    /// Column header name.
    pub column: Option<String>,
    /// Stable code.
    pub code: String,
    /// Message.
    pub message: String,
    /// For a record pulled from a OneRoster API: the record as the district
    /// sent it (then `line`, a line of a temporary file, is `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<ApiLocation>,
}

impl RunIssue {
    /// Where the issue is: `users.csv:4`, or `users record `u1` (page at offset 0)`.
    pub fn place(&self) -> String {
        match (&self.record, self.line) {
            (Some(record), _) => record.render(),
            (None, Some(line)) => format!("{}:{line}", self.file_name()),
            (None, None) => self.file_name(),
        }
    }

    /// The file as the district knows it: the reader names a file by its
    /// type (`users`), the district knows `users.csv`.
    pub fn file_name(&self) -> String {
        if self.file.contains('.') || self.file == oneroster::report::PACKAGE_FILE {
            self.file.clone()
        } else {
            format!("{}.csv", self.file)
        }
    }
}

impl From<&Issue> for RunIssue {
    fn from(issue: &Issue) -> Self {
        RunIssue {
            file: issue.file.clone(),
            line: issue.line,
            column: issue.column.clone(),
            code: issue.code.to_string(),
            message: issue.message.clone(),
            record: issue.record.clone(),
        }
    }
}

/// One sync attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Run id: time-ordered (`YYYYMMDDTHHMMSSZ-xxxxxxxx`).
    pub run_id: String,
    /// Tenant.
    pub tenant: String,
    /// Where the data came from.
    pub source: RunSource,
    /// When the delivery was generated (S3 object time, file time or pull
    /// start), never later than its receipt (see `Delivered`).
    pub generated_at: Option<DateTime<Utc>>,
    /// When the delivery reached us (S3 object time, the CLI's clock, the
    /// pull's start); runs recorded before it was kept have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<Utc>>,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End (None while running).
    pub ended_at: Option<DateTime<Utc>>,
    /// Outcome.
    pub status: RunStatus,
    /// One line saying what happened.
    pub message: String,
    /// Counts per entity type (file name).
    pub counts: BTreeMap<String, KindCounts>,
    /// Why the run was held, per type.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hold: BTreeMap<String, HoldReason>,
    /// Schools whose part of the delivery was held apart (the per-school
    /// hold): on the run that applied the rest, and on the held run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_schools: Vec<SchoolHold>,
    /// On a run that applied a delivery but for some schools: the held run
    /// that keeps their part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_apart: Option<String>,
    /// On a held run of some schools' part: the run that applied the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_from: Option<String>,
    /// On a held run whose users look re-keyed: the proposed mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rekey: Option<RekeySummary>,
    /// The first errors (validation and engine), at most [`MAX_RUN_ERRORS`].
    pub errors: Vec<RunIssue>,
    /// All errors.
    pub error_count: u64,
    /// Engine warnings (e.g. a Primary Administrator archived).
    pub warnings: Vec<String>,
    /// What the delivery did not bring and the run went on without, in words
    /// for the district ("demographics: the API answered HTTP 404 …"): the
    /// notice and `runs show` list them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delivery_notes: Vec<String>,
    /// Where the full validation report is stored.
    pub report_ref: Option<String>,
    /// Where the plan of a held run is stored.
    pub plan_ref: Option<String>,
    /// Who approved or discarded a held run, and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// Items written to the store.
    pub items_written: u64,
    /// What the run's requests to the store consumed (DynamoDB: requests,
    /// read and write capacity units; absent for stores that do not count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_usage: Option<StoreUsage>,
    /// A school year's rollover, in words, when the run archived records as
    /// ended ("rollover: 759 classes and 19,553 enrollments of school year
    /// 2025–2026 archived as ended; 240 users archived as absent (7.5%)").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollover: Option<String>,
    /// What the delivery said of time that the school-year rules did not
    /// follow ("session as-2027 end date moved from 2027-06-11 to
    /// 2026-08-31"; a generation time later than the receipt): a held run
    /// names them as the why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calendar_notes: Vec<String>,
    /// Whether the delivery had a bulk file (then its generation time bounds
    /// later deliveries); kept so that an approval records it as planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk: Option<bool>,
    /// Types whose records the run archived as ended beyond the hold's
    /// thresholds, with the numbers ("classes: 81 of 82 active records
    /// (98.8%; …)"): applied, yet worth a notice to the district and the
    /// operators.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mass_ended: BTreeMap<String, String>,
    /// Where the before-images of an applied run are stored: each record's
    /// state just before the run wrote it (`rosterctl runs revert`, history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_ref: Option<String>,
    /// For a revert: the run it reverts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverts: Option<String>,
    /// For a reverted run: the run that reverted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverted_by: Option<String>,
    /// For a revert of a re-key: the pairs it unlinked, kept with it (what
    /// a revert of the revert links again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlinked_ref: Option<String>,
    /// The process the run ran in, when on an operator's machine (`rosterctl`):
    /// a later run in the same machine's boot and PID namespace takes the
    /// tenant's lease over at once when that process no longer exists
    /// ([`RunProcess::is_gone_from`]). Absent in Lambda.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<RunProcess>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl RunRecord {
    /// The run's counts per type, in the order of the OneRoster files.
    pub fn counts_by_kind(&self) -> impl Iterator<Item = (&'static str, &KindCounts)> {
        oneroster::EntityKind::ALL.iter().filter_map(|kind| {
            self.counts
                .get(kind.file_name())
                .map(|c| (kind.file_name(), c))
        })
    }

    /// A new run, `running`.
    pub fn start(tenant: &str, source: RunSource, now: DateTime<Utc>) -> RunRecord {
        RunRecord {
            run_id: new_run_id(now),
            tenant: tenant.to_string(),
            source,
            generated_at: None,
            received_at: None,
            started_at: now,
            ended_at: None,
            status: RunStatus::Running,
            message: String::new(),
            counts: BTreeMap::new(),
            hold: BTreeMap::new(),
            held_schools: Vec::new(),
            held_apart: None,
            held_from: None,
            rekey: None,
            errors: Vec::new(),
            error_count: 0,
            warnings: Vec::new(),
            delivery_notes: Vec::new(),
            report_ref: None,
            plan_ref: None,
            decided_by: None,
            items_written: 0,
            store_usage: None,
            rollover: None,
            calendar_notes: Vec::new(),
            bulk: None,
            mass_ended: BTreeMap::new(),
            before_ref: None,
            reverts: None,
            reverted_by: None,
            unlinked_ref: None,
            process: None,
        }
    }

    /// When the delivery reached us (runs recorded before it was kept: the
    /// run's start).
    pub fn received(&self) -> DateTime<Utc> {
        self.received_at.unwrap_or(self.started_at)
    }

    /// Whether the delivery had a bulk file (runs recorded before that was
    /// kept: those with a generation time, as they were judged then).
    pub fn had_bulk(&self) -> bool {
        self.bulk.unwrap_or(self.generated_at.is_some())
    }

    /// Ends the run.
    pub fn finish(&mut self, status: RunStatus, message: impl Into<String>, now: DateTime<Utc>) {
        self.status = status;
        self.message = message.into();
        self.ended_at = Some(now);
    }

    /// Adds an error, keeping at most [`MAX_RUN_ERRORS`].
    pub fn push_error(&mut self, issue: &Issue) {
        self.error_count += 1;
        if self.errors.len() < MAX_RUN_ERRORS {
            self.errors.push(RunIssue::from(issue));
        }
    }

    /// Total records written or to be written.
    pub fn total_writes(&self) -> u64 {
        self.counts.values().map(KindCounts::writes).sum()
    }
}

/// A new time-ordered run id.
pub fn new_run_id(now: DateTime<Utc>) -> String {
    let suffix: u32 = rand::thread_rng().gen();
    format!(
        "{}-{suffix:08x}",
        now.format("%Y%m%dT%H%M%S%.3fZ")
            .to_string()
            .replace('.', "")
    )
}

/// When the run of id `run_id` started, to the second (`None`: not a run id).
pub fn run_id_time(run_id: &str) -> Option<DateTime<Utc>> {
    let stamp = run_id.get(..15)?;
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%S")
        .ok()
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_id_says_when_the_run_started() {
        let now: DateTime<Utc> = "2026-03-04T05:06:07.890Z".parse().unwrap();
        assert_eq!(
            run_id_time(&new_run_id(now)),
            Some("2026-03-04T05:06:07Z".parse().unwrap())
        );
        for not_one in ["", "approve-x", "2026", "20261304T000000000Z-1", "é"] {
            assert_eq!(run_id_time(not_one), None, "{not_one}");
        }
    }

    #[test]
    fn run_ids_sort_by_time() {
        let a = new_run_id("2026-01-01T00:00:00Z".parse().unwrap());
        let b = new_run_id("2026-01-01T00:00:01Z".parse().unwrap());
        assert!(a < b, "{a} < {b}");
        assert_eq!(a.len(), "20260101T000000000Z-00000000".len());
    }

    #[test]
    fn errors_are_capped_but_counted() {
        let mut run = RunRecord::start(
            "t",
            RunSource {
                kind: "csv".into(),
                reference: "x".into(),
            },
            Utc::now(),
        );
        for _ in 0..150 {
            run.push_error(&Issue::new(
                oneroster::Severity::Error,
                "users",
                oneroster::IssueCode::Io,
                "m",
            ));
        }
        assert_eq!((run.errors.len(), run.error_count), (MAX_RUN_ERRORS, 150));
    }
}
