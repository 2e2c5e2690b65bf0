//! The store port: everything the engine, the CLI and the Lambdas need from
//! a roster store, as small role traits ([`Tenants`], [`Records`],
//! [`PrimaryAdmins`], [`Runs`], [`OneTimeRecords`], [`SignInAudits`],
//! [`Leases`], [`Claims`]) that [`Store`] gathers. Two adapters implement them — DynamoDB (production) and
//! SQLite (embedded, local) — and one conformance suite keeps them equal.

use crate::content::{IndexKeys, SisContent};
use crate::error::BoxError;
use crate::run::RunRecord;
pub use crate::run::StoreUsage;
use crate::school_year::RecordFacts;
use crate::tenant::{TenantConfig, TenantState};
use chrono::{DateTime, Utc};
use compact_str::CompactString;
use futures::{Stream, StreamExt};
use oneroster::EntityKind;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A store failure. The underlying error (an SDK or SQLite error) is kept as
/// the source; the message says what the store was doing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttling, timeouts, network faults: retrying later may succeed.
    #[error("store unavailable (retryable): {context}")]
    Unavailable {
        /// What failed.
        context: String,
        /// Why.
        #[source]
        source: Option<BoxError>,
    },
    /// A write the store refused because it would break a rule it enforces
    /// (a ClassLink TenantId that belongs to another tenant). Retrying will
    /// not help; the message says what to change.
    #[error("{context}")]
    Conflict {
        /// What the rule is and who holds what.
        context: String,
    },
    /// A write refused because its run no longer holds its tenant's lease
    /// (another run took it over): the run must stop writing.
    #[error("lease lost: {context}")]
    LeaseLost {
        /// Whose lease, and what was refused.
        context: String,
    },
    /// A request the store refused or data it cannot read.
    #[error("store error: {context}")]
    Permanent {
        /// What failed.
        context: String,
        /// Why.
        #[source]
        source: Option<BoxError>,
    },
}

impl StoreError {
    /// A failure that retrying later may fix.
    pub fn unavailable(context: impl Into<String>) -> StoreError {
        StoreError::Unavailable {
            context: context.into(),
            source: None,
        }
    }

    /// A failure that retrying will not fix.
    pub fn permanent(context: impl Into<String>) -> StoreError {
        StoreError::Permanent {
            context: context.into(),
            source: None,
        }
    }

    /// A write refused by a rule the store enforces.
    pub fn conflict(context: impl Into<String>) -> StoreError {
        StoreError::Conflict {
            context: context.into(),
        }
    }

    /// A write refused because the run's lease is no longer held.
    pub fn lease_lost(context: impl Into<String>) -> StoreError {
        StoreError::LeaseLost {
            context: context.into(),
        }
    }

    /// The same failure, caused by `cause` (a conflict or a lost lease
    /// carries no cause).
    pub fn because(self, cause: impl Into<BoxError>) -> StoreError {
        match self {
            StoreError::Conflict { context } => StoreError::Conflict { context },
            StoreError::LeaseLost { context } => StoreError::LeaseLost { context },
            StoreError::Unavailable { context, .. } => StoreError::Unavailable {
                context,
                source: Some(cause.into()),
            },
            StoreError::Permanent { context, .. } => StoreError::Permanent {
                context,
                source: Some(cause.into()),
            },
        }
    }

    /// Whether the store refused the write by one of its rules.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }

    /// Whether the write was refused because the run's lease was lost.
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, StoreError::LeaseLost { .. })
    }

    /// Whether retrying later may succeed (the store was unavailable).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

/// Who archived a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchivedBy {
    /// A sync (absent from a bulk file, or `tobedeleted`).
    Sync,
    /// Someone in the platform.
    Manual,
    /// `rosterctl runs revert`: a record the reverted run had inserted.
    Revert,
}

impl ArchivedBy {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ArchivedBy::Sync => "sync",
            ArchivedBy::Manual => "manual",
            ArchivedBy::Revert => "revert",
        }
    }

    /// Parses the stored name (anything unknown is a hand archive).
    pub fn parse(text: &str) -> ArchivedBy {
        match text {
            "sync" => ArchivedBy::Sync,
            "revert" => ArchivedBy::Revert,
            _ => ArchivedBy::Manual,
        }
    }
}

/// Why a sync archived a record (see docs/data-model.md, "Archive reasons").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveReason {
    /// Left out of a bulk file while its time was not over: the district
    /// dropped it (a student who left, a class cancelled), or the file is broken.
    /// These count toward the safety hold.
    Absent,
    /// Left out of a bulk file after its time was over (a past session, a class
    /// of past terms, an enrollment that ended): the school year moved on.
    /// These do not count toward the safety hold.
    Ended,
    /// Deleted by the district: `tobedeleted` in a delta file.
    Deleted,
}

impl ArchiveReason {
    /// Lower-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ArchiveReason::Absent => "absent",
            ArchiveReason::Ended => "ended",
            ArchiveReason::Deleted => "deleted",
        }
    }

    /// Parses the stored name; `None` for anything else (records archived
    /// before reasons were kept, and hand archives, have none).
    pub fn parse(text: &str) -> Option<ArchiveReason> {
        match text {
            "absent" => Some(ArchiveReason::Absent),
            "ended" => Some(ArchiveReason::Ended),
            "deleted" => Some(ArchiveReason::Deleted),
            _ => None,
        }
    }
}

/// When and by whom a record was archived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveInfo {
    /// Who.
    pub by: ArchivedBy,
    /// When.
    pub at: DateTime<Utc>,
    /// The run, for archives by a sync.
    pub run: Option<String>,
    /// Why, for archives by a sync (none for hand archives, and for records a
    /// sync archived before reasons were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ArchiveReason>,
}

/// What the engine needs of a stored record to plan against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSummary {
    /// The record's sourcedId.
    pub sourced_id: CompactString,
    /// Digest of the SIS content as stored now.
    pub digest: u64,
    /// Whether the record is archived (by a sync or by hand).
    pub archived: bool,
    /// First seen, and by which run (platform-owned; carried over on every
    /// write). The records a run first saw share one copy.
    pub first_seen: Arc<FirstSeen>,
    /// What the school-year rules and the mass-update guard read of its content.
    pub facts: RecordFacts,
    /// Platform-owned: made at sign-in for a teacher the roster lacked
    /// ([`ProvisionalUsers`]). A sync that delivers it makes it an ordinary
    /// record; a bulk sync that does not leaves it alone (it was never SIS data).
    pub provisional: bool,
}

/// When a record was first seen, and by which run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstSeen {
    /// First seen.
    pub at: DateTime<Utc>,
    /// The run that first saw it.
    pub run: String,
}

/// One shared [`FirstSeen`] for each stamp and run as summaries are read
/// (records come in runs of the same stamp): a summary keeps a pointer, not
/// its own copy of the run id.
#[derive(Debug, Default)]
pub struct FirstSeenCache(Option<Arc<FirstSeen>>);

impl FirstSeenCache {
    /// The shared value for the stamp `at` and run id `run`.
    pub fn get(&mut self, at: DateTime<Utc>, run: &str) -> Arc<FirstSeen> {
        if let Some(last) = &self.0 {
            if last.at == at && last.run == run {
                return last.clone();
            }
        }
        let first_seen = Arc::new(FirstSeen {
            at,
            run: run.to_string(),
        });
        self.0 = Some(first_seen.clone());
        first_seen
    }
}

/// A stored record in full.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEntity {
    /// Type.
    pub kind: EntityKind,
    /// sourcedId.
    pub sourced_id: String,
    /// SIS-owned fields.
    pub sis: SisContent,
    /// Archive state (None: active).
    pub archive: Option<ArchiveInfo>,
    /// First seen.
    pub first_seen_at: DateTime<Utc>,
    /// Run that first saw it.
    pub first_seen_run: String,
    /// Last written by a sync.
    pub updated_at: DateTime<Utc>,
    /// Run that last wrote it.
    pub updated_run: String,
    /// Platform-owned: the Primary Administrator flag (users only).
    pub primary_admin: bool,
    /// Platform-owned: a provisional user made at sign-in, not yet delivered by a sync.
    pub provisional: bool,
}

/// A write the engine asks for. Writes touch only sync-owned data:
/// platform-owned fields live apart and are never written by a sync.
#[derive(Debug, Clone, PartialEq)]
pub enum EntityWrite {
    /// Create or replace the record's sync-owned data, active.
    Put {
        /// Type.
        kind: EntityKind,
        /// sourcedId.
        sourced_id: String,
        /// SIS content.
        sis: SisContent,
        /// Its lookup keys (`sis.index_keys(kind)`), read from the content
        /// when the write is made: a store that writes on another thread
        /// does not parse the content again.
        keys: IndexKeys,
        /// First seen (kept from the stored record, or now for a new one).
        first_seen_at: DateTime<Utc>,
        /// Run that first saw it.
        first_seen_run: String,
        /// Now.
        updated_at: DateTime<Utc>,
        /// This run.
        run: String,
    },
    /// Archive an existing record (its content is left as it is).
    Archive {
        /// Type.
        kind: EntityKind,
        /// sourcedId.
        sourced_id: String,
        /// Now.
        at: DateTime<Utc>,
        /// This run.
        run: String,
        /// Why (a sync always says; a revert's archive has no reason).
        reason: Option<ArchiveReason>,
        /// Who: a sync, or a revert.
        by: ArchivedBy,
    },
    /// Puts a record back in a whole earlier state (a revert): its content,
    /// archive state (none, or who, when, which run, why), first-seen and
    /// last-written stamps, and the provisional mark.
    Restore {
        /// Type.
        kind: EntityKind,
        /// sourcedId.
        sourced_id: String,
        /// The state to put back.
        state: RecordState,
    },
}

/// A record's whole stored state, as a before-image keeps it and a revert
/// restores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordState {
    /// SIS content.
    pub sis: SisContent,
    /// Archive state (None: active).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveInfo>,
    /// First seen.
    pub first_seen_at: DateTime<Utc>,
    /// Run that first saw it.
    pub first_seen_run: String,
    /// Last written.
    pub updated_at: DateTime<Utc>,
    /// Run that last wrote it.
    pub updated_run: String,
    /// A provisional user made at sign-in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provisional: bool,
}

impl RecordState {
    /// The state of a stored record.
    pub fn of(entity: &StoredEntity) -> RecordState {
        RecordState {
            sis: entity.sis.clone(),
            archive: entity.archive.clone(),
            first_seen_at: entity.first_seen_at,
            first_seen_run: entity.first_seen_run.clone(),
            updated_at: entity.updated_at,
            updated_run: entity.updated_run.clone(),
            provisional: entity.provisional,
        }
    }
}

impl EntityWrite {
    /// The record's type.
    pub fn kind(&self) -> EntityKind {
        match self {
            EntityWrite::Put { kind, .. }
            | EntityWrite::Archive { kind, .. }
            | EntityWrite::Restore { kind, .. } => *kind,
        }
    }

    /// The record's sourcedId.
    pub fn sourced_id(&self) -> &str {
        match self {
            EntityWrite::Put { sourced_id, .. }
            | EntityWrite::Archive { sourced_id, .. }
            | EntityWrite::Restore { sourced_id, .. } => sourced_id,
        }
    }
}

/// A secondary lookup within one tenant (never across tenants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Users by email (case-insensitive).
    UsersByEmail(String),
    /// Users by username (case-insensitive).
    UsersByUsername(String),
    /// Classes of a school.
    ClassesOfSchool(String),
    /// Enrollments of a class.
    EnrollmentsOfClass(String),
    /// Enrollments of a user.
    EnrollmentsOfUser(String),
}

impl Lookup {
    /// The type of record the lookup returns.
    pub fn kind(&self) -> EntityKind {
        match self {
            Lookup::UsersByEmail(_) | Lookup::UsersByUsername(_) => EntityKind::Users,
            Lookup::ClassesOfSchool(_) => EntityKind::Classes,
            Lookup::EnrollmentsOfClass(_) | Lookup::EnrollmentsOfUser(_) => EntityKind::Enrollments,
        }
    }
}

/// Short-lived, single-use records: SSO login transactions and login tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneTimeKind {
    /// An SSO login transaction (state, nonce, PKCE verifier), ~10 minutes.
    LoginTransaction,
    /// A one-time login ticket, ~60 seconds.
    LoginTicket,
}

impl OneTimeKind {
    /// Stable name used in keys.
    pub fn as_str(self) -> &'static str {
        match self {
            OneTimeKind::LoginTransaction => "login-tx",
            OneTimeKind::LoginTicket => "ticket",
        }
    }
}

/// One SSO sign-in attempt, for the audit trail: ids and the outcome, never
/// names, emails, codes or tokens. Kept until `expires_at` (then TTL removes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInAudit {
    /// When the attempt finished.
    pub at: DateTime<Utc>,
    /// The request id shown to the user as the support reference.
    pub request_id: String,
    /// Our tenant, when known.
    pub tenant: Option<String>,
    /// ClassLink's TenantId, when known.
    pub classlink_tenant_id: Option<String>,
    /// ClassLink's UserId, when known.
    pub classlink_user_id: Option<String>,
    /// The roster user signed in, if any.
    pub sourced_id: Option<String>,
    /// Which key found the roster user: `sourced_id`, `email` or `username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<String>,
    /// A stable outcome code (`signed_in`, `not_in_roster`, `invalid_token`, ...).
    pub outcome: String,
    /// When the record may be removed.
    pub expires_at: DateTime<Utc>,
}

/// One tenure of a tenant's lease: who took it, with which fencing token.
///
/// The token grows by one each time the lease is taken (by anyone), so a
/// run whose lease was taken over holds a token the store no longer has:
/// every write under the lease ([`Records::write`], [`Tenants::put_state`])
/// is refused with [`StoreError::LeaseLost`] from then on, whatever the
/// clocks say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The run (or approval) that holds it.
    pub owner: String,
    /// The fencing token of this tenure.
    pub token: u64,
    /// How long the lease lasts from each renewal.
    pub ttl: Duration,
}

impl Lease {
    /// The refusal of a write under this lease of `tenant` once another run
    /// has taken it over.
    pub fn lost(&self, tenant: &str) -> StoreError {
        StoreError::lease_lost(format!(
            "{} no longer holds the lease of tenant `{tenant}` (token {}); another run took it over, and nothing more was written",
            self.owner, self.token
        ))
    }

    /// A renewal's answer as a fence: `Ok` when it `renewed` the lease, the
    /// refusal ([`Lease::lost`]) when another run has taken it over.
    pub fn still_held(&self, tenant: &str, renewed: bool) -> StoreResult<()> {
        if renewed {
            Ok(())
        } else {
            Err(self.lost(tenant))
        }
    }
}

/// The result of trying to take a tenant's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// Taken. `expired_owner` names a run whose lease had expired (it died).
    Acquired {
        /// The lease now held.
        lease: Lease,
        /// The previous owner whose lease expired, if any.
        expired_owner: Option<String>,
    },
    /// Another run holds it.
    Held {
        /// The holder's lease (its token frees it only if it is still held,
        /// see [`Leases::release_lease`]).
        lease: Lease,
        /// Until when.
        expires_at: DateTime<Utc>,
    },
}

/// Result type of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

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

    /// How many writes the engine hands to [`Records::write`] at a time when
    /// its options leave it to the store (one transaction or batch of calls).
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

/// What claiming a piece of work found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Claimed by the caller: do the work, then finish or release the claim.
    Claimed,
    /// Already done (the duplicate is skipped); `result` says how it ended.
    Done {
        /// What the finisher recorded (a run id and status).
        result: String,
    },
    /// Another invocation is doing it now.
    Busy {
        /// The holder.
        owner: String,
    },
}

/// The whole roster store: every role. The engine and operators' tools take
/// it; a caller that needs less takes only the roles it uses (the SSO
/// function takes [`Tenants`], [`Records`], [`ProvisionalUsers`], [`OneTimeRecords`] and [`SignInAudits`]).
pub trait Store:
    Tenants
    + Records
    + PrimaryAdmins
    + ProvisionalUsers
    + Runs
    + OneTimeRecords
    + SignInAudits
    + Leases
    + Claims
{
}

impl<T> Store for T where
    T: Tenants
        + Records
        + PrimaryAdmins
        + ProvisionalUsers
        + Runs
        + OneTimeRecords
        + SignInAudits
        + Leases
        + Claims
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

/// When a lease, claim or kept result that starts at `now` and lasts `length`
/// ends, in both adapters; a length past chrono's range never ends.
pub fn expires_after(now: DateTime<Utc>, length: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(length)
        .ok()
        .and_then(|length| now.checked_add_signed(length))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_ends_its_length_after_now_and_a_length_past_the_calendar_never() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T18:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            expires_after(now, Duration::from_secs(90)).to_rfc3339(),
            "2026-12-02T18:01:30+00:00"
        );
        assert_eq!(expires_after(now, Duration::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            expires_after(now, Duration::from_secs(400_000 * 365 * 86_400)),
            DateTime::<Utc>::MAX_UTC
        );
    }
}
