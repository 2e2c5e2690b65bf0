//! What the fuzz targets hold every package to, whatever its bytes: a
//! report, consistent with itself, and, for a package that may be applied,
//! each accepted row handed over exactly once.

use oneroster::v1p2::StoredRoles;
use oneroster::{
    stored_roles_wanted, validate_package, EntityKind, ReadError, RowItem, Severity, Validation,
    ValidationOptions,
};
use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

/// The OneRoster file names a package folder or zip may hold (1.2's
/// `roles.csv` and `userProfiles.csv` last, so that the earlier names keep
/// their name bytes).
pub const FILE_NAMES: [&str; 15] = [
    "manifest.csv",
    "orgs.csv",
    "academicSessions.csv",
    "courses.csv",
    "classes.csv",
    "users.csv",
    "enrollments.csv",
    "demographics.csv",
    "categories.csv",
    "lineItems.csv",
    "results.csv",
    "resources.csv",
    "classResources.csv",
    "roles.csv",
    "userProfiles.csv",
];

/// The separator between files in a `package_folder` input.
pub const FILE_SEPARATOR: &[u8] = b"\n\x00\x00";

/// Splits a `package_folder` input into files: parts between
/// [`FILE_SEPARATOR`]s, each a name byte (an index into [`FILE_NAMES`], modulo)
/// and the file's bytes. A name given twice keeps its last bytes.
pub fn split_files(data: &[u8]) -> Vec<(&'static str, &[u8])> {
    let mut files: Vec<(&'static str, &[u8])> = Vec::new();
    let mut rest = data;
    loop {
        let (part, next) = match find(rest, FILE_SEPARATOR) {
            Some(at) => (&rest[..at], Some(&rest[at + FILE_SEPARATOR.len()..])),
            None => (rest, None),
        };
        if let Some((&name, bytes)) = part.split_first() {
            let name = FILE_NAMES[name as usize % FILE_NAMES.len()];
            files.retain(|(n, _)| *n != name);
            files.push((name, bytes));
        }
        match next {
            Some(next) => rest = next,
            None => return files,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The folder a target writes each input's package to, made once per
/// process: in memory (`/dev/shm`) where the machine has it, so that writing
/// the files costs no disk file system work (on ext4, creating and deleting
/// them took a fifth of `package_folder`'s time); the temporary folder
/// otherwise. Left behind at exit, as libFuzzer exits without unwinding.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let mut builder = tempfile::Builder::new();
        builder.prefix("roster-fuzz");
        match shm.is_dir() {
            true => builder.tempdir_in(shm),
            false => builder.tempdir(),
        }
        .expect("a scratch folder for the fuzz inputs")
    })
    .path()
}

/// Validates the package at `path` and checks the promise (see [`check`]):
/// as `rosterctl validate` does, and, for a package whose 1.2 `roles.csv`
/// is a delta, again as a sync does, with every user it asks for stored
/// (alternately a plain student and a teacher keeping a role row).
pub fn validate_and_check(path: &Path) {
    let options = ValidationOptions::default();
    check(&validate_package(path, &options));
    let Some(wanted) = stored_roles_wanted(path, &options) else {
        return;
    };
    let mut stored = StoredRoles::default();
    for (i, user) in wanted.iter().enumerate() {
        let (user, keep) = (&user.sourced_id, user.content);
        let content = match i % 2 {
            0 => r#"{"role":"student","orgSourcedIds":["s1"]}"#,
            _ => {
                r#"{"role":"teacher","orgSourcedIds":["s1"],"roles":[{"sourcedId":"r1","roleType":"primary","role":"teacher","orgSourcedId":"s1","beginDate":"2026-08-01"}]}"#
            }
        };
        stored.insert(user, content, i % 5 == 4, keep);
    }
    let options = ValidationOptions {
        stored_roles: Some(std::sync::Arc::new(stored)),
        ..options
    };
    check(&validate_package(path, &options));
}

/// The promise of a validation, whatever the package held:
/// - `ok` exactly when there is a package to apply, and a rejected one says
///   why (a fatal issue); the error count covers the errors listed;
/// - each imported file's rows are accepted, rejected or skipped, once;
/// - an applicable package streams each file's accepted rows, no sourcedId
///   twice, as many as the report counts, without a read error (users'
///   rows, when a delta `roles.csv` was validated without the store,
///   `RolesPending`); a user whose roles alone change, once and not beside
///   its row.
pub fn check(v: &Validation) {
    let report = &v.report;
    assert_eq!(report.ok, v.package.is_some(), "ok iff a package");
    assert!(report.error_count >= report.errors.len() as u64);
    if !report.ok {
        assert!(
            report.errors.iter().any(|e| e.severity == Severity::Fatal),
            "a rejected package says why: {:#?}",
            report.errors
        );
    }
    for (name, file) in &report.files {
        if file.imported && report.ok {
            assert_eq!(
                file.rows,
                file.accepted + file.rejected + file.skipped,
                "{name}: every row accepted, rejected or skipped, once"
            );
        }
    }
    let Some(package) = &v.package else { return };
    for kind in EntityKind::ALL {
        let mut ids = HashSet::new();
        let mut streamed = 0u64;
        let result = package.for_each_row(kind, |row| {
            let id = match row {
                RowItem::Upsert(record) => record.sourced_id().to_string(),
                RowItem::Delete { sourced_id, .. } => sourced_id.to_string(),
            };
            assert!(ids.insert(id), "{kind:?}: a sourcedId handed over twice");
            streamed += 1;
            Ok::<(), ReadError>(())
        });
        match result {
            Ok(()) => {}
            // A delta roles.csv validated without the store: no records.
            Err(ReadError::RolesPending) if kind == EntityKind::Users => continue,
            Err(e) => panic!("{kind:?}: an accepted package does not stream: {e}"),
        }
        let accepted = report.files.get(kind.file_name()).map_or(0, |f| f.accepted);
        assert_eq!(
            streamed, accepted,
            "{kind:?}: streamed rows = accepted rows"
        );
        if kind == EntityKind::Users {
            for change in package.role_changes() {
                assert!(
                    ids.insert(change.user.clone()),
                    "a user's roles changed twice, or beside its row"
                );
            }
        }
    }
}
