//! The district in OneRoster 1.2: the same district as 1.1's, with roles in
//! `roles.csv`; it validates with no error and is deterministic.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use super::*;
use crate::tables::MANIFEST_1P2;

fn opts(students: u32, seed: u64, rollovers: u32, oneroster: OneRosterVersion) -> GenerateOptions {
    GenerateOptions {
        students,
        seed,
        rollovers,
        oneroster,
    }
}

/// The rows of a CSV file as column → value maps, in file order.
fn rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// Generates the same district in both versions under `dir`.
fn both(dir: &Path, students: u32, rollovers: u32) -> (GenerateSummary, GenerateSummary) {
    let old = generate(
        &opts(students, 5, rollovers, OneRosterVersion::V1p1),
        &dir.join("v1p1"),
    )
    .unwrap();
    let new = generate(
        &opts(students, 5, rollovers, OneRosterVersion::V1p2),
        &dir.join("v1p2"),
    )
    .unwrap();
    (old, new)
}

#[test]
fn the_1p2_package_is_the_1p1_district_with_each_users_role_in_roles_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let (old_summary, new_summary) = both(tmp.path(), 1000, 1);
    let (old, new) = (tmp.path().join("v1p1"), tmp.path().join("v1p2"));
    for name in [
        "orgs.csv",
        "academicSessions.csv",
        "courses.csv",
        "classes.csv",
        "enrollments.csv",
        "demographics.csv",
    ] {
        assert_eq!(
            fs::read(old.join(name)).unwrap(),
            fs::read(new.join(name)).unwrap(),
            "{name}"
        );
    }
    let manifest: Vec<[String; 2]> = rows(&new.join("manifest.csv"))
        .into_iter()
        .map(|r| [r["propertyName"].clone(), r["value"].clone()])
        .collect();
    let expected: Vec<[String; 2]> = MANIFEST_1P2.iter().map(|r| r.map(String::from)).collect();
    assert_eq!(manifest, expected);

    let (old_users, new_users) = (rows(&old.join("users.csv")), rows(&new.join("users.csv")));
    let roles = rows(&new.join("roles.csv"));
    assert_eq!(new_users.len(), old_users.len());
    assert_eq!(roles.len(), old_users.len(), "one role a user");
    assert_eq!(new_summary.files["roles.csv"], roles.len() as u64);
    assert_eq!(
        new_summary.files["users.csv"],
        old_summary.files["users.csv"]
    );
    let org_types: HashMap<String, String> = rows(&old.join("orgs.csv"))
        .into_iter()
        .map(|r| (r["sourcedId"].clone(), r["type"].clone()))
        .collect();
    let (mut preferred, mut pronouns) = (0, 0);
    for ((old, new), role) in old_users.iter().zip(&new_users).zip(&roles) {
        assert!(!new.contains_key("role") && !new.contains_key("orgSourcedIds"));
        for (column, value) in new {
            match old.get(column) {
                Some(old_value) => assert_eq!(old_value, value, "{column}"),
                None if column == "primaryOrgSourcedId" => {
                    assert_eq!(value, &old["orgSourcedIds"])
                }
                None => {}
            }
        }
        preferred += usize::from(!new["preferredGivenName"].is_empty());
        pronouns += usize::from(!new["pronouns"].is_empty());
        let id = &old["sourcedId"];
        assert_eq!(role["sourcedId"], format!("rol-{id}-1"));
        assert_eq!(&role["userSourcedId"], id);
        assert_eq!(role["roleType"], "primary");
        assert_eq!(role["orgSourcedId"], old["orgSourcedIds"]);
        assert_eq!(role["dateLastModified"], old["dateLastModified"]);
        let org_type = org_types[&old["orgSourcedIds"]].as_str();
        let expected = match (old["role"].as_str(), org_type) {
            ("administrator", "district") => "districtAdministrator",
            ("administrator", _) => "siteAdministrator",
            (other, _) => other,
        };
        assert_eq!(role["role"], expected, "{id}");
    }
    assert!(preferred > 10 && pronouns > 10, "{preferred} {pronouns}");
    for role in [
        "districtAdministrator",
        "siteAdministrator",
        "teacher",
        "student",
        "guardian",
    ] {
        assert!(roles.iter().any(|r| r["role"] == role), "{role}");
    }
}

#[test]
fn the_1p2_package_validates_with_no_error_and_as_many_users_as_1p1() {
    let tmp = tempfile::tempdir().unwrap();
    both(tmp.path(), 600, 0);
    let zip = tmp.path().join("v1p2.zip");
    generate(&opts(600, 5, 0, OneRosterVersion::V1p2), &zip).unwrap();
    let options = oneroster::ValidationOptions::default();
    let old = oneroster::validate_package(&tmp.path().join("v1p1"), &options).report;
    assert!(old.ok && old.errors.is_empty(), "{:#?}", old.errors);
    for package in [tmp.path().join("v1p2"), zip] {
        let new = oneroster::validate_package(&package, &options).report;
        assert!(new.ok, "{:#?}", new.errors);
        assert_eq!(new.error_count, 0, "{:#?}", new.errors);
        assert_eq!(new.oneroster_version.as_deref(), Some("1.2"));
        assert_eq!(new.files["users"].accepted, old.files["users"].accepted);
        assert_eq!(new.files["users"].skipped, old.files["users"].skipped);
        let roles = &new.files["roles"];
        assert_eq!((roles.accepted, roles.rejected), (roles.rows, 0));
        assert_eq!(roles.rows, old.files["users"].rows);
        for (file, summary) in &old.files {
            assert_eq!(new.files[file].accepted, summary.accepted, "{file}");
        }
        let warnings = |r: &oneroster::ValidationReport| {
            let mut codes: Vec<_> = r
                .warnings
                .iter()
                .map(|w| (w.file.clone(), w.code))
                .collect();
            codes.sort();
            codes
        };
        assert_eq!(warnings(&new), warnings(&old), "1.2 warns of nothing more");
    }
}

#[test]
fn the_same_seed_gives_the_same_1p2_bytes_with_rollovers_and_in_a_zip() {
    let tmp = tempfile::tempdir().unwrap();
    for out in ["a", "b", "a.zip", "b.zip"] {
        generate(
            &opts(300, 9, 2, OneRosterVersion::V1p2),
            &tmp.path().join(out),
        )
        .unwrap();
    }
    for name in ["manifest.csv", "users.csv", "roles.csv", "enrollments.csv"] {
        let read = |dir: &str| fs::read(tmp.path().join(dir).join(name)).unwrap();
        assert_eq!(read("a"), read("b"), "{name}");
    }
    let read = |zip: &str| fs::read(tmp.path().join(zip)).unwrap();
    assert_eq!(read("a.zip"), read("b.zip"));
    let archive = zip::ZipArchive::new(fs::File::open(tmp.path().join("a.zip")).unwrap()).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .collect();
    assert_eq!(names[6], "roles.csv", "{names:?}");
}

#[test]
fn a_version_is_named_as_manifests_write_it() {
    for v in [OneRosterVersion::V1p1, OneRosterVersion::V1p2] {
        assert_eq!(v.as_str().parse::<OneRosterVersion>(), Ok(v));
    }
    let err = "1.0".parse::<OneRosterVersion>().unwrap_err();
    assert!(err.contains("1.0") && err.contains("1.1 or 1.2"), "{err}");
}
