//! "Why can't this teacher get in?": everything the roster knows that
//! decides a user's sign-in, gathered for `rosterctl explain` (the words are
//! `present::explain`'s).

use crate::run::{KindCounts, RunStatus};
use crate::sign_in::{admits, classes_at_sign_in, ClassAtSignIn};
use crate::store::{ArchiveInfo, Store, StoreError};
use crate::tenant::TenantConfig;
use chrono::{DateTime, NaiveDate, Utc};
use oneroster::EntityKind;
use serde::Serialize;

/// Sign-in attempts of the user shown, newest first.
pub const SIGN_INS_SHOWN: usize = 5;
/// A tenant's newest runs shown for an id the roster has never had.
pub const RUNS_SHOWN: usize = 5;
/// Audit records read to find the user's attempts among the tenant's.
const AUDITS_READ: usize = 500;

/// What decides one user's sign-in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// Our tenant.
    pub tenant: String,
    /// The tenant's sign-in switches.
    pub switches: Switches,
    /// The id asked about.
    pub user_id: String,
    /// The roster's record of the user; `None`: never delivered.
    pub user: Option<UserFacts>,
    /// The user's classes and whether each is listed at sign-in.
    pub classes: Vec<ClassAtSignIn>,
    /// The user's last sign-ins (those that found them), newest first.
    pub sign_ins: Vec<SignInSeen>,
    /// For an id the roster has never had: the tenant's newest runs.
    pub recent_runs: Vec<RunSeen>,
    /// The day the classes were judged on.
    pub today: NaiveDate,
}

/// The tenant's settings that sign-in reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Switches {
    /// Syncs and sign-in are on for the tenant.
    pub enabled: bool,
    /// ClassLink single sign-on is on.
    pub sso: bool,
    /// ClassLink's TenantId (sign-in finds the tenant by it).
    pub classlink_tenant_id: Option<String>,
    /// Administrators may sign in too.
    pub admin_sso: bool,
    /// Aides sign in as teachers.
    pub aides: bool,
    /// Without a SourcedId from ClassLink, email or username find the user.
    pub match_by_email: bool,
    /// Teachers ClassLink knows and the roster lacks get a provisional record.
    pub provision_teachers: bool,
}

/// The roster's record of the user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserFacts {
    /// The roster role (`teacher`, `student`, ...).
    pub role: String,
    /// Archived: by whom, when, why.
    pub archive: Option<ArchiveInfo>,
    /// A provisional teacher made at sign-in, not yet delivered by a sync.
    pub provisional: bool,
    /// A Primary Administrator.
    pub primary_admin: bool,
    /// The tenant admits this role at sign-in (administrators: when ClassLink calls them so).
    pub role_admitted: bool,
    /// First seen, and by which run.
    pub first_seen_at: DateTime<Utc>,
    /// The run that first delivered the user.
    pub first_seen_run: String,
    /// Last written by a sync, and by which run.
    pub updated_at: DateTime<Utc>,
    /// The run that last wrote the user.
    pub updated_run: String,
    /// Re-keys: the id it carries on under, or its earlier ids.
    pub rekey: crate::store::RekeyLinks,
    /// Their personal data was erased (retention or `users forget`): when, why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erasure: Option<crate::store::Erasure>,
}

/// One sign-in attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignInSeen {
    /// When.
    pub at: DateTime<Utc>,
    /// Outcome code (`signed_in`, ...).
    pub outcome: String,
    /// Which key found the user.
    pub matched_by: Option<String>,
    /// The support reference shown to the user.
    pub request_id: String,
}

/// One run of the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSeen {
    /// The run.
    pub run_id: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Its outcome.
    pub status: RunStatus,
    /// `csv`, `api`, ...
    pub source: String,
    /// What it did to users, when it read them.
    pub users: Option<KindCounts>,
}

/// Gathers what decides `user_id`'s sign-in in `tenant` on `now`'s day.
pub async fn explain_user<S: Store>(
    store: &S,
    tenant: &TenantConfig,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<Explanation, StoreError> {
    let today = now.date_naive();
    let t = tenant.tenant.as_str();
    let record = store.get_entity(t, EntityKind::Users, user_id).await?;
    let user = record.map(|r| UserFacts {
        role: r.sis.str("role").unwrap_or_default().to_string(),
        role_admitted: admits(tenant, r.sis.str("role").unwrap_or_default(), true),
        archive: r.archive,
        provisional: r.provisional,
        primary_admin: r.primary_admin,
        first_seen_at: r.first_seen_at,
        first_seen_run: r.first_seen_run,
        updated_at: r.updated_at,
        updated_run: r.updated_run,
        rekey: r.rekey,
        erasure: r.erasure,
    });
    let sign_ins = store
        .list_sign_in_audits(Some(t), AUDITS_READ, now)
        .await?
        .into_iter()
        .filter(|a| a.sourced_id.as_deref() == Some(user_id))
        .take(SIGN_INS_SHOWN)
        .map(|a| SignInSeen {
            at: a.at,
            outcome: a.outcome,
            matched_by: a.matched_by,
            request_id: a.request_id,
        })
        .collect();
    let recent_runs = match user {
        Some(_) => Vec::new(),
        None => recent_runs(store, t).await?,
    };
    Ok(Explanation {
        tenant: t.to_string(),
        switches: switches(tenant),
        user_id: user_id.to_string(),
        classes: classes_at_sign_in(store, t, user_id, today).await?,
        user,
        sign_ins,
        recent_runs,
        today,
    })
}

fn switches(tenant: &TenantConfig) -> Switches {
    Switches {
        enabled: tenant.enabled,
        sso: tenant.sso_enabled,
        classlink_tenant_id: tenant.classlink_tenant_id.clone(),
        admin_sso: tenant.admin_sso_enabled,
        aides: tenant.sso_allow_aides,
        match_by_email: tenant.sso_match_by_email,
        provision_teachers: tenant.sso_provision_teachers,
    }
}

async fn recent_runs<S: Store>(store: &S, tenant: &str) -> Result<Vec<RunSeen>, StoreError> {
    Ok(store
        .list_runs(Some(tenant), RUNS_SHOWN)
        .await?
        .into_iter()
        .map(|run| RunSeen {
            users: run.counts.get(EntityKind::Users.file_name()).copied(),
            run_id: run.run_id,
            started_at: run.started_at,
            status: run.status,
            source: run.source.kind,
        })
        .collect())
}
