//! Retention and forgetting: people's personal data erased when it must be.
//!
//! A person (a user, and the demographics of the same sourcedId) archived
//! longer than the tenant's retention keeps only the fields that are not
//! personal ([`crate::personal`]); so does one person at once on a
//! district's request (`rosterctl users forget`). Each erasure is written
//! under the tenant's lease (it does not race a sync), only to records still
//! as they were read, and marked on the record ([`Erasure`]). A later sync
//! that delivers the person again writes the district's content back, as it
//! would any changed record, and clears the mark.

use crate::artifacts::Artifacts;
use crate::engine::Engine;
use crate::error::SyncError;
use crate::run::{KindCounts, RunRecord, RunSource, RunStatus};
use crate::store::{Erase, Erasure, ErasureCause, Lease, RecordState, Seen, Store, StoredEntity};
use crate::tenant::TenantConfig;
use chrono::{DateTime, Utc};
use oneroster::EntityKind;
use std::collections::BTreeMap;

/// The deployment's default retention of archived people, in days
/// (`RETAIN_ARCHIVED_DAYS`; the template's `RetainArchivedDays`).
pub const RETAIN_ARCHIVED_DAYS_VAR: &str = "RETAIN_ARCHIVED_DAYS";

/// The default when `RETAIN_ARCHIVED_DAYS` is unset or empty.
pub const DEFAULT_RETAIN_ARCHIVED_DAYS: u32 = 365;

/// Reads a value of `RETAIN_ARCHIVED_DAYS`: unset or empty is
/// [`DEFAULT_RETAIN_ARCHIVED_DAYS`]; `0` turns retention off; anything
/// else must be a whole number of days.
pub fn parse_retain_days(value: Option<&str>) -> Result<u32, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(DEFAULT_RETAIN_ARCHIVED_DAYS),
        Some(text) => text.parse().map_err(|_| {
            format!(
                "environment variable {RETAIN_ARCHIVED_DAYS_VAR}: `{text}` is not a number of days (0 turns retention off; unset: {DEFAULT_RETAIN_ARCHIVED_DAYS})"
            )
        }),
    }
}

/// The deployment's default retention from the environment.
pub fn retain_days_from_env() -> Result<u32, String> {
    parse_retain_days(std::env::var(RETAIN_ARCHIVED_DAYS_VAR).ok().as_deref())
}

/// The retention in force for a tenant: its own, else the deployment's
/// `default`; `None` when it is 0 (off: archived people are kept).
pub fn retention_days(tenant: &TenantConfig, default: u32) -> Option<u32> {
    Some(tenant.retain_archived_days.unwrap_or(default)).filter(|days| *days > 0)
}

/// People archived before this instant are past a retention of `days` at `now`.
pub fn cutoff(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now.checked_sub_signed(chrono::Duration::days(i64::from(days)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// What a retention pass of one tenant came to.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionOutcome {
    /// The retention in force (`None`: off for the tenant).
    pub days: Option<u32>,
    /// Archived before this: past the retention.
    pub cutoff: Option<DateTime<Utc>>,
    /// Records found past the retention, per type (a dry run erases none).
    pub due: BTreeMap<String, u64>,
    /// The pass's run record: stored when there was something to erase
    /// (applied, busy or failed); `None` for a pass with nothing to do or a
    /// dry run.
    pub run: Option<RunRecord>,
}

impl RetentionOutcome {
    /// Records erased, all types together.
    pub fn erased(&self) -> u64 {
        self.run
            .as_ref()
            .map_or(0, |r| r.counts.values().map(|c| c.erased).sum::<u64>())
    }
}

/// What forgetting one person came to.
#[derive(Debug, Clone, PartialEq)]
pub enum ForgetOutcome {
    /// The run that erased them (applied), or found the tenant busy.
    Run(Box<RunRecord>),
    /// Their personal data was erased already (and no sync wrote it back since).
    Already(Erasure),
}

impl<S: Store, A: Artifacts> Engine<'_, S, A> {
    /// Erases the personal fields of the tenant's people archived longer
    /// than its retention (`default_days` for a tenant without its own).
    /// With `dry_run` in the engine's options, only counts them.
    pub async fn retain(
        &self,
        tenant: &TenantConfig,
        default_days: u32,
        now: DateTime<Utc>,
    ) -> Result<RetentionOutcome, SyncError> {
        let Some(days) = retention_days(tenant, default_days) else {
            return Ok(RetentionOutcome {
                days: None,
                cutoff: None,
                due: BTreeMap::new(),
                run: None,
            });
        };
        let before = cutoff(now, days);
        let due = self.due_for_retention(&tenant.tenant, before).await?;
        let mut outcome = RetentionOutcome {
            days: Some(days),
            cutoff: Some(before),
            due: count_by_kind(&due),
            run: None,
        };
        if due.is_empty() || self.options.dry_run {
            return Ok(outcome);
        }
        let source = RunSource {
            kind: "retention".into(),
            reference: format!(
                "people archived more than {days} days (before {})",
                before.format("%Y-%m-%d")
            ),
        };
        let mut run = RunRecord::start(&tenant.tenant, source, now);
        run.bulk = Some(false);
        let cause = ErasureCause::Retention { days };
        let erases = marked(due, &run.run_id, now, cause);
        let what = format!("archived more than {days} days");
        outcome.run = Some(self.erase_as_run(run, &erases, &what).await?);
        Ok(outcome)
    }

    /// Erases one person's personal fields (their user record and the
    /// demographics of the same sourcedId), active or archived, for `by`.
    pub async fn forget(
        &self,
        tenant: &str,
        sourced_id: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<ForgetOutcome, SyncError> {
        if self.store.get_tenant(tenant).await?.is_none() {
            return Err(SyncError::NotFound(format!(
                "no tenant `{tenant}`; nothing was erased"
            )));
        }
        let Some(user) = self
            .store
            .get_entity(tenant, EntityKind::Users, sourced_id)
            .await?
        else {
            return Err(SyncError::NotFound(format!(
                "tenant `{tenant}` has no user `{sourced_id}`; nothing was erased"
            )));
        };
        let demographics = self
            .store
            .get_entity(tenant, EntityKind::Demographics, sourced_id)
            .await?;
        let already = user.erasure.clone();
        let people: Vec<StoredEntity> = std::iter::once(user)
            .chain(demographics)
            .filter(|e| e.erasure.is_none())
            .collect();
        if let (Some(erasure), true) = (already, people.is_empty()) {
            return Ok(ForgetOutcome::Already(erasure));
        }
        let source = RunSource {
            kind: "forget".into(),
            reference: format!("users/{sourced_id}"),
        };
        let mut run = RunRecord::start(tenant, source, now);
        run.bulk = Some(false);
        run.decided_by = Some(by.to_string());
        let cause = ErasureCause::Forget { by: by.to_string() };
        let erases = marked(people, &run.run_id, now, cause);
        let what = format!("at the district's request (by {by})");
        let run = self.erase_as_run(run, &erases, &what).await?;
        Ok(ForgetOutcome::Run(Box::new(run)))
    }

    /// The tenant's users and demographics archived before `before` and not
    /// erased, with the demographics of those users whatever their state.
    async fn due_for_retention(
        &self,
        tenant: &str,
        before: DateTime<Utc>,
    ) -> Result<Vec<StoredEntity>, SyncError> {
        let users = self
            .store
            .archived_before(tenant, EntityKind::Users, before)
            .await?;
        let mut demographics = self
            .store
            .archived_before(tenant, EntityKind::Demographics, before)
            .await?;
        let listed: std::collections::HashSet<String> =
            demographics.iter().map(|d| d.sourced_id.clone()).collect();
        let others: Vec<String> = users
            .iter()
            .map(|u| u.sourced_id.clone())
            .filter(|id| !listed.contains(id))
            .collect();
        let states = self
            .store
            .record_states(tenant, EntityKind::Demographics, &others)
            .await?;
        demographics.extend(
            states
                .into_iter()
                .filter(|(_, state)| {
                    !crate::personal::is_erased(EntityKind::Demographics, &state.sis)
                })
                .map(|(id, state)| from_state(EntityKind::Demographics, id, state)),
        );
        Ok(users.into_iter().chain(demographics).collect())
    }

    /// Records `run`, takes the tenant's lease, erases under it, and
    /// records the outcome (applied with counts, busy, or failed).
    async fn erase_as_run(
        &self,
        mut run: RunRecord,
        erases: &[Erase],
        what: &str,
    ) -> Result<RunRecord, SyncError> {
        let tenant = run.tenant.clone();
        let Some(lease) = self.start_under_lease(&mut run).await? else {
            return Ok(run);
        };
        let result = self
            .keeping_lease(&tenant, &lease, self.erase_by_kind(&tenant, &lease, erases))
            .await;
        let released = self.store.release_lease(&tenant, &lease).await;
        let counts = match released.map_err(SyncError::from).and(result) {
            Ok(counts) => counts,
            Err(e) => return Err(self.fail(run, e).await),
        };
        for (kind, erased) in &counts {
            run.counts.insert(
                kind.clone(),
                KindCounts {
                    erased: *erased,
                    ..KindCounts::default()
                },
            );
        }
        run.items_written = counts.values().sum();
        let message = format!(
            "erased the personal data of {} {what}{}",
            describe_counts(&counts),
            skipped_note(erases.len() as u64, run.items_written)
        );
        run.finish(RunStatus::Applied, message, chrono::Utc::now());
        self.store.put_run(&run).await?;
        tracing::info!(tenant = %tenant, run_id = %run.run_id, erased = run.items_written, "personal data erased");
        Ok(run)
    }

    /// Erases under `lease`, one store call per type; the number erased per type.
    async fn erase_by_kind(
        &self,
        tenant: &str,
        lease: &Lease,
        erases: &[Erase],
    ) -> Result<BTreeMap<String, u64>, SyncError> {
        let mut counts = BTreeMap::new();
        for kind in [EntityKind::Users, EntityKind::Demographics] {
            let of_kind: Vec<Erase> = erases.iter().filter(|e| e.kind == kind).cloned().collect();
            if of_kind.is_empty() {
                continue;
            }
            let erased = self.store.erase(tenant, lease, &of_kind).await?;
            counts.insert(kind.file_name().to_string(), erased);
        }
        Ok(counts)
    }
}

/// A record to erase from its stored state (read in a batch).
fn from_state(kind: EntityKind, sourced_id: String, state: RecordState) -> StoredEntity {
    StoredEntity {
        kind,
        sourced_id,
        sis: state.sis,
        archive: state.archive,
        first_seen_at: state.first_seen_at,
        first_seen_run: state.first_seen_run,
        updated_at: state.updated_at,
        updated_run: state.updated_run,
        primary_admin: false,
        provisional: state.provisional,
        rekey: Default::default(),
        erasure: None,
    }
}

/// The erasures of `records`, each marked as done by `run` at `at` for `cause`.
fn marked(
    records: Vec<StoredEntity>,
    run: &str,
    at: DateTime<Utc>,
    cause: ErasureCause,
) -> Vec<Erase> {
    records
        .iter()
        .map(|record| Erase {
            kind: record.kind,
            sourced_id: record.sourced_id.clone(),
            sis: crate::personal::erase(record.kind, &record.sis),
            seen: Seen::of(record),
            erasure: Erasure {
                at,
                run: run.to_string(),
                cause: cause.clone(),
            },
        })
        .collect()
}

fn count_by_kind(records: &[StoredEntity]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for record in records {
        *counts
            .entry(record.kind.file_name().to_string())
            .or_insert(0) += 1;
    }
    counts
}

/// "3 users and 2 demographics records".
fn describe_counts(counts: &BTreeMap<String, u64>) -> String {
    let users = counts.get("users").copied().unwrap_or(0);
    let demographics = counts.get("demographics").copied().unwrap_or(0);
    format!("{users} user(s) and {demographics} demographics record(s)")
}

/// ", 2 left alone: written since they were read" when some were not erased.
fn skipped_note(planned: u64, erased: u64) -> String {
    if planned > erased {
        format!(
            "; {} left alone: written since they were read (re-delivered, or erased already)",
            planned - erased
        )
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_retention_is_a_year_zero_is_off_and_junk_is_refused() {
        assert_eq!(parse_retain_days(None), Ok(365));
        assert_eq!(parse_retain_days(Some(" ")), Ok(365));
        assert_eq!(parse_retain_days(Some("30")), Ok(30));
        assert_eq!(parse_retain_days(Some("0")), Ok(0));
        let err = parse_retain_days(Some("a year")).unwrap_err();
        assert!(
            err.contains("RETAIN_ARCHIVED_DAYS") && err.contains("a year"),
            "{err}"
        );
        let mut tenant = TenantConfig::new("d1").unwrap();
        assert_eq!(retention_days(&tenant, 365), Some(365));
        assert_eq!(retention_days(&tenant, 0), None);
        tenant.retain_archived_days = Some(30);
        assert_eq!(retention_days(&tenant, 0), Some(30));
        tenant.retain_archived_days = Some(0);
        assert_eq!(
            retention_days(&tenant, 365),
            None,
            "the tenant turned it off"
        );
    }

    #[test]
    fn the_cutoff_is_the_retention_before_now_and_never_panics() {
        let now: DateTime<Utc> = "2027-03-01T06:00:00Z".parse().unwrap();
        assert_eq!(
            cutoff(now, 365),
            "2026-03-01T06:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            cutoff(now, 1),
            "2027-02-28T06:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            cutoff(DateTime::<Utc>::MIN_UTC, u32::MAX),
            DateTime::<Utc>::MIN_UTC
        );
    }
}
