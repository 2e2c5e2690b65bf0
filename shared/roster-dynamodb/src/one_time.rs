//! Single-use records (logins, tickets) and the sign-in audit trail, both kept by TTL.

use super::*;

impl OneTimeRecords for DynamoStore {
    async fn put_one_time(
        &self,
        kind: OneTimeKind,
        key_text: &str,
        payload: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut item = key(
            format!("ONETIME#{}#{key_text}", kind.as_str()),
            "ONETIME".into(),
        );
        item.insert("payload".into(), s(payload));
        item.insert("expires_at".into(), s(ts(expires_at)));
        // DynamoDB's TTL removes it eventually; `take_one_time` checks the time itself.
        item.insert(
            "ttl".into(),
            ttl_at(expires_at + chrono::Duration::seconds(60)),
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .metered(&self.meter)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => Err(StoreError::permanent(
                "a one-time record with this key exists",
            )),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn take_one_time(
        &self,
        kind: OneTimeKind,
        key_text: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(
                format!("ONETIME#{}#{key_text}", kind.as_str()),
                "ONETIME".into(),
            )))
            .condition_expression("attribute_exists(pk)")
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .metered(&self.meter)
            .await;
        let old = match result {
            Ok(out) => out.attributes.unwrap_or_default(),
            // Not there (never, or already taken): nobody gets it twice.
            Err(e) if is_condition_failed(&e) => return Ok(None),
            Err(e) => return Err(sdk_error(e)),
        };
        let expires = parse_ts(need_s(&old, "expires_at")?)?;
        if expires <= now {
            return Ok(None);
        }
        Ok(Some(need_s(&old, "payload")?.to_string()))
    }
}

impl SignInAudits for DynamoStore {
    async fn put_sign_in_audit(&self, audit: &SignInAudit) -> StoreResult<()> {
        let mut item = key(
            format!("SSOAUDIT#{}", audit.tenant.as_deref().unwrap_or("-")),
            format!("{}#{}", ts(audit.at), audit.request_id),
        );
        let record = serde_json::to_string(audit)
            .map_err(|e| StoreError::permanent("encoding JSON").because(e))?;
        item.insert("record".into(), s(record));
        item.insert("ttl".into(), ttl_at(audit.expires_at));
        self.put_item(item).await
    }

    async fn list_sign_in_audits(
        &self,
        tenant: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SignInAudit>> {
        let items = self
            .newest_in_partition(
                &format!("SSOAUDIT#{}", tenant.unwrap_or("-")),
                "",
                limit.clamp(1, 1000) as i32,
            )
            .await?;
        let mut audits = Vec::new();
        for item in items {
            let audit: SignInAudit = serde_json::from_str(need_s(&item, "record")?)
                .map_err(|e| StoreError::permanent("bad sign-in audit record").because(e))?;
            if audit.expires_at > now {
                audits.push(audit);
            }
        }
        Ok(audits)
    }
}
