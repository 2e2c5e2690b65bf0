//! The erasure role: finding people archived past a tenant's retention, and
//! erasing their personal fields (see [`crate::personal`] for what is kept).

use super::*;
use crate::content::SisContent;
use oneroster::EntityKind;
use std::future::Future;

/// The record as it was read before erasing it: the erasure is written only
/// if the record is still so (not re-delivered, un-archived or archived
/// again meanwhile), whatever the timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Last written by a sync (a sync's write changes it).
    pub updated_at: DateTime<Utc>,
    /// When it was archived (`None`: active when read).
    pub archived_at: Option<DateTime<Utc>>,
}

impl Seen {
    /// What `entity` is as read.
    pub fn of(entity: &StoredEntity) -> Seen {
        Seen {
            updated_at: entity.updated_at,
            archived_at: entity.archive.as_ref().map(|a| a.at),
        }
    }
}

/// One record to erase.
#[derive(Debug, Clone, PartialEq)]
pub struct Erase {
    /// Type (users or demographics).
    pub kind: EntityKind,
    /// sourcedId.
    pub sourced_id: String,
    /// The content to keep: the stored one with its personal fields erased
    /// ([`crate::personal::erase`]); its lookup keys replace the record's.
    pub sis: SisContent,
    /// The record as read.
    pub seen: Seen,
    /// The mark to set.
    pub erasure: Erasure,
}

impl Erase {
    /// The erasure of `entity`'s personal fields, marked `erasure`.
    pub fn of(entity: &StoredEntity, erasure: Erasure) -> Erase {
        Erase {
            kind: entity.kind,
            sourced_id: entity.sourced_id.clone(),
            sis: crate::personal::erase(entity.kind, &entity.sis),
            seen: Seen::of(entity),
            erasure,
        }
    }
}

/// Erasing people's personal data (retention, `rosterctl users forget`).
pub trait Erasures: Send + Sync {
    /// The tenant's records of `kind` archived before `before` (by the
    /// archive's time) and not erased since they were last written, in full,
    /// by sourcedId.
    fn archived_before(
        &self,
        tenant: &str,
        kind: EntityKind,
        before: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<StoredEntity>>> + Send;

    /// Erases records under the tenant's `lease` (fenced as
    /// [`Records::write`]): each record's content becomes `sis`, its lookup
    /// keys (email, username, …) those of `sis`, and its erasure mark is
    /// set; its archive state, first-seen and last-written stamps, and the
    /// platform-owned fields stay. A record no longer as `seen`, or already
    /// erased, or gone, is left alone. Returns how many were erased.
    /// SQLite: one transaction; DynamoDB: one conditional update a record,
    /// several at once.
    fn erase(
        &self,
        tenant: &str,
        lease: &Lease,
        erasures: &[Erase],
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}
