//! The erasure role: people archived past a retention (a filtered query of
//! each shard), and erasing their personal fields with one conditional
//! update a record, several at once.

use super::records::entity_of;
use super::writes::Fence;
use super::*;
use roster::store::{Erase, Erasure, ErasureCause};

/// The erasure mark of an entity item (`erased_at`, `erased_run`, and
/// `erased_days` or `erased_by`), if it has one.
pub(super) fn erasure_of(item: &Item) -> StoreResult<Option<Erasure>> {
    let (Some(at), Some(run)) = (get_s(item, "erased_at"), get_s(item, "erased_run")) else {
        return Ok(None);
    };
    let days = item.get("erased_days").and_then(|v| v.as_n().ok());
    let cause = match (days, get_s(item, "erased_by")) {
        (Some(days), _) => ErasureCause::Retention {
            days: days.parse().map_err(|_| {
                StoreError::permanent(format!("bad `erased_days` `{days}` in table"))
            })?,
        },
        (None, by) => ErasureCause::Forget {
            by: by.unwrap_or_default().to_string(),
        },
    };
    Ok(Some(Erasure {
        at: parse_ts(at)?,
        run: run.to_string(),
        cause,
    }))
}

impl Erasures for DynamoStore {
    /// Each shard's partition is queried (strongly consistent) for the
    /// entity items archived before `before` without an erasure mark, and
    /// the platform items that are Primary Administrators (only entity
    /// items have `archived_at`, only platform items `primary_admin`),
    /// several shards at once.
    async fn archived_before(
        &self,
        tenant: &str,
        kind: EntityKind,
        before: DateTime<Utc>,
    ) -> StoreResult<Vec<StoredEntity>> {
        let cutoff = ts(before);
        let shards = stream::iter((0..SHARDS).map(|shard| {
            let pk = shard_pk(tenant, kind, shard);
            let cutoff = cutoff.clone();
            async move { self.archived_in_shard(&pk, kind, &cutoff).await }
        }))
        .buffer_unordered(8)
        .try_collect::<Vec<Vec<StoredEntity>>>()
        .await?;
        let mut found: Vec<StoredEntity> = shards.into_iter().flatten().collect();
        found.sort_by(|a, b| a.sourced_id.cmp(&b.sourced_id));
        Ok(found)
    }

    async fn erase(&self, tenant: &str, lease: &Lease, erasures: &[Erase]) -> StoreResult<u64> {
        let fence = Fence::hold(self, tenant, lease).await?;
        let fence = &fence;
        let requests: Vec<_> = erasures
            .iter()
            .map(|e| async move { self.erase_one(tenant, e, fence).await })
            .collect();
        let erased = stream::iter(requests)
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<bool>>()
            .await?;
        Ok(erased.into_iter().filter(|e| *e).count() as u64)
    }
}

impl DynamoStore {
    /// The records of one shard archived before `cutoff` (a timestamp as
    /// the table holds it: the same width, so text order is time order).
    async fn archived_in_shard(
        &self,
        pk: &str,
        kind: EntityKind,
        cutoff: &str,
    ) -> StoreResult<Vec<StoredEntity>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let q = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .key_condition_expression("pk = :pk")
                .filter_expression(
                    "(archived_at < :cut AND attribute_not_exists(erased_at)) OR primary_admin = :t",
                )
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":cut", s(cutoff))
                .expression_attribute_values(":t", AttributeValue::Bool(true));
            let out = q.metered(&self.meter).await.map_err(sdk_error)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        let (entities, platform): (Vec<Item>, Vec<Item>) = items
            .into_iter()
            .partition(|i| get_s(i, "sk").is_some_and(|sk| sk.starts_with("E#")));
        let admins: std::collections::HashSet<&str> = platform
            .iter()
            .filter_map(|p| get_s(p, "sk").and_then(|sk| sk.strip_prefix("P#")))
            .collect();
        entities
            .iter()
            .map(|item| {
                let id = need_s(item, "sid")?;
                entity_of(kind, id, item, admins.contains(id))
            })
            .collect()
    }

    /// One conditional update: the erased content and lookup keys and the
    /// mark, only if the record is still as read. `false`: it was not (or is gone).
    async fn erase_one(&self, tenant: &str, e: &Erase, fence: &Fence<'_>) -> StoreResult<bool> {
        let mut attempt = 0;
        loop {
            fence.check().await?;
            match self.erase_request(tenant, e).await {
                Ok(()) => return Ok(true),
                Err(err) if is_condition_failed(&err) => return Ok(false),
                Err(err) => {
                    let err = sdk_error(err);
                    attempt += 1;
                    if !err.is_retryable() || attempt >= MAX_ATTEMPTS {
                        return Err(err);
                    }
                    tokio::time::sleep(super::writes::backoff(attempt)).await;
                    self.meter.retried();
                }
            }
        }
    }

    async fn erase_request(
        &self,
        tenant: &str,
        e: &Erase,
    ) -> Result<(), SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError>> {
        let keys = e.sis.index_keys(e.kind);
        let mut set = vec![
            "sis = :sis",
            "erased_at = :erased_at",
            "erased_run = :erased_run",
        ];
        let mut remove = Vec::new();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                entity_pk(tenant, e.kind, &e.sourced_id),
                format!("E#{}", e.sourced_id),
            )))
            .expression_attribute_values(
                ":sis",
                json_to_attribute(&Value::Object(e.sis.fields().clone())),
            )
            .expression_attribute_values(":erased_at", s(ts(e.erasure.at)))
            .expression_attribute_values(":erased_run", s(e.erasure.run.as_str()))
            .expression_attribute_values(":updated_at", s(ts(e.seen.updated_at)));
        match &e.erasure.cause {
            ErasureCause::Retention { days } => {
                set.push("erased_days = :days");
                remove.push("erased_by");
                update = update
                    .expression_attribute_values(":days", AttributeValue::N(days.to_string()));
            }
            ErasureCause::Forget { by } => {
                set.push("erased_by = :by");
                remove.push("erased_days");
                update = update.expression_attribute_values(":by", s(by.as_str()));
            }
        }
        // The lookup keys of the kept content (users keep neither email nor
        // username: their index entries go).
        let gsi1 = [
            keys.email.as_ref().map(|v| format!("T#{tenant}#EMAIL#{v}")),
            keys.school
                .as_ref()
                .map(|v| format!("T#{tenant}#SCHOOL#{v}")),
            keys.class.as_ref().map(|v| format!("T#{tenant}#CLASS#{v}")),
        ]
        .into_iter()
        .flatten()
        .next();
        let gsi2 = [
            keys.username
                .as_ref()
                .map(|v| format!("T#{tenant}#USERNAME#{v}")),
            keys.user.as_ref().map(|v| format!("T#{tenant}#USER#{v}")),
        ]
        .into_iter()
        .flatten()
        .next();
        for (n, pk) in [("1", gsi1), ("2", gsi2)] {
            match pk {
                Some(pk) => {
                    set.push(if n == "1" {
                        "gsi1pk = :g1pk, gsi1sk = :gsk"
                    } else {
                        "gsi2pk = :g2pk, gsi2sk = :gsk"
                    });
                    update = update
                        .expression_attribute_values(format!(":g{n}pk"), s(pk))
                        .expression_attribute_values(":gsk", s(e.sourced_id.as_str()));
                }
                None if n == "1" => remove.extend(["gsi1pk", "gsi1sk"]),
                None => remove.extend(["gsi2pk", "gsi2sk"]),
            }
        }
        let condition = match e.seen.archived_at {
            Some(at) => {
                update = update.expression_attribute_values(":archived_at", s(ts(at)));
                "attribute_exists(pk) AND updated_at = :updated_at AND archived_at = :archived_at AND attribute_not_exists(erased_at)"
            }
            None => "attribute_exists(pk) AND updated_at = :updated_at AND attribute_not_exists(archived_at) AND attribute_not_exists(erased_at)",
        };
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        update
            .update_expression(expression)
            .condition_expression(condition)
            .metered(&self.meter)
            .await
            .map(|_| ())
    }
}
