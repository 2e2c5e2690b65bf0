//! Tenants' configurations and sync states.

use super::*;

impl Tenants for DynamoStore {
    async fn get_tenant(&self, tenant: &str) -> StoreResult<Option<TenantConfig>> {
        let item = self.get_item(key("TENANTS".into(), tenant.into())).await?;
        item.map(|i| serde_json::from_str(need_s(&i, "config")?).map_err(json_error))
            .transpose()
    }

    async fn put_tenant(&self, config: &TenantConfig) -> StoreResult<()> {
        let mut item = key("TENANTS".into(), config.tenant.clone());
        item.insert(
            "config".into(),
            s(serde_json::to_string(config).map_err(json_error)?),
        );
        self.put_item(item).await
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

    async fn put_state(&self, tenant: &str, state: &TenantState) -> StoreResult<()> {
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
        self.put_item(item).await
    }
}
