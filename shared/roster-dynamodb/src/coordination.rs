//! Conditional writes that coordinate invocations: tenants' leases and
//! idempotency claims on pieces of work.

use super::*;

/// The key of a tenant's lease item.
fn lease_key(tenant: &str) -> Item {
    key(format!("TENANT#{tenant}"), "LEASE".into())
}

/// A lease item's fencing token (0 for an item written before tokens).
fn token_of(item: &Item) -> StoreResult<u64> {
    match item.get("token") {
        None => Ok(0),
        Some(v) => v
            .as_n()
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| StoreError::permanent("a lease item's `token` is not a number")),
    }
}

impl Leases for DynamoStore {
    async fn acquire_lease(
        &self,
        tenant: &str,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<LeaseOutcome> {
        let expires = expires_after(now, ttl);
        loop {
            let current = self.get_item(lease_key(tenant)).await?;
            let token = current.as_ref().map(token_of).transpose()?.unwrap_or(0);
            let lease = Lease {
                owner: owner.to_string(),
                token: token + 1,
                ttl,
            };
            let mut item = lease_key(tenant);
            item.insert("owner".into(), s(owner));
            item.insert("token".into(), AttributeValue::N(lease.token.to_string()));
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
                    // No owner: released.
                    let holder = get_s(cur, "owner").filter(|h| !h.is_empty());
                    let until = need_s(cur, "expires_at")?.to_string();
                    if let Some(holder) = holder.filter(|h| *h != owner) {
                        if parse_ts(&until)? > now {
                            return Ok(LeaseOutcome::Held {
                                lease: Lease {
                                    owner: holder.to_string(),
                                    token,
                                    ttl,
                                },
                                expires_at: parse_ts(&until)?,
                            });
                        }
                    }
                    // Taken only as it was read: no renewal or taking since.
                    let put = if cur.contains_key("token") {
                        put.condition_expression("#token = :seen AND expires_at = :until")
                            .expression_attribute_values(
                                ":seen",
                                AttributeValue::N(token.to_string()),
                            )
                    } else {
                        put.condition_expression(
                            "attribute_not_exists(#token) AND expires_at = :until",
                        )
                    };
                    let put = put
                        .expression_attribute_names("#token", "token")
                        .expression_attribute_values(":until", s(until));
                    let expired = holder.filter(|h| *h != owner).map(str::to_string);
                    (put, expired)
                }
            };
            match put.metered(&self.meter).await {
                Ok(_) => {
                    return Ok(LeaseOutcome::Acquired {
                        lease,
                        expired_owner,
                    })
                }
                // Someone else moved first: look again.
                Err(e) if is_condition_failed(&e) => continue,
                Err(e) => return Err(sdk_error(e)),
            }
        }
    }

    async fn renew_lease(
        &self,
        tenant: &str,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let expires = expires_after(now, lease.ttl);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(lease_key(tenant)))
            .update_expression("SET expires_at = :exp, #ttl = :ttl")
            .condition_expression("#owner = :me AND #token = :token")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#token", "token")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":exp", s(ts(expires)))
            .expression_attribute_values(
                ":ttl",
                ttl_at(expires + chrono::Duration::seconds(86_400)),
            )
            .expression_attribute_values(":me", s(lease.owner.as_str()))
            .expression_attribute_values(":token", AttributeValue::N(lease.token.to_string()))
            .metered(&self.meter)
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn release_lease(&self, tenant: &str, lease: &Lease) -> StoreResult<()> {
        // The item stays, with its token, so the next taker's is greater.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(lease_key(tenant)))
            .update_expression("REMOVE #owner")
            .condition_expression("#owner = :me AND #token = :token")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":me", s(lease.owner.as_str()))
            .expression_attribute_values(":token", AttributeValue::N(lease.token.to_string()))
            .metered(&self.meter)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => Ok(()),
            Err(e) => Err(sdk_error(e)),
        }
    }
}

impl DynamoStore {
    /// The fence of a write under `lease`: renews it, or refuses the write
    /// ([`StoreError::LeaseLost`]) when another run has taken it over.
    pub(super) async fn fence(&self, tenant: &str, lease: &Lease) -> StoreResult<()> {
        lease.still_held(tenant, self.renew_lease(tenant, lease, Utc::now()).await?)
    }

    /// The condition a transaction puts on the lease item: still `lease`.
    pub(super) fn lease_check(
        &self,
        tenant: &str,
        lease: &Lease,
    ) -> StoreResult<aws_sdk_dynamodb::types::ConditionCheck> {
        aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(lease_key(tenant)))
            .condition_expression("#owner = :me AND #token = :token")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":me", s(lease.owner.as_str()))
            .expression_attribute_values(":token", AttributeValue::N(lease.token.to_string()))
            .build()
            .map_err(|e| StoreError::permanent("building a DynamoDB request").because(e))
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
