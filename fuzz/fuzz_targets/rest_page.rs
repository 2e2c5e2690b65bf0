//! A OneRoster REST page (JSON) through the flattening code, then written as
//! an API pull writes it and validated: the first byte picks the collection,
//! the rest is the response body. Each record flattens to the file's
//! columns, with a status, no password and only `metadata.*` extensions; the
//! package of the page gets a report (`roster_fuzz::check`), and, when it
//! may be applied, one row per record. The body is read as an error's
//! status payload too, and a page of users as OneRoster 1.2 users (a row of
//! 1.2's columns and one role row per role).
#![no_main]

use libfuzzer_sys::fuzz_target;
use oneroster::schema::columns;
use oneroster::{validate_package, EntityKind, ValidationOptions};
use oneroster_rest::flatten::{flatten, FlatRow};
use oneroster_rest::flatten_v1p2::flatten_user;
use oneroster_rest::status::StatusInfo;
use serde_json::Value;
use std::collections::BTreeSet;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let kind = EntityKind::ALL[pick as usize % EntityKind::ALL.len()];
    let name = kind.file_name();
    // As the client reads an error answer: never a panic, a bounded summary.
    if let Some(info) = StatusInfo::parse(body) {
        assert!(info.summary().chars().count() <= 64 + 2 + 201);
    }
    // As the client decodes a page: a JSON object with the collection's array.
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let Some(Value::Array(items)) = body.get(name) else {
        return;
    };
    let rows: Vec<FlatRow> = items
        .iter()
        .filter_map(Value::as_object)
        .map(|record| flatten(kind, record))
        .collect();
    if kind == EntityKind::Users {
        let (users, roles) = (
            oneroster::v1p2::columns::USERS.len(),
            oneroster::v1p2::columns::ROLES.len(),
        );
        for record in items.iter().filter_map(Value::as_object) {
            let flat = flatten_user(record);
            assert_eq!(flat.user.fields.len(), users, "one value per 1.2 column");
            assert!(flat.roles.iter().all(|r| r.len() == roles));
        }
    }
    let header: Vec<&str> = columns(kind).iter().map(|c| c.name).collect();
    for row in &rows {
        assert_eq!(row.fields.len(), header.len(), "one value per column");
        assert!(!row.fields[1].is_empty(), "a status, `active` when missing");
        if let Some(at) = header.iter().position(|c| *c == "password") {
            assert_eq!(row.fields[at], "", "the password is dropped");
        }
        assert!(row
            .extensions
            .iter()
            .all(|(k, _)| k.starts_with("metadata.")));
    }

    let dir = roster_fuzz::scratch_dir();
    for kind in EntityKind::ALL {
        let _ = std::fs::remove_file(dir.join(format!("{}.csv", kind.file_name())));
    }
    std::fs::write(
        dir.join("manifest.csv"),
        format!(
            "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.{name},bulk\n"
        ),
    )
    .unwrap();
    write_csv(&dir.join(format!("{name}.csv")), &header, &rows);
    let v = validate_package(dir, &ValidationOptions::default());
    roster_fuzz::check(&v);
    if v.report.ok {
        assert_eq!(
            v.report.files[name].rows,
            rows.len() as u64,
            "one row per record"
        );
    }
});

/// The file an API pull writes: the columns, then the extension columns
/// the records carry, sorted, each record's values under them.
fn write_csv(path: &std::path::Path, header: &[&str], rows: &[FlatRow]) {
    let extensions: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| r.extensions.iter().map(|(k, _)| k.as_str()))
        .collect();
    let mut out = csv::Writer::from_path(path).unwrap();
    out.write_record(header.iter().copied().chain(extensions.iter().copied()))
        .unwrap();
    for row in rows {
        let extra = extensions.iter().map(|name| {
            row.extensions
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map_or("", |(_, v)| v.as_str())
        });
        out.write_record(row.fields.iter().map(String::as_str).chain(extra))
            .unwrap();
    }
    out.flush().unwrap();
}
