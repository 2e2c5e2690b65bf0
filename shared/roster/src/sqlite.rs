//! The embedded store: one SQLite file (rusqlite, bundled), the default of
//! `rosterctl` for local runs. Same semantics as the DynamoDB store, kept
//! equal by the conformance suite.

use crate::content::SisContent;
use crate::run::RunRecord;
use crate::store::*;
use crate::tenant::{TenantConfig, TenantState};
use chrono::{DateTime, SecondsFormat, Utc};
use oneroster::EntityKind;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

const SCHEMA: &str = r#"
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS tenants (
    tenant TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    state TEXT
);
-- Sync-owned: written by syncs only.
CREATE TABLE IF NOT EXISTS entities (
    tenant TEXT NOT NULL,
    kind TEXT NOT NULL,
    sourced_id TEXT NOT NULL,
    sis TEXT NOT NULL,
    archived_by TEXT,
    archived_at TEXT,
    archived_run TEXT,
    first_seen_at TEXT NOT NULL,
    first_seen_run TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_run TEXT NOT NULL,
    email TEXT,
    username TEXT,
    school TEXT,
    class TEXT,
    user TEXT,
    PRIMARY KEY (tenant, kind, sourced_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entities_by_email ON entities (tenant, email) WHERE email IS NOT NULL;
CREATE INDEX IF NOT EXISTS entities_by_username ON entities (tenant, username) WHERE username IS NOT NULL;
CREATE INDEX IF NOT EXISTS entities_by_school ON entities (tenant, school) WHERE school IS NOT NULL;
CREATE INDEX IF NOT EXISTS entities_by_class ON entities (tenant, class) WHERE class IS NOT NULL;
CREATE INDEX IF NOT EXISTS entities_by_user ON entities (tenant, user) WHERE user IS NOT NULL;
-- Platform-owned: never written by a sync.
CREATE TABLE IF NOT EXISTS platform (
    tenant TEXT NOT NULL,
    kind TEXT NOT NULL,
    sourced_id TEXT NOT NULL,
    primary_admin INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, kind, sourced_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_tenant ON runs (tenant, run_id);
CREATE TABLE IF NOT EXISTS one_time (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sign_in_audit (
    tenant TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    record TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (tenant, sort_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims (
    work TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    result TEXT,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases (
    tenant TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"#;

/// The SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_ts(text: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::permanent(format!("bad timestamp `{text}` in store")).because(e))
}

fn db_error(e: rusqlite::Error) -> StoreError {
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

fn json_error(e: serde_json::Error) -> StoreError {
    StoreError::permanent("unreadable JSON in store").because(e)
}

fn kind_name(kind: EntityKind) -> &'static str {
    kind.file_name()
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        let conn = Connection::open(path).map_err(db_error)?;
        Self::init(conn)
    }

    /// An in-memory database (tests).
    pub fn in_memory() -> StoreResult<SqliteStore> {
        Self::init(Connection::open_in_memory().map_err(db_error)?)
    }

    fn init(conn: Connection) -> StoreResult<SqliteStore> {
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(db_error)?;
        conn.execute_batch(SCHEMA).map_err(db_error)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| StoreError::permanent("SQLite connection poisoned"))?;
        f(&mut conn)
    }
}

impl Tenants for SqliteStore {
    async fn get_tenant(&self, tenant: &str) -> StoreResult<Option<TenantConfig>> {
        self.with(|c| {
            let text: Option<String> = c
                .query_row(
                    "SELECT config FROM tenants WHERE tenant = ?1",
                    [tenant],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_error)?;
            text.map(|t| serde_json::from_str(&t).map_err(json_error))
                .transpose()
        })
    }

    async fn put_tenant(&self, config: &TenantConfig) -> StoreResult<()> {
        let text = serde_json::to_string(config).map_err(json_error)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO tenants (tenant, config) VALUES (?1, ?2)
                 ON CONFLICT (tenant) DO UPDATE SET config = excluded.config",
                params![config.tenant, text],
            )
            .map_err(db_error)?;
            Ok(())
        })
    }

    async fn list_tenants(&self) -> StoreResult<Vec<TenantConfig>> {
        self.with(|c| {
            let mut stmt = c
                .prepare("SELECT config FROM tenants ORDER BY tenant")
                .map_err(db_error)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(db_error)?;
            rows.map(|t| serde_json::from_str(&t.map_err(db_error)?).map_err(json_error))
                .collect()
        })
    }

    async fn get_state(&self, tenant: &str) -> StoreResult<TenantState> {
        self.with(|c| {
            let text: Option<Option<String>> = c
                .query_row(
                    "SELECT state FROM tenants WHERE tenant = ?1",
                    [tenant],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_error)?;
            match text.flatten() {
                Some(t) => serde_json::from_str(&t).map_err(json_error),
                None => Ok(TenantState::default()),
            }
        })
    }

    async fn put_state(&self, tenant: &str, state: &TenantState) -> StoreResult<()> {
        let text = serde_json::to_string(state).map_err(json_error)?;
        self.with(|c| {
            let n = c
                .execute(
                    "UPDATE tenants SET state = ?2 WHERE tenant = ?1",
                    params![tenant, text],
                )
                .map_err(db_error)?;
            if n == 0 {
                return Err(StoreError::permanent(format!(
                    "tenant `{tenant}` does not exist"
                )));
            }
            Ok(())
        })
    }
}

impl Records for SqliteStore {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn load_summaries(
        &self,
        tenant: &str,
        kind: EntityKind,
    ) -> StoreResult<Vec<StoredSummary>> {
        self.with(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT sourced_id, sis, archived_by IS NOT NULL, first_seen_at, first_seen_run
                     FROM entities WHERE tenant = ?1 AND kind = ?2",
                )
                .map_err(db_error)?;
            let mut rows = stmt
                .query(params![tenant, kind_name(kind)])
                .map_err(db_error)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db_error)? {
                let sis: String = row.get(1).map_err(db_error)?;
                let first_seen_at: String = row.get(3).map_err(db_error)?;
                out.push(StoredSummary {
                    sourced_id: row.get(0).map_err(db_error)?,
                    digest: SisContent::from_json(&sis).map_err(json_error)?.digest(),
                    archived: row.get(2).map_err(db_error)?,
                    first_seen_at: parse_ts(&first_seen_at)?,
                    first_seen_run: row.get(4).map_err(db_error)?,
                });
            }
            Ok(out)
        })
    }

    async fn get_entity(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
    ) -> StoreResult<Option<StoredEntity>> {
        self.with(|c| {
            let row = c
                .query_row(
                    "SELECT e.sis, e.archived_by, e.archived_at, e.archived_run, e.first_seen_at, e.first_seen_run,
                            e.updated_at, e.updated_run, COALESCE(p.primary_admin, 0)
                     FROM entities e LEFT JOIN platform p
                       ON p.tenant = e.tenant AND p.kind = e.kind AND p.sourced_id = e.sourced_id
                     WHERE e.tenant = ?1 AND e.kind = ?2 AND e.sourced_id = ?3",
                    params![tenant, kind_name(kind), sourced_id],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Option<String>>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, String>(5)?,
                            r.get::<_, String>(6)?,
                            r.get::<_, String>(7)?,
                            r.get::<_, bool>(8)?,
                        ))
                    },
                )
                .optional()
                .map_err(db_error)?;
            let Some((sis, by, at, run, fs_at, fs_run, up_at, up_run, primary)) = row else {
                return Ok(None);
            };
            let archive = match (by, at) {
                (Some(by), Some(at)) => Some(ArchiveInfo {
                    by: ArchivedBy::parse(&by),
                    at: parse_ts(&at)?,
                    run,
                }),
                _ => None,
            };
            Ok(Some(StoredEntity {
                kind,
                sourced_id: sourced_id.to_string(),
                sis: SisContent::from_json(&sis).map_err(json_error)?,
                archive,
                first_seen_at: parse_ts(&fs_at)?,
                first_seen_run: fs_run,
                updated_at: parse_ts(&up_at)?,
                updated_run: up_run,
                primary_admin: primary,
            }))
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
                             sis = excluded.sis, archived_by = NULL, archived_at = NULL, archived_run = NULL,
                             first_seen_at = excluded.first_seen_at, first_seen_run = excluded.first_seen_run,
                             updated_at = excluded.updated_at, updated_run = excluded.updated_run,
                             email = excluded.email, username = excluded.username, school = excluded.school,
                             class = excluded.class, user = excluded.user",
                    )
                    .map_err(db_error)?;
                let mut archive = tx
                    .prepare_cached(
                        "UPDATE entities SET archived_by = 'sync', archived_at = ?4, archived_run = ?5
                         WHERE tenant = ?1 AND kind = ?2 AND sourced_id = ?3",
                    )
                    .map_err(db_error)?;
                for w in writes {
                    match w {
                        EntityWrite::Put {
                            kind,
                            sourced_id,
                            sis,
                            first_seen_at,
                            first_seen_run,
                            updated_at,
                            run,
                        } => {
                            let keys = sis.index_keys(*kind);
                            put.execute(params![
                                tenant,
                                kind_name(*kind),
                                sourced_id,
                                sis.to_json(),
                                ts(*first_seen_at),
                                first_seen_run,
                                ts(*updated_at),
                                run,
                                keys.email,
                                keys.username,
                                keys.school,
                                keys.class,
                                keys.user,
                            ])
                            .map_err(db_error)?;
                        }
                        EntityWrite::Archive {
                            kind,
                            sourced_id,
                            at,
                            run,
                        } => {
                            archive
                                .execute(params![tenant, kind_name(*kind), sourced_id, ts(*at), run])
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

impl Runs for SqliteStore {
    async fn put_run(&self, run: &RunRecord) -> StoreResult<()> {
        let text = serde_json::to_string(run).map_err(json_error)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO runs (run_id, tenant, record) VALUES (?1, ?2, ?3)
                 ON CONFLICT (run_id) DO UPDATE SET record = excluded.record",
                params![run.run_id, run.tenant, text],
            )
            .map_err(db_error)?;
            Ok(())
        })
    }

    async fn get_run(&self, run_id: &str) -> StoreResult<Option<RunRecord>> {
        self.with(|c| {
            let text: Option<String> = c
                .query_row("SELECT record FROM runs WHERE run_id = ?1", [run_id], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(db_error)?;
            text.map(|t| serde_json::from_str(&t).map_err(json_error))
                .transpose()
        })
    }

    async fn list_runs(&self, tenant: Option<&str>, limit: usize) -> StoreResult<Vec<RunRecord>> {
        self.with(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT record FROM runs WHERE (?1 IS NULL OR tenant = ?1) ORDER BY run_id DESC LIMIT ?2",
                )
                .map_err(db_error)?;
            let rows = stmt
                .query_map(params![tenant, limit as i64], |r| r.get::<_, String>(0))
                .map_err(db_error)?;
            rows.map(|t| serde_json::from_str(&t.map_err(db_error)?).map_err(json_error))
                .collect()
        })
    }
}

impl OneTimeRecords for SqliteStore {
    async fn put_one_time(
        &self,
        kind: OneTimeKind,
        key: &str,
        payload: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO one_time (kind, key, payload, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![kind.as_str(), key, payload, ts(expires_at)],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::permanent("a one-time record with this key exists")
                }
                other => db_error(other),
            })?;
            Ok(())
        })
    }

    async fn take_one_time(
        &self,
        kind: OneTimeKind,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        self.with(|c| {
            let taken: Option<(String, String)> = c
                .query_row(
                    "DELETE FROM one_time WHERE kind = ?1 AND key = ?2 RETURNING payload, expires_at",
                    params![kind.as_str(), key],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db_error)?;
            match taken {
                Some((payload, expires)) if parse_ts(&expires)? > now => Ok(Some(payload)),
                _ => Ok(None),
            }
        })
    }
}

impl SignInAudits for SqliteStore {
    async fn put_sign_in_audit(&self, audit: &SignInAudit) -> StoreResult<()> {
        let record = serde_json::to_string(audit)
            .map_err(|e| StoreError::permanent("encoding JSON").because(e))?;
        self.with(|c| {
            // Expired records go as new ones arrive (SQLite has no TTL).
            c.execute(
                "DELETE FROM sign_in_audit WHERE expires_at <= ?1",
                params![ts(audit.at)],
            )
            .map_err(db_error)?;
            c.execute(
                "INSERT OR REPLACE INTO sign_in_audit (tenant, sort_key, record, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    audit.tenant.as_deref().unwrap_or("-"),
                    format!("{}#{}", ts(audit.at), audit.request_id),
                    record,
                    ts(audit.expires_at)
                ],
            )
            .map_err(db_error)?;
            Ok(())
        })
    }

    async fn list_sign_in_audits(
        &self,
        tenant: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SignInAudit>> {
        self.with(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT record FROM sign_in_audit WHERE tenant = ?1 AND expires_at > ?2 \
                     ORDER BY sort_key DESC LIMIT ?3",
                )
                .map_err(db_error)?;
            let rows = stmt
                .query_map(
                    params![tenant.unwrap_or("-"), ts(now), limit.clamp(1, 1000) as i64],
                    |r| r.get::<_, String>(0),
                )
                .map_err(db_error)?;
            let mut audits = Vec::new();
            for row in rows {
                let record = row.map_err(db_error)?;
                audits.push(
                    serde_json::from_str(&record).map_err(|e| {
                        StoreError::permanent("bad sign-in audit record").because(e)
                    })?,
                );
            }
            Ok(audits)
        })
    }
}

impl Leases for SqliteStore {
    async fn acquire_lease(
        &self,
        tenant: &str,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<LeaseOutcome> {
        let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        self.with(|c| {
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let current: Option<(String, String)> = tx
                .query_row("SELECT owner, expires_at FROM leases WHERE tenant = ?1", [tenant], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(db_error)?;
            let expired_owner = match current {
                Some((holder, until)) => {
                    let until = parse_ts(&until)?;
                    if holder != owner && until > now {
                        return Ok(LeaseOutcome::Held {
                            owner: holder,
                            expires_at: until,
                        });
                    }
                    (holder != owner).then_some(holder)
                }
                None => None,
            };
            tx.execute(
                "INSERT INTO leases (tenant, owner, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (tenant) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at",
                params![tenant, owner, ts(expires)],
            )
            .map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            Ok(LeaseOutcome::Acquired { expired_owner })
        })
    }

    async fn renew_lease(
        &self,
        tenant: &str,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<bool> {
        let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        self.with(|c| {
            let n = c
                .execute(
                    "UPDATE leases SET expires_at = ?3 WHERE tenant = ?1 AND owner = ?2",
                    params![tenant, owner, ts(expires)],
                )
                .map_err(db_error)?;
            Ok(n == 1)
        })
    }

    async fn release_lease(&self, tenant: &str, owner: &str) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "DELETE FROM leases WHERE tenant = ?1 AND owner = ?2",
                params![tenant, owner],
            )
            .map_err(db_error)?;
            Ok(())
        })
    }
}

impl Claims for SqliteStore {
    async fn claim(
        &self,
        work: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<ClaimOutcome> {
        let expires = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        self.with(|c| {
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let current: Option<(String, String, Option<String>, String)> = tx
                .query_row(
                    "SELECT owner, state, result, expires_at FROM claims WHERE work = ?1",
                    [work],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(db_error)?;
            if let Some((holder, state, result, until)) = current {
                // A finished claim is remembered until its time (then it is gone,
                // as DynamoDB's TTL removes it); a running one until its lease ends.
                if parse_ts(&until)? >= now {
                    return Ok(if state == "done" {
                        ClaimOutcome::Done {
                            result: result.unwrap_or_default(),
                        }
                    } else {
                        ClaimOutcome::Busy { owner: holder }
                    });
                }
            }
            tx.execute(
                "INSERT INTO claims (work, owner, state, result, expires_at) VALUES (?1, ?2, 'in_progress', NULL, ?3)
                 ON CONFLICT (work) DO UPDATE SET owner = excluded.owner, state = excluded.state,
                     result = NULL, expires_at = excluded.expires_at",
                params![work, owner, ts(expires)],
            )
            .map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            Ok(ClaimOutcome::Claimed)
        })
    }

    async fn finish_claim(
        &self,
        work: &str,
        owner: &str,
        result: &str,
        now: DateTime<Utc>,
        keep: Duration,
    ) -> StoreResult<()> {
        let until = now + chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
        self.with(|c| {
            let n = c
                .execute(
                    "UPDATE claims SET state = 'done', result = ?3, expires_at = ?4
                     WHERE work = ?1 AND owner = ?2",
                    params![work, owner, result, ts(until)],
                )
                .map_err(db_error)?;
            if n == 0 {
                return Err(StoreError::permanent(format!(
                    "the claim on `{work}` is not held by `{owner}`"
                )));
            }
            Ok(())
        })
    }

    async fn release_claim(&self, work: &str, owner: &str) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "DELETE FROM claims WHERE work = ?1 AND owner = ?2 AND state = 'in_progress'",
                params![work, owner],
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
                "UPDATE entities SET archived_by = 'manual', archived_at = ?4, archived_run = NULL
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
