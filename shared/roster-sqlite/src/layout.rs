//! The values of the `entities` table's compact layout: a tenant key, a
//! type code, stamps in milliseconds, run keys. Every B-tree step of every
//! write compares the key, and every row carried the names and texts the
//! layout replaced: it writes a district's enrollments a fifth faster into
//! a file a quarter smaller (docs/BENCHMARKS.md).

use super::db_error;
use chrono::{DateTime, Utc};
use roster::store::{StoreError, StoreResult};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row};

/// A stamp as the compact layout stores it: milliseconds since 1970 (UTC).
/// Finer parts are dropped.
pub(super) fn stamp(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The stamp in column `column` of `row`. A value that is not a stamp (a text
/// left by a hand edit, say) is an error that names it.
pub(super) fn stamp_at(row: &Row<'_>, column: usize) -> StoreResult<DateTime<Utc>> {
    match row.get_ref(column).map_err(db_error)? {
        ValueRef::Integer(ms) => DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| StoreError::permanent(format!("bad timestamp `{ms}` in store"))),
        other => Err(StoreError::permanent(format!(
            "bad timestamp {} in store (expected milliseconds since 1970)",
            describe(other)
        ))),
    }
}

/// The stamp in column `column` of `row`, if it has one.
pub(super) fn optional_stamp_at(
    row: &Row<'_>,
    column: usize,
) -> StoreResult<Option<DateTime<Utc>>> {
    match row.get_ref(column).map_err(db_error)? {
        ValueRef::Null => Ok(None),
        _ => stamp_at(row, column).map(Some),
    }
}

/// The key that stands for `tenant` in `entities`, if it has one (a tenant
/// that never had a record has none).
pub(super) fn tenant_key(c: &Connection, tenant: &str) -> StoreResult<Option<i64>> {
    c.prepare_cached("SELECT id FROM tenant_keys WHERE tenant = ?1")
        .and_then(|mut s| s.query_row([tenant], |r| r.get(0)).optional())
        .map_err(db_error)
}

/// The key that stands for `tenant` in `entities`, made if it has none yet
/// (in the caller's transaction, if it has one).
pub(super) fn tenant_key_for_writing(c: &Connection, tenant: &str) -> StoreResult<i64> {
    match tenant_key(c, tenant)? {
        Some(key) => Ok(key),
        None => insert_key(c, "INSERT INTO tenant_keys (tenant) VALUES (?1)", tenant),
    }
}

/// The key that stands for the run id (or other origin) `run` in
/// `entities`, made if it has none yet (in the caller's transaction, if it
/// has one).
pub(super) fn run_key_for_writing(c: &Connection, run: &str) -> StoreResult<i64> {
    let key = c
        .prepare_cached("SELECT id FROM run_keys WHERE run = ?1")
        .and_then(|mut s| s.query_row([run], |r| r.get(0)).optional())
        .map_err(db_error)?;
    match key {
        Some(key) => Ok(key),
        None => insert_key(c, "INSERT INTO run_keys (run) VALUES (?1)", run),
    }
}

fn insert_key(c: &Connection, insert: &str, value: &str) -> StoreResult<i64> {
    c.prepare_cached(insert)
        .and_then(|mut s| s.insert([value]))
        .map_err(db_error)
}

/// The run id that key `key` stands for, if `run_keys` has it.
pub(super) fn run_name(c: &Connection, key: i64) -> StoreResult<Option<String>> {
    c.prepare_cached("SELECT run FROM run_keys WHERE id = ?1")
        .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
        .map_err(db_error)
}

/// The run key in column `column` of `row`. A value that is not one (a
/// text left by a hand edit, say) is an error that names it.
pub(super) fn run_key_at(row: &Row<'_>, column: usize) -> StoreResult<i64> {
    match row.get_ref(column).map_err(db_error)? {
        ValueRef::Integer(key) => Ok(key),
        other => Err(StoreError::permanent(format!(
            "bad run key {} in store (expected an id of `run_keys`)",
            describe(other)
        ))),
    }
}

/// A stored value as an error names it.
fn describe(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Text(text) => format!("`{}`", String::from_utf8_lossy(text)),
        other => format!("of type {}", other.data_type()),
    }
}
