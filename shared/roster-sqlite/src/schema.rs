//! The embedded store's tables (one per item type of the DynamoDB table),
//! and the one check of a file's layout when it is opened.
//!
//! The file is a local store: a file of another layout than this build's is
//! refused, never converted. Its records come back by syncing the delivery
//! again into a fresh file (docs/data-model.md).

use super::db_error;
use roster::store::{StoreError, StoreResult};
use rusqlite::{Connection, TransactionBehavior};

/// The layout this build writes, kept in the file's `PRAGMA user_version`.
/// Raise it with any change to [`TABLES`]: files of the former layout are
/// then refused when opened, with what to do.
pub(super) const LAYOUT_VERSION: i64 = 4;

/// Set on a new file, before its first table: 16 KiB pages (records are
/// ~500 bytes: fewer, fuller pages, a quarter less time to load a district).
const NEW_FILE: &str = "PRAGMA page_size = 16384;";

/// Set on every connection. WAL again on each open: a first load that was
/// killed while the file was in a rollback journal leaves it in one.
const CONNECTION: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
-- Large batches of writes touch index pages all over: keep them in memory (64 MiB).
PRAGMA cache_size = -65536;
";

/// The tables of a new file, made in one transaction with the version stamp.
///
/// `entities` is sync-owned: written by syncs only. `tenant` is a
/// `tenant_keys` id, `kind` the type's code (`kind_code`), the stamps
/// milliseconds since 1970 (UTC), the runs `run_keys` ids.
const TABLES: &str = r#"
CREATE TABLE tenants (
    tenant TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    state TEXT
);
-- The short integer that stands for a tenant in `entities` (its key's
-- first column): compared in every B-tree step of every write, an integer
-- costs less than the name.
CREATE TABLE tenant_keys (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL UNIQUE
);
-- The short integer that stands for a run id in `entities` (the runs that
-- first saw a record, last wrote it, archived it; or a record's other
-- origin, such as the sign-in that made a provisional user): two of them on
-- every record, where the texts took a tenth of an enrollment's row.
CREATE TABLE run_keys (
    id INTEGER PRIMARY KEY,
    run TEXT NOT NULL UNIQUE
);
-- Platform-owned: never written by a sync.
CREATE TABLE platform (
    tenant TEXT NOT NULL,
    kind TEXT NOT NULL,
    sourced_id TEXT NOT NULL,
    primary_admin INTEGER NOT NULL DEFAULT 0,
    -- A re-key: the sourcedId an archived record carries on under, and a
    -- record's earlier sourcedIds (a JSON list, oldest first).
    rekeyed_to TEXT,
    previous_ids TEXT,
    PRIMARY KEY (tenant, kind, sourced_id)
) WITHOUT ROWID;
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX runs_by_tenant ON runs (tenant, run_id);
CREATE TABLE one_time (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE sign_in_audit (
    tenant TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    record TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (tenant, sort_key)
) WITHOUT ROWID;
CREATE TABLE claims (
    work TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    result TEXT,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
-- A tenant's lease: `owner` is empty once released; `token` (the fencing
-- token) grows by one each time the lease is taken, and every write under
-- the lease checks it in its own transaction.
CREATE TABLE leases (
    tenant TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    token INTEGER NOT NULL DEFAULT 0
);
-- One ClassLink TenantId, one tenant: the key enforces it, and sign-in finds
-- the tenant with one read. Written with the tenant's configuration.
CREATE TABLE classlink_tenants (
    classlink_tenant_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL
);
CREATE TABLE entities (    tenant INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    sourced_id TEXT NOT NULL,
    sis TEXT NOT NULL,
    archived_by TEXT,
    archived_at INTEGER,
    archived_run INTEGER,
    archive_reason TEXT,
    first_seen_at INTEGER NOT NULL,
    first_seen_run INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_run INTEGER NOT NULL,
    email TEXT,
    username TEXT,
    school TEXT,
    class TEXT,
    user TEXT,
    -- Platform-made at sign-in (never by a sync); a sync's write clears it.
    provisional INTEGER NOT NULL DEFAULT 0,
    -- Platform-owned: when and why the person's personal fields were erased
    -- (JSON of `roster::store::Erasure`); a sync's write clears it.
    erasure TEXT,
    PRIMARY KEY (tenant, kind, sourced_id)
) WITHOUT ROWID;
CREATE INDEX entities_by_email ON entities (tenant, email) WHERE email IS NOT NULL;
CREATE INDEX entities_by_username ON entities (tenant, username) WHERE username IS NOT NULL;
CREATE INDEX entities_by_school ON entities (tenant, school) WHERE school IS NOT NULL;
CREATE INDEX entities_by_class ON entities (tenant, class) WHERE class IS NOT NULL;
CREATE INDEX entities_by_user ON entities (tenant, user) WHERE user IS NOT NULL;
"#;

/// What a file holds when it is opened.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// Nothing: a new file.
    Empty,
    /// This build's layout.
    Current,
    /// Another layout (the version in `user_version`; 0 for a file made
    /// before the stamp, or not by this program).
    Other(i64),
}

fn found(c: &Connection) -> StoreResult<Found> {
    // One statement, one snapshot: another process may make the file between two.
    let (version, objects): (i64, i64) = c
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version), (SELECT COUNT(*) FROM sqlite_master)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db_error)?;
    Ok(match version {
        LAYOUT_VERSION => Found::Current,
        0 if objects == 0 => Found::Empty,
        other => Found::Other(other),
    })
}

/// Readies the connection to the file named `file`: a new file gets the
/// tables and the version stamp (in one transaction: two processes making
/// it at once make it once); a file of this build's layout is used as it
/// is; a file of any other layout is refused before anything is written.
pub(super) fn prepare(conn: &mut Connection, file: &str) -> StoreResult<()> {
    match found(conn)? {
        Found::Current => conn.execute_batch(CONNECTION).map_err(db_error),
        Found::Other(version) => Err(refusal(file, version)),
        Found::Empty => {
            conn.execute_batch(NEW_FILE).map_err(db_error)?;
            conn.execute_batch(CONNECTION).map_err(db_error)?;
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            match found(&tx)? {
                Found::Current => return Ok(()),
                Found::Other(version) => return Err(refusal(file, version)),
                Found::Empty => {}
            }
            tx.execute_batch(TABLES).map_err(db_error)?;
            tx.execute_batch(&format!("PRAGMA user_version = {LAYOUT_VERSION}"))
                .map_err(db_error)?;
            tx.commit().map_err(db_error)
        }
    }
}

/// The error that refuses a file of layout `version`, saying what to do.
fn refusal(file: &str, version: i64) -> StoreError {
    StoreError::permanent(if version > LAYOUT_VERSION {
        format!(
            "{file} is in layout version {version}, made by a newer rosterctl; this one reads version {LAYOUT_VERSION}: use the newer one"
        )
    } else {
        format!(
            "{file} is in layout version {version} (0: made before 2026-12-05, or not a roster file); this rosterctl reads only version {LAYOUT_VERSION} and does not convert files: move the file aside and sync the delivery again into a fresh file (`rosterctl sync EXPORT.zip --tenant TENANT --db {file}`; docs/data-model.md says what else to carry over)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use super::LAYOUT_VERSION;
    use roster::store::*;
    use roster::TenantConfig;
    use rusqlite::Connection;
    use std::path::Path;

    /// The first layout of `entities` (until 2026-12: names in the key,
    /// stamps and run ids as texts), with a record, unstamped.
    const NAMED_LAYOUT: &str = "
        CREATE TABLE tenants (tenant TEXT PRIMARY KEY, config TEXT NOT NULL, state TEXT);
        CREATE TABLE entities (
            tenant TEXT NOT NULL, kind TEXT NOT NULL, sourced_id TEXT NOT NULL, sis TEXT NOT NULL,
            archived_by TEXT, archived_at TEXT, archived_run TEXT,
            first_seen_at TEXT NOT NULL, first_seen_run TEXT NOT NULL,
            updated_at TEXT NOT NULL, updated_run TEXT NOT NULL,
            email TEXT, username TEXT, school TEXT, class TEXT, user TEXT,
            PRIMARY KEY (tenant, kind, sourced_id)
        ) WITHOUT ROWID;
        INSERT INTO entities VALUES
            ('d1', 'users', 'u1', '{\"sourcedId\":\"u1\"}', NULL, NULL, NULL,
             '2026-08-01T12:00:00.123Z', 'run-1', '2026-09-01T12:00:00.000Z', 'run-2',
             'ann@d1.example', 'ann', NULL, NULL, NULL);
    ";

    /// The compact layout's first version (early 2026-12: run ids as
    /// texts), with a record, unstamped.
    const COMPACT_LAYOUT_WITH_RUN_NAMES: &str = "
        CREATE TABLE tenant_keys (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL UNIQUE);
        INSERT INTO tenant_keys VALUES (1, 'd1');
        CREATE TABLE entities (
            tenant INTEGER NOT NULL, kind INTEGER NOT NULL, sourced_id TEXT NOT NULL,
            sis TEXT NOT NULL, archived_by TEXT, archived_at INTEGER, archived_run TEXT,
            archive_reason TEXT, first_seen_at INTEGER NOT NULL, first_seen_run TEXT NOT NULL,
            updated_at INTEGER NOT NULL, updated_run TEXT NOT NULL,
            email TEXT, username TEXT, school TEXT, class TEXT, user TEXT,
            provisional INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, kind, sourced_id)
        ) WITHOUT ROWID;
        INSERT INTO entities VALUES
            (1, 5, 'u1', '{\"sourcedId\":\"u1\"}', NULL, NULL, NULL, NULL,
             1785585600123, 'run-1', 1788264000000, 'run-2', 'ann@d1.example', 'ann', NULL, NULL, NULL, 0);
    ";

    /// The file's tables, its `user_version`, and `entities`' columns with
    /// their declared types: what must stay as it was when a file is refused.
    fn shape(path: &Path) -> (Vec<String>, i64, Vec<(String, String)>) {
        let c = Connection::open(path).unwrap();
        let tables = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let version = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        let columns = c
            .prepare("SELECT name, type FROM pragma_table_info('entities')")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        (tables, version, columns)
    }

    /// A file of an older layout (made before the version stamp) is
    /// refused with what to do, and left exactly as it was: never rewritten,
    /// never half-read.
    #[test]
    fn a_file_of_an_older_layout_is_refused_with_what_to_do_and_left_alone() {
        for layout in [NAMED_LAYOUT, COMPACT_LAYOUT_WITH_RUN_NAMES] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("roster.db");
            Connection::open(&path)
                .unwrap()
                .execute_batch(layout)
                .unwrap();
            let before = shape(&path);

            let error = SqliteStore::open(&path).err().expect("refused");
            let message = error.to_string();
            let reads = format!("reads only version {LAYOUT_VERSION}");
            for said in [
                path.display().to_string().as_str(),
                "layout version 0",
                reads.as_str(),
                "move the file aside and sync the delivery again into a fresh file",
                "rosterctl sync EXPORT.zip --tenant TENANT --db",
            ] {
                assert!(message.contains(said), "`{said}` missing from: {message}");
            }
            assert!(!error.is_retryable(), "{message}");
            assert_eq!(shape(&path), before);
            let records: i64 = Connection::open(&path)
                .unwrap()
                .query_row("SELECT COUNT(*) FROM entities", [], |r| r.get(0))
                .unwrap();
            assert_eq!(records, 1);
        }
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
        assert_eq!(shape(&path), (vec!["future".to_string()], 99, vec![]));
    }

    /// A new file is made in the current layout and stamped with it; what
    /// was written reads back when the file is opened again.
    #[tokio::test]
    async fn a_file_written_by_this_build_opens_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.db");
        let store = SqliteStore::open(&path).unwrap();
        store
            .put_tenant(&TenantConfig::new("d1").unwrap())
            .await
            .unwrap();
        drop(store);

        let (tables, version, columns) = shape(&path);
        assert_eq!(version, LAYOUT_VERSION);
        assert!(tables.contains(&"run_keys".to_string()), "{tables:?}");
        assert!(columns.contains(&("first_seen_run".into(), "INTEGER".into())));
        let page_size: i64 = Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(page_size, 16384);

        let store = SqliteStore::open(&path).unwrap();
        assert!(store.get_tenant("d1").await.unwrap().is_some());
    }

    /// Processes opening a new file at once make it once: every one opens
    /// it, and it is in the current layout.
    #[test]
    fn a_new_file_opened_at_once_by_several_is_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.db");
        std::thread::scope(|s| {
            let openings: Vec<_> = (0..4)
                .map(|_| s.spawn(|| SqliteStore::open(&path).map(drop)))
                .collect();
            for opening in openings {
                opening.join().unwrap().unwrap();
            }
        });
        assert_eq!(shape(&path).1, LAYOUT_VERSION);
    }
}
