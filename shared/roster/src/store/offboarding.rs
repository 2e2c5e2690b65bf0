//! Offboarding a district: every stored item of a tenant, found and deleted
//! ([`TenantErasure`]). Both adapters find the same kinds of item; what a
//! "key" is (a table key, a row) is the adapter's own.

use super::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;

/// A kind of stored item of a tenant, as a receipt counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantItemKind {
    /// The tenant's configuration.
    Config,
    /// The mapping of its ClassLink TenantId to it (sign-in).
    ClassLinkMapping,
    /// Its sync state.
    State,
    /// Its lease.
    Lease,
    /// Roster records (sync-owned; provisional users included).
    Records,
    /// Platform-owned record items (the Primary Administrator flag).
    PlatformRecords,
    /// Run records.
    Runs,
    /// Sign-in audit records.
    SignInAudits,
    /// Single-use records naming the tenant (login tickets).
    OneTimeRecords,
    /// Idempotency claims on its deliveries (`inbound/{tenant}/…`).
    Claims,
    /// The store's internal short keys of the tenant (SQLite only).
    InternalKeys,
}

impl TenantItemKind {
    /// The name receipts use.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantItemKind::Config => "config",
            TenantItemKind::ClassLinkMapping => "classlink_mapping",
            TenantItemKind::State => "state",
            TenantItemKind::Lease => "lease",
            TenantItemKind::Records => "records",
            TenantItemKind::PlatformRecords => "platform_records",
            TenantItemKind::Runs => "runs",
            TenantItemKind::SignInAudits => "sign_in_audits",
            TenantItemKind::OneTimeRecords => "one_time_records",
            TenantItemKind::Claims => "claims",
            TenantItemKind::InternalKeys => "internal_keys",
        }
    }
}

/// One stored item of a tenant: its kind and the store's key of it (ids
/// only: a table key, a table and row key; never a record's content).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TenantItem {
    /// What it is.
    pub kind: TenantItemKind,
    /// The store's key of it, as one line.
    pub key: String,
}

impl TenantItem {
    /// An item of `kind` under `key`.
    pub fn new(kind: TenantItemKind, key: impl Into<String>) -> TenantItem {
        TenantItem {
            kind,
            key: key.into(),
        }
    }
}

/// How many items of each kind `items` holds.
pub fn count_items(items: &[TenantItem]) -> BTreeMap<TenantItemKind, u64> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts.entry(item.kind).or_insert(0) += 1;
    }
    counts
}

/// What a deletion of a tenant's items did: what went, what is left, and
/// the error that stopped it (`None`: everything found went).
#[derive(Debug, Default)]
pub struct TenantDeletion {
    /// The items deleted.
    pub deleted: Vec<TenantItem>,
    /// The items found and not deleted (an error stopped the deletion).
    pub left: Vec<TenantItem>,
    /// Why it stopped.
    pub error: Option<StoreError>,
}

/// A tenant's whole key space: found (for a dry run and the receipt) and
/// deleted (offboarding). Not a part of [`Store`]: only `rosterctl tenants
/// offboard` takes it.
///
/// An item is the tenant's when its key names the tenant (configuration,
/// state, lease, records, runs, sign-in audits), when it names the tenant in
/// an attribute (the ClassLink TenantId mapping, a run's by-id item, a
/// one-time record whose JSON payload has `"tenant": tenant`), or when it is
/// a claim on a delivery under `inbound/{tenant}/`.
pub trait TenantErasure: Send + Sync {
    /// Every stored item of the tenant (nothing changes).
    fn tenant_items(
        &self,
        tenant: &str,
    ) -> impl Future<Output = StoreResult<Vec<TenantItem>>> + Send;

    /// Deletes every stored item of the tenant: its configuration and
    /// ClassLink mapping first (so that nothing starts a run or a sign-in
    /// for it meanwhile), its lease last. Idempotent: a second call finds
    /// and deletes what the first left, or nothing.
    fn delete_tenant(&self, tenant: &str) -> impl Future<Output = TenantDeletion> + Send;
}

/// The order items are deleted in: configuration and mapping first, lease last.
pub fn deletion_rank(kind: TenantItemKind) -> u8 {
    match kind {
        TenantItemKind::Config | TenantItemKind::ClassLinkMapping => 0,
        TenantItemKind::Lease => 2,
        _ => 1,
    }
}

/// Whether a claim's work key is on a delivery under `inbound/{tenant}/`:
/// `OBJ#{bucket}/{key}#…`, `SET#{bucket}/{folder}#…` or `FILING#OBJ#…` (the
/// keys csv-ingest claims).
pub fn claim_of_tenant(work: &str, tenant: &str) -> bool {
    let rest = work.strip_prefix("FILING#").unwrap_or(work);
    let Some(rest) = rest
        .strip_prefix("OBJ#")
        .or_else(|| rest.strip_prefix("SET#"))
    else {
        return false;
    };
    // Bucket names hold no `/`: what follows the first is the object key.
    rest.split_once('/')
        .is_some_and(|(_, key)| key.starts_with(&format!("inbound/{tenant}/")))
}

/// Whether a one-time record's payload names the tenant (`{"tenant": …}`).
pub fn one_time_of_tenant(payload: &str, tenant: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(payload)
        .ok()
        .is_some_and(|v| v.get("tenant").and_then(|t| t.as_str()) == Some(tenant))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_belong_to_the_tenant_of_their_inbound_folder_only() {
        for work in [
            "OBJ#b/inbound/d1/x.zip#v1",
            "SET#b/inbound/d1/sub/#etag#1",
            "FILING#OBJ#b/inbound/d1/users.csv#v2",
        ] {
            assert!(claim_of_tenant(work, "d1"), "{work}");
        }
        for work in [
            "OBJ#b/inbound/d10/x.zip#v1",
            "OBJ#b/inbound/d2/inbound/d1/x.zip#v1",
            "OBJ#inbound/d1/x.zip#v1",
            "LOOK#b/inbound/d1/x",
            "",
        ] {
            assert!(!claim_of_tenant(work, "d1"), "{work}");
        }
    }

    #[test]
    fn one_time_records_name_their_tenant_in_the_payload() {
        assert!(one_time_of_tenant(
            r#"{"tenant":"d1","sourced_id":"u"}"#,
            "d1"
        ));
        assert!(!one_time_of_tenant(r#"{"tenant":"d10"}"#, "d1"));
        assert!(!one_time_of_tenant(r#"{"nonce":"d1"}"#, "d1"));
        assert!(!one_time_of_tenant("not json", "d1"));
    }

    #[test]
    fn counts_are_per_kind_and_configuration_goes_first_and_lease_last() {
        let items = [
            TenantItem::new(TenantItemKind::Records, "a"),
            TenantItem::new(TenantItemKind::Records, "b"),
            TenantItem::new(TenantItemKind::Lease, "l"),
        ];
        let counts = count_items(&items);
        assert_eq!(counts[&TenantItemKind::Records], 2);
        assert_eq!(counts[&TenantItemKind::Lease], 1);
        assert_eq!(counts.get(&TenantItemKind::Config), None);
        assert!(deletion_rank(TenantItemKind::Config) < deletion_rank(TenantItemKind::Runs));
        assert!(deletion_rank(TenantItemKind::Runs) < deletion_rank(TenantItemKind::Lease));
    }
}
