//! Writing roster records: batches of puts (unprocessed items retried with
//! backoff and jitter, many batches at once) and archives.

use super::*;

/// Full jitter backoff: a random wait up to `base * 2^attempt`, capped.
pub(super) fn backoff(attempt: u32) -> Duration {
    let cap = Duration::from_secs(5);
    let ceiling = Duration::from_millis(50)
        .saturating_mul(1 << attempt.min(10))
        .min(cap);
    Duration::from_millis(rand::thread_rng().gen_range(0..=ceiling.as_millis() as u64))
}

impl DynamoStore {
    pub(super) fn entity_item(tenant: &str, write: &EntityWrite) -> Option<Item> {
        let EntityWrite::Put {
            kind,
            sourced_id,
            sis,
            first_seen_at,
            first_seen_run,
            updated_at,
            run,
        } = write
        else {
            return None;
        };
        let mut item = key(
            entity_pk(tenant, *kind, sourced_id),
            format!("E#{sourced_id}"),
        );
        item.insert("sid".into(), s(sourced_id.as_str()));
        item.insert("kind".into(), s(kind.file_name()));
        item.insert(
            "sis".into(),
            json_to_attribute(&Value::Object(sis.fields().clone())),
        );
        item.insert("first_seen_at".into(), s(ts(*first_seen_at)));
        item.insert("first_seen_run".into(), s(first_seen_run.as_str()));
        item.insert("updated_at".into(), s(ts(*updated_at)));
        item.insert("updated_run".into(), s(run.as_str()));
        let keys = sis.index_keys(*kind);
        let mut index = |n: u8, pk: String| {
            item.insert(format!("gsi{n}pk"), s(pk));
            item.insert(format!("gsi{n}sk"), s(sourced_id.as_str()));
        };
        if let Some(email) = keys.email {
            index(1, format!("T#{tenant}#EMAIL#{email}"));
        }
        if let Some(school) = keys.school {
            index(1, format!("T#{tenant}#SCHOOL#{school}"));
        }
        if let Some(class) = keys.class {
            index(1, format!("T#{tenant}#CLASS#{class}"));
        }
        if let Some(username) = keys.username {
            index(2, format!("T#{tenant}#USERNAME#{username}"));
        }
        if let Some(user) = keys.user {
            index(2, format!("T#{tenant}#USER#{user}"));
        }
        Some(item)
    }

    /// Writes puts with BatchWriteItem, retrying unprocessed items with
    /// exponential backoff and full jitter.
    pub(super) async fn batch_put(&self, items: Vec<Item>) -> StoreResult<u64> {
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
        stream::iter(batches.into_iter().map(|batch| self.send_batch(batch)))
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(count)
    }

    pub(super) async fn send_batch(&self, mut batch: Vec<WriteRequest>) -> StoreResult<()> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .batch_write_item()
                .request_items(&self.table, batch.clone())
                .send()
                .await;
            match result {
                Ok(out) => {
                    let unprocessed = out
                        .unprocessed_items
                        .and_then(|mut m| m.remove(&self.table))
                        .unwrap_or_default();
                    if unprocessed.is_empty() {
                        return Ok(());
                    }
                    batch = unprocessed;
                }
                Err(e) => {
                    let err = sdk_error(e);
                    if !err.is_retryable() {
                        return Err(err);
                    }
                }
            }
            attempt += 1;
            if attempt >= MAX_ATTEMPTS {
                return Err(StoreError::unavailable(format!(
                    "{} items still unprocessed after {MAX_ATTEMPTS} attempts (throttled)",
                    batch.len()
                )));
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
    }

    /// Marks an entity archived (`by` = `sync` with the run, or `manual`).
    /// Archives a record: by a sync (`sync`: its run and the reason) or by hand.
    pub(super) async fn set_archived(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
        by: ArchivedBy,
        at: DateTime<Utc>,
        sync: Option<(&str, ArchiveReason)>,
    ) -> Result<(), SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError>> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                entity_pk(tenant, kind, sourced_id),
                format!("E#{sourced_id}"),
            )))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":by", s(by.as_str()))
            .expression_attribute_values(":at", s(ts(at)));
        let update = match sync {
            Some((run, reason)) => update
                .update_expression(
                    "SET archived_by = :by, archived_at = :at, archived_run = :run, archive_reason = :reason",
                )
                .expression_attribute_values(":run", s(run))
                .expression_attribute_values(":reason", s(reason.as_str())),
            None => update.update_expression(
                "SET archived_by = :by, archived_at = :at REMOVE archived_run, archive_reason",
            ),
        };
        update.send().await.map(|_| ())
    }

    pub(super) async fn archive_one(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
        at: DateTime<Utc>,
        run: &str,
        reason: ArchiveReason,
    ) -> StoreResult<()> {
        let mut attempt = 0;
        loop {
            match self
                .set_archived(
                    tenant,
                    kind,
                    sourced_id,
                    ArchivedBy::Sync,
                    at,
                    Some((run, reason)),
                )
                .await
            {
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
                }
            }
        }
    }
}
