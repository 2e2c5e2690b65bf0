//! The canonical text written straight from a record is byte for byte the
//! text of the `serde_json::Value` path (serialise, prune, sort), for every
//! row of the public samples and of a generated district: stored digests stay
//! what they were, and an unchanged re-sync still writes nothing. The lookup
//! keys read from a record are those read back from its text.

use oneroster::{validate_package, EntityKind, RowItem, ValidationOptions};
use roster::content::Probe;
use roster::SisContent;
use std::path::Path;

/// Checks every accepted row of the package at `path`; returns how many.
fn check_package(path: &Path) -> usize {
    let validation = validate_package(path, &ValidationOptions::default());
    let package = validation
        .package
        .unwrap_or_else(|| panic!("{} is valid: {:?}", path.display(), validation.report));
    let mut checked = 0;
    let mut held_keys = roster::content::IndexKeys::default();
    for kind in EntityKind::ALL {
        package
            .for_each_row(kind, |row| -> Result<(), oneroster::ReadError> {
                if let RowItem::Upsert(record) = row {
                    let direct = SisContent::from_record(&record);
                    let reference = SisContent::from_value(serde_json::to_value(record).unwrap());
                    assert_eq!(direct.text(), reference.text(), "{kind} row");
                    assert_eq!(direct.digest(), reference.digest());
                    assert_eq!(
                        Probe::of_text(direct.text()).expect("canonical text probes"),
                        Probe::of_fields(reference.fields()),
                        "{kind} probe"
                    );
                    // The lookup keys read from the record are those read
                    // from its text, into keys that held another record's.
                    let mut keys = held_keys.clone();
                    keys.set_from_record(&record);
                    assert_eq!(keys, direct.index_keys(kind), "{kind} lookup keys");
                    held_keys = keys;
                    checked += 1;
                }
                Ok(())
            })
            .unwrap();
    }
    checked
}

#[test]
fn the_public_samples_read_the_same_both_ways() {
    for set in ["roster-hub-en", "roster-hub-ja"] {
        let checked = check_package(&testkit::samples::set(set));
        assert!(checked > 50, "{set}: only {checked} rows");
    }
}

#[test]
fn a_generated_district_reads_the_same_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("district");
    district::generate(
        &district::GenerateOptions {
            students: 400,
            seed: 7,
            rollovers: 1,
            oneroster: district::OneRosterVersion::V1p1,
        },
        &out,
    )
    .unwrap();
    assert!(check_package(&out) > 3000);
}

#[test]
fn a_stored_text_is_kept_byte_for_byte() {
    // A hand edit may leave keys out of order: the digest is of the bytes.
    let stored = SisContent::from_stored(r#"{"b":"2","a":"1"}"#.to_string());
    let canonical = SisContent::from_json(stored.text()).unwrap();
    assert_eq!(canonical.text(), r#"{"a":"1","b":"2"}"#);
    assert_ne!(stored.digest(), canonical.digest());
    assert_eq!(stored.str("a"), Some("1"));
    // A field of another JSON type than the probe expects reads as absent.
    let odd = SisContent::from_stored(r#"{"email":5,"username":"Ann"}"#.to_string());
    assert_eq!(odd.probe().email, None);
    assert_eq!(odd.probe().username.as_deref(), Some("Ann"));
}
