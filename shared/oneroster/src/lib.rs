//! OneRoster 1.1 and 1.2 (CSV) for the ClassLink roster bridge: the rostering model, a
//! streaming reader for CSV packages (a `.zip` or a folder of loose files) as
//! ClassLink's Roster Server sends them, and the validation report.
//!
//! The reader is strict where the data would be wrong and tolerant where real
//! exports are merely untidy. See [`validate_package`] for the entry point and
//! [`report::IssueCode`] for every finding it can report.
//!
//! ```no_run
//! use oneroster::{validate_package, EntityKind, ValidationOptions};
//! let validation = validate_package("district.zip".as_ref(), &ValidationOptions::default());
//! if let Some(package) = &validation.package {
//!     package
//!         .for_each_row(EntityKind::Users, |row| {
//!             println!("{}", row.sourced_id());
//!             Ok::<(), oneroster::ReadError>(())
//!         })
//!         .unwrap();
//! }
//! ```

pub mod explain;
pub mod fields;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod idset;
pub mod manifest;
pub mod model;
mod package;
pub mod pipeline;
pub mod progress;
mod records;
pub mod report;
mod rows;
pub mod schema;
mod user_ids;
pub mod v1p2;
mod validate;

pub use manifest::Manifest;
pub use model::*;
pub use package::ArchiveLimits;
pub use progress::Progress;
pub use report::{FileSummary, Issue, IssueCode, Severity, ValidationReport};
pub use v1p2::{OneRosterVersion, RoleAssignment};
pub use validate::{
    stored_roles_wanted, validate_package, DeferredReference, FileOutcome, ReadError, RejectedRow,
    ValidatedPackage, Validation, ValidationOptions, WantedUser,
};
