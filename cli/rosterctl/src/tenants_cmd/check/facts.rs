//! What the check judges, and what the store knows of it.

use super::{ApiFinding, NoticeFinding, ScheduleFinding, SftpFinding, SIGN_IN_WINDOW_DAYS};
use chrono::{DateTime, Duration, Utc};
use oneroster::EntityKind;
use roster::school_year::RecordFacts;
use roster::{RunRecord, Store, TenantConfig};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Counts of one type's stored records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TypeCounts {
    /// Active (provisional users included).
    pub active: u64,
    /// Archived.
    pub archived: u64,
}

/// Everything the check judges, gathered from the store and AWS.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The tenant's configuration.
    pub config: TenantConfig,
    /// The Transfer Family user, for SFTP districts.
    pub sftp: Option<SftpFinding>,
    /// The API connection, for API districts.
    pub api: Option<ApiFinding>,
    /// The pull schedule, for API districts with one configured.
    pub schedule: Option<ScheduleFinding>,
    /// The newest run of the tenant.
    pub last_run: Option<RunRecord>,
    /// When the last applied run ended.
    pub last_applied_at: Option<DateTime<Utc>>,
    /// Stored records per type.
    pub counts: BTreeMap<&'static str, TypeCounts>,
    /// Active administrators in the roster (sourcedIds, sorted).
    pub administrators: Vec<String>,
    /// Primary Administrators who are active administrators.
    pub primary_admins: Vec<String>,
    /// Sign-ins of the last 7 days by outcome.
    pub sign_ins: BTreeMap<String, u64>,
    /// ClassLink users refused as not in the roster in the last 7 days.
    pub refused_teachers: u64,
    /// Provisional users (teachers signed in before the roster had them).
    pub provisional: u64,
    /// The run-notice contacts.
    pub notices: NoticeFinding,
    /// The tenant the store's mapping item of the ClassLink TenantId names
    /// (`None`: no id, or no mapping item).
    pub classlink_mapping: Option<String>,
    /// The deployment's default pause window (`DEFAULT_PAUSE_WINDOW`), for
    /// tenants without windows of their own.
    pub default_pause: Option<roster::YearlyWindow>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Gathers what the store knows: runs, counts, administrators, sign-ins.
pub async fn store_facts<S: Store>(
    store: &S,
    config: TenantConfig,
    now: DateTime<Utc>,
) -> Result<Facts, roster::StoreError> {
    let t = config.tenant.clone();
    let last_run = store.list_runs(Some(&t), 1).await?.into_iter().next();
    let state = store.get_state(&t).await?;
    let mut counts = BTreeMap::new();
    let mut administrators = Vec::new();
    let mut provisional = 0;
    for kind in EntityKind::ALL {
        let mut c = TypeCounts::default();
        for s in store.load_summaries(&t, kind).await? {
            if s.archived {
                c.archived += 1;
                continue;
            }
            c.active += 1;
            provisional += u64::from(s.provisional);
            if matches!(&s.facts, RecordFacts::User(user) if user.administrator()) {
                administrators.push(s.sourced_id.into_string());
            }
        }
        counts.insert(kind.file_name(), c);
    }
    administrators.sort();
    let primary_admins = store
        .primary_admins(&t)
        .await?
        .into_iter()
        .filter(|id| administrators.binary_search(id).is_ok())
        .collect();
    let since = now - Duration::days(SIGN_IN_WINDOW_DAYS);
    let mut sign_ins = BTreeMap::new();
    let mut refused = BTreeSet::new();
    for audit in store.list_sign_in_audits(Some(&t), 1000, now).await? {
        if audit.at < since {
            continue;
        }
        if audit.outcome == "not_in_roster" {
            refused.insert(audit.classlink_user_id.unwrap_or(audit.request_id));
        }
        *sign_ins.entry(audit.outcome).or_insert(0) += 1;
    }
    let classlink_mapping = match &config.classlink_tenant_id {
        Some(id) => store.classlink_mapping(id).await?,
        None => None,
    };
    Ok(Facts {
        classlink_mapping,
        default_pause: None,
        sftp: None,
        api: None,
        schedule: None,
        last_run,
        last_applied_at: state.last_applied_at,
        counts,
        administrators,
        primary_admins,
        sign_ins,
        refused_teachers: refused.len() as u64,
        provisional,
        notices: match config.notify_emails.len() {
            0 => NoticeFinding::NoContacts,
            contacts => NoticeFinding::NotChecked { contacts },
        },
        config,
        now,
    })
}
