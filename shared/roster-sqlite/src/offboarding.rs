//! Offboarding: every row of a tenant, found and deleted in one transaction
//! (all of it goes, or nothing).

use super::{db_error, kind_code, SqliteStore};
use oneroster::EntityKind;
use roster::store::*;
use rusqlite::{Connection, Params};

/// The text of a type's code in `entities` (for keys).
fn kind_text(code: i64) -> String {
    EntityKind::ALL
        .into_iter()
        .find(|k| kind_code(*k) == code)
        .map(|k| k.file_name().to_string())
        .unwrap_or_else(|| code.to_string())
}

/// The texts of column 0 of `sql`'s rows.
fn texts(c: &Connection, sql: &str, params: impl Params) -> StoreResult<Vec<String>> {
    let mut statement = c.prepare(sql).map_err(db_error)?;
    let rows = statement
        .query_map(params, |r| r.get::<_, String>(0))
        .map_err(db_error)?;
    rows.collect::<Result<_, _>>().map_err(db_error)
}

/// The run keys only the tenant's records use (the others' stay).
const TENANT_RUN_KEYS: &str = "
    SELECT id FROM run_keys WHERE id IN (
        SELECT first_seen_run FROM entities WHERE tenant = ?1
        UNION SELECT updated_run FROM entities WHERE tenant = ?1
        UNION SELECT archived_run FROM entities WHERE tenant = ?1 AND archived_run IS NOT NULL)
    AND id NOT IN (
        SELECT first_seen_run FROM entities WHERE tenant <> ?1
        UNION SELECT updated_run FROM entities WHERE tenant <> ?1
        UNION SELECT archived_run FROM entities WHERE tenant <> ?1 AND archived_run IS NOT NULL)";

/// Every row of `tenant`, as items.
fn find(c: &Connection, tenant: &str) -> StoreResult<Vec<TenantItem>> {
    use TenantItemKind::*;
    let mut items = Vec::new();
    let mut add = |kind: TenantItemKind, keys: Vec<String>| {
        items.extend(keys.into_iter().map(|k| TenantItem::new(kind, k)));
    };
    add(
        Config,
        texts(
            c,
            "SELECT 'tenants:' || tenant FROM tenants WHERE tenant = ?1",
            [tenant],
        )?,
    );
    add(
        State,
        texts(c, "SELECT 'tenants:' || tenant || ':state' FROM tenants WHERE tenant = ?1 AND state IS NOT NULL", [tenant])?,
    );
    add(
        ClassLinkMapping,
        texts(c, "SELECT 'classlink_tenants:' || classlink_tenant_id FROM classlink_tenants WHERE tenant = ?1", [tenant])?,
    );
    add(
        Lease,
        texts(
            c,
            "SELECT 'leases:' || tenant FROM leases WHERE tenant = ?1",
            [tenant],
        )?,
    );
    add(
        Runs,
        texts(
            c,
            "SELECT 'runs:' || run_id FROM runs WHERE tenant = ?1",
            [tenant],
        )?,
    );
    add(
        SignInAudits,
        texts(
            c,
            "SELECT 'sign_in_audit:' || sort_key FROM sign_in_audit WHERE tenant = ?1",
            [tenant],
        )?,
    );
    add(
        PlatformRecords,
        texts(
            c,
            "SELECT 'platform:' || kind || ':' || sourced_id FROM platform WHERE tenant = ?1",
            [tenant],
        )?,
    );
    if let Some(key) = super::layout::tenant_key(c, tenant)? {
        let mut statement = c
            .prepare("SELECT kind, sourced_id FROM entities WHERE tenant = ?1")
            .map_err(db_error)?;
        let rows = statement
            .query_map([key], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(db_error)?;
        for row in rows {
            let (kind, id) = row.map_err(db_error)?;
            add(Records, vec![format!("entities:{}:{id}", kind_text(kind))]);
        }
        add(InternalKeys, vec![format!("tenant_keys:{key}")]);
        let mut statement = c.prepare(TENANT_RUN_KEYS).map_err(db_error)?;
        let runs = statement
            .query_map([key], |r| r.get::<_, i64>(0))
            .map_err(db_error)?;
        for run in runs {
            add(
                InternalKeys,
                vec![format!("run_keys:{}", run.map_err(db_error)?)],
            );
        }
    }
    let claims = texts(c, "SELECT work FROM claims", [])?;
    add(
        Claims,
        claims
            .into_iter()
            .filter(|w| claim_of_tenant(w, tenant))
            .map(|w| format!("claims:{w}"))
            .collect(),
    );
    let mut statement = c
        .prepare("SELECT kind, key, payload FROM one_time")
        .map_err(db_error)?;
    let rows = statement
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(db_error)?;
    for row in rows {
        let (kind, key, payload) = row.map_err(db_error)?;
        if one_time_of_tenant(&payload, tenant) {
            add(OneTimeRecords, vec![format!("one_time:{kind}:{key}")]);
        }
    }
    items.sort();
    Ok(items)
}

/// Deletes every row of `tenant` (in the caller's transaction).
fn delete(c: &Connection, tenant: &str) -> StoreResult<()> {
    let run = |sql: &str| c.execute(sql, [tenant]).map(|_| ()).map_err(db_error);
    if let Some(key) = super::layout::tenant_key(c, tenant)? {
        c.execute(
            &format!("DELETE FROM run_keys WHERE id IN ({TENANT_RUN_KEYS})"),
            [key],
        )
        .map_err(db_error)?;
        c.execute("DELETE FROM entities WHERE tenant = ?1", [key])
            .map_err(db_error)?;
        c.execute("DELETE FROM tenant_keys WHERE id = ?1", [key])
            .map_err(db_error)?;
    }
    for sql in [
        "DELETE FROM tenants WHERE tenant = ?1",
        "DELETE FROM classlink_tenants WHERE tenant = ?1",
        "DELETE FROM leases WHERE tenant = ?1",
        "DELETE FROM runs WHERE tenant = ?1",
        "DELETE FROM sign_in_audit WHERE tenant = ?1",
        "DELETE FROM platform WHERE tenant = ?1",
    ] {
        run(sql)?;
    }
    for work in texts(c, "SELECT work FROM claims", [])? {
        if claim_of_tenant(&work, tenant) {
            c.execute("DELETE FROM claims WHERE work = ?1", [&work])
                .map_err(db_error)?;
        }
    }
    let mut statement = c
        .prepare("SELECT kind, key, payload FROM one_time")
        .map_err(db_error)?;
    let rows: Vec<(String, String, String)> = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(db_error)?
        .collect::<Result<_, _>>()
        .map_err(db_error)?;
    for (kind, key, payload) in rows {
        if one_time_of_tenant(&payload, tenant) {
            c.execute(
                "DELETE FROM one_time WHERE kind = ?1 AND key = ?2",
                [&kind, &key],
            )
            .map_err(db_error)?;
        }
    }
    Ok(())
}

impl TenantErasure for SqliteStore {
    async fn tenant_items(&self, tenant: &str) -> StoreResult<Vec<TenantItem>> {
        self.with(|c| find(c, tenant))
    }

    async fn delete_tenant(&self, tenant: &str) -> TenantDeletion {
        let result = self.with(|c| {
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let items = find(&tx, tenant)?;
            delete(&tx, tenant)?;
            tx.commit().map_err(db_error)?;
            Ok(items)
        });
        match result {
            Ok(deleted) => TenantDeletion {
                deleted,
                ..TenantDeletion::default()
            },
            // One transaction: nothing went. What is left is read again.
            Err(error) => TenantDeletion {
                left: self.with(|c| find(c, tenant)).unwrap_or_default(),
                error: Some(error),
                ..TenantDeletion::default()
            },
        }
    }
}
