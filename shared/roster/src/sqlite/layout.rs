//! The `entities` table's layout, and the rewrite of a file made in the old one.
//!
//! Until 2026-12 a record's key held the tenant's name and the type's file
//! name, and its stamps RFC 3339 texts. Every B-tree step of every write
//! compared those names, and every row carried ~100 bytes of them; the
//! compact layout (a tenant key, a type code, stamps in milliseconds) writes
//! a district's enrollments a fifth faster into a file a quarter smaller
//! (docs/BENCHMARKS.md). A file in the old layout is rewritten once, in one
//! transaction, when a store first opens it.

use super::{db_error, kind_code, kind_name, parse_ts};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use oneroster::EntityKind;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior};

/// A stamp as the compact layout stores it: milliseconds since 1970 (UTC).
/// Finer parts are dropped, as the old layout's texts dropped them.
pub(super) fn stamp(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The stamp in column `column` of `row`. A value that is not a stamp (a text
/// left by a hand edit, say) is an error that names it.
pub(super) fn stamp_at(row: &Row<'_>, column: usize) -> StoreResult<DateTime<Utc>> {
    match row.get_ref(column).map_err(db_error)? {
        ValueRef::Integer(ms) => DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| StoreError::permanent(format!("bad timestamp `{ms}` in store"))),
        // The old layout's form, which `parse_ts` names when it is not one.
        ValueRef::Text(text) => parse_ts(&String::from_utf8_lossy(text)),
        other => Err(StoreError::permanent(format!(
            "bad timestamp of type {} in store",
            other.data_type()
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
    if let Some(key) = tenant_key(c, tenant)? {
        return Ok(key);
    }
    c.prepare_cached("INSERT INTO tenant_keys (tenant) VALUES (?1)")
        .and_then(|mut s| s.insert([tenant]))
        .map_err(db_error)
}

/// The declared type of `entities.tenant` (`None` before the table exists).
fn tenant_column_type(c: &Connection) -> StoreResult<Option<String>> {
    c.query_row(
        "SELECT type FROM pragma_table_info('entities') WHERE name = 'tenant'",
        [],
        |r| r.get(0),
    )
    .optional()
    .map_err(db_error)
}

/// Whether `entities` is in the old layout (the tenant's name in its key).
fn in_old_layout(c: &Connection) -> StoreResult<bool> {
    Ok(tenant_column_type(c)?.is_some_and(|t| t.eq_ignore_ascii_case("TEXT")))
}

/// An old layout's stamp text as milliseconds, in SQL; a text SQLite cannot
/// read is kept as it is, so that reading the record names it (as before).
fn stamp_sql(column: &str) -> String {
    format!("COALESCE(CAST(ROUND(unixepoch({column}, 'subsec') * 1000) AS INTEGER), {column})")
}

/// Rewrites `entities` from the old layout into the compact one, in one
/// transaction, if it is in the old one; does nothing otherwise. Two
/// processes opening an old file at once: the second waits for the first's
/// rewrite, then finds the new layout and does nothing.
pub(super) fn rewrite_old_layout(c: &mut Connection) -> StoreResult<bool> {
    if !in_old_layout(c)? {
        return Ok(false);
    }
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    if !in_old_layout(&tx)? {
        return Ok(false);
    }
    let started = std::time::Instant::now();
    let kind_case: String = EntityKind::ALL
        .iter()
        .map(|k| format!(" WHEN '{}' THEN {}", kind_name(*k), kind_code(*k)))
        .collect();
    let create_compact = super::schema::entities_table("entities_compact");
    let rewrite_error =
        |e| StoreError::permanent("rewriting the records into the compact layout").because(e);
    tx.execute_batch(&format!(
        "{create_compact}
         INSERT OR IGNORE INTO tenant_keys (tenant) SELECT DISTINCT tenant FROM entities;"
    ))
    .map_err(rewrite_error)?;
    let records = tx
        .execute(
            &format!(
                "INSERT INTO entities_compact (tenant, kind, sourced_id, sis, archived_by, archived_at,
                     archived_run, archive_reason, first_seen_at, first_seen_run, updated_at, updated_run,
                     email, username, school, class, user, provisional)
                 SELECT k.id, CASE e.kind{kind_case} END, e.sourced_id, e.sis, e.archived_by, {archived_at},
                     e.archived_run, e.archive_reason, {first_seen_at}, e.first_seen_run, {updated_at},
                     e.updated_run, e.email, e.username, e.school, e.class, e.user, e.provisional
                 FROM entities e JOIN tenant_keys k ON k.tenant = e.tenant",
                archived_at = stamp_sql("e.archived_at"),
                first_seen_at = stamp_sql("e.first_seen_at"),
                updated_at = stamp_sql("e.updated_at"),
            ),
            [],
        )
        .map_err(rewrite_error)?;
    tx.execute_batch(
        "DROP TABLE entities;
         ALTER TABLE entities_compact RENAME TO entities;",
    )
    .map_err(rewrite_error)?;
    tx.commit().map_err(db_error)?;
    tracing::info!(
        records,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "SQLite: records rewritten into the compact layout"
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use crate::store::*;
    use chrono::{TimeZone, Utc};
    use oneroster::EntityKind;
    use rusqlite::Connection;

    /// The first layout of `entities` (before `archive_reason` and
    /// `provisional` were added), with its indexes and the platform table.
    const FIRST_LAYOUT: &str = "
        CREATE TABLE entities (
            tenant TEXT NOT NULL, kind TEXT NOT NULL, sourced_id TEXT NOT NULL, sis TEXT NOT NULL,
            archived_by TEXT, archived_at TEXT, archived_run TEXT,
            first_seen_at TEXT NOT NULL, first_seen_run TEXT NOT NULL,
            updated_at TEXT NOT NULL, updated_run TEXT NOT NULL,
            email TEXT, username TEXT, school TEXT, class TEXT, user TEXT,
            PRIMARY KEY (tenant, kind, sourced_id)
        ) WITHOUT ROWID;
        CREATE INDEX entities_by_email ON entities (tenant, email) WHERE email IS NOT NULL;
        CREATE INDEX entities_by_username ON entities (tenant, username) WHERE username IS NOT NULL;
        CREATE INDEX entities_by_school ON entities (tenant, school) WHERE school IS NOT NULL;
        CREATE INDEX entities_by_class ON entities (tenant, class) WHERE class IS NOT NULL;
        CREATE INDEX entities_by_user ON entities (tenant, user) WHERE user IS NOT NULL;
        CREATE TABLE platform (
            tenant TEXT NOT NULL, kind TEXT NOT NULL, sourced_id TEXT NOT NULL,
            primary_admin INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, kind, sourced_id)
        ) WITHOUT ROWID;
        INSERT INTO entities VALUES
            ('d1', 'users', 'u1', '{\"email\":\"Ann@d1.example\",\"sourcedId\":\"u1\"}', NULL, NULL, NULL,
             '2026-08-01T12:00:00.123Z', 'run-1', '2026-09-01T12:00:00.000Z', 'run-2',
             'ann@d1.example', 'ann', NULL, NULL, NULL),
            ('d1', 'enrollments', 'e1', '{\"class\":\"c1\",\"sourcedId\":\"e1\",\"user\":\"u1\"}',
             'sync', '2026-09-02T00:00:00.999Z', 'run-3',
             '2026-08-01T12:00:00.123Z', 'run-1', '2026-08-01T12:00:00.123Z', 'run-1',
             NULL, NULL, NULL, 'c1', 'u1'),
            ('d2', 'users', 'u1', '{\"sourcedId\":\"u1\"}', NULL, NULL, NULL,
             '2025-01-31T23:59:59.000Z', 'run-9', '2025-01-31T23:59:59.000Z', 'run-9',
             'ann@d2.example', NULL, NULL, NULL, NULL),
            ('d2', 'users', 'u9', '{\"sourcedId\":\"u9\"}', NULL, NULL, NULL,
             'garbage', 'run-9', '2025-01-31T23:59:59.000Z', 'run-9', NULL, NULL, NULL, NULL, NULL);
        INSERT INTO platform VALUES ('d1', 'users', 'u1', 1);
    ";

    /// A file in the first layout is rewritten when opened: every record
    /// reads back as it was (stamps to the millisecond, archives, the
    /// Primary Administrator flag beside it), lookups find them, tenants
    /// stay apart, a stamp that was not one is still named, and opening
    /// the file again changes nothing.
    #[tokio::test]
    async fn a_file_in_the_first_layout_is_rewritten_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch(FIRST_LAYOUT)
            .unwrap();

        for opening in 0..2 {
            let store = SqliteStore::open(&path).unwrap();
            let tenant_type = store.with(|c| super::tenant_column_type(c)).unwrap();
            assert_eq!(tenant_type.as_deref(), Some("INTEGER"), "opening {opening}");
            let indexes: i64 = store
                .with(|c| {
                    c.query_row(
                        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entities' AND name LIKE 'entities_by_%'",
                        [],
                        |r| r.get(0),
                    )
                    .map_err(super::db_error)
                })
                .unwrap();
            assert_eq!(indexes, 5);

            let ann = store
                .get_entity("d1", EntityKind::Users, "u1")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                ann.first_seen_at,
                Utc.with_ymd_and_hms(2026, 8, 1, 12, 0, 0).unwrap()
                    + chrono::Duration::milliseconds(123)
            );
            assert_eq!(ann.first_seen_run, "run-1");
            assert_eq!(
                ann.updated_at,
                Utc.with_ymd_and_hms(2026, 9, 1, 12, 0, 0).unwrap()
            );
            assert_eq!(ann.updated_run, "run-2");
            assert!(ann.primary_admin);
            assert!(!ann.provisional);
            assert_eq!(ann.archive, None);
            assert_eq!(
                ann.sis.text(),
                r#"{"email":"Ann@d1.example","sourcedId":"u1"}"#
            );

            let enrollment = store
                .get_entity("d1", EntityKind::Enrollments, "e1")
                .await
                .unwrap()
                .unwrap();
            let archive = enrollment.archive.expect("still archived");
            assert_eq!(archive.by, ArchivedBy::Sync);
            assert_eq!(
                archive.at,
                Utc.with_ymd_and_hms(2026, 9, 2, 0, 0, 0).unwrap()
                    + chrono::Duration::milliseconds(999)
            );
            assert_eq!(archive.run.as_deref(), Some("run-3"));
            assert_eq!(archive.reason, None);

            assert_eq!(
                store
                    .lookup("d1", &Lookup::UsersByEmail("ann@d1.example".into()))
                    .await
                    .unwrap(),
                vec!["u1".to_string()]
            );
            assert!(store
                .lookup("d1", &Lookup::UsersByEmail("ann@d2.example".into()))
                .await
                .unwrap()
                .is_empty());
            assert_eq!(
                store
                    .lookup("d1", &Lookup::EnrollmentsOfUser("u1".into()))
                    .await
                    .unwrap(),
                vec!["e1".to_string()]
            );

            let other = store
                .get_entity("d2", EntityKind::Users, "u1")
                .await
                .unwrap()
                .unwrap();
            assert!(!other.primary_admin);
            assert_eq!(other.first_seen_run, "run-9");
            let bad = store
                .get_entity("d2", EntityKind::Users, "u9")
                .await
                .unwrap_err();
            assert!(bad.to_string().contains("bad timestamp `garbage`"), "{bad}");

            assert!(store
                .get_entity("d3", EntityKind::Users, "u1")
                .await
                .unwrap()
                .is_none());
            assert!(!store.blocking().unwrap().has_records("d3").unwrap());
            assert!(store.blocking().unwrap().has_records("d2").unwrap());
        }
    }
}
