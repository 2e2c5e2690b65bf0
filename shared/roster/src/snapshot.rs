//! The engine's input: per entity type, a mode and a stream of validated rows.
//! A CSV package and an API pull both become a [`Snapshot`].

use crate::content::{digest_of_text, IndexKeys, SisContent};
use crate::error::SyncError;
use crate::store::{RecordState, StoredSummary};
use oneroster::{
    DeferredReference, EntityKind, FileMode, ReadError, RowItem, ValidatedPackage, ValidationReport,
};
use std::collections::HashMap;

/// A validated delivery, ready to plan against the store.
pub trait Snapshot: Send + Sync {
    /// How `kind` is delivered.
    fn mode(&self, kind: EntityKind) -> FileMode;
    /// Streams the accepted rows of `kind` as planning reads them: each
    /// row's sourcedId and, for a record to create or update, its canonical
    /// content text and that text's digest. With `beside`, the snapshot may
    /// make the texts on a thread of its own, beside `consume`: worth it when
    /// `consume` has work of its own for each row (a re-sync compares and
    /// looks up), not when its rows go on to a writer that keeps a core busy
    /// (a first load).
    fn for_each_text(
        &self,
        kind: EntityKind,
        beside: bool,
        consume: &mut dyn FnMut(TextRow<'_>) -> Result<(), SyncError>,
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
    /// The stored records of `kind` the delivery was made with, read before
    /// the run's lease (the users a 1.2 delta `roles.csv` concerns), each as
    /// it was read (`None`: not stored). Planning leaves out a row that would
    /// write one whose state has changed since, so that a run applied in
    /// between is not undone.
    fn stored_reads(&self, kind: EntityKind) -> Option<&StoredReads>;
}

/// Records a delivery read from the store before planning, by sourcedId,
/// each as it was read (see [`Snapshot::stored_reads`]).
pub type StoredReads = HashMap<String, Option<ReadState>>;

/// A stored record's state as a delivery read it: what planning compares
/// with the store's summary of it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadState {
    /// Digest of its SIS content.
    pub digest: u64,
    /// Archived.
    pub archived: bool,
    /// A provisional user.
    pub provisional: bool,
}

impl ReadState {
    /// The state of a stored record read in full.
    pub fn of(state: &RecordState) -> ReadState {
        ReadState {
            digest: state.sis.digest(),
            archived: state.archive.is_some(),
            provisional: state.provisional,
        }
    }

    /// The state of a stored record as planning loads it.
    pub fn of_summary(summary: &StoredSummary) -> ReadState {
        ReadState {
            digest: summary.digest,
            archived: summary.archived,
            provisional: summary.provisional,
        }
    }
}

/// One delivered row, as planning reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRow<'a> {
    /// The record's sourcedId.
    pub sourced_id: &'a str,
    /// What the row asks for.
    pub action: RowAction<'a>,
}

/// What a delivered row asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowAction<'a> {
    /// Create or update the record with this content: its canonical text
    /// (see [`SisContent::record_text`]) and the text's digest.
    Upsert {
        /// The canonical content text.
        text: &'a str,
        /// [`digest_of_text`] of it.
        digest: u64,
        /// The record's lookup keys (what [`SisContent::index_keys`] reads
        /// from the text).
        keys: &'a IndexKeys,
    },
    /// A `tobedeleted` row: archive the record.
    Delete,
}

/// A text buffer larger than this is not kept for the next row: thousands of
/// rows are prepared ahead, and one long record must not make them all large.
const KEPT_TEXT_BYTES: usize = 16 * 1024;

/// A row made into its text on the pass-2 preparing thread; kept from batch
/// to batch, so its buffers are reused.
#[derive(Default)]
struct PreparedText {
    sourced_id: String,
    text: String,
    digest: Option<u64>,
    keys: IndexKeys,
}

impl PreparedText {
    fn prepare(&mut self, row: RowItem<'_>) {
        // Kept from row to row, but not at the size one long record gave it.
        if self.text.capacity() > KEPT_TEXT_BYTES {
            self.text = String::new();
        }
        self.sourced_id.clear();
        self.sourced_id.push_str(row.sourced_id());
        self.digest = match row {
            RowItem::Upsert(record) => {
                self.keys.set_from_record(&record);
                Some(digest_of_text(SisContent::record_text(
                    &record,
                    &mut self.text,
                )))
            }
            RowItem::Delete { .. } => None,
        };
    }

    fn as_row(&self) -> TextRow<'_> {
        TextRow {
            sourced_id: &self.sourced_id,
            action: match self.digest {
                Some(digest) => RowAction::Upsert {
                    text: &self.text,
                    digest,
                    keys: &self.keys,
                },
                None => RowAction::Delete,
            },
        }
    }
}

/// A CSV package that passed validation.
pub struct CsvSnapshot {
    /// The package.
    pub package: ValidatedPackage,
    /// Its validation report.
    pub report: ValidationReport,
    /// The stored users read to validate a 1.2 delta `roles.csv` (empty
    /// for any other package).
    pub stored_users: StoredReads,
}

impl CsvSnapshot {
    /// Streams the stored users whose roles a delta `roles.csv` changes
    /// without delivering them, each as its content with the new roles.
    fn for_each_role_change(
        &self,
        consume: &mut dyn FnMut(TextRow<'_>) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        for change in self.package.role_changes() {
            let content = SisContent::from_value(change.content.clone());
            let keys = content.index_keys(EntityKind::Users);
            consume(TextRow {
                sourced_id: &change.user,
                action: RowAction::Upsert {
                    text: content.text(),
                    digest: content.digest(),
                    keys: &keys,
                },
            })?;
        }
        Ok(())
    }
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

    /// `beside`: each row's text and digest are made on a thread of their
    /// own (a third beside the reader's and the caller's).
    fn for_each_text(
        &self,
        kind: EntityKind,
        beside: bool,
        consume: &mut dyn FnMut(TextRow<'_>) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        if beside {
            self.package.for_each_row_prepared(
                kind,
                |row, prepared: &mut PreparedText| prepared.prepare(row),
                |prepared| consume(prepared.as_row()),
            )?;
        } else {
            let mut prepared = PreparedText::default();
            self.package.for_each_row(kind, |row| {
                prepared.prepare(row);
                consume(prepared.as_row())
            })?;
        }
        if kind == EntityKind::Users {
            self.for_each_role_change(consume)?;
        }
        Ok(())
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

    fn stored_reads(&self, kind: EntityKind) -> Option<&StoredReads> {
        (kind == EntityKind::Users && !self.stored_users.is_empty()).then_some(&self.stored_users)
    }
}
