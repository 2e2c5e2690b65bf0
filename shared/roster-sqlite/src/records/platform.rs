//! The platform's side of records: provisional users, the Primary
//! Administrator flag, and edits by hand.

use super::read::{entity_of, RunNames, ENTITY_SELECT};
use crate::layout::{run_key_for_writing, stamp, tenant_key, tenant_key_for_writing};
use crate::{db_error, kind_code, kind_name, SqliteStore};
use chrono::{DateTime, Utc};
use oneroster::EntityKind;
use roster::content::SisContent;
use roster::store::*;
use rusqlite::params;

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

impl Rekeys for SqliteStore {
    async fn link_rekey(
        &self,
        tenant: &str,
        kind: EntityKind,
        old: &str,
        new: &str,
        previous: &[String],
    ) -> StoreResult<()> {
        let previous = serde_json::to_string(previous)
            .map_err(|e| StoreError::permanent(format!("previous ids of {kind} {new}: {e}")))?;
        self.with(|c| {
            let link = |id: &str, to: Option<&str>, previous: Option<&str>| {
                c.execute(
                    "INSERT INTO platform (tenant, kind, sourced_id, rekeyed_to, previous_ids) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (tenant, kind, sourced_id) DO UPDATE SET
                       rekeyed_to = COALESCE(excluded.rekeyed_to, rekeyed_to),
                       previous_ids = COALESCE(excluded.previous_ids, previous_ids)",
                    params![tenant, kind_name(kind), id, to, previous],
                )
                .map_err(db_error)
            };
            link(new, None, Some(&previous))?;
            link(old, Some(new), None)?;
            Ok(())
        })
    }

    async fn unlink_rekey(
        &self,
        tenant: &str,
        kind: EntityKind,
        old: &str,
        new: &str,
    ) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE platform SET rekeyed_to = NULL
                 WHERE tenant = ?1 AND kind = ?2 AND sourced_id = ?3 AND rekeyed_to = ?4",
                params![tenant, kind_name(kind), old, new],
            )
            .map_err(db_error)?;
            c.execute(
                "UPDATE platform SET previous_ids = NULL WHERE tenant = ?1 AND kind = ?2 AND sourced_id = ?3",
                params![tenant, kind_name(kind), new],
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
