//! The embedded store: one SQLite file (rusqlite, bundled), the default of
//! `rosterctl` for local runs. Same semantics as the DynamoDB store, kept
//! equal by the conformance suite.
//!
//! One module per role the store plays (tenants, records, runs, one-time
//! records and sign-in audits, leases and claims); this one holds the
//! connection, the schema and the conversions they share.

use backon::{BlockingRetryable, ConstantBuilder};
use chrono::{DateTime, SecondsFormat, Utc};
use oneroster::EntityKind;
use roster::store::*;
use rusqlite::Connection;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

mod coordination;
mod layout;
mod offboarding;
mod one_time;
mod records;
mod runs;
mod schema;
mod tenants;

/// The SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn parse_ts(text: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::permanent(format!("bad timestamp `{text}` in store")).because(e))
}

pub(crate) fn db_error(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(ref f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            StoreError::unavailable("SQLite is busy").because(e)
        }
        other => StoreError::permanent("SQLite").because(other),
    }
}

pub(crate) fn json_error(e: serde_json::Error) -> StoreError {
    StoreError::permanent("unreadable JSON in store").because(e)
}

pub(crate) fn kind_name(kind: EntityKind) -> &'static str {
    kind.file_name()
}

/// The code that stands for a type in `entities` (stable: stored in files).
pub(crate) fn kind_code(kind: EntityKind) -> i64 {
    match kind {
        EntityKind::Orgs => 1,
        EntityKind::AcademicSessions => 2,
        EntityKind::Courses => 3,
        EntityKind::Classes => 4,
        EntityKind::Users => 5,
        EntityKind::Enrollments => 6,
        EntityKind::Demographics => 7,
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`. A file of
    /// another layout than this build's is refused, untouched (see
    /// `schema::prepare`).
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        // Processes making a new file at once can find it locked while
        // another makes it: SQLite answers busy at once there, without
        // waiting (waiting could deadlock). Opening again finds it made.
        let open_once = || {
            let conn = Connection::open(path).map_err(db_error)?;
            Self::init(conn, &path.display().to_string())
        };
        open_once
            .retry(
                ConstantBuilder::default()
                    .with_delay(Duration::from_millis(100))
                    .with_max_times(5),
            )
            .sleep(std::thread::sleep)
            .when(|e| matches!(e, StoreError::Unavailable { .. }))
            .call()
    }

    /// An in-memory database (tests).
    pub fn in_memory() -> StoreResult<SqliteStore> {
        let conn = Connection::open_in_memory().map_err(db_error)?;
        Self::init(conn, "the in-memory database")
    }

    fn init(mut conn: Connection, file: &str) -> StoreResult<SqliteStore> {
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(db_error)?;
        schema::prepare(&mut conn, file)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| StoreError::permanent("SQLite connection poisoned"))?;
        f(&mut conn)
    }
}
