//! The records a store keeps and the writes that change them.

use crate::content::{IndexKeys, SisContent};
use crate::school_year::RecordFacts;
use chrono::{DateTime, Utc};
use compact_str::CompactString;
use oneroster::EntityKind;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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
    /// The district gave the same person a new sourcedId, and an operator
    /// approved the held run with the re-key: the record under the new id
    /// carries on (see [`StoredEntity::rekeyed_to`]).
    Rekeyed,
}

impl ArchiveReason {
    /// Lower-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ArchiveReason::Absent => "absent",
            ArchiveReason::Ended => "ended",
            ArchiveReason::Deleted => "deleted",
            ArchiveReason::Rekeyed => "rekeyed",
        }
    }

    /// Parses the stored name; `None` for anything else (records archived
    /// before reasons were kept, and hand archives, have none).
    pub fn parse(text: &str) -> Option<ArchiveReason> {
        match text {
            "absent" => Some(ArchiveReason::Absent),
            "ended" => Some(ArchiveReason::Ended),
            "deleted" => Some(ArchiveReason::Deleted),
            "rekeyed" => Some(ArchiveReason::Rekeyed),
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
    /// Platform-owned: the record's place in a chain of re-keys (read by
    /// `get_entity`; empty from lookups).
    pub rekey: RekeyLinks,
    /// Platform-owned: when and why the person's personal fields were erased
    /// (retention, `users forget`); cleared by the next sync that writes the
    /// record (the district's content is back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erasure: Option<Erasure>,
}

/// Platform-owned: how a record is tied to the same person's records under
/// other sourcedIds (an approved re-key; see `roster::rekey`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RekeyLinks {
    /// On a record archived as `rekeyed`: the sourcedId it carries on under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rekeyed_to: Option<String>,
    /// On the record it carries on under: its earlier sourcedIds, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub previous_sourced_ids: Vec<String>,
}

/// Why a person's personal data was erased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "lowercase")]
pub enum ErasureCause {
    /// The tenant's retention: archived longer than `days` days.
    Retention {
        /// The retention in force, in days.
        days: u32,
    },
    /// `rosterctl users forget`, at the district's request.
    Forget {
        /// Who asked for it (the operator's `--by`).
        by: String,
    },
}

/// When, by which run and why a record's personal fields were erased
/// (platform-owned; see [`crate::personal`] for what is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// When.
    pub at: DateTime<Utc>,
    /// The run that erased it (a retention pass or a forget).
    pub run: String,
    /// Why.
    #[serde(flatten)]
    pub cause: ErasureCause,
}

impl Erasure {
    /// In words: "personal data erased on 2027-03-01 under the retention of
    /// 365 days (run …)", or "… at the district's request (by ops@x; run …)".
    pub fn describe(&self) -> String {
        let day = self.at.format("%Y-%m-%d");
        match &self.cause {
            ErasureCause::Retention { days } => format!(
                "personal data erased on {day} under the retention of {days} days (run {})",
                self.run
            ),
            ErasureCause::Forget { by } => format!(
                "personal data erased on {day} at the district's request (by {by}; run {})",
                self.run
            ),
        }
    }
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
