//! Who may sign in: the decision after ClassLink has authenticated someone,
//! from their user info, the tenant's SSO settings and the roster. Only
//! active teachers (and aides, where the tenant allows) of the district get
//! a login ticket; everyone else gets a page saying why.

use oneroster::EntityKind;
use roster::{Lookup, Records, StoreError, TenantConfig, Tenants};
use serde::Deserialize;

/// ClassLink's `/v2/my/info` (the fields used here).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserInfo {
    /// ClassLink's user id (for the audit record).
    #[serde(default)]
    pub user_id: Option<serde_json::Value>,
    /// ClassLink's TenantId: which district.
    #[serde(default)]
    pub tenant_id: Option<serde_json::Value>,
    /// The user's OneRoster sourcedId in the district's roster.
    #[serde(default)]
    pub sourced_id: Option<String>,
    /// `Student`, `Teacher`, `Tenant Administrator`, ...
    #[serde(default)]
    pub role: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Login id (the roster's username).
    #[serde(default)]
    pub login_id: Option<String>,
}

fn text(v: &Option<serde_json::Value>) -> Option<String> {
    match v {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

impl UserInfo {
    /// The ClassLink TenantId as text.
    pub fn tenant(&self) -> Option<String> {
        text(&self.tenant_id)
    }

    /// The ClassLink UserId as text.
    pub fn user(&self) -> Option<String> {
        text(&self.user_id)
    }
}

/// The outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Sign the teacher in: issue a one-time ticket for (tenant, sourcedId).
    SignIn {
        /// Our tenant id.
        tenant: String,
        /// The roster user.
        sourced_id: String,
        /// Their roster role (`teacher`, `aide`, `administrator`).
        role: String,
    },
    /// The district is unknown, or has not switched SSO on.
    NotSetUp,
    /// Students do not sign in here.
    Student {
        /// Our tenant id.
        tenant: String,
    },
    /// Administrators use the admin portal (unless the tenant enabled admin SSO).
    AdminPortal {
        /// Our tenant id.
        tenant: String,
    },
    /// No active teacher in the district's roster matches (not synced yet, archived, other role).
    NotInRoster {
        /// Our tenant id.
        tenant: String,
    },
}

impl Decision {
    /// Our tenant, when the district was recognised.
    pub fn tenant(&self) -> Option<&str> {
        match self {
            Decision::SignIn { tenant, .. }
            | Decision::Student { tenant }
            | Decision::AdminPortal { tenant }
            | Decision::NotInRoster { tenant } => Some(tenant),
            Decision::NotSetUp => None,
        }
    }

    /// A stable code for logs and the audit trail.
    pub fn outcome(&self) -> &'static str {
        match self {
            Decision::SignIn { .. } => "signed_in",
            Decision::NotSetUp => "not_set_up",
            Decision::Student { .. } => "student",
            Decision::AdminPortal { .. } => "admin_portal",
            Decision::NotInRoster { .. } => "not_in_roster",
        }
    }
}

fn is_admin(role: &str) -> bool {
    let r = role.to_ascii_lowercase();
    r.contains("admin")
}

/// Decides, given the tenants and the roster.
pub async fn decide<S: Tenants + Records>(
    store: &S,
    info: &UserInfo,
) -> Result<Decision, StoreError> {
    let Some(classlink_tenant) = info.tenant() else {
        return Ok(Decision::NotSetUp);
    };
    let tenants = store.list_tenants().await?;
    let Some(tenant) = tenants
        .into_iter()
        .find(|t| t.classlink_tenant_id.as_deref() == Some(classlink_tenant.as_str()))
        .filter(|t| t.enabled && t.sso_enabled)
    else {
        return Ok(Decision::NotSetUp);
    };
    let role = info.role.clone().unwrap_or_default();
    if role.eq_ignore_ascii_case("student") {
        return Ok(Decision::Student {
            tenant: tenant.tenant,
        });
    }
    if is_admin(&role) && !tenant.admin_sso_enabled {
        return Ok(Decision::AdminPortal {
            tenant: tenant.tenant,
        });
    }
    let not_in_roster = Decision::NotInRoster {
        tenant: tenant.tenant.clone(),
    };
    let Some(sourced_id) = find_user(store, &tenant, info).await? else {
        return Ok(not_in_roster);
    };
    let Some(user) = store
        .get_entity(&tenant.tenant, EntityKind::Users, &sourced_id)
        .await?
    else {
        return Ok(not_in_roster);
    };
    let roster_role = user.sis.str("role").unwrap_or("");
    let allowed = roster_role == "teacher"
        || (roster_role == "aide" && tenant.sso_allow_aides)
        || (roster_role == "administrator" && tenant.admin_sso_enabled && is_admin(&role));
    if user.archive.is_some() || !allowed {
        return Ok(not_in_roster);
    }
    Ok(Decision::SignIn {
        tenant: tenant.tenant,
        sourced_id,
        role: roster_role.to_string(),
    })
}

/// The roster user: by SourcedId; without one, by email then username when
/// the tenant allows it — always within the tenant, never across tenants.
async fn find_user<S: Records>(
    store: &S,
    tenant: &TenantConfig,
    info: &UserInfo,
) -> Result<Option<String>, StoreError> {
    if let Some(id) = info.sourced_id.as_deref().filter(|s| !s.is_empty()) {
        return Ok(Some(id.to_string()));
    }
    if !tenant.sso_match_by_email {
        return Ok(None);
    }
    let lookups = [
        info.email
            .clone()
            .filter(|e| !e.is_empty())
            .map(Lookup::UsersByEmail),
        info.login_id
            .clone()
            .filter(|l| !l.is_empty())
            .map(Lookup::UsersByUsername),
    ];
    for lookup in lookups.into_iter().flatten() {
        let found = store.lookup(&tenant.tenant, &lookup).await?;
        // Ambiguous (two users with one email) is no match.
        if found.len() == 1 {
            return Ok(found.into_iter().next());
        }
    }
    Ok(None)
}
