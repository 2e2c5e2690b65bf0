//! The sync engine of the ClassLink roster bridge: one merge path from a
//! validated OneRoster snapshot (a CSV package or an API pull) into a roster
//! store. Snapshot -> plan (diff against what is stored now) -> apply -> run record.
//!
//! The store is a port ([`Store`]) with two adapters: [`SqliteStore`]
//! (embedded, local) and [`DynamoStore`] (production).

pub mod api;
pub mod api_secret;
pub mod artifacts;
pub mod content;
pub mod dynamo;
pub mod engine;
pub mod plan;
pub mod run;
pub mod run_log;
pub mod snapshot;
pub mod sqlite;
pub mod store;
pub mod tenant;

pub use api_secret::ApiSecret;
pub use artifacts::{Artifacts, LocalArtifacts};
pub use content::SisContent;
pub use dynamo::{ClaimOutcome, DynamoStore};
pub use engine::{Engine, SyncError, SyncOptions};
pub use run::{KindCounts, RunRecord, RunSource, RunStatus};
pub use snapshot::{CsvSnapshot, Snapshot};
pub use sqlite::SqliteStore;
pub use store::*;
pub use tenant::{
    overdue_tenants, sync_overdue, ApiSettings, Connection, PullSchedule, TenantConfig, TenantState,
};
