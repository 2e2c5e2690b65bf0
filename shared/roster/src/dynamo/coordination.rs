//! Conditional writes that coordinate invocations: tenants' leases and
//! idempotency claims on pieces of work.

use super::*;

impl Leases for DynamoStore {
    async fn acquire_lease(
        &self,
        tenant: &str,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<LeaseOutcome> {
        let lease_key = key(format!("TENANT#{tenant}"), "LEASE".into());
        let expires = expires_after(now, ttl);
        loop {
            let current = self.get_item(lease_key.clone()).await?;
            let mut item = lease_key.clone();
            item.insert("owner".into(), s(owner));
            item.insert("expires_at".into(), s(ts(expires)));
            // Leases outlive their expiry by a day, then DynamoDB's TTL removes them.
            item.insert(
                "ttl".into(),
                ttl_at(expires + chrono::Duration::seconds(86_400)),
            );
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item));
            let (put, expired_owner) = match &current {
                None => (put.condition_expression("attribute_not_exists(pk)"), None),
                Some(cur) => {
                    let holder = need_s(cur, "owner")?.to_string();
                    let until = need_s(cur, "expires_at")?.to_string();
                    if holder != owner && parse_ts(&until)? > now {
                        return Ok(LeaseOutcome::Held {
                            owner: holder,
                            expires_at: parse_ts(&until)?,
                        });
                    }
                    let put = put
                        .condition_expression("#owner = :holder AND expires_at = :until")
                        .expression_attribute_names("#owner", "owner")
                        .expression_attribute_values(":holder", s(holder.clone()))
                        .expression_attribute_values(":until", s(until));
                    (put, (holder != owner).then_some(holder))
                }
            };
            match put.metered(&self.meter).await {
                Ok(_) => return Ok(LeaseOutcome::Acquired { expired_owner }),
                // Someone else moved first: look again.
                Err(e) if is_condition_failed(&e) => continue,
                Err(e) => return Err(sdk_error(e)),
            }
        }
    }

    async fn renew_lease(
        &self,
        tenant: &str,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<bool> {
        let expires = expires_after(now, ttl);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("TENANT#{tenant}"), "LEASE".into())))
            .update_expression("SET expires_at = :exp, #ttl = :ttl")
            .condition_expression("#owner = :me")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":exp", s(ts(expires)))
            .expression_attribute_values(
                ":ttl",
                ttl_at(expires + chrono::Duration::seconds(86_400)),
            )
            .expression_attribute_values(":me", s(owner))
            .metered(&self.meter)
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn release_lease(&self, tenant: &str, owner: &str) -> StoreResult<()> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("TENANT#{tenant}"), "LEASE".into())))
            .condition_expression("#owner = :me")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":me", s(owner))
            .metered(&self.meter)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => Ok(()),
            Err(e) => Err(sdk_error(e)),
        }
    }
}

impl Claims for DynamoStore {
    /// Claims `work` (idempotency key) for `owner` for `lease`, unless it is
    /// done or another owner's lease is still running. Conditional write.
    async fn claim(
        &self,
        work: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<ClaimOutcome> {
        let expires = expires_after(now, lease);
        let mut item = key(format!("CLAIM#{work}"), "CLAIM".into());
        item.insert("owner".into(), s(owner));
        item.insert("state".into(), s("in_progress"));
        item.insert("expires_at".into(), s(ts(expires)));
        item.insert(
            "ttl".into(),
            ttl_at(expires + chrono::Duration::seconds(86_400)),
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR (#state = :in_progress AND expires_at < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":in_progress", s("in_progress"))
            .expression_attribute_values(":now", s(ts(now)))
            .metered(&self.meter)
            .await;
        match result {
            Ok(_) => Ok(ClaimOutcome::Claimed),
            Err(e) if is_condition_failed(&e) => {
                let current = self
                    .get_item(key(format!("CLAIM#{work}"), "CLAIM".into()))
                    .await?;
                let Some(current) = current else {
                    return Ok(ClaimOutcome::Busy {
                        owner: "unknown".into(),
                    });
                };
                if get_s(&current, "state") == Some("done") {
                    Ok(ClaimOutcome::Done {
                        result: get_s(&current, "result").unwrap_or_default().to_string(),
                    })
                } else {
                    Ok(ClaimOutcome::Busy {
                        owner: get_s(&current, "owner").unwrap_or_default().to_string(),
                    })
                }
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// Marks a claimed piece of work done, remembered for `keep`.
    async fn finish_claim(
        &self,
        work: &str,
        owner: &str,
        result: &str,
        now: DateTime<Utc>,
        keep: Duration,
    ) -> StoreResult<()> {
        let until = expires_after(now, keep);
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("CLAIM#{work}"), "CLAIM".into())))
            .update_expression("SET #state = :done, #result = :result, #ttl = :ttl")
            .condition_expression("#owner = :me")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#result", "result")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":result", s(result))
            .expression_attribute_values(":ttl", AttributeValue::N(until.timestamp().to_string()))
            .expression_attribute_values(":me", s(owner))
            .metered(&self.meter)
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// Gives a claim up (the work failed and may be retried).
    async fn release_claim(&self, work: &str, owner: &str) -> StoreResult<()> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("CLAIM#{work}"), "CLAIM".into())))
            .condition_expression("#owner = :me AND #state = :in_progress")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":me", s(owner))
            .expression_attribute_values(":in_progress", s("in_progress"))
            .metered(&self.meter)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => Ok(()),
            Err(e) => Err(sdk_error(e)),
        }
    }
}
