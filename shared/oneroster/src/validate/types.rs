//! What validation yields: its options, the validated package, per-file outcomes,
//! the references left for the store, and read errors.

use crate::manifest::Manifest;
use crate::model::*;
use crate::package::{ArchiveLimits, Entry, Package};
use crate::report::{IssueCode, ValidationReport};
use roaring::RoaringTreemap;
use rustc_hash::FxHashSet;
use std::collections::BTreeMap;

/// How a package is validated.
#[derive(Debug, Clone)]
pub struct ValidationOptions {
    /// User roles the tenant imports; rows of other roles are skipped (default:
    /// student, teacher, administrator, aide).
    pub imported_roles: RoleSet,
    /// Most row errors kept in the report (all are counted).
    pub max_reported_errors: usize,
    /// Archive safety limits.
    pub limits: ArchiveLimits,
    /// Where the rows read are counted, file by file (default: nowhere).
    pub progress: crate::Progress,
    /// The stored records of the users a 1.2 delta `roles.csv` concerns
    /// (see [`crate::stored_roles_wanted`]), which the sync reads first;
    /// without them (`rosterctl validate`) such a package's users' roles
    /// are checked only as far as the delta goes, and it cannot be synced.
    pub stored_roles: Option<std::sync::Arc<crate::v1p2::StoredRoles>>,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions {
            imported_roles: RoleSet::default_imported(),
            max_reported_errors: 1000,
            limits: ArchiveLimits::default(),
            progress: crate::Progress::none(),
            stored_roles: None,
        }
    }
}

/// An enrollment reference the package could not resolve itself, because the
/// referenced file is delta or absent, or the referenced row was rejected.
/// The sync engine checks it against the store and rejects the row if unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredReference {
    /// The referring file.
    pub file: EntityKind,
    /// Line of the referring row.
    pub line: u64,
    /// sourcedId of the referring row.
    pub sourced_id: String,
    /// The referring column.
    pub column: &'static str,
    /// The referenced type.
    pub target: EntityKind,
    /// The referenced sourcedId.
    pub target_id: String,
    /// Why the package does not deliver the target though it names it: its
    /// row was rejected. `None` when the package does not have it at all.
    pub cause: Option<RejectedRow>,
}

/// A rejected row a reference points at: where it is and its first error.
/// Shown as `its row users.csv:4 was rejected: invalid_enum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RejectedRow {
    /// Its file.
    pub file: EntityKind,
    /// Its line.
    pub line: u64,
    /// Its first error.
    pub code: IssueCode,
}

impl std::fmt::Display for RejectedRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let file = self.file.file_name();
        write!(
            f,
            "its row {file}.csv:{} was rejected: {}",
            self.line, self.code
        )
    }
}

/// What pass 1 learned about one rostering file.
#[derive(Debug, Clone)]
pub struct FileOutcome {
    /// How the file is delivered.
    pub mode: FileMode,
    pub(super) entry: Option<Entry>,
    /// Rows (their places in the file, [`crate::records::Row::index`]) that
    /// pass 2 must not hand over: rejected and skipped rows, in a compressed
    /// bitmap (a run of rejected rows costs next to nothing).
    pub(super) excluded_rows: RoaringTreemap,
    /// Rows accepted when read, rejected when a later copy of their id was
    /// met: pass 2 excludes them by their id (in `rejected_ids`).
    pub(super) first_copies_rejected: u64,
    /// sourcedIds of rejected rows: present in the file, so never to be archived for absence.
    pub rejected_ids: FxHashSet<String>,
    /// sourcedIds of rows skipped by policy (roles not imported).
    pub skipped_ids: FxHashSet<String>,
    /// Data rows seen in pass 1.
    pub(super) rows: u64,
}

/// A package that passed validation: its accepted rows can be streamed.
#[derive(Debug)]
pub struct ValidatedPackage {
    pub(super) package: Package,
    pub(super) manifest: Manifest,
    pub(super) files: BTreeMap<EntityKind, FileOutcome>,
    pub(super) deferred: Vec<DeferredReference>,
    /// A 1.2 package's roles, by user (its users' records are made with them).
    pub(super) user_roles: Option<crate::v1p2::UserRoles>,
    /// Stored users whose roles a delta `roles.csv` changes without
    /// delivering them, by sourcedId.
    pub(super) role_changes: Vec<crate::v1p2::RoleChange>,
}

/// The result of [`validate_package`](super::validate_package).
#[derive(Debug)]
pub struct Validation {
    /// What was found.
    pub report: ValidationReport,
    /// The package, when it may be applied (`report.ok`).
    pub package: Option<ValidatedPackage>,
}

/// Why pass 2 could not stream a file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("{file}.csv: {source}")]
    Io {
        /// File name without extension.
        file: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// A delta `roles.csv` was validated without the stored roles it
    /// changes ([`ValidationOptions::stored_roles`]): its users cannot be
    /// made into records.
    #[error("users.csv: the package's delta roles.csv was validated without the users' stored roles; a sync reads them first")]
    RolesPending,
    /// The file no longer reads as it did during validation (changed underneath).
    #[error("{file}.csv line {line}: the file changed after it was validated ({detail})")]
    Changed {
        /// File name without extension.
        file: &'static str,
        /// Line where the difference was seen.
        line: u64,
        /// What differed.
        detail: String,
    },
}
