//! Writing roster records: batches of puts (unprocessed items retried with
//! backoff and jitter, many batches at once) and archives.

use super::*;
use std::time::{Instant, SystemTime};

/// Full jitter backoff: a random wait up to `base * 2^attempt`, capped.
pub(super) fn backoff(attempt: u32) -> Duration {
    let cap = Duration::from_secs(5);
    let ceiling = Duration::from_millis(50)
        .saturating_mul(1 << attempt.min(10))
        .min(cap);
    Duration::from_millis(rand::thread_rng().gen_range(0..=ceiling.as_millis() as u64))
}

/// The fence of one `write` under a lease. The lease is renewed (only if it
/// is still the run's: owner and token) before the first request; a request
/// is sent only while half the lease's length has not passed since the last
/// renewal, and past that the lease is renewed again first. Half the lease
/// is measured on the monotonic clock and on the wall clock both (the
/// monotonic one stops while a machine is suspended). What remains (see
/// docs/operations.md): a process paused between a check and the requests
/// it allowed, or clocks of two machines more than half the lease apart.
pub(super) struct Fence<'a> {
    store: &'a DynamoStore,
    tenant: &'a str,
    lease: &'a Lease,
    /// Requests may be sent until then, by both clocks (`None`: a lease
    /// that never ends).
    send_by: tokio::sync::Mutex<Option<(Instant, SystemTime)>>,
}

impl<'a> Fence<'a> {
    /// Renews `lease`, or refuses the write when it was taken over.
    pub(super) async fn hold(
        store: &'a DynamoStore,
        tenant: &'a str,
        lease: &'a Lease,
    ) -> StoreResult<Fence<'a>> {
        let fence = Fence {
            store,
            tenant,
            lease,
            send_by: tokio::sync::Mutex::new(None),
        };
        *fence.send_by.lock().await = fence.renew().await?;
        Ok(fence)
    }

    /// Before each request: renews the lease again when half of it has passed.
    pub(super) async fn check(&self) -> StoreResult<()> {
        let mut send_by = self.send_by.lock().await;
        if send_by.is_none_or(|(until, wall)| Instant::now() < until && SystemTime::now() < wall) {
            return Ok(());
        }
        *send_by = self.renew().await?;
        Ok(())
    }

    async fn renew(&self) -> StoreResult<Option<(Instant, SystemTime)>> {
        let (start, wall) = (Instant::now(), SystemTime::now());
        self.store.fence(self.tenant, self.lease).await?;
        let half = self.lease.ttl / 2;
        Ok(start.checked_add(half).zip(wall.checked_add(half)))
    }
}

impl DynamoStore {
    /// The item a put or a restore writes (`None` for an archive, an update).
    pub(super) fn entity_item(tenant: &str, write: &EntityWrite) -> Option<Item> {
        match write {
            EntityWrite::Put {
                kind,
                sourced_id,
                sis,
                keys,
                first_seen_at,
                first_seen_run,
                updated_at,
                run,
            } => Some(Self::item_of(
                tenant,
                *kind,
                sourced_id,
                sis,
                keys,
                (first_seen_at, first_seen_run),
                (updated_at, run),
            )),
            EntityWrite::Restore {
                kind,
                sourced_id,
                state,
            } => {
                let mut item = Self::item_of(
                    tenant,
                    *kind,
                    sourced_id,
                    &state.sis,
                    &state.sis.index_keys(*kind),
                    (&state.first_seen_at, &state.first_seen_run),
                    (&state.updated_at, &state.updated_run),
                );
                if let Some(a) = &state.archive {
                    item.insert("archived_by".into(), s(a.by.as_str()));
                    item.insert("archived_at".into(), s(ts(a.at)));
                    if let Some(run) = &a.run {
                        item.insert("archived_run".into(), s(run.as_str()));
                    }
                    if let Some(reason) = a.reason {
                        item.insert("archive_reason".into(), s(reason.as_str()));
                    }
                }
                if state.provisional {
                    item.insert("provisional".into(), AttributeValue::Bool(true));
                }
                Some(item)
            }
            EntityWrite::Archive { .. } => None,
        }
    }

    fn item_of(
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
        sis: &SisContent,
        keys: &IndexKeys,
        first_seen: (&DateTime<Utc>, &String),
        updated: (&DateTime<Utc>, &String),
    ) -> Item {
        let mut item = key(
            entity_pk(tenant, kind, sourced_id),
            format!("E#{sourced_id}"),
        );
        item.insert("sid".into(), s(sourced_id));
        item.insert("kind".into(), s(kind.file_name()));
        item.insert(
            "sis".into(),
            json_to_attribute(&Value::Object(sis.fields().clone())),
        );
        item.insert("first_seen_at".into(), s(ts(*first_seen.0)));
        item.insert("first_seen_run".into(), s(first_seen.1.as_str()));
        item.insert("updated_at".into(), s(ts(*updated.0)));
        item.insert("updated_run".into(), s(updated.1.as_str()));
        let mut index = |n: u8, pk: String| {
            item.insert(format!("gsi{n}pk"), s(pk));
            item.insert(format!("gsi{n}sk"), s(sourced_id));
        };
        if let Some(email) = &keys.email {
            index(1, format!("T#{tenant}#EMAIL#{email}"));
        }
        if let Some(school) = &keys.school {
            index(1, format!("T#{tenant}#SCHOOL#{school}"));
        }
        if let Some(class) = &keys.class {
            index(1, format!("T#{tenant}#CLASS#{class}"));
        }
        if let Some(username) = &keys.username {
            index(2, format!("T#{tenant}#USERNAME#{username}"));
        }
        if let Some(user) = &keys.user {
            index(2, format!("T#{tenant}#USER#{user}"));
        }
        item
    }

    /// Writes puts with BatchWriteItem, retrying unprocessed items with
    /// exponential backoff and full jitter.
    pub(super) async fn batch_put(&self, items: Vec<Item>, fence: &Fence<'_>) -> StoreResult<u64> {
        let count = items.len() as u64;
        let batches: Vec<Vec<WriteRequest>> = items
            .chunks(BATCH)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|item| {
                        WriteRequest::builder()
                            .put_request(
                                PutRequest::builder()
                                    .set_item(Some(item.clone()))
                                    .build()
                                    .expect("put request"),
                            )
                            .build()
                    })
                    .collect()
            })
            .collect();
        stream::iter(
            batches
                .into_iter()
                .map(|batch| self.send_batch(batch, Some(fence))),
        )
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
        Ok(count)
    }

    /// Sends one `BatchWriteItem` batch, its unprocessed items again until
    /// none are left; each request first passes `fence` when there is one
    /// (a sync's writes; offboarding holds the lease its own way).
    pub(super) async fn send_batch(
        &self,
        batch: Vec<WriteRequest>,
        fence: Option<&Fence<'_>>,
    ) -> StoreResult<()> {
        let sent: Vec<()> = super::requests::until_processed(
            &self.meter,
            batch,
            "items still unprocessed",
            |batch| async move {
                if let Some(fence) = fence {
                    fence.check().await?;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, batch)
                    .metered(&self.meter)
                    .await
                    .map_err(sdk_error)?;
                let left = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                Ok((Vec::new(), left))
            },
        )
        .await?;
        debug_assert!(sent.is_empty());
        Ok(())
    }

    /// Archives a record: by a sync (its run and the reason), by a revert
    /// (its run, no reason) or by hand (neither).
    pub(super) async fn set_archived(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
        mark: &ArchiveInfo,
    ) -> Result<(), SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError>> {
        let ArchiveInfo {
            by,
            at,
            run,
            reason,
        } = mark;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                entity_pk(tenant, kind, sourced_id),
                format!("E#{sourced_id}"),
            )))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":by", s(by.as_str()))
            .expression_attribute_values(":at", s(ts(*at)));
        let mut set = vec!["archived_by = :by", "archived_at = :at"];
        let mut remove = Vec::new();
        match run {
            Some(run) => {
                set.push("archived_run = :run");
                update = update.expression_attribute_values(":run", s(run.as_str()));
            }
            None => remove.push("archived_run"),
        }
        match reason {
            Some(reason) => {
                let reason = *reason;
                set.push("archive_reason = :reason");
                update = update.expression_attribute_values(":reason", s(reason.as_str()));
            }
            None => remove.push("archive_reason"),
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        update
            .update_expression(expression)
            .metered(&self.meter)
            .await
            .map(|_| ())
    }

    pub(super) async fn archive_one(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
        mark: &ArchiveInfo,
        fence: &Fence<'_>,
    ) -> StoreResult<()> {
        let mut attempt = 0;
        loop {
            fence.check().await?;
            match self.set_archived(tenant, kind, sourced_id, mark).await {
                Ok(()) => return Ok(()),
                // Gone meanwhile: nothing to archive.
                Err(e) if is_condition_failed(&e) => return Ok(()),
                Err(e) => {
                    let err = sdk_error(e);
                    attempt += 1;
                    if !err.is_retryable() || attempt >= MAX_ATTEMPTS {
                        return Err(err);
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                    self.meter.retried();
                }
            }
        }
    }
}
