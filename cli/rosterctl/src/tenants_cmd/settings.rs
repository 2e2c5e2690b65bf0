//! The settings `tenants add` and `update` take, and how they change a tenant's config.

use crate::validate_cmd::parse_roles;
use oneroster::{OneRosterVersion, RoleSet};
use roster::{ApiSettings, Connection, PullSchedule, TenantConfig};

/// How a district delivers its roster (`--connection`): CSV packages over
/// SFTP, pulls from its OneRoster API, or both.
// The variants have no doc comments: clap would list them under the option
// and turn the whole `tenants add|update|disable` help into its long layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConnectionArg {
    Sftp,
    Api,
    Both,
}

impl ConnectionArg {
    /// The tenant's connections.
    pub fn connections(self) -> Vec<Connection> {
        match self {
            ConnectionArg::Sftp => vec![Connection::Sftp],
            ConnectionArg::Api => vec![Connection::Api],
            ConnectionArg::Both => vec![Connection::Sftp, Connection::Api],
        }
    }
}

/// Every setting `add` and `update` accept; only those given change.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TenantArgs {
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// How the district delivers its roster.
    #[arg(long, value_enum)]
    pub connection: Option<ConnectionArg>,
    /// ClassLink TenantId (for SSO).
    #[arg(long)]
    pub classlink_tenant_id: Option<String>,
    /// OneRoster API URL.
    #[arg(long)]
    pub api_url: Option<String>,
    /// The OneRoster version of the API, 1.1 or 1.2 [default: told by the
    /// API URL's path (/ims/oneroster/v1p1 or /ims/oneroster/rostering/v1p2),
    /// else 1.1].
    #[arg(long, value_name = "1.1|1.2", value_parser = parse_oneroster_version)]
    pub oneroster_version: Option<OneRosterVersion>,
    /// OAuth 1.0a Application Key (stored in Secrets Manager with --api-secret).
    #[arg(long, conflicts_with_all = ["api_token", "api_client_id", "api_token_url"])]
    pub api_key: Option<String>,
    /// The secret of --api-key (OAuth 1.0a Application Secret) or of
    /// --api-client-id (OAuth 2 client secret) [default: ONEROSTER_API_SECRET].
    #[arg(long, conflicts_with = "api_token")]
    pub api_secret: Option<String>,
    /// Bearer token (ClassLink's OneRoster proxy).
    #[arg(long, conflicts_with_all = ["api_client_id", "api_token_url"])]
    pub api_token: Option<String>,
    /// OAuth 2 client credentials (OneRoster 1.2): the token endpoint's URL
    /// (with --api-client-id and --api-secret).
    #[arg(long, value_name = "URL", requires = "api_client_id")]
    pub api_token_url: Option<String>,
    /// OAuth 2 client credentials (OneRoster 1.2): the client id (with
    /// --api-token-url and --api-secret).
    #[arg(long, value_name = "ID", requires = "api_token_url")]
    pub api_client_id: Option<String>,
    /// Secrets Manager name prefix of tenants' API secrets (the stack's TenantSecretPrefix).
    #[arg(long, default_value = "roster/tenants/")]
    pub secret_prefix: String,
    /// Records per API page.
    #[arg(long)]
    pub page_size: Option<usize>,
    /// Pull days: MON,WED,... or DAILY.
    #[arg(long)]
    pub schedule_days: Option<String>,
    /// Pull time, HH:MM (24 h), in --timezone.
    #[arg(long)]
    pub schedule_time: Option<String>,
    /// The district's IANA time zone, for --schedule-time and --pause [default:
    /// the tenant's pull schedule's, else America/New_York for a schedule;
    /// --pause needs one].
    #[arg(long)]
    pub timezone: Option<String>,
    /// A full pull at least every N days; deltas in between (0: always full).
    #[arg(long)]
    pub full_every_days: Option<u32>,
    /// User roles imported (comma-separated).
    #[arg(long, value_name = "ROLES", value_parser = parse_roles)]
    pub roles: Option<RoleSet>,
    /// Import demographics (true/false); opt-in: a new tenant does not.
    #[arg(long)]
    pub demographics: Option<bool>,
    /// Hold a bulk sync archiving more than this percent of a type's active records.
    #[arg(long)]
    pub hold_percent: Option<f64>,
    /// ... and at least this many.
    #[arg(long)]
    pub hold_min: Option<u64>,
    /// Hold a sync changing the email or username of more than this percent of the
    /// tenant's active users (the mass-update guard).
    #[arg(long)]
    pub identity_hold_percent: Option<f64>,
    /// ... and at least this many.
    #[arg(long)]
    pub identity_hold_min: Option<u64>,
    /// Hold a sync whose reader and reference checks reject more than this
    /// percent of a type's delivered rows.
    #[arg(long)]
    pub rejected_hold_percent: Option<f64>,
    /// ... and at least this many rows.
    #[arg(long)]
    pub rejected_hold_min: Option<u64>,
    /// Hold one school's part of a bulk sync (the rest applies) when it would
    /// archive more than this percent of that school's active classes,
    /// enrollments or users.
    #[arg(long)]
    pub school_hold_percent: Option<f64>,
    /// ... and at least this many of them.
    #[arg(long)]
    pub school_hold_min: Option<u64>,
    /// Sync the district (true/false); `tenants disable` is `--enabled false`.
    #[arg(long)]
    pub enabled: Option<bool>,
    /// Teachers sign in with ClassLink SSO (true/false).
    #[arg(long)]
    pub sso: Option<bool>,
    /// Administrators sign in with ClassLink SSO too (true/false).
    #[arg(long)]
    pub admin_sso: Option<bool>,
    /// When ClassLink's SourcedId is absent or finds no active teacher, match
    /// teachers by email, then username, within this district (true/false).
    #[arg(long)]
    pub sso_match_by_email: Option<bool>,
    /// Aides may sign in with ClassLink SSO (true/false).
    #[arg(long)]
    pub sso_allow_aides: Option<bool>,
    /// A teacher ClassLink signs in whom the roster lacks gets a provisional
    /// record and is signed in, until a sync delivers them (true/false).
    #[arg(long)]
    pub sso_provision_teachers: Option<bool>,
    /// The district's contacts for run notices, comma-separated (`""` clears them).
    #[arg(long, value_name = "EMAILS")]
    pub notify_email: Option<String>,
    /// Notify the contacts of applied runs too, not only rejected, held, failed
    /// and stale ones (true/false).
    #[arg(long)]
    pub notify_applied: Option<bool>,
    /// The stack's RunNoticeTopicArn output: with `--notify-email`, the topic's
    /// email subscriptions follow the contacts [default: ROSTER_NOTICE_TOPIC_ARN].
    #[arg(long, value_name = "ARN")]
    pub notice_topic_arn: Option<String>,
    /// A pause window START..END (days included, in --timezone): deliveries
    /// are validated and reported, not applied, and the newest is applied when
    /// it ends. Repeatable; replaces the tenant's windows.
    #[arg(long, value_name = "START..END")]
    pub pause: Vec<String>,
    /// Clear the tenant's pause windows.
    #[arg(long, conflicts_with = "pause")]
    pub no_pause: bool,
    /// Days an archived person keeps their personal data before the daily
    /// retention erases it; 0: never; `default`: the deployment's
    /// (RETAIN_ARCHIVED_DAYS, 365).
    #[arg(long, value_name = "DAYS|default", value_parser = parse_retain_days)]
    pub retain_archived_days: Option<RetainDays>,
    /// The stack's PullScheduleGroupName output.
    #[arg(long, default_value = "roster-pulls")]
    pub schedule_group: String,
    /// The stack's OneRosterPullFunctionArn output.
    #[arg(long)]
    pub pull_function_arn: Option<String>,
    /// The stack's PullSchedulerRoleArn output.
    #[arg(long)]
    pub scheduler_role_arn: Option<String>,
    /// The stack's PullSchedulerDeadLetterQueueArn output.
    #[arg(long)]
    pub scheduler_dlq_arn: Option<String>,
    /// The stack's InboundBucketName output (for the SFTP user details).
    #[arg(long)]
    pub inbound_bucket: Option<String>,
}

/// Applies the given settings to `config`.
pub fn apply(config: &mut TenantConfig, a: &TenantArgs) -> Result<(), String> {
    if let Some(name) = &a.name {
        config.display_name = name.clone();
    }
    if let Some(c) = a.connection {
        config.connections = c.connections();
    }
    if let Some(id) = &a.classlink_tenant_id {
        config.classlink_tenant_id = Some(id.clone());
    }
    apply_api(config, a)?;
    apply_schedule(config, a)?;
    if let Some(roles) = a.roles {
        config.imported_roles = roles.iter().collect();
    }
    if let Some(d) = a.demographics {
        config.demographics = d;
    }
    apply_holds(config, a)?;
    apply_switches(config, a);
    if a.no_pause {
        config.pause.clear();
    }
    if !a.pause.is_empty() {
        let timezone = pause_timezone(config, a)?;
        config.pause = a
            .pause
            .iter()
            .map(|w| roster::PauseWindow::parse(w, &timezone).map_err(|e| format!("--pause: {e}")))
            .collect::<Result<_, _>>()?;
    }
    if let Some(list) = &a.notify_email {
        config.notify_emails = parse_emails(list)?;
    }
    if let Some(RetainDays(days)) = a.retain_archived_days {
        config.retain_archived_days = days;
    }
    if config.uses(Connection::Api) && config.api.is_none() {
        return Err("an API tenant needs --api-url (and credentials: --api-key with --api-secret, --api-token, or --api-token-url and --api-client-id with --api-secret)".into());
    }
    Ok(())
}

/// The API connection's settings, when one of them is given.
fn apply_api(config: &mut TenantConfig, a: &TenantArgs) -> Result<(), String> {
    if a.api_url.is_none()
        && a.oneroster_version.is_none()
        && a.page_size.is_none()
        && a.full_every_days.is_none()
        && a.api_key.is_none()
        && a.api_token.is_none()
        && a.api_client_id.is_none()
    {
        return Ok(());
    }
    if let Some(url) = &a.api_url {
        let policy = oneroster_rest::address::AddressPolicy::from_env();
        super::secret::check_endpoint("--api-url", url, policy)?;
    }
    let current = config.api.clone();
    let url = a
        .api_url
        .clone()
        .or(current.as_ref().map(|c| c.url.clone()))
        .ok_or("the API connection needs --api-url")?;
    let oneroster_version = a
        .oneroster_version
        .or(current.as_ref().and_then(|c| c.oneroster_version));
    oneroster_rest::version::resolve(&url, oneroster_version).map_err(|e| e.to_string())?;
    config.api = Some(ApiSettings {
        oneroster_version,
        url,
        secret_name: format!("{}{}", a.secret_prefix, config.tenant),
        page_size: a
            .page_size
            .or(current.as_ref().map(|c| c.page_size))
            .unwrap_or(1000),
        full_every_days: a
            .full_every_days
            .or(current.as_ref().map(|c| c.full_every_days))
            .unwrap_or(7),
    });
    Ok(())
}

/// The time zone of --pause windows: --timezone, else the tenant's pull
/// schedule's; never a guess (a window's edges move with it).
fn pause_timezone(config: &TenantConfig, a: &TenantArgs) -> Result<String, String> {
    a.timezone
        .clone()
        .or_else(|| config.schedule.as_ref().map(|s| s.timezone.clone()))
        .ok_or_else(|| "--pause: give the district's --timezone (an IANA name like America/Chicago): the window's days begin and end in it".to_string())
}

/// The pull schedule: days and time together, in a real time zone.
fn apply_schedule(config: &mut TenantConfig, a: &TenantArgs) -> Result<(), String> {
    match (&a.schedule_days, &a.schedule_time) {
        (Some(days), Some(time)) => {
            let timezone = a
                .timezone
                .as_deref()
                .unwrap_or(roster::tenant::DEFAULT_TIMEZONE);
            if timezone.parse::<chrono_tz::Tz>().is_err() {
                return Err(format!(
                    "--timezone `{timezone}` is not an IANA time zone name like America/Chicago"
                ));
            }
            config.schedule = Some(PullSchedule::new(days, time, timezone)?);
            Ok(())
        }
        (None, None) => Ok(()),
        _ => Err("a schedule needs both --schedule-days and --schedule-time".into()),
    }
}

/// A percentage flag's value, refused outside 0–100.
fn percent(flag: &str, value: Option<f64>) -> Result<Option<f64>, String> {
    match value {
        Some(p) if !(0.0..=100.0).contains(&p) => Err(format!("{flag} {p} is not a percentage")),
        other => Ok(other),
    }
}

/// The hold thresholds given (the others keep their values, or the environment's defaults).
fn apply_holds(config: &mut TenantConfig, a: &TenantArgs) -> Result<(), String> {
    let archive = percent("--hold-percent", a.hold_percent)?;
    let identity = percent("--identity-hold-percent", a.identity_hold_percent)?;
    let rejected = percent("--rejected-hold-percent", a.rejected_hold_percent)?;
    let school = percent("--school-hold-percent", a.school_hold_percent)?;
    let hold = roster::tenant::HoldThresholds::from_env;
    if let Some(p) = archive {
        config.hold.get_or_insert_with(hold).max_archive_percent = p;
    }
    if let Some(m) = a.hold_min {
        config.hold.get_or_insert_with(hold).min_archive_count = m;
    }
    if let Some(p) = identity {
        config
            .hold
            .get_or_insert_with(hold)
            .max_identity_change_percent = p;
    }
    if let Some(m) = a.identity_hold_min {
        config
            .hold
            .get_or_insert_with(hold)
            .min_identity_change_count = m;
    }
    if let Some(p) = rejected {
        config.hold.get_or_insert_with(hold).max_rejected_percent = p;
    }
    if let Some(m) = a.rejected_hold_min {
        config.hold.get_or_insert_with(hold).min_rejected_count = m;
    }
    if let Some(p) = school {
        config
            .hold
            .get_or_insert_with(hold)
            .max_school_archive_percent = p;
    }
    if let Some(m) = a.school_hold_min {
        config
            .hold
            .get_or_insert_with(hold)
            .min_school_archive_count = m;
    }
    Ok(())
}

/// `--oneroster-version`: `1.1` or `1.2`.
pub fn parse_oneroster_version(text: &str) -> Result<OneRosterVersion, String> {
    match text.trim() {
        "1.1" => Ok(OneRosterVersion::V1p1),
        "1.2" => Ok(OneRosterVersion::V1p2),
        other => Err(format!(
            "`{other}` is not a OneRoster version this bridge speaks: 1.1 or 1.2"
        )),
    }
}

/// `--retain-archived-days`: a number of days, or `None` for the deployment's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetainDays(pub Option<u32>);

fn parse_retain_days(text: &str) -> Result<RetainDays, String> {
    if text.trim().eq_ignore_ascii_case("default") {
        return Ok(RetainDays(None));
    }
    text.trim()
        .parse()
        .map(|days| RetainDays(Some(days)))
        .map_err(|_| {
            format!(
                "`{text}` is not a number of days (0: never erase; `default`: the deployment's)"
            )
        })
}

/// The true/false settings given.
fn apply_switches(config: &mut TenantConfig, a: &TenantArgs) {
    let switches = [
        (a.enabled, &mut config.enabled),
        (a.sso, &mut config.sso_enabled),
        (a.sso_match_by_email, &mut config.sso_match_by_email),
        (a.sso_allow_aides, &mut config.sso_allow_aides),
        (a.notify_applied, &mut config.notify_applied),
        (a.sso_provision_teachers, &mut config.sso_provision_teachers),
        (a.admin_sso, &mut config.admin_sso_enabled),
    ];
    for (given, setting) in switches {
        if let Some(value) = given {
            *setting = value;
        }
    }
}

/// A comma-separated list of email addresses, each checked for the shape
/// `local@domain.tld` (no spaces); duplicates removed, order kept.
pub fn parse_emails(list: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let valid = part.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }) && !part
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>');
        if !valid {
            return Err(format!(
                "--notify-email: `{part}` is not an email address (expected name@district.org)"
            ));
        }
        let lower = part.to_ascii_lowercase();
        if !out.contains(&lower) {
            out.push(lower);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_settings_given_change_and_percentages_are_checked() {
        let mut config = TenantConfig::new("t1").unwrap();
        let before = config.clone();
        apply(&mut config, &TenantArgs::default()).unwrap();
        assert_eq!(config, before, "nothing given, nothing changed");

        let given = TenantArgs {
            connection: Some(ConnectionArg::Both),
            api_url: Some("https://api.example/ims/oneroster/v1p1".into()),
            secret_prefix: "roster/tenants/".into(),
            hold_percent: Some(20.0),
            identity_hold_min: Some(7),
            rejected_hold_percent: Some(3.5),
            school_hold_percent: Some(40.0),
            school_hold_min: Some(12),
            enabled: Some(false),
            admin_sso: Some(true),
            notify_applied: Some(true),
            ..TenantArgs::default()
        };
        apply(&mut config, &given).unwrap();
        assert_eq!(config.connections, vec![Connection::Sftp, Connection::Api]);
        assert_eq!(
            config.api.as_ref().unwrap().secret_name,
            "roster/tenants/t1"
        );
        let hold = config.hold.unwrap();
        assert_eq!(hold.max_archive_percent, 20.0);
        assert_eq!(hold.min_identity_change_count, 7);
        assert_eq!(hold.max_rejected_percent, 3.5);
        assert_eq!(hold.max_school_archive_percent, 40.0);
        assert_eq!(hold.min_school_archive_count, 12);
        assert!(!config.enabled && config.admin_sso_enabled && config.notify_applied);
        assert_eq!(config.sso_enabled, before.sso_enabled, "not given");

        for (flag, args) in [
            (
                "--hold-percent 101",
                TenantArgs {
                    hold_percent: Some(101.0),
                    ..TenantArgs::default()
                },
            ),
            (
                "--identity-hold-percent -1",
                TenantArgs {
                    identity_hold_percent: Some(-1.0),
                    ..TenantArgs::default()
                },
            ),
            (
                "--rejected-hold-percent 200",
                TenantArgs {
                    rejected_hold_percent: Some(200.0),
                    ..TenantArgs::default()
                },
            ),
            (
                "--school-hold-percent 100.5",
                TenantArgs {
                    school_hold_percent: Some(100.5),
                    ..TenantArgs::default()
                },
            ),
        ] {
            let e = apply(&mut config.clone(), &args).unwrap_err();
            assert_eq!(e, format!("{flag} is not a percentage"));
        }
    }

    #[test]
    fn the_oneroster_version_is_stored_and_checked_against_the_url() {
        let mut config = TenantConfig::new("t1").unwrap();
        let v1p2 = TenantArgs {
            api_url: Some("https://api.example/".into()),
            oneroster_version: Some(OneRosterVersion::V1p2),
            secret_prefix: "roster/tenants/".into(),
            ..TenantArgs::default()
        };
        apply(&mut config, &v1p2).unwrap();
        let api = config.api.clone().unwrap();
        assert_eq!(api.oneroster_version, Some(OneRosterVersion::V1p2));
        // Another URL keeps the version set; one naming 1.1's path conflicts with it.
        let conflict = TenantArgs {
            api_url: Some("https://api.example/ims/oneroster/v1p1".into()),
            secret_prefix: "roster/tenants/".into(),
            ..TenantArgs::default()
        };
        let e = apply(&mut config.clone(), &conflict).unwrap_err();
        assert!(
            e.contains("ends in the OneRoster 1.1 path") && e.contains("set to OneRoster 1.2"),
            "{e}"
        );
        // Unset: told by the URL, nothing stored.
        let mut plain = TenantConfig::new("t2").unwrap();
        apply(&mut plain, &conflict).unwrap();
        assert_eq!(plain.api.unwrap().oneroster_version, None);
        assert_eq!(parse_oneroster_version("1.2"), Ok(OneRosterVersion::V1p2));
        assert!(parse_oneroster_version("1.0")
            .unwrap_err()
            .contains("1.1 or 1.2"));
    }

    #[test]
    fn notice_contacts_are_checked_and_deduplicated() {
        assert_eq!(
            parse_emails(" a@x.org, B@y.org ,a@x.org,").unwrap(),
            vec!["a@x.org".to_string(), "b@y.org".to_string()]
        );
        assert_eq!(parse_emails("").unwrap(), Vec::<String>::new());
        for bad in ["ada", "a@b", "a b@x.org", "@x.org", "a@.org", "<a@x.org>"] {
            let e = parse_emails(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }
}
