//! The sync engine of the ClassLink roster bridge: one merge path from a
//! validated OneRoster snapshot (a CSV package or an API pull) into a roster
//! store. Snapshot -> plan (diff against what is stored now) -> apply -> run record.
//!
//! The store is a port ([`Store`], gathered from small role traits) with two
//! adapters, each a crate of its own so that a binary links only the store it
//! names: `roster_sqlite::SqliteStore` (embedded, local) and
//! `roster_dynamodb::DynamoStore` (production). This crate needs no SDK.

pub mod artifacts;
pub mod before;
pub mod canonical;
pub mod content;
pub mod engine;
pub mod error;
pub mod explain;
pub mod freshness;
pub mod held_changes;
pub mod history;
mod memory;
pub mod personal;
pub mod plan;
pub mod rekey;
pub mod retention;
pub mod revert;
pub mod run;
pub mod school_year;
pub mod sign_in;
pub mod snapshot;
pub mod store;
pub mod tenant;

pub use artifacts::{Artifacts, LocalArtifacts, Prefetched};
pub use content::SisContent;
pub use engine::{Engine, SyncOptions};
pub use error::SyncError;
pub use run::{Delivered, KindCounts, RunRecord, RunSource, RunStatus};
pub use snapshot::{CsvSnapshot, ReadState, RowAction, Snapshot, StoredReads, TextRow};
pub use store::*;

/// The store's role traits, to bring their methods into scope on a concrete
/// store (`use roster::roles::*;`).
pub mod roles {
    pub use crate::store::{
        Claims, Erasures, Leases, OneTimeRecords, PlatformEdits, PrimaryAdmins, ProvisionalUsers,
        Records, Runs, SignInAudits, Store, TenantErasure, Tenants,
    };
}
pub use tenant::{
    overdue_tenants, sync_overdue, ApiSettings, Connection, PauseWindow, PullSchedule,
    TenantConfig, TenantState, YearlyWindow,
};
