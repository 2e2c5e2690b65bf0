//! Reading and validating a whole package (pass 1), and streaming its accepted
//! rows to a consumer afterwards (pass 2).
//!
//! Pass 1 reads every file once, in dependency order, checking each row and
//! keeping only identifiers in memory: which rows were accepted, rejected or
//! skipped, and which references could not be resolved. Nothing is applied
//! until pass 1 has read the whole package and found no fatal problem; pass 2
//! then re-reads the files and hands each accepted row to the consumer.

use crate::manifest::parse_manifest;
use crate::manifest::Manifest;
use crate::model::*;
use crate::package::{Entry, Package};
use crate::report::{FileSummary, Issue, IssueCode, IssueSink, Severity, ValidationReport};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;
use std::path::Path;

mod files;
mod findings;
mod references;
mod role_changes;
mod roles;
mod scan;
mod stream;
mod types;
mod wanted;

use files::*;
use scan::*;
pub use types::*;
pub use wanted::{stored_roles_wanted, WantedUser};

/// Reads and validates the package at `path` (a `.zip` or a folder).
pub fn validate_package(path: &Path, options: &ValidationOptions) -> Validation {
    let mut sink = IssueSink::new(options.max_reported_errors);
    let mut report = ValidationReport::default();

    let (package, open_warnings) = match Package::open(path, &options.limits) {
        Ok(opened) => opened,
        Err(failure) => {
            failure.warnings.into_iter().for_each(|w| sink.warn(w));
            failure.fatal.into_iter().for_each(|f| sink.fatal(f));
            return finish(report, sink, None);
        }
    };
    open_warnings.into_iter().for_each(|w| sink.warn(w));

    let Some(manifest) = read_manifest(&package, &mut sink) else {
        return finish(report, sink, None);
    };
    report.oneroster_version = Some(manifest.oneroster_version.clone());
    report.source_system_name = manifest.source_system_name.clone();
    report.source_system_code = manifest.source_system_code.clone();

    let plan = plan_files(&package, &manifest, &mut sink);
    let v1p2 = manifest.version == crate::OneRosterVersion::V1p2;
    let roles_entry = roles::roles_to_read(&plan, v1p2, &mut sink);
    let roles_unapplied = roles::roles_without_users(&plan, v1p2);
    let scanned = scan_files(
        &package,
        options,
        &mut sink,
        plan.rostering,
        manifest.version,
        roles_entry,
    );
    let Scanned {
        files,
        deferred,
        user_roles,
        roles: mut roles_outcome,
    } = scanned;
    let role_changes = std::mem::take(&mut roles_outcome.changes);
    summarise_imported(&mut report, &files, &manifest, &sink);
    summarise_roles(&mut report, &roles_outcome, &sink);
    count_not_imported(&mut report, &package, plan.not_imported, &mut sink);
    roles::count_roles_without_users(&mut report, &package, roles_unapplied, &mut sink);
    roles::count_user_profiles(&mut report, &package, plan.user_profiles, &mut sink);
    // A row accepted when its references were checked, rejected later as
    // a duplicate: no longer a reference to resolve.
    let deferred: Vec<DeferredReference> = deferred
        .into_iter()
        .filter(|d| !files[&d.file].rejected_ids.contains(&d.sourced_id))
        .collect();
    warn_of_deferred(&deferred, &mut sink);

    let validated = ValidatedPackage {
        package,
        manifest,
        files,
        deferred,
        user_roles,
        role_changes,
    };
    finish(report, sink, Some(validated))
}

/// One warning per file and referenced type for the references only the
/// store can resolve (`validate` must not promise what a sync then refuses),
/// and one for those whose targets' rows were rejected, pointing at the first.
fn warn_of_deferred(deferred: &[DeferredReference], sink: &mut IssueSink) {
    let mut groups: Vec<(&DeferredReference, u64)> = Vec::new();
    for d in deferred {
        match groups.iter_mut().find(|(first, _)| {
            first.file == d.file
                && first.target == d.target
                && first.cause.is_some() == d.cause.is_some()
        }) {
            Some((_, count)) => *count += 1,
            None => groups.push((d, 1)),
        }
    }
    for (first, count) in groups {
        let (one, many) = first.target.nouns();
        let id = crate::report::escape_controls(&first.target_id);
        let (code, rows) = match (first.cause, count) {
            (None, 1) => (
                IssueCode::DeferredReference,
                format!("a row names a {one} this package does not deliver (`{id}`)"),
            ),
            (None, n) => (
                IssueCode::DeferredReference,
                format!("{n} rows name {many} this package does not deliver (first: `{id}`)"),
            ),
            (Some(cause), 1) => (
                IssueCode::RejectedReference,
                format!("a row names a {one} whose own row was rejected (`{id}`, {cause})"),
            ),
            (Some(cause), n) => (
                IssueCode::RejectedReference,
                format!(
                    "{n} rows name {many} whose own rows were rejected (first: `{id}`, {cause})"
                ),
            ),
        };
        sink.warn_n(
            Issue::new(
                Severity::Warning,
                first.file.file_name(),
                code,
                format!(
                    "{rows}; such a row is rejected at the sync unless the district's roster already has it"
                ),
            )
            .at_line(first.line)
            .in_column(first.column),
            count,
        );
    }
}

/// Reads the package's manifest; `None` after reporting why it cannot be used.
fn read_manifest(package: &Package, sink: &mut IssueSink) -> Option<Manifest> {
    match package.with_entry(&package.manifest, parse_manifest) {
        Err(e) => {
            sink.fatal(Issue::new(
                Severity::Fatal,
                "manifest",
                IssueCode::Io,
                format!("manifest.csv cannot be read: {e}"),
            ));
            None
        }
        Ok(Err(fatal)) => {
            fatal.into_iter().for_each(|f| sink.fatal(f));
            None
        }
        Ok(Ok((manifest, warnings))) => {
            warnings.into_iter().for_each(|w| sink.warn(w));
            Some(manifest)
        }
    }
}

/// What pass 1 over the rostering files yields.
struct Scanned {
    files: BTreeMap<EntityKind, FileOutcome>,
    deferred: Vec<DeferredReference>,
    /// A 1.2 package's roles, by user.
    user_roles: Option<crate::v1p2::UserRoles>,
    roles: roles::RolesOutcome,
}

/// Pass 1 over the rostering files, in dependency order: each file's
/// outcome, and the enrollment references left for the store. A 1.2
/// package's `roles.csv` (`roles`) is read just before its users; without
/// it (a fatal issue already), its users are not read.
fn scan_files(
    package: &Package,
    options: &ValidationOptions,
    sink: &mut IssueSink,
    rostering: Vec<(EntityKind, FileMode, Option<Entry>)>,
    version: crate::OneRosterVersion,
    roles: Option<(FileMode, Entry)>,
) -> Scanned {
    let mut scanner = Scanner {
        package,
        options,
        sink,
        indexes: FxHashMap::default(),
        deferred: Vec::new(),
        version,
        user_roles: None,
    };
    let v1p2 = version == crate::OneRosterVersion::V1p2;
    let mut roles_outcome = roles::RolesOutcome::default();
    let mut files = BTreeMap::new();
    for (kind, mode, entry) in rostering {
        let users = kind == EntityKind::Users;
        if let (true, Some((mode, roles))) = (users, &roles) {
            roles_outcome = scanner.scan_roles(*mode, roles);
        }
        let readable = !(users && v1p2 && roles.is_none());
        let outcome = match entry {
            Some(entry) if mode != FileMode::Absent && readable => scanner.scan(kind, mode, entry),
            _ => FileOutcome {
                mode,
                entry: None,
                excluded_rows: roaring::RoaringTreemap::new(),
                first_copies_rejected: 0,
                rejected_ids: FxHashSet::default(),
                skipped_ids: FxHashSet::default(),
                rows: 0,
            },
        };
        if users && roles.is_some() {
            scanner.check_role_users(&mut roles_outcome);
        }
        files.insert(kind, outcome);
    }
    Scanned {
        files,
        deferred: scanner.deferred,
        user_roles: scanner.user_roles,
        roles: roles_outcome,
    }
}

/// The report's summary of a 1.2 package's `roles.csv`.
fn summarise_roles(report: &mut ValidationReport, outcome: &roles::RolesOutcome, sink: &IssueSink) {
    let Some(mode) = outcome.mode else {
        return;
    };
    let name = crate::v1p2::columns::ROLES_FILE;
    report.files.insert(
        name.to_string(),
        FileSummary {
            mode: mode.as_str().to_string(),
            imported: true,
            rows: outcome.rows,
            accepted: outcome
                .rows
                .saturating_sub(outcome.rejected + outcome.skipped),
            rejected: outcome.rejected,
            skipped: outcome.skipped,
            warnings: sink.warning_total(name),
        },
    );
}

/// The report's summary of each rostering file present or declared.
fn summarise_imported(
    report: &mut ValidationReport,
    files: &BTreeMap<EntityKind, FileOutcome>,
    manifest: &Manifest,
    sink: &IssueSink,
) {
    for (kind, outcome) in files {
        let name = kind.file_name();
        if outcome.entry.is_none() && !manifest.files.contains_key(&name.to_ascii_lowercase()) {
            continue;
        }
        let (accepted, rejected, skipped) = outcome.counts();
        report.files.insert(
            name.to_string(),
            FileSummary {
                mode: outcome.mode.as_str().to_string(),
                imported: true,
                rows: outcome.rows,
                accepted,
                rejected,
                skipped,
                warnings: sink.warning_total(name),
            },
        );
    }
}

/// Counts the rows of the gradebook and resource files, which are not
/// imported, into the report.
fn count_not_imported(
    report: &mut ValidationReport,
    package: &Package,
    not_imported: Vec<(&'static str, FileMode, Option<Entry>)>,
    sink: &mut IssueSink,
) {
    for (name, mode, entry) in not_imported {
        let rows = match (&entry, mode) {
            (Some(entry), FileMode::Bulk | FileMode::Delta) => {
                count_rows(package, name, entry, sink)
            }
            _ => 0,
        };
        if rows > 0 || entry.is_some() {
            sink.warn(Issue::new(
                Severity::Warning,
                name,
                IssueCode::NotImported,
                format!("{name}.csv ({rows} rows) is a gradebook/resource file; it is counted, not imported"),
            ));
        }
        files::summarise_counted(report, name, mode, rows, sink);
    }
}

fn finish(
    mut report: ValidationReport,
    sink: IssueSink,
    package: Option<ValidatedPackage>,
) -> Validation {
    let ok = !sink.has_fatal();
    let (errors, error_count, warnings) = sink.into_parts();
    report.ok = ok;
    report.errors = errors;
    report.error_count = error_count;
    report.warnings = warnings;
    Validation {
        report,
        package: if ok { package } else { None },
    }
}
