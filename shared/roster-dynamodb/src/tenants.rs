//! Tenants' configurations and sync states.

use super::*;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};

/// The sort key of a ClassLink TenantId's mapping item.
const CLASSLINK_SK: &str = "TENANT";

/// The partition of a ClassLink TenantId's mapping item.
pub(super) fn classlink_pk(classlink_tenant_id: &str) -> String {
    format!("CLASSLINK#{classlink_tenant_id}")
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::permanent("building a DynamoDB request").because(e)
}

impl Tenants for DynamoStore {
    async fn get_tenant(&self, tenant: &str) -> StoreResult<Option<TenantConfig>> {
        let item = self.get_item(key("TENANTS".into(), tenant.into())).await?;
        item.map(|i| serde_json::from_str(need_s(&i, "config")?).map_err(json_error))
            .transpose()
    }

    async fn put_tenant(&self, config: &TenantConfig) -> StoreResult<()> {
        // A transaction conflict, or a configuration changed between the read
        // and the write, is tried again on a fresh read.
        let mut attempt = 0;
        loop {
            match self.try_put_tenant(config).await? {
                Saved::Yes => return Ok(()),
                Saved::Contended if attempt < MAX_ATTEMPTS => {
                    tokio::time::sleep(super::writes::backoff(attempt)).await;
                    self.meter.retried();
                    attempt += 1;
                }
                Saved::Contended => {
                    return Err(StoreError::unavailable(format!(
                        "tenant `{}` kept changing while being saved; try again",
                        config.tenant
                    )))
                }
            }
        }
    }

    async fn classlink_mapping(&self, classlink_tenant_id: &str) -> StoreResult<Option<String>> {
        let item = self
            .get_item(key(classlink_pk(classlink_tenant_id), CLASSLINK_SK.into()))
            .await?;
        item.map(|i| need_s(&i, "tenant").map(String::from))
            .transpose()
    }

    async fn list_tenants(&self) -> StoreResult<Vec<TenantConfig>> {
        self.query_prefix("TENANTS", "", None, |i| {
            serde_json::from_str(need_s(&i, "config")?).map_err(json_error)
        })
        .await
    }

    async fn get_state(&self, tenant: &str) -> StoreResult<TenantState> {
        match self
            .get_item(key(format!("TENANT#{tenant}"), "STATE".into()))
            .await?
        {
            Some(i) => serde_json::from_str(need_s(&i, "state")?).map_err(json_error),
            None => Ok(TenantState::default()),
        }
    }

    /// One transaction: the lease item's check and the state's put.
    async fn put_state(&self, tenant: &str, state: &TenantState, lease: &Lease) -> StoreResult<()> {
        if self.get_tenant(tenant).await?.is_none() {
            return Err(StoreError::permanent(format!(
                "tenant `{tenant}` does not exist"
            )));
        }
        let mut item = key(format!("TENANT#{tenant}"), "STATE".into());
        item.insert(
            "state".into(),
            s(serde_json::to_string(state).map_err(json_error)?),
        );
        let check = TransactWriteItem::builder()
            .condition_check(self.lease_check(tenant, lease)?)
            .build();
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(build_error)?;
        let writes = vec![check, TransactWriteItem::builder().put(put).build()];
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .metered(&self.meter)
                .await;
            let Err(e) = result else {
                return Ok(());
            };
            let reasons = cancellation_reasons(&e);
            if reasons.first().and_then(|r| r.code()) == Some("ConditionalCheckFailed") {
                return Err(lease.lost(tenant));
            }
            // The lease item was being renewed at that moment: try again.
            let contended = reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"));
            attempt += 1;
            if !contended || attempt >= MAX_ATTEMPTS {
                return Err(sdk_error(e));
            }
            tokio::time::sleep(super::writes::backoff(attempt)).await;
            self.meter.retried();
        }
    }
}

/// How one attempt to save a tenant ended.
enum Saved {
    Yes,
    /// Another write got there first: read again and retry.
    Contended,
}

impl DynamoStore {
    /// One attempt: read the configuration, then write it, its mapping and
    /// the removal of its old mapping in one transaction.
    async fn try_put_tenant(&self, config: &TenantConfig) -> StoreResult<Saved> {
        let old_item = self
            .get_item(key("TENANTS".into(), config.tenant.clone()))
            .await?;
        let old_text = old_item
            .as_ref()
            .map(|i| need_s(i, "config").map(String::from))
            .transpose()?;
        let old_id = old_text
            .as_deref()
            .map(|t| serde_json::from_str::<TenantConfig>(t).map_err(json_error))
            .transpose()?
            .and_then(|o| o.classlink_tenant_id);
        let new_id = config.classlink_tenant_id.as_deref();
        let mut writes = vec![self.config_put(config, old_text.as_deref())?];
        if let Some(id) = new_id {
            writes.push(self.mapping_put(&config.tenant, id)?);
        }
        // The old id's mapping goes, when it is this tenant's (after a hand
        // edit it may be another's, which stays).
        let mut old_mapping = None;
        if let Some(old) = old_id.as_deref().filter(|o| Some(*o) != new_id) {
            if self.classlink_mapping(old).await?.as_deref() == Some(config.tenant.as_str()) {
                old_mapping = Some(old);
            }
        }
        if let Some(old) = old_mapping {
            writes.push(self.mapping_delete(&config.tenant, old)?);
        }
        let writes_len = writes.len();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .metered(&self.meter)
            .await;
        let Err(e) = result else {
            return Ok(Saved::Yes);
        };
        not_saved(e, new_id, old_mapping.is_some(), writes_len)
    }

    /// The put of the configuration, only if nobody changed it since it was
    /// read as `old_text` (then the mapping writes beside it match what it said).
    fn config_put(
        &self,
        config: &TenantConfig,
        old_text: Option<&str>,
    ) -> StoreResult<TransactWriteItem> {
        let mut item = key("TENANTS".into(), config.tenant.clone());
        item.insert(
            "config".into(),
            s(serde_json::to_string(config).map_err(json_error)?),
        );
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .expression_attribute_names("#c", "config");
        let put = match old_text {
            Some(old) => put
                .condition_expression("#c = :old")
                .expression_attribute_values(":old", s(old)),
            None => put.condition_expression("attribute_not_exists(#c)"),
        };
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(build_error)?)
            .build())
    }

    /// The put of ClassLink TenantId `id`'s mapping to `tenant`, unless it
    /// maps to another tenant.
    fn mapping_put(&self, tenant: &str, id: &str) -> StoreResult<TransactWriteItem> {
        let mut mapping = key(classlink_pk(id), CLASSLINK_SK.into());
        mapping.insert("tenant".into(), s(tenant));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(mapping))
            .condition_expression("attribute_not_exists(pk) OR #t = :t")
            .expression_attribute_names("#t", "tenant")
            .expression_attribute_values(":t", s(tenant))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The delete of ClassLink TenantId `old`'s mapping, if it maps to `tenant`.
    fn mapping_delete(&self, tenant: &str, old: &str) -> StoreResult<TransactWriteItem> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(classlink_pk(old), CLASSLINK_SK.into())))
            .condition_expression("#t = :t")
            .expression_attribute_names("#t", "tenant")
            .expression_attribute_values(":t", s(tenant))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

/// Why the transaction of [`DynamoStore::try_put_tenant`] failed: the new
/// ClassLink TenantId taken by another tenant (`new_id`, the second item), a
/// contended attempt to retry (the configuration changed since it was read,
/// the old mapping's delete, the last of `writes` items, refused, or a
/// transaction conflict), or another error.
fn not_saved(
    e: SdkError<TransactWriteItemsError>,
    new_id: Option<&str>,
    deletes_old_mapping: bool,
    writes: usize,
) -> StoreResult<Saved> {
    let reasons = cancellation_reasons(&e);
    let failed = |i: usize| {
        reasons
            .get(i)
            .and_then(|r| r.code())
            .is_some_and(|c| c == "ConditionalCheckFailed")
    };
    if let (Some(id), true) = (new_id, failed(1)) {
        let owner = reasons[1]
            .item()
            .and_then(|i| get_s(i, "tenant"))
            .unwrap_or("another tenant");
        return Err(classlink_taken(id, owner));
    }
    let contended = reasons
        .iter()
        .any(|r| r.code() == Some("TransactionConflict"));
    let delete_failed = deletes_old_mapping && failed(writes - 1);
    if failed(0) || delete_failed || contended {
        return Ok(Saved::Contended);
    }
    Err(sdk_error(e))
}

/// Why a transaction was cancelled, one reason per item (none for other errors).
fn cancellation_reasons(
    e: &SdkError<TransactWriteItemsError>,
) -> Vec<aws_sdk_dynamodb::types::CancellationReason> {
    e.as_service_error()
        .and_then(|s| match s {
            TransactWriteItemsError::TransactionCanceledException(c) => {
                Some(c.cancellation_reasons().to_vec())
            }
            _ => None,
        })
        .unwrap_or_default()
}
