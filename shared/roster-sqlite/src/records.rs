//! Roster records: the sync-owned content, the Primary Administrator flag beside it
//! (platform-owned), and the platform's own edits.

use super::layout::{
    optional_stamp_at, run_key_at, run_key_for_writing, run_name, stamp, stamp_at, tenant_key,
    tenant_key_for_writing,
};
use super::{db_error, kind_code, kind_name, SqliteStore};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use oneroster::EntityKind;
use roster::content::{digest_of_text, SisContent};
use roster::school_year::RecordFacts;
use roster::store::*;
use rusqlite::params;
use std::collections::HashMap;
use std::sync::mpsc;

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
    /// committed chunks, as through the WAL.
    async fn write_all(
        &self,
        tenant: &str,
        lease: &Lease,
        chunks: impl Stream<Item = Vec<EntityWrite>> + Send,
    ) -> StoreResult<u64> {
        let bulk = !self.has_records(tenant).await? && self.leave_wal()?;
        let mut chunks = std::pin::pin!(chunks);
        let written = async {
            let mut written = 0;
            while let Some(chunk) = chunks.next().await {
                written += self.write_now(tenant, lease, &chunk)?;
            }
            Ok(written)
        }
        .await;
        if bulk {
            self.with(|c| set_journal_mode(c, "WAL").map(drop))?;
        }
        written
    }
}

impl SqliteStore {
    /// The file's journal mode as SQLite names it (`wal`; `delete` during a
    /// bulk load; `memory` for an in-memory database).
    pub fn journal_mode(&self) -> StoreResult<String> {
        self.with(|c| journal_mode_of(c))
    }

    /// Writes in one transaction, which first renews `lease` (the fence:
    /// nothing is written once another run has taken the lease over).
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
            tracing::debug!(switched, "first load: rollback journal");
            Ok(switched)
        })
    }

    fn write_now(&self, tenant: &str, lease: &Lease, writes: &[EntityWrite]) -> StoreResult<u64> {
        self.with(|c| {
            let tx = c.transaction().map_err(db_error)?;
            super::coordination::fence(&tx, tenant, lease)?;
            let key = tenant_key_for_writing(&tx, tenant)?;
            let mut written = 0u64;
            {
                let mut put = tx
                    .prepare_cached(
                        "INSERT INTO entities (tenant, kind, sourced_id, sis, archived_by, archived_at, archived_run,
                             first_seen_at, first_seen_run, updated_at, updated_run, email, username, school, class, user)
                         VALUES (?1, ?2, ?3, ?4, NULL, NULL, NULL, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                         ON CONFLICT (tenant, kind, sourced_id) DO UPDATE SET
                             sis = excluded.sis, archived_by = NULL, archived_at = NULL, archived_run = NULL, archive_reason = NULL,
                             provisional = 0, first_seen_at = excluded.first_seen_at, first_seen_run = excluded.first_seen_run,
                             updated_at = excluded.updated_at, updated_run = excluded.updated_run,
                             email = excluded.email, username = excluded.username, school = excluded.school,
                             class = excluded.class, user = excluded.user",
                    )
                    .map_err(db_error)?;
                let mut restore = tx
                    .prepare_cached(
                        "INSERT INTO entities (tenant, kind, sourced_id, sis, archived_by, archived_at, archived_run, archive_reason,
                             first_seen_at, first_seen_run, updated_at, updated_run, email, username, school, class, user, provisional)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
                         ON CONFLICT (tenant, kind, sourced_id) DO UPDATE SET
                             sis = excluded.sis, archived_by = excluded.archived_by, archived_at = excluded.archived_at,
                             archived_run = excluded.archived_run, archive_reason = excluded.archive_reason,
                             first_seen_at = excluded.first_seen_at, first_seen_run = excluded.first_seen_run,
                             updated_at = excluded.updated_at, updated_run = excluded.updated_run,
                             email = excluded.email, username = excluded.username, school = excluded.school,
                             class = excluded.class, user = excluded.user, provisional = excluded.provisional",
                    )
                    .map_err(db_error)?;
                let mut archive = tx
                    .prepare_cached(
                        "UPDATE entities SET archived_by = ?7, archived_at = ?4, archived_run = ?5, archive_reason = ?6
                         WHERE tenant = ?1 AND kind = ?2 AND sourced_id = ?3",
                    )
                    .map_err(db_error)?;
                // The put's parameters that repeat from one write to the next
                // (tenant, type, stamps, run) are bound only when they change:
                // SQLite keeps bindings from one execution to the next.
                let mut bound: Option<PutShared> = None;
                let mut runs = RunKeys::default();
                for w in writes {
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
                            if bound != Some(shared) {
                                put.raw_bind_parameter(1, key).map_err(db_error)?;
                                put.raw_bind_parameter(2, kind_code(*kind)).map_err(db_error)?;
                                put.raw_bind_parameter(5, stamp(*first_seen_at))
                                    .map_err(db_error)?;
                                put.raw_bind_parameter(6, runs.key(&tx, first_seen_run)?)
                                    .map_err(db_error)?;
                                put.raw_bind_parameter(7, stamp(*updated_at)).map_err(db_error)?;
                                put.raw_bind_parameter(8, runs.key(&tx, run)?)
                                    .map_err(db_error)?;
                                bound = Some(shared);
                            }
                            put.raw_bind_parameter(3, sourced_id).map_err(db_error)?;
                            put.raw_bind_parameter(4, sis.text()).map_err(db_error)?;
                            put.raw_bind_parameter(9, &keys.email).map_err(db_error)?;
                            put.raw_bind_parameter(10, &keys.username).map_err(db_error)?;
                            put.raw_bind_parameter(11, &keys.school).map_err(db_error)?;
                            put.raw_bind_parameter(12, &keys.class).map_err(db_error)?;
                            put.raw_bind_parameter(13, &keys.user).map_err(db_error)?;
                            put.raw_execute().map_err(db_error)?;
                        }
                        EntityWrite::Restore {
                            kind,
                            sourced_id,
                            state,
                        } => {
                            let keys = state.sis.index_keys(*kind);
                            let archive = state.archive.as_ref();
                            let archive_run = match archive.and_then(|a| a.run.as_deref()) {
                                Some(run) => Some(runs.key(&tx, run)?),
                                None => None,
                            };
                            restore
                                .execute(params![
                                    key,
                                    kind_code(*kind),
                                    sourced_id,
                                    state.sis.text(),
                                    archive.map(|a| a.by.as_str()),
                                    archive.map(|a| stamp(a.at)),
                                    archive_run,
                                    archive.and_then(|a| a.reason).map(|r| r.as_str()),
                                    stamp(state.first_seen_at),
                                    runs.key(&tx, &state.first_seen_run)?,
                                    stamp(state.updated_at),
                                    runs.key(&tx, &state.updated_run)?,
                                    keys.email,
                                    keys.username,
                                    keys.school,
                                    keys.class,
                                    keys.user,
                                    state.provisional,
                                ])
                                .map_err(db_error)?;
                        }
                        EntityWrite::Archive {
                            kind,
                            sourced_id,
                            at,
                            run,
                            reason,
                            by,
                        } => {
                            archive
                                .execute(params![
                                    key,
                                    kind_code(*kind),
                                    sourced_id,
                                    stamp(*at),
                                    runs.key(&tx, run)?,
                                    reason.map(|r| r.as_str()),
                                    by.as_str(),
                                ])
                                .map_err(db_error)?;
                        }
                    }
                    written += 1;
                }
            }
            tx.commit().map_err(db_error)?;
            Ok(written)
        })
    }

    /// Every stored record of a type, summarised (the stored text's digest,
    /// its facts; timestamps and run ids that repeat parsed once).
    ///
    /// Two threads share the work: this one steps through the rows and
    /// copies their columns into batches, a second one summarises them
    /// (hashing, reading the facts, building the list). A large district's
    /// enrollments take seconds to load, and nothing else runs meanwhile.
    fn summaries(&self, tenant: &str, kind: EntityKind) -> StoreResult<Vec<StoredSummary>> {
        self.with(|c| {
            let Some(key) = tenant_key(c, tenant)? else {
                return Ok(Vec::new());
            };
            let mut stmt = c
                .prepare_cached(
                    "SELECT sourced_id, sis, archived_by IS NOT NULL, first_seen_at, first_seen_run, provisional
                     FROM entities WHERE tenant = ?1 AND kind = ?2",
                )
                .map_err(db_error)?;
            let mut rows = stmt
                .query(params![key, kind_code(kind)])
                .map_err(db_error)?;
            std::thread::scope(|scope| {
                let (full, filled) = mpsc::sync_channel::<RawRows>(SUMMARY_BATCHES_IN_FLIGHT);
                let (empty, emptied) = mpsc::channel::<RawRows>();
                let summariser = scope.spawn(move || summarise(kind, filled, empty));
                let read = (|| -> StoreResult<()> {
                    let mut batch = RawRows::default();
                    let mut runs = RunNames::default();
                    while let Some(row) = rows.next().map_err(db_error)? {
                        let id = text_at(row, 0)?;
                        let run = runs.name(c, run_key_at(row, 4)?, id)?;
                        batch.push(
                            [id, text_at(row, 1)?, run],
                            stamp_at(row, 3)?,
                            row.get(2).map_err(db_error)?,
                            row.get(5).map_err(db_error)?,
                        );
                        if batch.is_full() {
                            let next = emptied.try_recv().unwrap_or_default();
                            if full.send(std::mem::replace(&mut batch, next)).is_err() {
                                // The summariser stopped (it cannot fail, so it
                                // panicked): joining it below raises that again.
                                return Ok(());
                            }
                        }
                    }
                    if !batch.rows.is_empty() {
                        let _ = full.send(batch);
                    }
                    Ok(())
                })();
                drop(full);
                let summarised = summariser
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                read?;
                Ok(summarised)
            })
        })
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

/// The run ids of the keys a read has met, looked up when first met, on the
/// connection of the read (inside its read transaction, so a key another
/// process has just made is there with the records that name it). Every
/// read of records names their runs through it.
#[derive(Default)]
struct RunNames(HashMap<i64, String>);

impl RunNames {
    /// The run id of key `key`, named by record `id`; a key `run_keys`
    /// lacks is an error that names both.
    fn name(&mut self, c: &rusqlite::Connection, key: i64, id: &str) -> StoreResult<&str> {
        use std::collections::hash_map::Entry;
        match self.0.entry(key) {
            Entry::Occupied(found) => Ok(found.into_mut()),
            Entry::Vacant(slot) => match run_name(c, key)? {
                Some(run) => Ok(slot.insert(run)),
                None => Err(StoreError::permanent(format!(
                    "run key {key} of record `{id}` in store is not in `run_keys`"
                ))),
            },
        }
    }
}

/// Batches of rows between the reading and the summarising thread.
const SUMMARY_BATCHES_IN_FLIGHT: usize = 4;

/// Rows of [`SqliteStore::summaries`] as read: their text columns side by
/// side in one buffer (reused from batch to batch).
#[derive(Default)]
struct RawRows {
    text: String,
    rows: Vec<RawRow>,
}

/// One row of [`RawRows`]: where its text columns end in the buffer
/// (sourcedId, content, first-seen run), its first-seen stamp and its two flags.
struct RawRow {
    ends: [usize; 3],
    first_seen_at: DateTime<Utc>,
    archived: bool,
    provisional: bool,
}

impl RawRows {
    fn push(
        &mut self,
        columns: [&str; 3],
        first_seen_at: DateTime<Utc>,
        archived: bool,
        provisional: bool,
    ) {
        let mut ends = [0; 3];
        for (end, column) in ends.iter_mut().zip(columns) {
            self.text.push_str(column);
            *end = self.text.len();
        }
        self.rows.push(RawRow {
            ends,
            first_seen_at,
            archived,
            provisional,
        });
    }

    /// 2,048 rows or 1 MiB of text: a batch stays small, whatever the records.
    fn is_full(&self) -> bool {
        self.rows.len() >= 2048 || self.text.len() >= 1 << 20
    }

    /// Each row's columns, in order.
    fn each(&self) -> impl Iterator<Item = ([&str; 3], &RawRow)> {
        let mut start = 0;
        self.rows.iter().map(move |row| {
            let mut columns = [""; 3];
            for (column, end) in columns.iter_mut().zip(row.ends) {
                *column = &self.text[start..end];
                start = end;
            }
            (columns, row)
        })
    }

    fn clear(&mut self) {
        self.text.clear();
        self.rows.clear();
    }
}

/// The summarising side of [`SqliteStore::summaries`]: every batch
/// received, summarised, and its buffer handed back.
fn summarise(
    kind: EntityKind,
    filled: mpsc::Receiver<RawRows>,
    empty: mpsc::Sender<RawRows>,
) -> Vec<StoredSummary> {
    let mut out = Vec::new();
    let mut first_seen = FirstSeenCache::default();
    for mut batch in filled {
        for ([id, sis, run], row) in batch.each() {
            // The stored text as it is: its digest is the hash of its bytes.
            out.push(StoredSummary {
                sourced_id: id.into(),
                digest: digest_of_text(sis),
                facts: RecordFacts::for_stored_text(kind, sis, row.archived),
                archived: row.archived,
                first_seen: first_seen.get(row.first_seen_at, run),
                provisional: row.provisional,
            });
        }
        batch.clear();
        // The reader may have finished: then the buffer is simply dropped.
        let _ = empty.send(batch);
    }
    out
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

/// A text column of `row`, borrowed (no copy).
fn text_at<'r>(row: &'r rusqlite::Row<'_>, column: usize) -> StoreResult<&'r str> {
    row.get_ref(column)
        .and_then(|v| v.as_str().map_err(rusqlite::Error::from))
        .map_err(db_error)
}

/// The columns [`entity_of`] reads, with the platform-owned flag beside
/// them, of a tenant's records of a type: `?1` the tenant, `?2` the type's
/// name (the platform table's key), `?3` and `?4` their key and code in
/// `entities`.
const ENTITY_SELECT: &str =
    "SELECT e.sourced_id, e.sis, e.archived_by, e.archived_at, e.archived_run,
        e.first_seen_at, e.first_seen_run, e.updated_at, e.updated_run,
        COALESCE(p.primary_admin, 0), e.archive_reason, e.provisional
    FROM entities e LEFT JOIN platform p
      ON p.tenant = ?1 AND p.kind = ?2 AND p.sourced_id = e.sourced_id
    WHERE e.tenant = ?3 AND e.kind = ?4";

/// One row of [`ENTITY_SELECT`] as a stored record, its run keys looked up
/// through `runs` on `c`, the connection of the read.
fn entity_of(
    kind: EntityKind,
    r: &rusqlite::Row<'_>,
    c: &rusqlite::Connection,
    runs: &mut RunNames,
) -> StoreResult<StoredEntity> {
    let sourced_id: String = r.get(0).map_err(db_error)?;
    let mut run = |column| -> StoreResult<String> {
        let key = run_key_at(r, column)?;
        runs.name(c, key, &sourced_id).map(str::to_string)
    };
    let by: Option<String> = r.get(2).map_err(db_error)?;
    let at = optional_stamp_at(r, 3)?;
    let reason: Option<String> = r.get(10).map_err(db_error)?;
    let archive = match (by, at) {
        (Some(by), Some(at)) => Some(ArchiveInfo {
            by: ArchivedBy::parse(&by),
            at,
            run: match r.get_ref(4).map_err(db_error)? {
                rusqlite::types::ValueRef::Null => None,
                _ => Some(run(4)?),
            },
            reason: reason.as_deref().and_then(ArchiveReason::parse),
        }),
        _ => None,
    };
    let first_seen_run = run(6)?;
    let updated_run = run(8)?;
    let sis: String = r.get(1).map_err(db_error)?;
    Ok(StoredEntity {
        kind,
        sourced_id,
        sis: SisContent::from_stored(sis),
        archive,
        first_seen_at: stamp_at(r, 5)?,
        first_seen_run,
        updated_at: stamp_at(r, 7)?,
        updated_run,
        primary_admin: r.get(9).map_err(db_error)?,
        provisional: r.get(11).map_err(db_error)?,
    })
}

impl ProvisionalUsers for SqliteStore {
    async fn provision_user(
        &self,
        tenant: &str,
        sourced_id: &str,
        sis: &SisContent,
        now: DateTime<Utc>,
        origin: &str,
    ) -> StoreResult<bool> {
        let keys = sis.index_keys(EntityKind::Users);
        self.with(|c| {
            let tx = c.transaction().map_err(db_error)?;
            let key = tenant_key_for_writing(&tx, tenant)?;
            let created = tx
                .execute(
                    "INSERT INTO entities (tenant, kind, sourced_id, sis, first_seen_at, first_seen_run,
                         updated_at, updated_run, email, username, school, class, user, provisional)
                     VALUES (?1, ?8, ?2, ?3, ?4, ?5, ?4, ?5, ?6, ?7, NULL, NULL, NULL, 1)
                     ON CONFLICT (tenant, kind, sourced_id) DO NOTHING",
                    params![
                        key,
                        sourced_id,
                        sis.text(),
                        stamp(now),
                        run_key_for_writing(&tx, origin)?,
                        keys.email,
                        keys.username,
                        kind_code(EntityKind::Users)
                    ],
                )
                .map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            Ok(created == 1)
        })
    }

    async fn provisional_users(&self, tenant: &str) -> StoreResult<Vec<StoredEntity>> {
        self.with(|c| {
            let Some(key) = tenant_key(c, tenant)? else {
                return Ok(Vec::new());
            };
            let users = EntityKind::Users;
            let mut stmt = c
                .prepare_cached(&format!(
                    "{ENTITY_SELECT} AND e.provisional = 1 ORDER BY e.sourced_id"
                ))
                .map_err(db_error)?;
            let mut rows = stmt
                .query(params![tenant, kind_name(users), key, kind_code(users)])
                .map_err(db_error)?;
            let mut out = Vec::new();
            let mut runs = RunNames::default();
            while let Some(row) = rows.next().map_err(db_error)? {
                out.push(entity_of(EntityKind::Users, row, c, &mut runs)?);
            }
            Ok(out)
        })
    }
}

impl PrimaryAdmins for SqliteStore {
    async fn primary_admins(&self, tenant: &str) -> StoreResult<Vec<String>> {
        self.with(|c| {
            let mut stmt = c
                .prepare("SELECT sourced_id FROM platform WHERE tenant = ?1 AND kind = 'users' AND primary_admin = 1 ORDER BY sourced_id")
                .map_err(db_error)?;
            let rows = stmt.query_map([tenant], |r| r.get::<_, String>(0)).map_err(db_error)?;
            rows.map(|r| r.map_err(db_error)).collect()
        })
    }

    async fn set_primary_admin(
        &self,
        tenant: &str,
        sourced_id: &str,
        primary: bool,
    ) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO platform (tenant, kind, sourced_id, primary_admin) VALUES (?1, 'users', ?2, ?3)
                 ON CONFLICT (tenant, kind, sourced_id) DO UPDATE SET primary_admin = excluded.primary_admin",
                params![tenant, sourced_id, primary],
            )
            .map_err(db_error)?;
            Ok(())
        })
    }
}

impl PlatformEdits for SqliteStore {
    async fn archive_by_hand(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.with(|c| {
            let Some(key) = tenant_key(c, tenant)? else {
                return Ok(());
            };
            c.execute(
                "UPDATE entities SET archived_by = 'manual', archived_at = ?4, archived_run = NULL, archive_reason = NULL
                 WHERE tenant = ?1 AND kind = ?2 AND sourced_id = ?3",
                params![key, kind_code(kind), sourced_id, stamp(now)],
            )
            .map_err(db_error)?;
            Ok(())
        })
    }

    async fn edit_sis_field(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
        field: &str,
        value: &str,
    ) -> StoreResult<()> {
        self.with(|c| {
            let Some(key) = tenant_key(c, tenant)? else {
                return Ok(());
            };
            c.execute(
                "UPDATE entities SET sis = json_set(sis, '$.' || ?4, ?5)
                 WHERE tenant = ?1 AND kind = ?2 AND sourced_id = ?3",
                params![key, kind_code(kind), sourced_id, field, value],
            )
            .map_err(db_error)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::sync::Arc;

    fn put(id: String, text: &str, at: DateTime<Utc>, run: &str) -> EntityWrite {
        let sis = SisContent::from_json(text).unwrap();
        EntityWrite::Put {
            kind: EntityKind::Enrollments,
            sourced_id: id,
            keys: sis.index_keys(EntityKind::Enrollments),
            sis,
            first_seen_at: at,
            first_seen_run: run.into(),
            updated_at: at,
            run: run.into(),
        }
    }

    /// Writes to tenant `t` under a lease taken for the test.
    fn write_leased(store: &SqliteStore, writes: &[EntityWrite]) -> StoreResult<u64> {
        let lease = Lease {
            owner: "test".into(),
            token: 1,
            ttl: std::time::Duration::from_secs(3600),
        };
        store.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO leases (tenant, owner, expires_at, token)
                 VALUES ('t', 'test', '9999-01-01T00:00:00.000Z', 1)",
                [],
            )
            .map_err(db_error)
        })?;
        store.write_now("t", &lease, writes)
    }

    /// `n` puts of enrollments `e-00000`, `e-00001`, … made at `at` by `run`.
    fn enrollments(n: usize, at: DateTime<Utc>, run: &str) -> Vec<EntityWrite> {
        (0..n)
            .map(|i| put(format!("e-{i:05}"), r#"{"classSourcedId":"c"}"#, at, run))
            .collect()
    }

    /// Another process writes the file while summaries are read: records
    /// it has just written, with a run key it has just made, are read with
    /// their run (the key and the records are read in one transaction).
    #[test]
    fn summaries_read_while_another_process_writes_name_every_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.db");
        let reader = SqliteStore::open(&path).unwrap();
        let writer = SqliteStore::open(&path).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 8, 1, 12, 0, 0).unwrap();
        write_leased(&writer, &enrollments(2_000, at, "run-0")).unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let writes = scope.spawn(|| {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 5_000 {
                    n += 1;
                    let run = format!("run-{n}");
                    let w = put("e-00000".into(), r#"{"classSourcedId":"c"}"#, at, &run);
                    write_leased(&writer, &[w]).unwrap();
                }
                n
            });
            for _ in 0..100 {
                let summaries = reader.summaries("t", EntityKind::Enrollments).unwrap();
                assert_eq!(summaries.len(), 2_000);
                assert!(summaries[0].first_seen.run.starts_with("run-"));
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            assert!(writes.join().unwrap() > 1, "the writer wrote meanwhile");
        });
    }

    /// A record read whole names its runs, and a run key `run_keys` lacks
    /// is an error that names the key and the record.
    #[tokio::test]
    async fn a_record_read_whole_names_its_runs_or_the_missing_key() {
        let store = SqliteStore::in_memory().unwrap();
        let at = Utc.with_ymd_and_hms(2026, 8, 1, 12, 0, 0).unwrap();
        write_leased(&store, &enrollments(2, at, "run-1")).unwrap();
        let read = |id: &'static str| store.get_entity("t", EntityKind::Enrollments, id);
        let record = read("e-00000").await.unwrap().unwrap();
        assert_eq!(
            (record.first_seen_run.as_str(), record.updated_run.as_str()),
            ("run-1", "run-1")
        );
        store
            .with(|c| {
                c.execute(
                    "UPDATE entities SET updated_run = 99 WHERE sourced_id = 'e-00001'",
                    [],
                )
                .map_err(db_error)
            })
            .unwrap();
        let error = read("e-00001").await.unwrap_err();
        assert!(
            error.to_string().contains("run key 99 of record `e-00001`"),
            "{error}"
        );
    }

    /// A put's shared parameters (type, stamps, run) are bound only when
    /// they change: whatever changes between two puts (another run id,
    /// another type, another stamp, an archive between them), every record
    /// is stored with its own fields and lookup keys.
    #[tokio::test]
    async fn puts_keep_each_record_its_own_fields_as_shared_parameters_change() {
        let store = SqliteStore::in_memory().unwrap();
        let first = Utc.with_ymd_and_hms(2026, 8, 1, 12, 0, 0).unwrap();
        let later = Utc.with_ymd_and_hms(2026, 9, 1, 12, 0, 0).unwrap();
        let mut writes = Vec::new();
        for i in 0..200usize {
            let (kind, text) = if (80..90).contains(&i) {
                (
                    EntityKind::Users,
                    format!(
                        r#"{{"email":"U{i}@d.example","sourcedId":"r-{i:03}","username":"Name{i}"}}"#
                    ),
                )
            } else {
                (
                    EntityKind::Enrollments,
                    format!(
                        r#"{{"classSourcedId":"cls-{}","sourcedId":"r-{i:03}","userSourcedId":"u-{i}"}}"#,
                        i % 3
                    ),
                )
            };
            let run = if (70..150).contains(&i) {
                "run-2"
            } else {
                "run-1"
            };
            let at = if i >= 120 { later } else { first };
            let sis = SisContent::from_json(&text).unwrap();
            writes.push(EntityWrite::Put {
                kind,
                sourced_id: format!("r-{i:03}"),
                keys: sis.index_keys(kind),
                sis,
                first_seen_at: first,
                first_seen_run: "run-0".into(),
                updated_at: at,
                run: run.into(),
            });
            if i == 40 {
                writes.push(EntityWrite::Archive {
                    kind: EntityKind::Enrollments,
                    sourced_id: "r-007".into(),
                    at,
                    run: run.into(),
                    reason: Some(ArchiveReason::Absent),
                    by: ArchivedBy::Sync,
                });
            }
        }
        assert_eq!(write_leased(&store, &writes).unwrap(), 201);
        for i in 0..200usize {
            let kind = if (80..90).contains(&i) {
                EntityKind::Users
            } else {
                EntityKind::Enrollments
            };
            let id = format!("r-{i:03}");
            let stored = store.get_entity("t", kind, &id).await.unwrap().unwrap();
            assert_eq!(stored.sourced_id, id);
            assert!(stored
                .sis
                .text()
                .contains(&format!(r#""sourcedId":"{id}""#)));
            assert_eq!(stored.first_seen_run, "run-0");
            assert_eq!(stored.first_seen_at, first);
            let run = if (70..150).contains(&i) {
                "run-2"
            } else {
                "run-1"
            };
            assert_eq!(stored.updated_run, run, "{id}");
            assert_eq!(
                stored.updated_at,
                if i >= 120 { later } else { first },
                "{id}"
            );
            assert_eq!(stored.archive.is_some(), i == 7, "{id}");
            let lookup = if kind == EntityKind::Users {
                Lookup::UsersByUsername(format!("name{i}"))
            } else {
                Lookup::EnrollmentsOfUser(format!("u-{i}"))
            };
            assert_eq!(store.lookup("t", &lookup).await.unwrap(), vec![id.clone()]);
        }
        let of_class = store
            .lookup("t", &Lookup::EnrollmentsOfClass("cls-1".into()))
            .await
            .unwrap();
        assert_eq!(
            of_class.len(),
            (0..200)
                .filter(|i| i % 3 == 1 && !(80..90).contains(i))
                .count()
        );
        let by_email = store
            .lookup("t", &Lookup::UsersByEmail("u85@d.example".into()))
            .await
            .unwrap();
        assert_eq!(by_email, vec!["r-085".to_string()]);
    }

    /// Rows cross the reading and the summarising thread in batches cut by
    /// count and by size; every row arrives once, in order, summarised.
    #[test]
    fn summaries_are_read_in_batches_and_all_arrive() {
        let store = SqliteStore::in_memory().unwrap();
        let first = Utc.with_ymd_and_hms(2026, 8, 1, 12, 0, 0).unwrap();
        let second = Utc.with_ymd_and_hms(2026, 9, 1, 12, 0, 0).unwrap();
        let big = "x".repeat(1_500_000);
        let mut writes = Vec::new();
        for i in 0..5_000 {
            let note = if i == 2_500 { big.as_str() } else { "n" };
            let text = format!(
                r#"{{"classSourcedId":"cls-{}","endDate":"2027-06-11","note":"{note}","sourcedId":"e-{i:05}"}}"#,
                i % 7
            );
            let (at, run) = if i < 3_000 {
                (first, "run-1")
            } else {
                (second, "run-2")
            };
            writes.push(put(format!("e-{i:05}"), &text, at, run));
        }
        writes.push(EntityWrite::Archive {
            kind: EntityKind::Enrollments,
            sourced_id: "e-00042".into(),
            at: second,
            run: "run-2".into(),
            reason: Some(ArchiveReason::Absent),
            by: ArchivedBy::Sync,
        });
        assert_eq!(write_leased(&store, &writes).unwrap(), 5_001);

        let mut summaries = store.summaries("t", EntityKind::Enrollments).unwrap();
        summaries.sort_by(|a, b| a.sourced_id.cmp(&b.sourced_id));
        assert_eq!(summaries.len(), 5_000);
        let stored = store
            .with(|c| {
                let mut stmt = c
                    .prepare(
                        "SELECT sis FROM entities
                         WHERE tenant = (SELECT id FROM tenant_keys WHERE tenant = 't')
                         ORDER BY sourced_id",
                    )
                    .map_err(db_error)?;
                let texts = stmt
                    .query_map([], |r| r.get::<_, String>(0))
                    .map_err(db_error)?;
                texts
                    .map(|t| t.map_err(db_error))
                    .collect::<StoreResult<Vec<_>>>()
            })
            .unwrap();
        for (i, (s, text)) in summaries.iter().zip(&stored).enumerate() {
            assert_eq!(s.sourced_id, format!("e-{i:05}"));
            assert_eq!(s.digest, digest_of_text(text), "{}", s.sourced_id);
            assert_eq!(s.archived, i == 42);
            assert_eq!(s.first_seen.at, if i < 3_000 { first } else { second });
            assert_eq!(s.first_seen.run, if i < 3_000 { "run-1" } else { "run-2" });
            if i != 42 {
                let RecordFacts::Enrollment { class, end } = &s.facts else {
                    panic!("{} has no enrollment facts", s.sourced_id);
                };
                assert_eq!(class.as_deref(), Some(format!("cls-{}", i % 7).as_str()));
                assert_eq!(end.map(|d| d.to_string()).as_deref(), Some("2027-06-11"));
            }
        }
        // Records that came in runs of the same stamp share one copy of it.
        assert!(Arc::ptr_eq(
            &summaries[0].first_seen,
            &summaries[2_999].first_seen
        ));
    }

    /// A row whose stamp or run key cannot be read (a value of the wrong
    /// type, a key `run_keys` does not have) stops the load with its error,
    /// at any point of the table: nothing waits forever on the other thread.
    #[test]
    fn a_bad_stored_row_fails_the_load_without_hanging() {
        let store = SqliteStore::in_memory().unwrap();
        let at = Utc.with_ymd_and_hms(2026, 8, 1, 12, 0, 0).unwrap();
        write_leased(&store, &enrollments(10_000, at, "run-1")).unwrap();
        let bad_values: [(&str, rusqlite::types::Value, &str); 3] = [
            (
                "first_seen_at",
                "garbage".to_string().into(),
                "bad timestamp `garbage`",
            ),
            (
                "first_seen_run",
                "garbage".to_string().into(),
                "bad run key `garbage`",
            ),
            ("first_seen_run", 99.into(), "run key 99 of record `e-"),
        ];
        for (column, bad, expected) in bad_values {
            for id in ["e-00000", "e-05000", "e-09999"] {
                let set = |value: &rusqlite::types::Value| {
                    store
                        .with(|c| {
                            c.execute(
                                &format!("UPDATE entities SET {column} = ?2 WHERE sourced_id = ?1"),
                                params![id, value],
                            )
                            .map_err(db_error)
                        })
                        .unwrap()
                };
                let good: rusqlite::types::Value = store
                    .with(|c| {
                        c.query_row(
                            &format!("SELECT {column} FROM entities WHERE sourced_id = ?1"),
                            [id],
                            |r| r.get(0),
                        )
                        .map_err(db_error)
                    })
                    .unwrap();
                set(&bad);
                let error = store.summaries("t", EntityKind::Enrollments).unwrap_err();
                assert!(
                    error.to_string().contains(expected),
                    "{column} of {id}: {error}"
                );
                set(&good);
            }
        }
        assert_eq!(
            store.summaries("t", EntityKind::Enrollments).unwrap().len(),
            10_000
        );
    }
}
