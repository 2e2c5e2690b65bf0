//! Tenant configuration (what a district imports and how syncs are guarded)
//! and tenant sync state (what has been applied).

use chrono::{DateTime, Utc};
use oneroster::{Role, RoleSet};
use serde::{Deserialize, Serialize};

mod hold;
mod pause;
pub use hold::HoldThresholds;
pub use pause::{PauseWindow, YearlyWindow, DEFAULT_PAUSE_WINDOW_VAR};

/// The district's time zone when it has no pull schedule to say it (a pull
/// schedule set without one, and the deployment's default pause window).
pub const DEFAULT_TIMEZONE: &str = "America/New_York";

/// Why a tenant id is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tenant id `{0}` is not valid: use 1-64 characters a-z, 0-9, `-` and `_`, starting with a letter or digit")]
pub struct InvalidTenantId(pub String);

/// Checks a tenant id: it becomes part of keys, S3 prefixes and schedule names.
pub fn check_tenant_id(id: &str) -> Result<(), InvalidTenantId> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(InvalidTenantId(id.to_string()))
    }
}

/// How a district delivers its roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Connection {
    /// ClassLink's Roster Server uploads CSV packages over SFTP (to S3).
    Sftp,
    /// We pull from the district's OneRoster 1.1 API.
    Api,
}

fn default_connections() -> Vec<Connection> {
    vec![Connection::Sftp]
}

/// A district's configuration. Fields beyond the sync engine's and the
/// ingest's needs (schedules, SSO) are added by the issues that use them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantConfig {
    /// Tenant id (lower-case; see [`check_tenant_id`]).
    pub tenant: String,
    /// Display name.
    pub display_name: String,
    /// User roles imported (others are skipped).
    pub imported_roles: Vec<Role>,
    /// Whether demographics are imported: opt-in, off for a new tenant
    /// ([`TenantConfig::new`]). Always stored, so a tenant keeps the value it
    /// was stored with.
    pub demographics: bool,
    /// Safety-hold thresholds.
    /// The tenant's own safety-hold thresholds; `None`: the deployment's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<HoldThresholds>,
    /// Disabled tenants are never synced.
    pub enabled: bool,
    /// How the district delivers its roster.
    #[serde(default = "default_connections")]
    pub connections: Vec<Connection>,
    /// The OneRoster API connection, for tenants that use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiSettings>,
    /// When the API is pulled (EventBridge Scheduler), for API tenants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<PullSchedule>,
    /// ClassLink's TenantId (for SSO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classlink_tenant_id: Option<String>,
    /// Teachers may sign in with ClassLink SSO.
    #[serde(default)]
    pub sso_enabled: bool,
    /// Administrators may sign in with ClassLink SSO too (not yet, by default).
    #[serde(default)]
    pub admin_sso_enabled: bool,
    /// When ClassLink sends no SourcedId, match the teacher by email or username
    /// (within this tenant only).
    #[serde(default)]
    pub sso_match_by_email: bool,
    /// Aides may sign in as teachers.
    #[serde(default)]
    pub sso_allow_aides: bool,
    /// A teacher ClassLink signs in whom the roster does not have yet (ClassLink
    /// sends only users enrolled in a class unless *Unenrolled Users* is on) gets
    /// a provisional platform-owned record and is signed in; the next sync that
    /// delivers them makes them an ordinary roster user. Off by default.
    #[serde(default)]
    pub sso_provision_teachers: bool,
    /// The district's contacts for run notices (rejected, held, failed, stale runs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify_emails: Vec<String>,
    /// Notify the contacts of applied runs too.
    #[serde(default)]
    pub notify_applied: bool,
    /// Pause windows: deliveries received during one are validated and
    /// reported, not applied; the newest is applied when the window ends.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pause: Vec<PauseWindow>,
    /// Days an archived person keeps their personal data before retention
    /// erases it (`crate::retention`); `None`: the deployment's default
    /// (`RETAIN_ARCHIVED_DAYS`, 365); 0: never erased by retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_archived_days: Option<u32>,
}

/// When a tenant's API is pulled: days, a time of day, and the district's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullSchedule {
    /// Days of the week (`MON`..`SUN`).
    pub days: Vec<String>,
    /// Time of day, `HH:MM` (24 h), in `timezone`.
    pub time: String,
    /// IANA time zone, e.g. `America/Chicago`.
    pub timezone: String,
}

impl PullSchedule {
    /// Checks and normalises days (`mon,Wed` → `MON,WED`) and the time.
    pub fn new(days: &str, time: &str, timezone: &str) -> Result<PullSchedule, String> {
        const DAYS: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
        let days: Vec<String> = days
            .split(',')
            .map(|d| d.trim().to_ascii_uppercase())
            .filter(|d| !d.is_empty())
            .map(|d| if d == "DAILY" { DAYS.join(",") } else { d })
            .flat_map(|d| d.split(',').map(String::from).collect::<Vec<_>>())
            .collect();
        if days.is_empty() {
            return Err("no days given; expected e.g. MON,WED,FRI or DAILY".into());
        }
        if let Some(bad) = days.iter().find(|d| !DAYS.contains(&d.as_str())) {
            return Err(format!(
                "`{bad}` is not a day; expected MON, TUE, WED, THU, FRI, SAT, SUN or DAILY"
            ));
        }
        let (h, m) = time
            .split_once(':')
            .ok_or_else(|| format!("time `{time}` is not HH:MM"))?;
        let (h, m): (u32, u32) = (
            h.parse()
                .map_err(|_| format!("time `{time}` is not HH:MM"))?,
            m.parse()
                .map_err(|_| format!("time `{time}` is not HH:MM"))?,
        );
        if h > 23 || m > 59 {
            return Err(format!("time `{time}` is not a time of day"));
        }
        if timezone.is_empty() || timezone.contains(' ') {
            return Err(format!(
                "time zone `{timezone}` is not an IANA name like America/Chicago"
            ));
        }
        Ok(PullSchedule {
            days,
            time: format!("{h:02}:{m:02}"),
            timezone: timezone.to_string(),
        })
    }

    /// The EventBridge Scheduler expression, e.g. `cron(30 2 ? * MON,WED *)`.
    pub fn expression(&self) -> String {
        let (h, m) = self.time.split_once(':').unwrap_or(("0", "0"));
        let number = |text: &str| text.parse::<u32>().unwrap_or(0);
        format!(
            "cron({} {} ? * {} *)",
            number(m),
            number(h),
            self.days.join(",")
        )
    }
}

/// A district's OneRoster API connection (1.1, or the 1.2 Rostering
/// Service). The credentials are not here: they are in Secrets Manager
/// under `secret_name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiSettings {
    /// The API URL the district gave (the version's base path,
    /// `/ims/oneroster/v1p1` or `/ims/oneroster/rostering/v1p2`, is
    /// appended when missing).
    pub url: String,
    /// The OneRoster version of the API; `None`: told by the URL's path
    /// when it ends in a version's base path, else 1.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oneroster_version: Option<oneroster::OneRosterVersion>,
    /// Secrets Manager secret holding the credentials (JSON; see docs/oneroster-pull.md).
    pub secret_name: String,
    /// Records per page (default 1000, at most 10000).
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// A full pull at least this often (days); delta pulls in between. 0: always full.
    #[serde(default = "default_full_every_days")]
    pub full_every_days: u32,
}

fn default_page_size() -> usize {
    1000
}

fn default_full_every_days() -> u32 {
    7
}

impl TenantConfig {
    /// The pause window `at` falls in, if any: one of the tenant's own, or,
    /// for a tenant without windows, the deployment's yearly `default` dated
    /// around the district's day (see [`TenantConfig::timezone`]).
    pub fn paused_at(
        &self,
        at: DateTime<Utc>,
        default: Option<&YearlyWindow>,
    ) -> Option<PauseWindow> {
        if !self.pause.is_empty() {
            return self.pause.iter().find(|w| w.contains(at)).cloned();
        }
        let timezone = self.timezone();
        default?.dated_around(pause::day_in_zone(at, timezone), timezone)
    }

    /// Whether the deployment's `default` pause window applies to the tenant:
    /// there is one, and the tenant has no windows of its own.
    pub fn default_pause_applies(&self, default: Option<&YearlyWindow>) -> bool {
        default.is_some() && self.pause.is_empty()
    }

    /// The district's time zone: its pull schedule's, else [`DEFAULT_TIMEZONE`].
    pub fn timezone(&self) -> &str {
        self.schedule
            .as_ref()
            .map_or(DEFAULT_TIMEZONE, |s| s.timezone.as_str())
    }

    /// A tenant with default settings.
    pub fn new(tenant: &str) -> Result<TenantConfig, InvalidTenantId> {
        check_tenant_id(tenant)?;
        Ok(TenantConfig {
            tenant: tenant.to_string(),
            display_name: tenant.to_string(),
            imported_roles: RoleSet::default_imported().iter().collect(),
            demographics: false,
            hold: None,
            enabled: true,
            connections: default_connections(),
            api: None,
            schedule: None,
            classlink_tenant_id: None,
            sso_enabled: false,
            admin_sso_enabled: false,
            sso_match_by_email: false,
            sso_allow_aides: false,
            sso_provision_teachers: false,
            notify_emails: Vec::new(),
            notify_applied: false,
            pause: Vec::new(),
            retain_archived_days: None,
        })
    }

    /// Whether the district delivers by `connection`.
    pub fn uses(&self, connection: Connection) -> bool {
        self.connections.contains(&connection)
    }

    /// The imported roles as a set.
    pub fn role_set(&self) -> RoleSet {
        self.imported_roles.iter().copied().collect()
    }
}

/// What has been applied for a tenant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantState {
    /// Generation time of the newest bulk delivery applied.
    pub last_bulk_generated_at: Option<DateTime<Utc>>,
    /// The last run that applied changes (or found none).
    pub last_applied_run: Option<String>,
    /// When that run ended.
    pub last_applied_at: Option<DateTime<Utc>>,
    /// Start of the last API pull that was applied (the base of the next delta).
    #[serde(default)]
    pub last_pull_started_at: Option<DateTime<Utc>>,
    /// Start of the last full API pull that was applied.
    #[serde(default)]
    pub last_full_pull_at: Option<DateTime<Utc>>,
    /// The kept pairs of a re-key a run began to apply and no run has
    /// finished since (see `engine::rekeying::resume`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rekey_in_progress: Option<String>,
}

impl TenantState {
    /// `(the run's generation time, the newer one)` when a bulk delivery
    /// generated after `run`'s was applied: `run` is stale.
    pub fn newer_bulk_than(
        &self,
        run: &crate::run::RunRecord,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let generated = run.generated_at?;
        let last = self.last_bulk_believed(run.received())?;
        (generated < last).then_some((generated, last))
    }

    /// The newest applied bulk delivery's generation time, as a delivery
    /// received at `received` is judged stale against. A stored time later
    /// than both that receipt and this machine's clock (plus
    /// [`crate::run::GENERATION_TIME_SKEW`]) came from a clock in the future,
    /// before generation times were clamped, and is not believed (it would
    /// make every delivery stale).
    pub fn last_bulk_believed(&self, received: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let latest = received.max(Utc::now());
        self.last_bulk_generated_at
            .filter(|last| *last <= latest + crate::run::GENERATION_TIME_SKEW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_key_safe() {
        for ok in ["springfield", "d-042", "a_b", "9lives"] {
            assert!(check_tenant_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Springfield",
            "a/b",
            "a#b",
            "-x",
            "a b",
            &"x".repeat(65),
        ] {
            assert!(check_tenant_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn schedules_become_scheduler_cron_expressions() {
        let s = PullSchedule::new("mon, Wed", "2:05", "America/Chicago").unwrap();
        assert_eq!(s.expression(), "cron(5 2 ? * MON,WED *)");
        assert_eq!(
            PullSchedule::new("daily", "23:59", "UTC")
                .unwrap()
                .days
                .len(),
            7
        );
        assert!(PullSchedule::new("funday", "02:00", "UTC").is_err());
        assert!(PullSchedule::new("MON", "24:00", "UTC").is_err());
        assert!(PullSchedule::new("MON", "0200", "UTC").is_err());
    }

    #[test]
    fn defaults_import_the_four_rostered_roles() {
        let t = TenantConfig::new("d1").unwrap();
        let set = t.role_set();
        assert!(set.contains(Role::Student) && set.contains(Role::Aide));
        assert!(!set.contains(Role::Guardian));
        assert_eq!(t.hold, None);
        assert_eq!(HoldThresholds::default().min_archive_count, 25);
    }

    #[test]
    fn the_default_pause_window_holds_tenants_without_windows_in_their_time_zone() {
        use chrono::TimeZone;
        let default = YearlyWindow::parse("06-15..08-10").unwrap();
        let utc = |m, d, h| Utc.with_ymd_and_hms(2027, m, d, h, 0, 0).unwrap();
        let mut t = TenantConfig::new("d1").unwrap();
        assert!(t.default_pause_applies(Some(&default)));
        assert_eq!(
            t.paused_at(utc(7, 1, 12), None),
            None,
            "no default: never paused"
        );
        // No pull schedule: the deployment's default time zone, New York.
        let window = t.paused_at(utc(7, 1, 12), Some(&default)).unwrap();
        assert_eq!(
            window.to_string(),
            "2027-06-15..2027-08-10 (America/New_York)"
        );
        // 05:00 UTC on 15 June is 01:00 in New York, but still the 14th in Los Angeles.
        assert!(t.paused_at(utc(6, 15, 5), Some(&default)).is_some());
        t.schedule = Some(PullSchedule::new("MON", "02:00", "America/Los_Angeles").unwrap());
        assert_eq!(t.paused_at(utc(6, 15, 5), Some(&default)), None);
        assert!(t.paused_at(utc(6, 15, 8), Some(&default)).is_some());
        assert_eq!(t.paused_at(utc(9, 1, 12), Some(&default)), None, "after it");

        // A tenant with windows of its own: the default does not apply.
        t.pause = vec![PauseWindow::parse("2027-12-20..2027-12-31", "UTC").unwrap()];
        assert!(!t.default_pause_applies(Some(&default)));
        assert_eq!(t.paused_at(utc(7, 1, 12), Some(&default)), None);
        assert!(t.paused_at(utc(12, 24, 12), Some(&default)).is_some());
    }

    #[test]
    fn demographics_are_opt_in_and_a_stored_tenant_keeps_its_choice() {
        let new = TenantConfig::new("d1").unwrap();
        assert!(!new.demographics, "off unless the district opts in");
        // Every stored config carries the field: one stored with demographics on keeps them.
        let mut stored = serde_json::to_value(&new).unwrap();
        stored["demographics"] = serde_json::Value::Bool(true);
        let read: TenantConfig = serde_json::from_value(stored.clone()).unwrap();
        assert!(read.demographics);
        // Without the field a config is refused, as it always was: nothing is guessed.
        stored.as_object_mut().unwrap().remove("demographics");
        assert!(serde_json::from_value::<TenantConfig>(stored).is_err());
    }
}

/// Whether a tenant is overdue for a sync: enabled, it has synced before, and
/// its last applied run is more than `days` old. A tenant that has never
/// synced is awaiting its first delivery, which onboarding watches, not an alarm.
pub fn sync_overdue(
    config: &TenantConfig,
    state: &TenantState,
    now: DateTime<Utc>,
    days: u32,
) -> bool {
    config.enabled
        && state
            .last_applied_at
            .is_some_and(|at| now - at > chrono::Duration::days(i64::from(days)))
}

/// The ids of the tenants overdue for a sync (see [`sync_overdue`]).
pub async fn overdue_tenants<S: crate::Store>(
    store: &S,
    now: DateTime<Utc>,
    days: u32,
) -> crate::StoreResult<Vec<String>> {
    let mut overdue = Vec::new();
    for config in store.list_tenants().await? {
        let state = store.get_state(&config.tenant).await?;
        if sync_overdue(&config, &state, now, days) {
            overdue.push(config.tenant);
        }
    }
    Ok(overdue)
}

#[cfg(test)]
mod overdue_tests {
    use super::*;

    #[test]
    fn only_enabled_tenants_that_synced_before_can_be_overdue() {
        let now = Utc::now();
        let mut config = TenantConfig::new("d1").unwrap();
        let mut state = TenantState::default();
        assert!(!sync_overdue(&config, &state, now, 3), "never synced");
        state.last_applied_at = Some(now - chrono::Duration::days(2));
        assert!(!sync_overdue(&config, &state, now, 3));
        state.last_applied_at = Some(now - chrono::Duration::days(4));
        assert!(sync_overdue(&config, &state, now, 3));
        config.enabled = false;
        assert!(!sync_overdue(&config, &state, now, 3), "disabled");
    }
}
