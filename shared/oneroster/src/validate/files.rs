//! Which files a package has, in which mode (from the manifest), and how many rows each holds.

use crate::manifest::Manifest;
use crate::model::*;
use crate::package::{read_failure, Entry, Package};
use crate::records::{csv_reader, skip_bom};
use crate::report::{Issue, IssueCode, IssueSink, Severity};

pub(super) struct FilePlan {
    pub(super) rostering: Vec<(EntityKind, FileMode, Option<Entry>)>,
    pub(super) not_imported: Vec<(&'static str, FileMode, Option<Entry>)>,
    /// A 1.2 package's `roles.csv` and `userProfiles.csv`, when declared or present.
    pub(super) roles: Option<(FileMode, Option<Entry>)>,
    pub(super) user_profiles: Option<(FileMode, Option<Entry>)>,
}

/// Decides, per file, how it is read: the manifest's mode, or bulk for a
/// file present but undeclared. Declared files that are missing are fatal.
pub(super) fn plan_files(package: &Package, manifest: &Manifest, sink: &mut IssueSink) -> FilePlan {
    let mut decide = |name: &'static str| -> (FileMode, Option<Entry>) {
        let key = name.to_ascii_lowercase();
        let entry = package.files.get(&key).cloned();
        match (manifest.files.get(&key), entry) {
            (Some((_, FileMode::Absent)), Some(_)) => {
                sink.warn(Issue::new(
                    Severity::Warning,
                    name,
                    IssueCode::FileDeclaredAbsent,
                    format!("{name}.csv is in the package but the manifest declares it absent; it is not read"),
                ));
                (FileMode::Absent, None)
            }
            (Some((_, mode)), Some(entry)) => (*mode, Some(entry)),
            (Some((_, FileMode::Absent)), None) => (FileMode::Absent, None),
            (Some((_, mode)), None) => {
                sink.fatal(Issue::new(
                    Severity::Fatal,
                    name,
                    IssueCode::DeclaredFileMissing,
                    format!(
                        "the manifest declares {name}.csv as {} but the package does not contain it",
                        mode.as_str()
                    ),
                ));
                (*mode, None)
            }
            (None, Some(entry)) => {
                sink.warn(Issue::new(
                    Severity::Warning,
                    name,
                    IssueCode::UndeclaredFile,
                    format!("{name}.csv is not declared in the manifest; read as bulk"),
                ));
                (FileMode::Bulk, Some(entry))
            }
            (None, None) => (FileMode::Absent, None),
        }
    };
    let rostering = EntityKind::ALL
        .into_iter()
        .map(|kind| {
            let (mode, entry) = decide(kind.file_name());
            (kind, mode, entry)
        })
        .collect();
    let not_imported = NOT_IMPORTED_FILES
        .into_iter()
        .filter_map(|name| {
            let key = name.to_ascii_lowercase();
            let known = manifest.files.contains_key(&key) || package.files.contains_key(&key);
            known.then(|| {
                let (mode, entry) = decide(name);
                (name, mode, entry)
            })
        })
        .collect();
    let v1p2 = manifest.version == crate::OneRosterVersion::V1p2;
    let mut only_1p2 = |name: &'static str| {
        let key = name.to_ascii_lowercase();
        let known = manifest.files.contains_key(&key) || package.files.contains_key(&key);
        (v1p2 && known).then(|| decide(name))
    };
    let roles = only_1p2(crate::v1p2::columns::ROLES_FILE);
    let user_profiles = only_1p2(crate::v1p2::columns::USER_PROFILES_FILE);
    for (stem, entry) in &package.files {
        let known = EntityKind::from_file_name(stem).is_some()
            || NOT_IMPORTED_FILES
                .iter()
                .any(|n| n.eq_ignore_ascii_case(stem))
            || (v1p2
                && crate::v1p2::columns::FILES_1P2
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(stem)));
        if !known {
            sink.warn(
                Issue::new(
                    Severity::Warning,
                    crate::report::PACKAGE_FILE,
                    IssueCode::IgnoredEntry,
                    format!(
                        "`{}` is not a OneRoster {} file; ignored",
                        entry.name,
                        manifest.version.as_str()
                    ),
                )
                .with_value(&entry.name),
            );
        }
    }
    FilePlan {
        rostering,
        not_imported,
        roles,
        user_profiles,
    }
}

pub(super) fn count_rows(
    package: &Package,
    name: &'static str,
    entry: &Entry,
    sink: &mut IssueSink,
) -> u64 {
    // Counted, not read: a file we do not import need not be UTF-8.
    let counted = package
        .with_entry(entry, |read| {
            let (buffered, _) = skip_bom(read);
            let mut reader = csv_reader(buffered);
            let mut rows = 0u64;
            while reader.skip()? {
                rows += 1;
            }
            Ok(rows.saturating_sub(1))
        })
        .and_then(|rows| rows);
    match counted {
        Ok(rows) => rows,
        Err(e) => {
            sink.fatal(read_failure(name, &e));
            0
        }
    }
}

/// Puts a file that is counted, not imported, in the report: its mode, rows
/// and warnings.
pub(super) fn summarise_counted(
    report: &mut crate::ValidationReport,
    name: &str,
    mode: FileMode,
    rows: u64,
    sink: &IssueSink,
) {
    report.files.insert(
        name.to_string(),
        crate::FileSummary {
            mode: mode.as_str().to_string(),
            imported: false,
            rows,
            warnings: sink.warning_total(name),
            ..crate::FileSummary::default()
        },
    );
}
