//! The `entities` table's layout, and the rewrite of a file made in an older one.
//!
//! Until 2026-12 a record's key held the tenant's name and the type's file
//! name, and its stamps RFC 3339 texts. Every B-tree step of every write
//! compared those names, and every row carried ~100 bytes of them; the
//! compact layout (a tenant key, a type code, stamps in milliseconds) writes
//! a district's enrollments a fifth faster into a file a quarter smaller
//! (docs/BENCHMARKS.md). Its first version still held the run ids as texts
//! (two on every record, ~60 bytes); the current one holds `run_keys` ids.
//! A file in an older layout is rewritten once, in one transaction, when a
//! store first opens it.

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

/// The layout this build writes, kept in the file's `PRAGMA user_version`
/// (files made before the stamp have 0; their layout is read from the
/// columns' types). A file stamped with a later one was made by a newer
/// build, which may store what this one would misread: it is refused.
pub(super) const LAYOUT_VERSION: i64 = 3;

fn version_of(c: &Connection) -> StoreResult<i64> {
    c.query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db_error)
}

/// The file's layout version, when this build can open it; a file made by
/// a newer build (see [`LAYOUT_VERSION`]) is refused, before anything is
/// written to it.
pub(super) fn check_version(c: &Connection) -> StoreResult<i64> {
    let version = version_of(c)?;
    if version > LAYOUT_VERSION {
        return Err(StoreError::permanent(format!(
            "the database is in layout version {version}, made by a newer rosterctl; this one reads up to version {LAYOUT_VERSION}: use the newer one"
        )));
    }
    Ok(version)
}

/// Stamps the file with [`LAYOUT_VERSION`] once its records are in that
/// layout, unless `found` (what [`check_version`] read) says it is already.
pub(super) fn stamp_version(c: &Connection, found: i64) -> StoreResult<()> {
    if found == LAYOUT_VERSION {
        return Ok(());
    }
    c.execute_batch(&format!("PRAGMA user_version = {LAYOUT_VERSION}"))
        .map_err(db_error)
}

/// The layouts `entities` has had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Before 2026-12: names in the key, stamps and run ids as texts.
    Named,
    /// The compact layout's first version: run ids still as texts.
    CompactRunNames,
    /// The current layout (see `schema::entities_table`).
    Current,
}

/// The declared type of column `column` of `entities` (`None` before the
/// table exists).
fn column_type(c: &Connection, column: &str) -> StoreResult<Option<String>> {
    c.query_row(
        "SELECT type FROM pragma_table_info('entities') WHERE name = ?1",
        [column],
        |r| r.get(0),
    )
    .optional()
    .map_err(db_error)
}

/// The layout `entities` is in (`Current` before the table exists).
fn layout_of(c: &Connection) -> StoreResult<Layout> {
    let is_text = |t: Option<String>| t.is_some_and(|t| t.eq_ignore_ascii_case("TEXT"));
    Ok(if is_text(column_type(c, "tenant")?) {
        Layout::Named
    } else if is_text(column_type(c, "first_seen_run")?) {
        Layout::CompactRunNames
    } else {
        Layout::Current
    })
}

/// An old layout's stamp text as milliseconds, in SQL; a text SQLite cannot
/// read is kept as it is, so that reading the record names it (as before).
fn stamp_sql(column: &str) -> String {
    format!("COALESCE(CAST(ROUND(unixepoch({column}, 'subsec') * 1000) AS INTEGER), {column})")
}

/// The statement that copies every record of `entities`, in layout `from`,
/// into `entities_current`, in the current one (the tenants' and the runs'
/// keys made beforehand).
fn copy_sql(from: Layout) -> String {
    let named = from == Layout::Named;
    let (tenant, tenant_join) = if named {
        ("k.id", "JOIN tenant_keys k ON k.tenant = e.tenant")
    } else {
        ("e.tenant", "")
    };
    let kind = if named {
        let cases: String = EntityKind::ALL
            .iter()
            .map(|k| format!(" WHEN '{}' THEN {}", kind_name(*k), kind_code(*k)))
            .collect();
        format!("CASE e.kind{cases} END")
    } else {
        "e.kind".to_string()
    };
    let stamp = |column: &str| {
        if named {
            stamp_sql(column)
        } else {
            column.to_string()
        }
    };
    format!(
        "INSERT INTO entities_current (tenant, kind, sourced_id, sis, archived_by, archived_at,
             archived_run, archive_reason, first_seen_at, first_seen_run, updated_at, updated_run,
             email, username, school, class, user, provisional)
         SELECT {tenant}, {kind}, e.sourced_id, e.sis, e.archived_by, {archived_at},
             ra.id, e.archive_reason, {first_seen_at}, rf.id, {updated_at},
             ru.id, e.email, e.username, e.school, e.class, e.user, e.provisional
         FROM entities e {tenant_join}
             JOIN run_keys rf ON rf.run = e.first_seen_run
             JOIN run_keys ru ON ru.run = e.updated_run
             LEFT JOIN run_keys ra ON ra.run = e.archived_run",
        archived_at = stamp("e.archived_at"),
        first_seen_at = stamp("e.first_seen_at"),
        updated_at = stamp("e.updated_at"),
    )
}

/// Rewrites `entities` from an older layout into the current one, in one
/// transaction, if it is in an older one; does nothing otherwise. Two
/// processes opening an old file at once: the second waits for the first's
/// rewrite, then finds the current layout and does nothing.
pub(super) fn rewrite_old_layout(c: &mut Connection) -> StoreResult<bool> {
    if layout_of(c)? == Layout::Current {
        return Ok(false);
    }
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let from = layout_of(&tx)?;
    if from == Layout::Current {
        return Ok(false);
    }
    let started = std::time::Instant::now();
    let rewrite_error =
        |e| StoreError::permanent("rewriting the records into the current layout").because(e);
    let tenant_keys = if from == Layout::Named {
        "INSERT OR IGNORE INTO tenant_keys (tenant) SELECT DISTINCT tenant FROM entities;"
    } else {
        ""
    };
    tx.execute_batch(&format!(
        "{create}
         {tenant_keys}
         INSERT OR IGNORE INTO run_keys (run)
             SELECT first_seen_run FROM entities UNION SELECT updated_run FROM entities
             UNION SELECT archived_run FROM entities WHERE archived_run IS NOT NULL;",
        create = super::schema::entities_table("entities_current"),
    ))
    .map_err(rewrite_error)?;
    let records = tx.execute(&copy_sql(from), []).map_err(rewrite_error)?;
    let before: usize = tx
        .query_row("SELECT COUNT(*) FROM entities", [], |r| r.get(0))
        .map_err(rewrite_error)?;
    if records != before {
        // Nothing is dropped: the transaction is rolled back.
        return Err(StoreError::permanent(format!(
            "rewriting the records into the current layout copied {records} of {before}; the file is left as it was"
        )));
    }
    tx.execute_batch(
        "DROP TABLE entities;
         ALTER TABLE entities_current RENAME TO entities;",
    )
    .map_err(rewrite_error)?;
    tx.commit().map_err(db_error)?;
    tracing::info!(
        records,
        from = ?from,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "SQLite: records rewritten into the current layout"
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

    /// The platform table, as every layout below had it (made before them).
    const PLATFORM_TABLE: &str = "
        CREATE TABLE platform (
            tenant TEXT NOT NULL, kind TEXT NOT NULL, sourced_id TEXT NOT NULL,
            primary_admin INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, kind, sourced_id)
        ) WITHOUT ROWID;
    ";

    /// The first layout of `entities` (before `archive_reason` and
    /// `provisional` were added), with its indexes and a platform flag.
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

    /// The compact layout's first version (run ids as texts), with the same
    /// records as [`FIRST_LAYOUT`] and a provisional user made at sign-in.
    const COMPACT_LAYOUT_WITH_RUN_NAMES: &str = "
        CREATE TABLE tenant_keys (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL UNIQUE);
        INSERT INTO tenant_keys VALUES (1, 'd1'), (2, 'd2');
        CREATE TABLE entities (
            tenant INTEGER NOT NULL, kind INTEGER NOT NULL, sourced_id TEXT NOT NULL,
            sis TEXT NOT NULL, archived_by TEXT, archived_at INTEGER, archived_run TEXT,
            archive_reason TEXT, first_seen_at INTEGER NOT NULL, first_seen_run TEXT NOT NULL,
            updated_at INTEGER NOT NULL, updated_run TEXT NOT NULL,
            email TEXT, username TEXT, school TEXT, class TEXT, user TEXT,
            provisional INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, kind, sourced_id)
        ) WITHOUT ROWID;
        CREATE INDEX entities_by_email ON entities (tenant, email) WHERE email IS NOT NULL;
        CREATE INDEX entities_by_user ON entities (tenant, user) WHERE user IS NOT NULL;
        INSERT INTO entities VALUES
            (1, 5, 'u1', '{\"email\":\"Ann@d1.example\",\"sourcedId\":\"u1\"}', NULL, NULL, NULL,
             NULL, 1785585600123, 'run-1', 1788264000000, 'run-2',
             'ann@d1.example', 'ann', NULL, NULL, NULL, 0),
            (1, 6, 'e1', '{\"class\":\"c1\",\"sourcedId\":\"e1\",\"user\":\"u1\"}',
             'sync', 1788307200999, 'run-3', NULL,
             1785585600123, 'run-1', 1785585600123, 'run-1', NULL, NULL, NULL, 'c1', 'u1', 0),
            (2, 5, 'u1', '{\"sourcedId\":\"u1\"}', NULL, NULL, NULL, NULL,
             1738367999000, 'run-9', 1738367999000, 'run-9', 'ann@d2.example', NULL, NULL, NULL, NULL, 0),
            (2, 5, 'u9', '{\"sourcedId\":\"u9\"}', NULL, NULL, NULL, NULL,
             'garbage', 'run-9', 1738367999000, 'run-9', NULL, NULL, NULL, NULL, NULL, 0),
            (2, 5, 'tch-new', '{\"sourcedId\":\"tch-new\"}', NULL, NULL, NULL, NULL,
             1738367999000, 'sso:req-1', 1738367999000, 'sso:req-1', NULL, NULL, NULL, NULL, NULL, 1);
        INSERT INTO platform VALUES ('d1', 'users', 'u1', 1);
    ";

    /// A file in the first layout is rewritten when opened (see
    /// [`reads_as_it_was_written`]).
    #[tokio::test]
    async fn a_file_in_the_first_layout_is_rewritten_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        reads_as_it_was_written(&dir.path().join("roster.db"), FIRST_LAYOUT).await;
    }

    /// A file in the compact layout's first version (run ids as texts) is
    /// rewritten when opened (see [`reads_as_it_was_written`]); a
    /// provisional user keeps the sign-in it came from.
    #[tokio::test]
    async fn a_file_with_run_ids_as_texts_is_rewritten_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.db");
        reads_as_it_was_written(&path, COMPACT_LAYOUT_WITH_RUN_NAMES).await;
        let store = SqliteStore::open(&path).unwrap();
        let provisional = store.provisional_users("d2").await.unwrap();
        assert_eq!(provisional.len(), 1);
        assert_eq!(provisional[0].sourced_id, "tch-new");
        assert_eq!(provisional[0].first_seen_run, "sso:req-1");
        assert_eq!(provisional[0].updated_run, "sso:req-1");
        let bad = Records::load_summaries(&store, "d2", EntityKind::Users)
            .await
            .unwrap_err();
        assert!(bad.to_string().contains("bad timestamp `garbage`"), "{bad}");
    }

    /// A file made by a newer build (a later layout version) is refused
    /// when opened, and left as it was: no table is made in it.
    #[test]
    fn a_file_of_a_newer_layout_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
            .unwrap();
        let error = SqliteStore::open(&path).err().expect("refused");
        assert!(
            error
                .to_string()
                .contains("layout version 99, made by a newer rosterctl"),
            "{error}"
        );
        let tables: Vec<String> = Connection::open(&path)
            .unwrap()
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(tables, ["future"]);
    }

    /// The file at `path` made by `layout` (SQL), opened twice: each time,
    /// its records are in the current layout, every record reads back as it
    /// was (stamps to the millisecond, runs, archives, the Primary
    /// Administrator flag beside it), lookups find them, tenants stay apart,
    /// and a stamp that was not one is still named.
    async fn reads_as_it_was_written(path: &std::path::Path, layout: &str) {
        let made = Connection::open(path).unwrap();
        made.execute_batch(PLATFORM_TABLE).unwrap();
        made.execute_batch(layout).unwrap();
        drop(made);

        for opening in 0..2 {
            let store = SqliteStore::open(path).unwrap();
            let version = store.with(|c| super::version_of(c)).unwrap();
            assert_eq!(version, super::LAYOUT_VERSION, "opening {opening}");
            for column in ["tenant", "first_seen_run", "updated_run", "archived_run"] {
                let declared = store.with(|c| super::column_type(c, column)).unwrap();
                assert_eq!(
                    declared.as_deref(),
                    Some("INTEGER"),
                    "{column}, opening {opening}"
                );
            }
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
            assert!(!store.has_records("d3").await.unwrap());
            assert!(store.has_records("d2").await.unwrap());
        }
    }
}
