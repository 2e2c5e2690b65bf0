//! The engine's input: per entity type, a mode and a stream of validated rows.
//! A CSV package and an API pull both become a [`Snapshot`].

use crate::error::SyncError;
use oneroster::{
    DeferredReference, EntityKind, FileMode, ReadError, RowItem, ValidatedPackage, ValidationReport,
};

/// A validated delivery, ready to plan against the store.
pub trait Snapshot: Sync {
    /// How `kind` is delivered.
    fn mode(&self, kind: EntityKind) -> FileMode;
    /// Streams the accepted rows of `kind`.
    fn for_each_row(
        &self,
        kind: EntityKind,
        consume: &mut dyn FnMut(RowItem<'_>) -> Result<(), SyncError>,
    ) -> Result<(), SyncError>;
    /// Whether a row with this sourcedId was rejected by validation (such a
    /// record is present in the delivery: it must not be archived as absent).
    fn is_rejected(&self, kind: EntityKind, sourced_id: &str) -> bool;
    /// Rows rejected and skipped by validation, per type.
    fn validation_counts(&self, kind: EntityKind) -> (u64, u64);
    /// Data rows delivered for a type (accepted or not).
    fn delivered_rows(&self, kind: EntityKind) -> u64;
    /// Enrollment references only the store can resolve.
    fn deferred_references(&self) -> &[DeferredReference];
}

/// A CSV package that passed validation.
pub struct CsvSnapshot {
    /// The package.
    pub package: ValidatedPackage,
    /// Its validation report.
    pub report: ValidationReport,
}

impl From<ReadError> for SyncError {
    fn from(e: ReadError) -> Self {
        SyncError::Read(Box::new(e))
    }
}

impl Snapshot for CsvSnapshot {
    fn mode(&self, kind: EntityKind) -> FileMode {
        self.package.mode(kind)
    }

    fn for_each_row(
        &self,
        kind: EntityKind,
        consume: &mut dyn FnMut(RowItem<'_>) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        self.package.for_each_row(kind, consume)
    }

    fn is_rejected(&self, kind: EntityKind, sourced_id: &str) -> bool {
        self.package
            .outcome(kind)
            .is_some_and(|o| o.rejected_ids.contains(sourced_id))
    }

    fn validation_counts(&self, kind: EntityKind) -> (u64, u64) {
        self.report
            .files
            .get(kind.file_name())
            .map(|f| (f.rejected, f.skipped))
            .unwrap_or((0, 0))
    }

    fn delivered_rows(&self, kind: EntityKind) -> u64 {
        self.report
            .files
            .get(kind.file_name())
            .map_or(0, |f| f.rows)
    }

    fn deferred_references(&self) -> &[DeferredReference] {
        self.package.deferred_references()
    }
}
