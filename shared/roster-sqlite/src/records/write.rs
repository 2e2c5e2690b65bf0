//! Writing records: puts, restores and archives, one transaction per call.

use crate::layout::{run_key_for_writing, stamp, tenant_key_for_writing};
use crate::{db_error, kind_code, SqliteStore};
use chrono::{DateTime, Utc};
use oneroster::EntityKind;
use roster::content::{IndexKeys, SisContent};
use roster::store::*;
use rusqlite::{params, CachedStatement, Connection};
use std::collections::HashMap;

/// Creates or replaces a record's sync-owned data, active (a put).
const PUT: &str = "INSERT INTO entities (tenant, kind, sourced_id, sis, archived_by, archived_at, archived_run,
                             first_seen_at, first_seen_run, updated_at, updated_run, email, username, school, class, user)
                         VALUES (?1, ?2, ?3, ?4, NULL, NULL, NULL, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                         ON CONFLICT (tenant, kind, sourced_id) DO UPDATE SET
                             sis = excluded.sis, archived_by = NULL, archived_at = NULL, archived_run = NULL, archive_reason = NULL,
                             provisional = 0, erasure = NULL, first_seen_at = excluded.first_seen_at, first_seen_run = excluded.first_seen_run,
                             updated_at = excluded.updated_at, updated_run = excluded.updated_run,
                             email = excluded.email, username = excluded.username, school = excluded.school,
                             class = excluded.class, user = excluded.user";

/// Puts a record back in a whole earlier state (a restore).
const RESTORE: &str = "INSERT INTO entities (tenant, kind, sourced_id, sis, archived_by, archived_at, archived_run, archive_reason,
                             first_seen_at, first_seen_run, updated_at, updated_run, email, username, school, class, user, provisional)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
                         ON CONFLICT (tenant, kind, sourced_id) DO UPDATE SET
                             sis = excluded.sis, archived_by = excluded.archived_by, archived_at = excluded.archived_at,
                             archived_run = excluded.archived_run, archive_reason = excluded.archive_reason,
                             first_seen_at = excluded.first_seen_at, first_seen_run = excluded.first_seen_run,
                             updated_at = excluded.updated_at, updated_run = excluded.updated_run,
                             email = excluded.email, username = excluded.username, school = excluded.school,
                             class = excluded.class, user = excluded.user, provisional = excluded.provisional,
                             erasure = NULL";

/// Archives a record, its content left as it is.
const ARCHIVE: &str =
    "UPDATE entities SET archived_by = ?7, archived_at = ?4, archived_run = ?5, archive_reason = ?6
                         WHERE tenant = ?1 AND kind = ?2 AND sourced_id = ?3";

impl SqliteStore {
    /// Writes in one transaction, which first renews `lease` (the fence:
    /// nothing is written once another run has taken the lease over).
    pub(super) fn write_now(
        &self,
        tenant: &str,
        lease: &Lease,
        writes: &[EntityWrite],
    ) -> StoreResult<u64> {
        self.with(|c| {
            let tx = c.transaction().map_err(db_error)?;
            crate::coordination::fence(&tx, tenant, lease)?;
            let key = tenant_key_for_writing(&tx, tenant)?;
            let mut written = 0u64;
            {
                let mut writer = Writer::prepare(&tx, key)?;
                for w in writes {
                    writer.write(w)?;
                    written += 1;
                }
            }
            tx.commit().map_err(db_error)?;
            Ok(written)
        })
    }
}

/// The writes of one transaction: its statements, prepared once.
struct Writer<'c> {
    tx: &'c Connection,
    /// The tenant's key.
    key: i64,
    put: CachedStatement<'c>,
    restore: CachedStatement<'c>,
    archive: CachedStatement<'c>,
    runs: RunKeys,
}

impl<'c> Writer<'c> {
    fn prepare(tx: &'c Connection, key: i64) -> StoreResult<Self> {
        let statement = |sql| tx.prepare_cached(sql).map_err(db_error);
        Ok(Writer {
            tx,
            key,
            put: statement(PUT)?,
            restore: statement(RESTORE)?,
            archive: statement(ARCHIVE)?,
            runs: RunKeys::default(),
        })
    }

    fn write(&mut self, w: &EntityWrite) -> StoreResult<()> {
        match w {
            EntityWrite::Put {
                kind,
                sourced_id,
                sis,
                keys,
                first_seen_at,
                first_seen_run,
                updated_at,
                run,
            } => {
                let shared = (
                    *kind,
                    *first_seen_at,
                    first_seen_run.as_str(),
                    *updated_at,
                    run.as_str(),
                );
                self.put(shared, sourced_id, sis, keys)
            }
            EntityWrite::Restore {
                kind,
                sourced_id,
                state,
            } => self.restore(*kind, sourced_id, state),
            EntityWrite::Archive {
                kind,
                sourced_id,
                at,
                run,
                reason,
                by,
            } => {
                let tx = self.tx;
                self.archive
                    .execute(params![
                        self.key,
                        kind_code(*kind),
                        sourced_id,
                        stamp(*at),
                        self.runs.key(tx, run)?,
                        reason.map(|r| r.as_str()),
                        by.as_str(),
                    ])
                    .map_err(db_error)?;
                Ok(())
            }
        }
    }

    /// A put: its shared parameters bound if they changed, then its own.
    fn put(
        &mut self,
        shared: PutShared<'_>,
        sourced_id: &str,
        sis: &SisContent,
        keys: &IndexKeys,
    ) -> StoreResult<()> {
        self.bind_shared(shared)?;
        let put = &mut self.put;
        put.raw_bind_parameter(3, sourced_id).map_err(db_error)?;
        put.raw_bind_parameter(4, sis.text()).map_err(db_error)?;
        put.raw_bind_parameter(9, &keys.email).map_err(db_error)?;
        put.raw_bind_parameter(10, &keys.username)
            .map_err(db_error)?;
        put.raw_bind_parameter(11, &keys.school).map_err(db_error)?;
        put.raw_bind_parameter(12, &keys.class).map_err(db_error)?;
        put.raw_bind_parameter(13, &keys.user).map_err(db_error)?;
        put.raw_execute().map_err(db_error)?;
        Ok(())
    }

    /// Binds the put's parameters that repeat from one write to the next.
    fn bind_shared(&mut self, shared: PutShared<'_>) -> StoreResult<()> {
        let (kind, first_seen_at, first_seen_run, updated_at, run) = shared;
        let (tx, put) = (self.tx, &mut self.put);
        put.raw_bind_parameter(1, self.key).map_err(db_error)?;
        put.raw_bind_parameter(2, kind_code(kind))
            .map_err(db_error)?;
        put.raw_bind_parameter(5, stamp(first_seen_at))
            .map_err(db_error)?;
        put.raw_bind_parameter(6, self.runs.key(tx, first_seen_run)?)
            .map_err(db_error)?;
        put.raw_bind_parameter(7, stamp(updated_at))
            .map_err(db_error)?;
        put.raw_bind_parameter(8, self.runs.key(tx, run)?)
            .map_err(db_error)?;
        Ok(())
    }

    /// A restore: the record put back in `state`, whole.
    fn restore(
        &mut self,
        kind: EntityKind,
        sourced_id: &str,
        state: &RecordState,
    ) -> StoreResult<()> {
        let tx = self.tx;
        let keys = state.sis.index_keys(kind);
        let archive = state.archive.as_ref();
        let archive_run = match archive.and_then(|a| a.run.as_deref()) {
            Some(run) => Some(self.runs.key(tx, run)?),
            None => None,
        };
        self.restore
            .execute(params![
                self.key,
                kind_code(kind),
                sourced_id,
                state.sis.text(),
                archive.map(|a| a.by.as_str()),
                archive.map(|a| stamp(a.at)),
                archive_run,
                archive.and_then(|a| a.reason).map(|r| r.as_str()),
                stamp(state.first_seen_at),
                self.runs.key(tx, &state.first_seen_run)?,
                stamp(state.updated_at),
                self.runs.key(tx, &state.updated_run)?,
                keys.email,
                keys.username,
                keys.school,
                keys.class,
                keys.user,
                state.provisional,
            ])
            .map_err(db_error)?;
        Ok(())
    }
}

/// A put's parameters that repeat from one write to the next: type, first
/// seen (stamp, run), written (stamp, run). The tenant is the call's.
type PutShared<'w> = (EntityKind, DateTime<Utc>, &'w str, DateTime<Utc>, &'w str);

/// The run keys a call has used, by run id: one lookup for each run id a
/// call writes (a run's writes name the same one or two).
#[derive(Default)]
struct RunKeys(HashMap<String, i64>);

impl RunKeys {
    /// The key of `run` (made if it has none yet).
    fn key(&mut self, c: &rusqlite::Connection, run: &str) -> StoreResult<i64> {
        if let Some(key) = self.0.get(run) {
            return Ok(*key);
        }
        let key = run_key_for_writing(c, run)?;
        self.0.insert(run.to_string(), key);
        Ok(key)
    }
}
