//! The role traits a store implements, and [`Store`], which gathers them.

use super::*;
use crate::content::SisContent;
use crate::run::RunRecord;
use crate::tenant::{TenantConfig, TenantState};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use oneroster::EntityKind;
use std::future::Future;
use std::time::Duration;

/// Tenants' configurations and sync states.
pub trait Tenants: Send + Sync {
    /// A tenant's configuration.
    fn get_tenant(
        &self,
        tenant: &str,
    ) -> impl Future<Output = StoreResult<Option<TenantConfig>>> + Send;

    /// Creates or replaces a tenant's configuration, and with it, in the same
    /// atomic write, the mapping item of its ClassLink TenantId (created,
    /// moved or removed as the configuration's id changes). Refused with
    /// [`StoreError::Conflict`] when the id belongs to another tenant: one
    /// ClassLink tenant, one district, whatever races.
    fn put_tenant(&self, config: &TenantConfig) -> impl Future<Output = StoreResult<()>> + Send;

    /// The tenant the mapping item of `classlink_tenant_id` names (`None`: no
    /// mapping item). One strongly consistent read. Use
    /// [`tenant_for_classlink`], which also checks the tenant agrees.
    fn classlink_mapping(
        &self,
        classlink_tenant_id: &str,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send;

    /// All tenants, by id.
    fn list_tenants(&self) -> impl Future<Output = StoreResult<Vec<TenantConfig>>> + Send;

    /// A tenant's sync state (default when none yet).
    fn get_state(&self, tenant: &str) -> impl Future<Output = StoreResult<TenantState>> + Send;

    /// Replaces a tenant's sync state, only while `lease` is the tenant's
    /// lease (else [`StoreError::LeaseLost`], nothing written): one atomic
    /// check and write.
    fn put_state(
        &self,
        tenant: &str,
        state: &TenantState,
        lease: &Lease,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Whom a ClassLink TenantId belongs to, as sign-in sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassLinkOwner {
    /// No tenant has it.
    Unknown,
    /// Exactly this tenant.
    Tenant(Box<TenantConfig>),
    /// The store's records disagree (configurations edited past the store's
    /// check): sign-in is refused until an operator fixes them.
    Misconfigured {
        /// Every tenant involved: the mapping's, and each whose configuration
        /// carries the id.
        tenants: Vec<String>,
    },
}

/// Finds the tenant of a ClassLink TenantId: the mapping item, then that
/// tenant's configuration, which must carry the same id (two reads).
///
/// Without a mapping item (a tenant saved before the mapping existed), every
/// configuration is read: one match is the tenant, more than one is
/// [`ClassLinkOwner::Misconfigured`]. So is a mapping whose tenant no longer
/// carries the id while another configuration does.
pub async fn tenant_for_classlink<S: Tenants + ?Sized>(
    store: &S,
    classlink_tenant_id: &str,
) -> StoreResult<ClassLinkOwner> {
    let carries = |t: &TenantConfig| t.classlink_tenant_id.as_deref() == Some(classlink_tenant_id);
    let mapped = store.classlink_mapping(classlink_tenant_id).await?;
    if let Some(owner) = &mapped {
        if let Some(config) = store.get_tenant(owner).await?.filter(carries) {
            return Ok(ClassLinkOwner::Tenant(Box::new(config)));
        }
    }
    let mut matches: Vec<TenantConfig> = store
        .list_tenants()
        .await?
        .into_iter()
        .filter(carries)
        .collect();
    Ok(match (mapped, matches.len()) {
        (_, 0) => ClassLinkOwner::Unknown,
        (None, 1) => ClassLinkOwner::Tenant(Box::new(matches.remove(0))),
        (mapped, _) => ClassLinkOwner::Misconfigured {
            tenants: mapped
                .into_iter()
                .chain(matches.into_iter().map(|t| t.tenant))
                .collect(),
        },
    })
}

/// The refusal when a ClassLink TenantId already belongs to `owner`.
pub fn classlink_taken(classlink_tenant_id: &str, owner: &str) -> StoreError {
    StoreError::conflict(format!(
        "ClassLink TenantId {classlink_tenant_id} already belongs to tenant `{owner}`; one district, one ClassLink tenant"
    ))
}

/// The roster records themselves (SIS-owned content and archive state).
pub trait Records: Send + Sync {
    /// A short name for messages (`sqlite`, `dynamodb`).
    fn name(&self) -> &'static str;

    /// The requests and capacity units the store has consumed since it was
    /// made (`None`: the store does not count them).
    fn usage(&self) -> Option<StoreUsage> {
        None
    }

    /// The largest chunk of writes the engine hands to [`Records::write_all`]
    /// when its options leave it to the store (one transaction or batch of
    /// calls); a first load's chunks start at 1,000 and double up to it.
    fn write_batch(&self) -> usize {
        1000
    }

    /// Every stored record of a type for a tenant (active and archived).
    fn load_summaries(
        &self,
        tenant: &str,
        kind: EntityKind,
    ) -> impl Future<Output = StoreResult<Vec<StoredSummary>>> + Send;

    /// Whether the tenant has any record stored (active, archived or
    /// provisional): a run into a tenant without one is a first load.
    fn has_records(&self, tenant: &str) -> impl Future<Output = StoreResult<bool>> + Send;

    /// One stored record.
    fn get_entity(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
    ) -> impl Future<Output = StoreResult<Option<StoredEntity>>> + Send;

    /// The stored states of the records `ids` of one type, read now
    /// (strongly consistent), by sourcedId; records not stored are left out.
    /// What a run keeps as before-images. Default: one
    /// [`Records::get_entity`] each.
    fn record_states(
        &self,
        tenant: &str,
        kind: EntityKind,
        ids: &[String],
    ) -> impl Future<Output = StoreResult<std::collections::HashMap<String, RecordState>>> + Send
    {
        async move {
            let mut states = std::collections::HashMap::with_capacity(ids.len());
            for id in ids {
                if let Some(entity) = self.get_entity(tenant, kind, id).await? {
                    states.insert(id.clone(), RecordState::of(&entity));
                }
            }
            Ok(states)
        }
    }

    /// The sourcedIds (sorted) of the tenant's records matching a lookup,
    /// archived ones included. Index-backed: may lag a write by a moment on DynamoDB.
    fn lookup(
        &self,
        tenant: &str,
        lookup: &Lookup,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;

    /// Applies writes under the tenant's `lease`; returns the number of
    /// items written. Writes are idempotent: applying the same write twice
    /// leaves the same state.
    ///
    /// Fenced: the store first renews `lease` (for its `ttl`) only if it is
    /// still the tenant's lease, same owner and token, and writes nothing
    /// otherwise ([`StoreError::LeaseLost`]). SQLite renews and writes in one
    /// transaction; DynamoDB renews with a conditional update and sends no
    /// request after half the lease has passed without renewing it again
    /// (see docs/operations.md, "One run of a tenant at a time").
    fn write(
        &self,
        tenant: &str,
        lease: &Lease,
        writes: &[EntityWrite],
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Applies a run's writes, chunk by chunk in the order they come, each
    /// chunk as [`Records::write`] (fenced by `lease`); returns the number
    /// of items written. Stops at the first chunk that fails. The one way
    /// the engine writes a run: the chunks come from a plan file, or from
    /// the planner itself during a first load. A store may pipeline inside
    /// (default: one [`Records::write`] after the other).
    fn write_all(
        &self,
        tenant: &str,
        lease: &Lease,
        chunks: impl Stream<Item = Vec<EntityWrite>> + Send,
    ) -> impl Future<Output = StoreResult<u64>> + Send {
        async move {
            let mut chunks = std::pin::pin!(chunks);
            let mut written = 0;
            while let Some(chunk) = chunks.next().await {
                written += self.write(tenant, lease, &chunk).await?;
            }
            Ok(written)
        }
    }
}

/// The platform-owned Primary Administrator flag (never written by a sync).
pub trait PrimaryAdmins: Send + Sync {
    /// The sourcedIds of the tenant's Primary Administrators.
    fn primary_admins(&self, tenant: &str)
        -> impl Future<Output = StoreResult<Vec<String>>> + Send;

    /// Sets or clears the platform-owned Primary Administrator flag.
    fn set_primary_admin(
        &self,
        tenant: &str,
        sourced_id: &str,
        primary: bool,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Platform-owned re-key links (never written by a sync).
pub trait Rekeys: Send + Sync {
    /// Records that `old` of `kind` carries on as `new`: `new` has
    /// `previous` (the ids `old` had before, then `old`) as its earlier
    /// sourcedIds, and then `old` points to `new` (so a link stopped
    /// halfway is whole once `old` points to `new`).
    fn link_rekey(
        &self,
        tenant: &str,
        kind: EntityKind,
        old: &str,
        new: &str,
        previous: &[String],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Undoes [`Self::link_rekey`] for a revert: `old` no longer points
    /// to `new` (left as it is when it points elsewhere), and `new` has no
    /// earlier sourcedIds (it was inserted by the re-key).
    fn unlink_rekey(
        &self,
        tenant: &str,
        kind: EntityKind,
        old: &str,
        new: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Run records.
pub trait Runs: Send + Sync {
    /// Creates or replaces a run record.
    fn put_run(&self, run: &RunRecord) -> impl Future<Output = StoreResult<()>> + Send;

    /// A run by id.
    fn get_run(&self, run_id: &str) -> impl Future<Output = StoreResult<Option<RunRecord>>> + Send;

    /// A tenant's runs (or all tenants'), newest first.
    fn list_runs(
        &self,
        tenant: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<RunRecord>>> + Send;
}

/// Provisional users: teachers ClassLink signed in whom the district's roster
/// did not have yet. Each is a user record (`provisional: true`) that only
/// the sign-in creates; a sync that delivers the same sourcedId overwrites it
/// as ordinary SIS data, and a sync never archives it for being absent.
pub trait ProvisionalUsers: Send + Sync {
    /// Creates a provisional, active user with `sis` content, unless the
    /// tenant has a user with this sourcedId already (active, archived or
    /// provisional): true when it was created.
    fn provision_user(
        &self,
        tenant: &str,
        sourced_id: &str,
        sis: &SisContent,
        now: DateTime<Utc>,
        origin: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// The tenant's provisional users, by sourcedId.
    fn provisional_users(
        &self,
        tenant: &str,
    ) -> impl Future<Output = StoreResult<Vec<StoredEntity>>> + Send;
}

/// Short-lived, single-use records (SSO login transactions, login tickets).
pub trait OneTimeRecords: Send + Sync {
    /// Stores a single-use record under `key` (the caller stores a hash of any
    /// secret, never the secret) until `expires_at`. Refused if `key` exists.
    fn put_one_time(
        &self,
        kind: OneTimeKind,
        key: &str,
        payload: &str,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Takes a single-use record: at most one caller ever gets its payload;
    /// an expired record is gone.
    fn take_one_time(
        &self,
        kind: OneTimeKind,
        key: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send;
}

/// The SSO sign-in audit trail.
pub trait SignInAudits: Send + Sync {
    /// Appends a sign-in audit record.
    fn put_sign_in_audit(
        &self,
        audit: &SignInAudit,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// A tenant's sign-in audit records (or those with no known tenant, for
    /// `None`), newest first; expired records are left out.
    fn list_sign_in_audits(
        &self,
        tenant: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<SignInAudit>>> + Send;
}

/// Per-tenant leases that serialise runs. Each taking of a lease gets the
/// next fencing token ([`Lease`]); renewing and releasing act only on the
/// same owner and token.
pub trait Leases: Send + Sync {
    /// Takes the tenant's lease for `owner` until `now + ttl`, if free or
    /// expired, with the next fencing token.
    fn acquire_lease(
        &self,
        tenant: &str,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> impl Future<Output = StoreResult<LeaseOutcome>> + Send;

    /// Extends the lease to `now + lease.ttl`; false when it is no longer
    /// the tenant's lease (another owner or token).
    fn renew_lease(
        &self,
        tenant: &str,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Frees the lease if it is still `lease` (same owner and token); the
    /// token is kept, so the next taker gets a greater one.
    fn release_lease(
        &self,
        tenant: &str,
        lease: &Lease,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Idempotency claims on pieces of work (an S3 object, a loose-file set):
/// a duplicate event finds the work done or in progress and does nothing.
pub trait Claims: Send + Sync {
    /// Claims `work` (idempotency key) for `owner` for `lease`, unless it is
    /// done or another owner's lease is still running.
    fn claim(
        &self,
        work: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> impl Future<Output = StoreResult<ClaimOutcome>> + Send;
    /// Marks a claimed piece of work done, remembered for `keep`.
    fn finish_claim(
        &self,
        work: &str,
        owner: &str,
        result: &str,
        now: DateTime<Utc>,
        keep: Duration,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Gives a claim up (the work failed and may be retried).
    fn release_claim(
        &self,
        work: &str,
        owner: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The whole roster store: every role. The engine and operators' tools take
/// it; a caller that needs less takes only the roles it uses (the SSO
/// function takes [`Tenants`], [`Records`], [`ProvisionalUsers`], [`OneTimeRecords`] and [`SignInAudits`]).
pub trait Store:
    Tenants
    + Records
    + PrimaryAdmins
    + Rekeys
    + ProvisionalUsers
    + Runs
    + OneTimeRecords
    + SignInAudits
    + Leases
    + Claims
    + Erasures
{
}

impl<T> Store for T where
    T: Tenants
        + Records
        + PrimaryAdmins
        + Rekeys
        + ProvisionalUsers
        + Runs
        + OneTimeRecords
        + SignInAudits
        + Leases
        + Claims
        + Erasures
{
}

/// Changes made in the platform, not by a sync: archiving a record by hand,
/// editing a SIS field in the table. Used by tests (to prove a sync overrides
/// them) and by operators' tooling.
pub trait PlatformEdits: Send + Sync {
    /// Archives a record as the platform would (`archived_by: manual`).
    fn archive_by_hand(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Overwrites one SIS field of a stored record.
    fn edit_sis_field(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
        field: &str,
        value: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
