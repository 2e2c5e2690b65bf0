//! Tenants: each district's configuration and sync state.

use super::{db_error, json_error, SqliteStore};
use roster::store::*;
use roster::tenant::{TenantConfig, TenantState};
use rusqlite::params;
use rusqlite::OptionalExtension;

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
            // IMMEDIATE: another process's put_tenant waits for this one.
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let mapped = |id: &str| {
                tx.query_row(
                    "SELECT tenant FROM classlink_tenants WHERE classlink_tenant_id = ?1",
                    [id],
                    |r| r.get::<_, String>(0),
                )
                .optional()
                .map_err(db_error)
            };
            let old: Option<TenantConfig> = tx
                .query_row(
                    "SELECT config FROM tenants WHERE tenant = ?1",
                    [&config.tenant],
                    |r| r.get::<_, String>(0),
                )
                .optional()
                .map_err(db_error)?
                .map(|t| serde_json::from_str(&t).map_err(json_error))
                .transpose()?;
            let old_id = old.and_then(|o| o.classlink_tenant_id);
            if let Some(id) = &config.classlink_tenant_id {
                match mapped(id)? {
                    Some(owner) if owner != config.tenant => {
                        return Err(classlink_taken(id, &owner))
                    }
                    Some(_) => {}
                    None => {
                        tx.execute(
                            "INSERT INTO classlink_tenants (classlink_tenant_id, tenant) VALUES (?1, ?2)",
                            params![id, config.tenant],
                        )
                        .map_err(db_error)?;
                    }
                }
            }
            if let Some(old_id) = old_id.filter(|o| Some(o) != config.classlink_tenant_id.as_ref()) {
                tx.execute(
                    "DELETE FROM classlink_tenants WHERE classlink_tenant_id = ?1 AND tenant = ?2",
                    params![old_id, config.tenant],
                )
                .map_err(db_error)?;
            }
            tx.execute(
                "INSERT INTO tenants (tenant, config) VALUES (?1, ?2)
                 ON CONFLICT (tenant) DO UPDATE SET config = excluded.config",
                params![config.tenant, text],
            )
            .map_err(db_error)?;
            tx.commit().map_err(db_error)
        })
    }

    async fn classlink_mapping(&self, classlink_tenant_id: &str) -> StoreResult<Option<String>> {
        self.with(|c| {
            c.query_row(
                "SELECT tenant FROM classlink_tenants WHERE classlink_tenant_id = ?1",
                [classlink_tenant_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_error)
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

    async fn put_state(&self, tenant: &str, state: &TenantState, lease: &Lease) -> StoreResult<()> {
        let text = serde_json::to_string(state).map_err(json_error)?;
        self.with(|c| {
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db_error)?;
            super::coordination::fence(&tx, tenant, lease)?;
            let n = tx
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
            tx.commit().map_err(db_error)
        })
    }
}
