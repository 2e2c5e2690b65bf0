//! What a run's plan asks of a person, and the run in words.

use super::kind_key;
use crate::plan::KindPlan;
use crate::run::{HoldReason, KindCounts, RunRecord};
use crate::school_year::Calendar;
use crate::tenant::HoldThresholds;
use oneroster::progress::thousands;
use oneroster::{EntityKind, FileMode};

/// Records in `run` what one type's plan asks of a person: a hold (the
/// plan's own reasons; for sessions, also current ones the delivery ends by
/// moving their end dates into the past), and records archived as ended
/// beyond the hold's limits (applied, but told).
pub(super) fn judge_kind(
    run: &mut RunRecord,
    kind: EntityKind,
    mode: FileMode,
    plan: &KindPlan,
    hold: &HoldThresholds,
    calendar: &Calendar,
) {
    let mut reasons: Vec<String> = plan.hold_reason(mode, hold).into_iter().collect();
    if kind == EntityKind::AcademicSessions {
        reasons.extend(calendar.sessions_ended_early());
    }
    if !reasons.is_empty() {
        run.hold.insert(
            kind_key(kind),
            HoldReason {
                active_before: plan.active_before,
                would_archive: plan.would_archive(),
                would_change_identity: plan.identity_changes,
                incoming_rows: plan.incoming_rows,
                rejected_rows: plan.counts.rejected,
                message: reasons.join("; "),
            },
        );
    }
    if let Some(over) = hold.archive_over_limit(plan.counts.ended, plan.active_before) {
        run.mass_ended
            .insert(kind_key(kind), format!("{over} archived as ended"));
    }
}

/// A generation time later than the delivery's receipt (plus
/// [`crate::run::GENERATION_TIME_SKEW`]) cannot be true (an unzip that stamps files in
/// the future, a wrong clock): the receipt time (or the run's start) is used
/// instead, and the run notes it. Such a time would otherwise end records
/// early and make every later delivery `stale`.
pub(super) fn clamp_generation_time(run: &mut RunRecord) {
    let Some(generated) = run.generated_at else {
        return;
    };
    let received = run.received();
    if generated > received + crate::run::GENERATION_TIME_SKEW {
        let note = format!(
            "generation time {} is later than the delivery's receipt ({}); the receipt time is used",
            generated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            received.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        tracing::warn!(tenant = %run.tenant, run = %run.run_id, "{note}");
        run.calendar_notes.push(note);
        run.generated_at = Some(received);
    }
}

/// Counts of a run, for display.
pub fn total_counts(run: &RunRecord) -> KindCounts {
    run.counts
        .values()
        .fold(KindCounts::default(), |mut acc, c| {
            acc.inserted += c.inserted;
            acc.updated += c.updated;
            acc.unchanged += c.unchanged;
            acc.archived += c.archived;
            acc.ended += c.ended;
            acc.unarchived += c.unarchived;
            acc.rejected += c.rejected;
            acc.skipped += c.skipped;
            acc.erased += c.erased;
            acc
        })
}

/// The rollover in words, when the plan archives records as ended:
/// "rollover: 759 classes and 19,553 enrollments of school year 2025–2026
/// archived as ended; 240 users archived as absent (7.5%)".
pub(super) fn rollover_summary(run: &RunRecord, calendar: &Calendar) -> Option<String> {
    let ended: Vec<String> = EntityKind::ALL
        .iter()
        .filter_map(|kind| {
            let n = run.counts.get(&kind_key(*kind))?.ended;
            (n > 0).then(|| format!("{} {}", thousands(n), plural_name(*kind, n)))
        })
        .collect();
    if ended.is_empty() {
        return None;
    }
    let list = match ended.as_slice() {
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        [] => unreachable!("not empty"),
    };
    let years = calendar
        .ended_years_label()
        .map(|y| format!(" of {y}"))
        .unwrap_or_default();
    let mut summary = format!("rollover: {list}{years} archived as ended");
    if let Some(users) = run.counts.get(&kind_key(EntityKind::Users)) {
        let active = users.unchanged + users.updated + users.archived;
        if users.archived > 0 && active > 0 {
            summary.push_str(&format!(
                "; {} users archived as absent ({:.1}%)",
                thousands(users.archived),
                users.archived as f64 * 100.0 / active as f64
            ));
        }
    }
    Some(summary)
}

/// The plural (or singular) of a type's records, in words.
fn plural_name(kind: EntityKind, n: u64) -> &'static str {
    let (one, many) = kind.nouns();
    if n == 1 {
        one
    } else {
        many
    }
}
