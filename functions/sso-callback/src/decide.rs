//! Who may sign in: the decision after ClassLink has authenticated someone,
//! from their user info, the tenant's SSO settings and the roster. Only
//! active teachers (and aides, where the tenant allows) of the district get
//! a login ticket; everyone else gets a page saying why.

use oneroster::EntityKind;
use roster::{
    tenant_for_classlink, ClassLinkOwner, Lookup, Records, SisContent, StoreError, StoredEntity,
    TenantConfig, Tenants,
};
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
    /// Given name (for a provisional record only; never logged).
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name (for a provisional record only; never logged).
    #[serde(default)]
    pub last_name: Option<String>,
    /// The details come from where no LoginId is carried (ClassLink's claims
    /// in the ID token): `login_id` is unknown rather than absent, and user
    /// info may have it. Never read from JSON: user info is complete.
    #[serde(skip)]
    pub login_id_unknown: bool,
}

/// A ClassLink id (a UserId, a TenantId) as text: a non-empty string or a number.
pub(crate) fn id_text(v: &Option<serde_json::Value>) -> Option<String> {
    match v {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

impl UserInfo {
    /// The ClassLink TenantId as text.
    pub fn tenant(&self) -> Option<String> {
        id_text(&self.tenant_id)
    }

    /// The ClassLink UserId as text.
    pub fn user(&self) -> Option<String> {
        id_text(&self.user_id)
    }
}

/// How ClassLink names a user's role, each name mapped on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassLinkRole {
    /// `Teacher`: looked up in the roster.
    Teacher,
    /// `Student`: students never sign in here.
    Student,
    /// `Tenant Administrator`, `District Administrator`, `School Administrator`
    /// (and any other name with "admin" in it): the admin portal, unless the
    /// tenant allows administrators to sign in.
    Administrator,
    /// `Parent`: never reaches the roster lookup.
    Parent,
    /// Any other name (none, or one ClassLink adds later): looked up in the
    /// roster, where the roster's own role decides.
    Other,
}

impl ClassLinkRole {
    /// Reads ClassLink's role name (case and surrounding spaces aside).
    pub fn parse(name: &str) -> ClassLinkRole {
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "teacher" => ClassLinkRole::Teacher,
            "student" => ClassLinkRole::Student,
            "tenant administrator" | "district administrator" | "school administrator" => {
                ClassLinkRole::Administrator
            }
            "parent" => ClassLinkRole::Parent,
            other if other.contains("admin") => ClassLinkRole::Administrator,
            _ => ClassLinkRole::Other,
        }
    }
}

/// Which key found the roster user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKey {
    /// ClassLink's SourcedId is the roster's sourcedId.
    SourcedId,
    /// The one active roster user of the tenant with this email.
    Email,
    /// The one active roster user of the tenant with this username (ClassLink's LoginId).
    Username,
    /// ClassLink's SourcedId is an earlier sourcedId of the roster user (an
    /// approved re-key): the user under its new sourcedId.
    PreviousSourcedId,
}

impl MatchKey {
    /// The name the audit record keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKey::SourcedId => "sourced_id",
            MatchKey::Email => "email",
            MatchKey::Username => "username",
            MatchKey::PreviousSourcedId => "previous_sourced_id",
        }
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
        /// Which key found them.
        matched_by: MatchKey,
        /// They are a provisional user made at an earlier sign-in.
        provisional: bool,
    },
    /// A teacher ClassLink knows whom the roster lacks, of a tenant that
    /// provisions them: make a provisional record, then sign them in.
    Provision {
        /// Our tenant id.
        tenant: String,
        /// ClassLink's SourcedId: the new record's sourcedId.
        sourced_id: String,
    },
    /// The district is unknown, or has not switched SSO on.
    NotSetUp,
    /// More than one of our tenants claims the district's ClassLink TenantId
    /// (configurations edited past the store's check): nobody signs in until
    /// an operator fixes them.
    Misconfigured {
        /// The tenants involved.
        tenants: Vec<String>,
    },
    /// Students do not sign in here.
    Student {
        /// Our tenant id.
        tenant: String,
    },
    /// Parents do not sign in here.
    Parent {
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
        /// Not decided yet: the tenant matches by username and ClassLink names
        /// a staff role, but the details could not carry a LoginId (an ID
        /// token has none). ClassLink's user info might still find them, and
        /// must be read before a provisional record is made.
        needs_login_id: bool,
    },
}

impl Decision {
    /// Our tenant, when the district was recognised.
    pub fn tenant(&self) -> Option<&str> {
        match self {
            Decision::SignIn { tenant, .. }
            | Decision::Provision { tenant, .. }
            | Decision::Student { tenant }
            | Decision::Parent { tenant }
            | Decision::AdminPortal { tenant }
            | Decision::NotInRoster { tenant, .. } => Some(tenant),
            Decision::NotSetUp | Decision::Misconfigured { .. } => None,
        }
    }

    /// A stable code for logs and the audit trail.
    pub fn outcome(&self) -> &'static str {
        match self {
            Decision::SignIn { .. } => "signed_in",
            Decision::Provision { .. } => "provisioned",
            Decision::NotSetUp => "not_set_up",
            Decision::Misconfigured { .. } => "misconfigured",
            Decision::Student { .. } => "student",
            Decision::Parent { .. } => "parent",
            Decision::AdminPortal { .. } => "admin_portal",
            Decision::NotInRoster { .. } => "not_in_roster",
        }
    }
}

/// Decides, given the tenants and the roster.
pub async fn decide<S: Tenants + Records>(
    store: &S,
    info: &UserInfo,
) -> Result<Decision, StoreError> {
    let Some(classlink_tenant) = info.tenant() else {
        return Ok(Decision::NotSetUp);
    };
    let tenant = match tenant_for_classlink(store, &classlink_tenant).await? {
        ClassLinkOwner::Unknown => return Ok(Decision::NotSetUp),
        ClassLinkOwner::Misconfigured { tenants } => {
            return Ok(Decision::Misconfigured { tenants })
        }
        ClassLinkOwner::Tenant(t) if t.enabled && t.sso_enabled => *t,
        ClassLinkOwner::Tenant(_) => return Ok(Decision::NotSetUp),
    };
    let role = ClassLinkRole::parse(info.role.as_deref().unwrap_or_default());
    match role {
        ClassLinkRole::Student => {
            return Ok(Decision::Student {
                tenant: tenant.tenant,
            })
        }
        ClassLinkRole::Parent => {
            return Ok(Decision::Parent {
                tenant: tenant.tenant,
            })
        }
        ClassLinkRole::Administrator if !tenant.admin_sso_enabled => {
            return Ok(Decision::AdminPortal {
                tenant: tenant.tenant,
            })
        }
        _ => {}
    }
    let classlink_admin = role == ClassLinkRole::Administrator;
    let allowed =
        |roster_role: &str| roster::sign_in::admits(&tenant, roster_role, classlink_admin);
    // Email and username name a person only when ClassLink says they are staff:
    // another role (one ClassLink adds later) is matched by its SourcedId alone.
    let staff = matches!(role, ClassLinkRole::Teacher | ClassLinkRole::Administrator);
    if let Some(found) = find_user(store, &tenant, info, staff, &allowed).await? {
        return Ok(Decision::SignIn {
            tenant: tenant.tenant,
            sourced_id: found.sourced_id,
            role: found.role,
            matched_by: found.matched_by,
            provisional: found.provisional,
        });
    }
    // Username matching applies but the details cannot carry a LoginId (an
    // ID token has none): whether the roster knows them by username, and so
    // whether a provisional record would be a duplicate, is not known yet.
    if tenant.sso_match_by_email && staff && info.login_id_unknown {
        return Ok(Decision::NotInRoster {
            tenant: tenant.tenant,
            needs_login_id: true,
        });
    }
    if role == ClassLinkRole::Teacher && tenant.sso_provision_teachers {
        if let Some(sourced_id) = provisionable(store, &tenant.tenant, info).await? {
            return Ok(Decision::Provision {
                tenant: tenant.tenant,
                sourced_id,
            });
        }
    }
    Ok(Decision::NotInRoster {
        tenant: tenant.tenant,
        needs_login_id: false,
    })
}

/// The sourcedId a provisional record would take: ClassLink's SourcedId,
/// when the tenant has no user with it (an archived one is the district's
/// word and stays archived) and no user with the same email or username
/// (that person is in the roster under another id: a second record would be
/// a duplicate). `None`: do not provision.
async fn provisionable<S: Records>(
    store: &S,
    tenant: &str,
    info: &UserInfo,
) -> Result<Option<String>, StoreError> {
    let Some(id) = info
        .sourced_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return Ok(None);
    };
    if store
        .get_entity(tenant, EntityKind::Users, id)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    for (lookup, _) in fallback_lookups(info) {
        if !store.lookup(tenant, &lookup).await?.is_empty() {
            return Ok(None);
        }
    }
    Ok(Some(id.to_string()))
}

/// The content of a provisional teacher: what ClassLink says of them, in
/// OneRoster's field names, and no classes or orgs.
pub fn provisional_content(sourced_id: &str, info: &UserInfo) -> SisContent {
    let field = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or_default().to_string();
    SisContent::from_value(serde_json::json!({
        "sourcedId": sourced_id,
        "role": "teacher",
        "enabledUser": true,
        "givenName": field(&info.first_name),
        "familyName": field(&info.last_name),
        "email": field(&info.email),
        "username": field(&info.login_id),
    }))
}

/// The keys other than the SourcedId that name a person in the tenant's
/// roster, in the order they are tried: email, then username (ClassLink's
/// LoginId); empty ones left out.
fn fallback_lookups(info: &UserInfo) -> Vec<(Lookup, MatchKey)> {
    let nonempty = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    [
        nonempty(&info.email).map(|e| (Lookup::UsersByEmail(e), MatchKey::Email)),
        nonempty(&info.login_id).map(|l| (Lookup::UsersByUsername(l), MatchKey::Username)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A roster user found for a sign-in.
struct Found {
    sourced_id: String,
    role: String,
    matched_by: MatchKey,
    provisional: bool,
}

/// The roster user who may sign in, with their roster role and the key that
/// found them: by SourcedId; on a miss (no SourcedId, or one that names no
/// active user who may sign in, as when ClassLink still sends an old one), by
/// email then username when the tenant allows it and ClassLink names a staff
/// role (`staff`: Teacher or an administrator). A fallback key must name
/// exactly one active user of the tenant — two is no match — and never looks
/// across tenants.
async fn find_user<S: Records>(
    store: &S,
    tenant: &TenantConfig,
    info: &UserInfo,
    staff: bool,
    allowed: &impl Fn(&str) -> bool,
) -> Result<Option<Found>, StoreError> {
    let eligible = |user: &StoredEntity, matched_by: MatchKey| {
        let role = user.sis.str("role").unwrap_or_default();
        (user.archive.is_none() && allowed(role)).then(|| Found {
            sourced_id: user.sourced_id.clone(),
            role: role.to_string(),
            matched_by,
            provisional: user.provisional,
        })
    };
    if let Some(id) = info.sourced_id.as_deref().filter(|s| !s.is_empty()) {
        let user = roster::sign_in::current_user(store, &tenant.tenant, id).await?;
        if let Some(found) = user.and_then(|(u, rekeyed)| {
            let key = if rekeyed {
                MatchKey::PreviousSourcedId
            } else {
                MatchKey::SourcedId
            };
            eligible(&u, key)
        }) {
            return Ok(Some(found));
        }
    }
    if !tenant.sso_match_by_email || !staff {
        return Ok(None);
    }
    for (lookup, key) in fallback_lookups(info) {
        let mut active = Vec::new();
        for id in store.lookup(&tenant.tenant, &lookup).await? {
            if let Some(user) = store
                .get_entity(&tenant.tenant, EntityKind::Users, &id)
                .await?
                .filter(|u| u.archive.is_none())
            {
                active.push(user);
            }
        }
        // Exactly one active user with this key, or no match by it.
        if let [user] = active.as_slice() {
            return Ok(eligible(user, key));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classlink_role_names_map_on_purpose() {
        for (name, role) in [
            ("Teacher", ClassLinkRole::Teacher),
            ("Student", ClassLinkRole::Student),
            ("Tenant Administrator", ClassLinkRole::Administrator),
            ("District Administrator", ClassLinkRole::Administrator),
            ("School Administrator", ClassLinkRole::Administrator),
            ("Parent", ClassLinkRole::Parent),
            ("TEACHER", ClassLinkRole::Teacher),
            ("Building Admin", ClassLinkRole::Administrator),
            ("", ClassLinkRole::Other),
            ("Aide", ClassLinkRole::Other),
        ] {
            assert_eq!(ClassLinkRole::parse(name), role, "{name:?}");
        }
    }
}
