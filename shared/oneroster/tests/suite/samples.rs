//! The public OneRoster samples (`../shared/samples/csv/`, read at run time,
//! never copied into the repository) validate as acceptable, in folder and zip form.

use oneroster::report::IssueCode;
use oneroster::{validate_package, EntityKind, RowItem, ValidationOptions};
use std::path::PathBuf;

fn samples_dir() -> PathBuf {
    testkit::samples::csv_dir()
}

fn check(set: &str, expect_users: u64) {
    let base = samples_dir().join(set);
    for path in [base.clone(), base.join("oneroster.zip")] {
        let v = validate_package(&path, &ValidationOptions::default());
        assert!(v.report.ok, "{}: {:#?}", path.display(), v.report.errors);
        assert_eq!(v.report.oneroster_version.as_deref(), Some("1.1"));
        let users = &v.report.files["users"];
        assert_eq!(users.rows, expect_users, "{}", path.display());
        assert_eq!(users.accepted, expect_users);
        // The sample's manifest misspells `file.demographics` as `fiel.demographics`.
        assert!(v
            .report
            .warnings
            .iter()
            .any(|w| w.code == IssueCode::UnknownManifestProperty));
        // ClassLink-style metadata.* columns are kept as extension attributes.
        let package = v.package.as_ref().unwrap();
        let mut with_extensions = 0;
        package
            .for_each_row(EntityKind::Users, |row| {
                if let RowItem::Upsert(record) = row {
                    if record
                        .common()
                        .extensions
                        .iter()
                        .any(|(k, _)| k.starts_with("metadata."))
                    {
                        with_extensions += 1;
                    }
                }
                Ok::<(), oneroster::ReadError>(())
            })
            .unwrap();
        assert_eq!(with_extensions, expect_users);
        let enrollments = &v.report.files["enrollments"];
        assert_eq!(
            enrollments.accepted + enrollments.rejected,
            enrollments.rows
        );
    }
}

#[test]
fn roster_hub_english_sample_is_acceptable() {
    check("roster-hub-en", 20);
}

#[test]
fn roster_hub_japanese_sample_is_acceptable() {
    check("roster-hub-ja", 20);
}
