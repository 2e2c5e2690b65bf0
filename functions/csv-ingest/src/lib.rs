//! csv-ingest: ClassLink's SFTP uploads (landed in S3 by Transfer Family)
//! through the OneRoster package reader and the sync engine.
//!
//! `main.rs` builds the clients once and hands each event to [`Ingest::handle`].

pub mod config;
pub mod event;
pub mod ingest;
pub mod keys;

pub use cloud::Failure;
pub use config::IngestConfig;
pub use ingest::{Ingest, ItemOutcome};
