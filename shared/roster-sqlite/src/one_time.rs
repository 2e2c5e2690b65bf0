//! One-time records (SSO state, tickets) and sign-in audits, each with an expiry.

use super::{db_error, parse_ts, ts, SqliteStore};
use chrono::{DateTime, Utc};
use roster::store::*;
use rusqlite::{params, OptionalExtension};

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
