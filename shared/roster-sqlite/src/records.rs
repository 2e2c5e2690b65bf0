//! Roster records: the sync-owned content, the Primary Administrator flag beside it
//! (platform-owned), and the platform's own edits.
//!
//! This module holds the [`Records`] role and the journal-mode switch of a
//! first load; its parts hold the rest by subject: reading records whole
//! ([`read`]), summarising a type ([`summaries`]), writing ([`write`]), and
//! the platform-owned data and edits ([`platform`]).

use super::layout::tenant_key;
use super::{db_error, kind_code, kind_name, SqliteStore};
use futures::{Stream, StreamExt};
use oneroster::EntityKind;
use read::{entity_of, RunNames, ENTITY_SELECT};
use roster::store::*;
use rusqlite::params;

mod erasure;
mod platform;
mod read;
mod summaries;
#[cfg(test)]
mod tests;
mod write;

impl Records for SqliteStore {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    /// One transaction per batch: large ones, since a commit costs a WAL sync.
    fn write_batch(&self) -> usize {
        20_000
    }

    async fn load_summaries(
        &self,
        tenant: &str,
        kind: EntityKind,
    ) -> StoreResult<Vec<StoredSummary>> {
        self.summaries(tenant, kind)
    }

    async fn has_records(&self, tenant: &str) -> StoreResult<bool> {
        self.with(|c| {
            let Some(key) = tenant_key(c, tenant)? else {
                return Ok(false);
            };
            c.query_row(
                "SELECT EXISTS (SELECT 1 FROM entities WHERE tenant = ?1)",
                params![key],
                |r| r.get(0),
            )
            .map_err(db_error)
        })
    }

    async fn get_entity(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
    ) -> StoreResult<Option<StoredEntity>> {
        self.with(|c| {
            let Some(key) = tenant_key(c, tenant)? else {
                return Ok(None);
            };
            let mut stmt = c
                .prepare_cached(&format!("{ENTITY_SELECT} AND e.sourced_id = ?5"))
                .map_err(db_error)?;
            let mut rows = stmt
                .query(params![
                    tenant,
                    kind_name(kind),
                    key,
                    kind_code(kind),
                    sourced_id
                ])
                .map_err(db_error)?;
            match rows.next().map_err(db_error)? {
                Some(row) => entity_of(kind, row, c, &mut RunNames::default()).map(Some),
                None => Ok(None),
            }
        })
    }

    async fn lookup(&self, tenant: &str, lookup: &Lookup) -> StoreResult<Vec<String>> {
        let (column, value) = match lookup {
            Lookup::UsersByEmail(v) => ("email", v.to_lowercase()),
            Lookup::UsersByUsername(v) => ("username", v.to_lowercase()),
            Lookup::ClassesOfSchool(v) => ("school", v.clone()),
            Lookup::EnrollmentsOfClass(v) => ("class", v.clone()),
            Lookup::EnrollmentsOfUser(v) => ("user", v.clone()),
        };
        let sql = format!(
            "SELECT sourced_id FROM entities WHERE tenant = ?1 AND kind = ?2 AND {column} = ?3 ORDER BY sourced_id"
        );
        self.with(|c| {
            let Some(key) = tenant_key(c, tenant)? else {
                return Ok(Vec::new());
            };
            let mut stmt = c.prepare_cached(&sql).map_err(db_error)?;
            let rows = stmt
                .query_map(params![key, kind_code(lookup.kind()), value], |r| {
                    r.get::<_, String>(0)
                })
                .map_err(db_error)?;
            rows.map(|r| r.map_err(db_error)).collect()
        })
    }

    async fn write(&self, tenant: &str, lease: &Lease, writes: &[EntityWrite]) -> StoreResult<u64> {
        self.write_now(tenant, lease, writes)
    }

    /// A first load (the tenant has no record yet) goes through a rollback
    /// journal instead of the WAL when no other connection has the file
    /// open (SQLite refuses the switch otherwise, and the load goes through
    /// the WAL as usual): pages added at the end of the file are then
    /// written once, not once to the WAL and again at the checkpoint. Each
    /// chunk is still one transaction, so a load that dies keeps its
    /// committed chunks, as through the WAL; and every commit is synced in
    /// full (`synchronous = FULL`), since outside the WAL a power cut could
    /// otherwise damage what other tenants have stored. The file is back in
    /// WAL mode when the load ends, or is dropped (a lost lease), or at its
    /// next open if the switch back fails.
    async fn write_all(
        &self,
        tenant: &str,
        lease: &Lease,
        chunks: impl Stream<Item = Vec<EntityWrite>> + Send,
    ) -> StoreResult<u64> {
        let bulk = !self.has_records(tenant).await? && self.leave_wal()?;
        let _wal_again = bulk.then_some(WalAgain(self));
        let mut chunks = std::pin::pin!(chunks);
        let mut written = 0;
        while let Some(chunk) = chunks.next().await {
            written += self.write_now(tenant, lease, &chunk)?;
        }
        Ok(written)
    }
}

impl SqliteStore {
    /// The file's journal mode as SQLite names it (`wal`; `delete` during a
    /// bulk load; `memory` for an in-memory database).
    pub fn journal_mode(&self) -> StoreResult<String> {
        self.with(|c| journal_mode_of(c))
    }

    /// How fully each commit is synced: 1 (`NORMAL`, in WAL mode), 2 (`FULL`,
    /// during a first load through the rollback journal).
    pub fn synchronous(&self) -> StoreResult<i64> {
        self.with(|c| {
            c.query_row("PRAGMA synchronous", [], |r| r.get(0))
                .map_err(db_error)
        })
    }

    /// Leaves the WAL for a rollback journal, when the file is in WAL mode
    /// and no other connection has it open; whether it did.
    fn leave_wal(&self) -> StoreResult<bool> {
        self.with(|c| {
            if !journal_mode_of(c)?.eq_ignore_ascii_case("wal") {
                return Ok(false);
            }
            // Refused (busy) while another connection has the file open.
            let switched =
                set_journal_mode(c, "DELETE").is_ok_and(|m| m.eq_ignore_ascii_case("delete"));
            if switched {
                c.execute_batch("PRAGMA synchronous = FULL")
                    .map_err(db_error)?;
            }
            tracing::debug!(switched, "first load: rollback journal");
            Ok(switched)
        })
    }

    /// Back to the WAL (and its `synchronous = NORMAL`) after a first load.
    fn back_to_wal(&self) -> StoreResult<()> {
        self.with(|c| {
            set_journal_mode(c, "WAL")?;
            c.execute_batch("PRAGMA synchronous = NORMAL")
                .map_err(db_error)
        })
    }
}

/// Returns the file to WAL mode when a first load's writing ends, however it ends.
struct WalAgain<'s>(&'s SqliteStore);

impl Drop for WalAgain<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.0.back_to_wal() {
            tracing::warn!(error = %e, "the SQLite file stays out of WAL mode until it is opened again");
        }
    }
}

/// The connection's journal mode as SQLite names it.
fn journal_mode_of(c: &rusqlite::Connection) -> StoreResult<String> {
    c.query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(db_error)
}

/// Asks for journal mode `mode`; the mode SQLite then reports (it may keep
/// the old one).
fn set_journal_mode(c: &rusqlite::Connection, mode: &str) -> StoreResult<String> {
    c.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| r.get(0))
        .map_err(db_error)
}
