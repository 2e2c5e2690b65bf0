//! The sync engine of the ClassLink roster bridge: one merge path from a
//! validated OneRoster snapshot (a CSV package or an API pull) into a roster
//! store. Snapshot -> plan (diff against what is stored now) -> apply -> run record.
//!
//! The store is a port ([`Store`], gathered from small role traits) with two
//! adapters, each behind a cargo feature so that a binary links only what it
//! names: `SqliteStore` (feature `sqlite`: embedded, local) and `DynamoStore`
//! (feature `dynamodb`: production). Both are on by default; the workspace
//! turns the defaults off, and csv-ingest and oneroster-pull link DynamoDB
//! only, while sso-callback (a local SQLite roster outside Lambda) and
//! rosterctl link both.

pub mod api;
pub mod api_secret;
pub mod artifacts;
pub mod before;
pub mod canonical;
pub mod content;
#[cfg(feature = "dynamodb")]
pub mod dynamo;
pub mod engine;
pub mod error;
pub mod history;
mod memory;
pub mod plan;
pub mod revert;
pub mod run;
#[cfg(feature = "s3")]
pub mod run_files;
pub mod school_year;
pub mod snapshot;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod store;
pub mod tenant;

pub use api_secret::ApiSecret;
pub use artifacts::{Artifacts, LocalArtifacts, Prefetched};
pub use content::SisContent;
#[cfg(feature = "dynamodb")]
pub use dynamo::DynamoStore;
pub use engine::{Engine, SyncOptions};
pub use error::SyncError;
pub use run::{Delivered, KindCounts, RunRecord, RunSource, RunStatus};
pub use snapshot::{CsvSnapshot, RowAction, Snapshot, TextRow};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use store::*;

/// The store's role traits, to bring their methods into scope on a concrete
/// store (`use roster::roles::*;`).
pub mod roles {
    pub use crate::store::{
        Claims, Leases, OneTimeRecords, PlatformEdits, PrimaryAdmins, ProvisionalUsers, Records,
        Runs, SignInAudits, Store, Tenants,
    };
}
pub use tenant::{
    overdue_tenants, sync_overdue, ApiSettings, Connection, PullSchedule, TenantConfig, TenantState,
};
