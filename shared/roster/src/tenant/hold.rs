//! The safety hold's thresholds: a tenant's own or the deployment's.

use serde::{Deserialize, Serialize};

/// Safety-hold thresholds: how much a delivery may archive (bulk files), and
/// how many users' sign-in keys it may rewrite (bulk or delta), before it
/// waits for a person.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HoldThresholds {
    /// Hold when a bulk sync would archive more than this share (percent) of a
    /// type's active records (records whose time is over aside)...
    pub max_archive_percent: f64,
    /// ...and at least this many records.
    pub min_archive_count: u64,
    /// Hold when a sync would change the email or username of more than this
    /// share (percent) of a tenant's active users...
    #[serde(default = "default_identity_percent")]
    pub max_identity_change_percent: f64,
    /// ...and at least this many users.
    #[serde(default = "default_identity_count")]
    pub min_identity_change_count: u64,
    /// Hold when a sync's reader and reference checks reject more than this
    /// share (percent) of a type's delivered rows...
    #[serde(default = "default_rejected_percent")]
    pub max_rejected_percent: f64,
    /// ...and at least this many rows.
    #[serde(default = "default_rejected_count")]
    pub min_rejected_count: u64,
    /// Hold one school's part of a bulk sync when it would archive more than
    /// this share (percent) of that school's active classes, enrollments or
    /// users...
    #[serde(default = "default_school_percent")]
    pub max_school_archive_percent: f64,
    /// ...and at least this many of them.
    #[serde(default = "default_school_count")]
    pub min_school_archive_count: u64,
}

fn default_school_percent() -> f64 {
    30.0
}

fn default_school_count() -> u64 {
    25
}

fn default_rejected_percent() -> f64 {
    10.0
}

fn default_rejected_count() -> u64 {
    25
}

fn default_identity_percent() -> f64 {
    10.0
}

fn default_identity_count() -> u64 {
    25
}

impl HoldThresholds {
    /// When archiving `archive` of `active` active records goes past the
    /// limit (at least the minimum count, and more than the share), says so:
    /// "`archive` of `active` active records (n%; the limit is …)".
    pub fn archive_over_limit(&self, archive: u64, active: u64) -> Option<String> {
        if active == 0 {
            return None;
        }
        let share = archive as f64 * 100.0 / active as f64;
        (archive >= self.min_archive_count && share > self.max_archive_percent).then(|| {
            format!(
                "{archive} of {active} active records ({share:.1}%; the limit is {}% and at least {})",
                self.max_archive_percent, self.min_archive_count
            )
        })
    }

    /// When rejecting `rejected` of a type's `rows` delivered rows goes past
    /// the limit (at least the minimum count, and more than the share), says
    /// so: "`rejected` of `rows` rows (n%; the limit is …)".
    pub fn rejected_over_limit(&self, rejected: u64, rows: u64) -> Option<String> {
        if rows == 0 {
            return None;
        }
        let share = rejected as f64 * 100.0 / rows as f64;
        (rejected >= self.min_rejected_count && share > self.max_rejected_percent).then(|| {
            format!(
                "{rejected} of {rows} rows ({share:.1}%; the limit is {}% and at least {})",
                self.max_rejected_percent, self.min_rejected_count
            )
        })
    }

    /// Whether archiving `archive` of one school's `active` active records
    /// of a type goes past the per-school limit (at least the minimum count,
    /// and more than the share).
    pub fn school_archive_over_limit(&self, archive: u64, active: u64) -> bool {
        active > 0
            && archive >= self.min_school_archive_count
            && archive as f64 * 100.0 / active as f64 > self.max_school_archive_percent
    }

    /// The deployment's defaults: `HOLD_MAX_ARCHIVE_PERCENT`,
    /// `HOLD_MIN_ARCHIVE_COUNT`, `HOLD_MAX_IDENTITY_CHANGE_PERCENT`,
    /// `HOLD_MIN_IDENTITY_CHANGE_COUNT`, `HOLD_MAX_REJECTED_PERCENT`,
    /// `HOLD_MIN_REJECTED_COUNT`, `HOLD_MAX_SCHOOL_ARCHIVE_PERCENT` and
    /// `HOLD_MIN_SCHOOL_ARCHIVE_COUNT` when set (the template passes them),
    /// else 10% and 25 for each (30% and 25 for one school).
    pub fn from_env() -> HoldThresholds {
        let default = HoldThresholds::default();
        let read = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        let percent = |name: &str, default: f64| {
            read(name)
                .filter(|p| (0.0..=100.0).contains(p))
                .unwrap_or(default)
        };
        let count = |name: &str, default: u64| {
            read(name)
                .filter(|c| *c >= 0.0)
                .map(|c| c as u64)
                .unwrap_or(default)
        };
        HoldThresholds {
            max_archive_percent: percent("HOLD_MAX_ARCHIVE_PERCENT", default.max_archive_percent),
            min_archive_count: count("HOLD_MIN_ARCHIVE_COUNT", default.min_archive_count),
            max_identity_change_percent: percent(
                "HOLD_MAX_IDENTITY_CHANGE_PERCENT",
                default.max_identity_change_percent,
            ),
            min_identity_change_count: count(
                "HOLD_MIN_IDENTITY_CHANGE_COUNT",
                default.min_identity_change_count,
            ),
            max_rejected_percent: percent(
                "HOLD_MAX_REJECTED_PERCENT",
                default.max_rejected_percent,
            ),
            min_rejected_count: count("HOLD_MIN_REJECTED_COUNT", default.min_rejected_count),
            max_school_archive_percent: percent(
                "HOLD_MAX_SCHOOL_ARCHIVE_PERCENT",
                default.max_school_archive_percent,
            ),
            min_school_archive_count: count(
                "HOLD_MIN_SCHOOL_ARCHIVE_COUNT",
                default.min_school_archive_count,
            ),
        }
    }
}

impl Default for HoldThresholds {
    fn default() -> Self {
        HoldThresholds {
            max_archive_percent: 10.0,
            min_archive_count: 25,
            max_identity_change_percent: default_identity_percent(),
            min_identity_change_count: default_identity_count(),
            max_rejected_percent: default_rejected_percent(),
            min_rejected_count: default_rejected_count(),
            max_school_archive_percent: default_school_percent(),
            min_school_archive_count: default_school_count(),
        }
    }
}
