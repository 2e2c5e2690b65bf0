//! Tenant configuration (what a district imports and how syncs are guarded)
//! and tenant sync state (what has been applied).

use chrono::{DateTime, Utc};
use oneroster::{Role, RoleSet};
use serde::{Deserialize, Serialize};

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

/// Safety-hold thresholds for bulk syncs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HoldThresholds {
    /// Hold when a bulk sync would archive more than this share (percent) of a type's active records...
    pub max_archive_percent: f64,
    /// ...and at least this many records.
    pub min_archive_count: u64,
}

impl Default for HoldThresholds {
    fn default() -> Self {
        HoldThresholds {
            max_archive_percent: 10.0,
            min_archive_count: 25,
        }
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
    /// Whether demographics are imported.
    pub demographics: bool,
    /// Safety-hold thresholds.
    pub hold: HoldThresholds,
    /// Disabled tenants are never synced.
    pub enabled: bool,
    /// How the district delivers its roster.
    #[serde(default = "default_connections")]
    pub connections: Vec<Connection>,
    /// The OneRoster API connection, for tenants that use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiSettings>,
}

/// A district's OneRoster 1.1 API connection. The credentials are not here:
/// they are in Secrets Manager under `secret_name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiSettings {
    /// The API URL the district gave (`/ims/oneroster/v1p1` is appended when missing).
    pub url: String,
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
    /// A tenant with default settings.
    pub fn new(tenant: &str) -> Result<TenantConfig, InvalidTenantId> {
        check_tenant_id(tenant)?;
        Ok(TenantConfig {
            tenant: tenant.to_string(),
            display_name: tenant.to_string(),
            imported_roles: RoleSet::default_imported().iter().collect(),
            demographics: true,
            hold: HoldThresholds::default(),
            enabled: true,
            connections: default_connections(),
            api: None,
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
    fn defaults_import_the_four_rostered_roles() {
        let t = TenantConfig::new("d1").unwrap();
        let set = t.role_set();
        assert!(set.contains(Role::Student) && set.contains(Role::Aide));
        assert!(!set.contains(Role::Guardian));
        assert_eq!(t.hold.min_archive_count, 25);
    }
}
