//! Roster records: the sync-owned content, the Primary Administrator flag beside it
//! (platform-owned), and the platform's own edits.

use super::{db_error, kind_name, parse_ts, ts, SqliteStore};
use crate::content::{digest_of_text, SisContent};
use crate::school_year::RecordFacts;
use crate::store::*;
use chrono::{DateTime, Utc};
use oneroster::EntityKind;
use rusqlite::params;

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

    fn blocking(&self) -> Option<&dyn BlockingRecords> {
        Some(self)
    }

    async fn get_entity(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
    ) -> StoreResult<Option<StoredEntity>> {
        self.with(|c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "{ENTITY_SELECT} WHERE e.tenant = ?1 AND e.kind = ?2 AND e.sourced_id = ?3"
                ))
                .map_err(db_error)?;
            let mut rows = stmt
                .query(params![tenant, kind_name(kind), sourced_id])
                .map_err(db_error)?;
            match rows.next().map_err(db_error)? {
                Some(row) => entity_of(kind, row).map(Some),
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
            let mut stmt = c.prepare_cached(&sql).map_err(db_error)?;
            let rows = stmt
                .query_map(params![tenant, kind_name(lookup.kind()), value], |r| {
                    r.get::<_, String>(0)
                })
                .map_err(db_error)?;
            rows.map(|r| r.map_err(db_error)).collect()
        })
    }

    async fn write(&self, tenant: &str, writes: &[EntityWrite]) -> StoreResult<u64> {
        self.write_now(tenant, writes)
    }
}

impl BlockingRecords for SqliteStore {
    fn load_summaries(&self, tenant: &str, kind: EntityKind) -> StoreResult<Vec<StoredSummary>> {
        self.summaries(tenant, kind)
    }

    fn write(&self, tenant: &str, writes: &[EntityWrite]) -> StoreResult<u64> {
        self.write_now(tenant, writes)
    }

    /// Writes through a rollback journal instead of the WAL, when no other
    /// connection has the file open (SQLite refuses the switch otherwise, and
    /// the load goes through the WAL as usual): pages added at the end of
    /// the file are then written once, not once to the WAL and again at the
    /// checkpoint. Each batch is still one transaction, so a load that dies
    /// keeps its committed batches, as through the WAL.
    fn begin_bulk_load(&self) -> StoreResult<()> {
        self.with(|c| {
            if !journal_mode_of(c)?.eq_ignore_ascii_case("wal") {
                return Ok(());
            }
            // Refused (busy) while another connection has the file open.
            let switched =
                set_journal_mode(c, "DELETE").is_ok_and(|m| m.eq_ignore_ascii_case("delete"));
            tracing::debug!(switched, "bulk load: rollback journal");
            Ok(())
        })
    }

    /// Back to the WAL (a no-op when the load never left it).
    fn end_bulk_load(&self) -> StoreResult<()> {
        self.with(|c| {
            if journal_mode_of(c)?.eq_ignore_ascii_case("delete") {
                set_journal_mode(c, "WAL")?;
            }
            Ok(())
        })
    }

    fn has_records(&self, tenant: &str) -> StoreResult<bool> {
        self.with(|c| {
            c.query_row(
                "SELECT EXISTS (SELECT 1 FROM entities WHERE tenant = ?1)",
                params![tenant],
                |r| r.get(0),
            )
            .map_err(db_error)
        })
    }
}

impl SqliteStore {
    /// The file's journal mode as SQLite names it (`wal`; `delete` during a
    /// bulk load; `memory` for an in-memory database).
    pub fn journal_mode(&self) -> StoreResult<String> {
        self.with(|c| journal_mode_of(c))
    }

    /// Writes in one transaction.
    fn write_now(&self, tenant: &str, writes: &[EntityWrite]) -> StoreResult<u64> {
        self.with(|c| {
            let tx = c.transaction().map_err(db_error)?;
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
                let mut bound: Option<(EntityKind, DateTime<Utc>, &str, DateTime<Utc>, &str)> = None;
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
                                put.raw_bind_parameter(1, tenant).map_err(db_error)?;
                                put.raw_bind_parameter(2, kind_name(*kind)).map_err(db_error)?;
                                put.raw_bind_parameter(5, ts(*first_seen_at)).map_err(db_error)?;
                                put.raw_bind_parameter(6, first_seen_run).map_err(db_error)?;
                                put.raw_bind_parameter(7, ts(*updated_at)).map_err(db_error)?;
                                put.raw_bind_parameter(8, run).map_err(db_error)?;
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
                            restore
                                .execute(params![
                                    tenant,
                                    kind_name(*kind),
                                    sourced_id,
                                    state.sis.text(),
                                    archive.map(|a| a.by.as_str()),
                                    archive.map(|a| ts(a.at)),
                                    archive.and_then(|a| a.run.clone()),
                                    archive.and_then(|a| a.reason).map(|r| r.as_str()),
                                    ts(state.first_seen_at),
                                    state.first_seen_run,
                                    ts(state.updated_at),
                                    state.updated_run,
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
                                    tenant,
                                    kind_name(*kind),
                                    sourced_id,
                                    ts(*at),
                                    run,
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
    fn summaries(&self, tenant: &str, kind: EntityKind) -> StoreResult<Vec<StoredSummary>> {
        self.with(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT sourced_id, sis, archived_by IS NOT NULL, first_seen_at, first_seen_run, provisional
                     FROM entities WHERE tenant = ?1 AND kind = ?2",
                )
                .map_err(db_error)?;
            let mut rows = stmt
                .query(params![tenant, kind_name(kind)])
                .map_err(db_error)?;
            let mut out = Vec::new();
            let mut first_seen = FirstSeenCache::default();
            while let Some(row) = rows.next().map_err(db_error)? {
                // The stored text as it is: its digest is the hash of its bytes.
                let sis = text_at(row, 1)?;
                let archived: bool = row.get(2).map_err(db_error)?;
                out.push(StoredSummary {
                    sourced_id: text_at(row, 0)?.into(),
                    digest: digest_of_text(sis),
                    facts: RecordFacts::for_stored_text(kind, sis, archived),
                    archived,
                    first_seen: first_seen.get(text_at(row, 3)?, text_at(row, 4)?, parse_ts)?,
                    provisional: row.get(5).map_err(db_error)?,
                });
            }
            Ok(out)
        })
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

/// A text column of `row`, borrowed (no copy).
fn text_at<'r>(row: &'r rusqlite::Row<'_>, column: usize) -> StoreResult<&'r str> {
    row.get_ref(column)
        .and_then(|v| v.as_str().map_err(rusqlite::Error::from))
        .map_err(db_error)
}

/// The columns [`entity_of`] reads, with the platform-owned flag beside them.
const ENTITY_SELECT: &str =
    "SELECT e.sourced_id, e.sis, e.archived_by, e.archived_at, e.archived_run,
        e.first_seen_at, e.first_seen_run, e.updated_at, e.updated_run,
        COALESCE(p.primary_admin, 0), e.archive_reason, e.provisional
    FROM entities e LEFT JOIN platform p
      ON p.tenant = e.tenant AND p.kind = e.kind AND p.sourced_id = e.sourced_id";

/// One row of [`ENTITY_SELECT`] as a stored record.
fn entity_of(kind: EntityKind, r: &rusqlite::Row<'_>) -> StoreResult<StoredEntity> {
    let by: Option<String> = r.get(2).map_err(db_error)?;
    let at: Option<String> = r.get(3).map_err(db_error)?;
    let reason: Option<String> = r.get(10).map_err(db_error)?;
    let archive = match (by, at) {
        (Some(by), Some(at)) => Some(ArchiveInfo {
            by: ArchivedBy::parse(&by),
            at: parse_ts(&at)?,
            run: r.get(4).map_err(db_error)?,
            reason: reason.as_deref().and_then(ArchiveReason::parse),
        }),
        _ => None,
    };
    let sis: String = r.get(1).map_err(db_error)?;
    let first_seen_at: String = r.get(5).map_err(db_error)?;
    let updated_at: String = r.get(7).map_err(db_error)?;
    Ok(StoredEntity {
        kind,
        sourced_id: r.get(0).map_err(db_error)?,
        sis: SisContent::from_stored(sis),
        archive,
        first_seen_at: parse_ts(&first_seen_at)?,
        first_seen_run: r.get(6).map_err(db_error)?,
        updated_at: parse_ts(&updated_at)?,
        updated_run: r.get(8).map_err(db_error)?,
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
            let created = c
                .execute(
                    "INSERT INTO entities (tenant, kind, sourced_id, sis, first_seen_at, first_seen_run,
                         updated_at, updated_run, email, username, school, class, user, provisional)
                     VALUES (?1, 'users', ?2, ?3, ?4, ?5, ?4, ?5, ?6, ?7, NULL, NULL, NULL, 1)
                     ON CONFLICT (tenant, kind, sourced_id) DO NOTHING",
                    params![
                        tenant,
                        sourced_id,
                        sis.text(),
                        ts(now),
                        origin,
                        keys.email,
                        keys.username
                    ],
                )
                .map_err(db_error)?;
            Ok(created == 1)
        })
    }

    async fn provisional_users(&self, tenant: &str) -> StoreResult<Vec<StoredEntity>> {
        self.with(|c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "{ENTITY_SELECT} WHERE e.tenant = ?1 AND e.kind = 'users' AND e.provisional = 1
                     ORDER BY e.sourced_id"
                ))
                .map_err(db_error)?;
            let mut rows = stmt.query(params![tenant]).map_err(db_error)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db_error)? {
                out.push(entity_of(EntityKind::Users, row)?);
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
            c.execute(
                "UPDATE entities SET archived_by = 'manual', archived_at = ?4, archived_run = NULL, archive_reason = NULL
                 WHERE tenant = ?1 AND kind = ?2 AND sourced_id = ?3",
                params![tenant, kind_name(kind), sourced_id, ts(now)],
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
            c.execute(
                "UPDATE entities SET sis = json_set(sis, '$.' || ?4, ?5)
                 WHERE tenant = ?1 AND kind = ?2 AND sourced_id = ?3",
                params![tenant, kind_name(kind), sourced_id, field, value],
            )
            .map_err(db_error)?;
            Ok(())
        })
    }
}
