//! The erasure role: people archived past a retention, and erasing their
//! personal fields in one transaction.

use super::read::{entity_of, RunNames, ENTITY_SELECT};
use crate::layout::{stamp, tenant_key};
use crate::{db_error, kind_code, kind_name, SqliteStore};
use chrono::{DateTime, Utc};
use oneroster::EntityKind;
use roster::store::*;
use rusqlite::params;

/// Erases one record if it is still as read (same last write, same archive
/// stamp, not erased yet): its content, its lookup keys and the mark.
const ERASE: &str =
    "UPDATE entities SET sis = ?4, email = ?5, username = ?6, school = ?7, class = ?8, user = ?9,
                         erasure = ?10
                     WHERE tenant = ?1 AND kind = ?2 AND sourced_id = ?3
                       AND updated_at = ?11 AND archived_at IS ?12 AND erasure IS NULL";

impl Erasures for SqliteStore {
    async fn archived_before(
        &self,
        tenant: &str,
        kind: EntityKind,
        before: DateTime<Utc>,
    ) -> StoreResult<Vec<StoredEntity>> {
        self.with(|c| {
            let Some(key) = tenant_key(c, tenant)? else {
                return Ok(Vec::new());
            };
            let sql = format!(
                "{ENTITY_SELECT} AND e.archived_at IS NOT NULL AND e.archived_at < ?5 AND e.erasure IS NULL ORDER BY e.sourced_id"
            );
            let mut stmt = c.prepare_cached(&sql).map_err(db_error)?;
            let mut rows = stmt
                .query(params![
                    tenant,
                    kind_name(kind),
                    key,
                    kind_code(kind),
                    stamp(before)
                ])
                .map_err(db_error)?;
            let mut runs = RunNames::default();
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(db_error)? {
                found.push(entity_of(kind, row, c, &mut runs)?);
            }
            Ok(found)
        })
    }

    async fn erase(&self, tenant: &str, lease: &Lease, erasures: &[Erase]) -> StoreResult<u64> {
        self.with(|c| {
            let tx = c.transaction().map_err(db_error)?;
            crate::coordination::fence(&tx, tenant, lease)?;
            let Some(key) = tenant_key(&tx, tenant)? else {
                return Ok(0);
            };
            let mut erased = 0u64;
            {
                let mut stmt = tx.prepare_cached(ERASE).map_err(db_error)?;
                for e in erasures {
                    let keys = e.sis.index_keys(e.kind);
                    let mark = serde_json::to_string(&e.erasure).map_err(crate::json_error)?;
                    erased += stmt
                        .execute(params![
                            key,
                            kind_code(e.kind),
                            e.sourced_id,
                            e.sis.text(),
                            keys.email,
                            keys.username,
                            keys.school,
                            keys.class,
                            keys.user,
                            mark,
                            stamp(e.seen.updated_at),
                            e.seen.archived_at.map(stamp),
                        ])
                        .map_err(db_error)? as u64;
                }
            }
            tx.commit().map_err(db_error)?;
            Ok(erased)
        })
    }
}
