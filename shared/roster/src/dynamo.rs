//! The production store: one DynamoDB table (see `docs/data-model.md` for
//! every item type and access pattern).
//!
//! Entities of a tenant and type are spread over [`SHARDS`] partition keys
//! (by a hash of the sourcedId), so a district's first load is not limited to
//! one partition's 1,000 writes per second. Sync-owned data (`E#` items) and
//! platform-owned data (`P#` items) are separate items: a sync's `PutItem`
//! replaces only the former, so it cannot clobber the Primary Administrator flag.

use crate::content::SisContent;
use crate::run::RunRecord;
use crate::store::*;
use crate::tenant::{TenantConfig, TenantState};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, PutRequest, ScalarAttributeType, TimeToLiveSpecification,
    WriteRequest,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use oneroster::EntityKind;
use rand::Rng;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use xxhash_rust::xxh3::xxh3_64;

/// Partition-key shards per tenant and entity type.
pub const SHARDS: u64 = 32;
/// Items per BatchWriteItem request (the DynamoDB maximum).
const BATCH: usize = 25;
/// BatchWriteItem / UpdateItem requests in flight per `write` call.
const CONCURRENCY: usize = 16;
/// Attempts for unprocessed items before the write fails as retryable.
const MAX_ATTEMPTS: u32 = 10;

type Item = HashMap<String, AttributeValue>;

/// The DynamoDB store.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A query of partition `pk`, limited to sort keys starting with `prefix` unless it is empty.
fn in_partition(
    q: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    pk: &str,
    prefix: &str,
) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
    let q = q.expression_attribute_values(":pk", s(pk));
    if prefix.is_empty() {
        q.key_condition_expression("pk = :pk")
    } else {
        q.key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":prefix", s(prefix))
    }
}

/// The `ttl` attribute: DynamoDB's TTL removes the item some time after `at`.
fn ttl_at(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp().to_string())
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_ts(text: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::permanent(format!("bad timestamp `{text}` in table")).because(e))
}

fn get_s<'i>(item: &'i Item, key: &str) -> Option<&'i str> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn need_s<'i>(item: &'i Item, key: &str) -> StoreResult<&'i str> {
    get_s(item, key).ok_or_else(|| StoreError::permanent(format!("item lacks attribute `{key}`")))
}

/// An SDK error as a store error, classified by `cloud::classify` (the one
/// list of retryable codes), the SDK error kept as the source.
fn sdk_error<E>(e: SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = cloud::failure::service_code(&e)
        .unwrap_or("no response")
        .to_string();
    StoreError::new(cloud::classify(&e), format!("DynamoDB: {code}")).because(e)
}

fn is_condition_failed<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
    matches!(e, SdkError::ServiceError(s) if s.err().code() == Some("ConditionalCheckFailedException"))
}

fn json_error(e: serde_json::Error) -> StoreError {
    StoreError::permanent("unreadable JSON in table").because(e)
}

/// JSON to a DynamoDB attribute (strings, numbers, booleans, lists, maps).
pub fn json_to_attribute(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(text) => AttributeValue::S(text.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(json_to_attribute).collect()),
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(k, v)| (k.clone(), json_to_attribute(v)))
                .collect(),
        ),
    }
}

/// A DynamoDB attribute back to JSON.
pub fn attribute_to_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(n) => n
            .parse::<serde_json::Number>()
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(n.clone())),
        AttributeValue::S(text) => Value::String(text.clone()),
        AttributeValue::L(items) => Value::Array(items.iter().map(attribute_to_json).collect()),
        AttributeValue::M(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), attribute_to_json(v)))
                .collect(),
        ),
        AttributeValue::Ss(items) => {
            Value::Array(items.iter().cloned().map(Value::String).collect())
        }
        _ => Value::Null,
    }
}

/// The shard of a sourcedId.
pub fn shard_of(sourced_id: &str) -> u64 {
    xxh3_64(sourced_id.as_bytes()) % SHARDS
}

/// The partition key of an entity.
pub fn entity_pk(tenant: &str, kind: EntityKind, sourced_id: &str) -> String {
    shard_pk(tenant, kind, shard_of(sourced_id))
}

fn shard_pk(tenant: &str, kind: EntityKind, shard: u64) -> String {
    format!("T#{tenant}#{}#{shard:02}", kind.file_name())
}

fn key(pk: String, sk: String) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

/// Full jitter backoff: a random wait up to `base * 2^attempt`, capped.
fn backoff(attempt: u32) -> Duration {
    let cap = Duration::from_secs(5);
    let ceiling = Duration::from_millis(50)
        .saturating_mul(1 << attempt.min(10))
        .min(cap);
    Duration::from_millis(rand::thread_rng().gen_range(0..=ceiling.as_millis() as u64))
}

impl DynamoStore {
    /// A store over `table` with a client built by the caller (once, outside handlers).
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// Builds a client from the environment. `AWS_ENDPOINT_URL` /
    /// `AWS_ENDPOINT_URL_DYNAMODB` point it at a local emulator.
    pub async fn client_from_env() -> Client {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Client::new(&config)
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table as `docs/data-model.md` describes (for local runs and
    /// tests; production tables come from template.yaml). Does nothing if it exists.
    pub async fn ensure_table(&self) -> StoreResult<()> {
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if matches!(&e, SdkError::ServiceError(s) if s.err().is_resource_not_found_exception()) =>
                {}
            Err(e) => return Err(sdk_error(e)),
        }
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition")
        };
        let key_el = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .expect("key schema")
        };
        let gsi = |n: u8| {
            GlobalSecondaryIndex::builder()
                .index_name(format!("gsi{n}"))
                .key_schema(key_el(&format!("gsi{n}pk"), KeyType::Hash))
                .key_schema(key_el(&format!("gsi{n}sk"), KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("gsi")
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(
                ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"]
                    .map(attr)
                    .to_vec(),
            ))
            .key_schema(key_el("pk", KeyType::Hash))
            .key_schema(key_el("sk", KeyType::Range))
            .global_secondary_indexes(gsi(1))
            .global_secondary_indexes(gsi(2))
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if matches!(&e, SdkError::ServiceError(s) if s.err().is_resource_in_use_exception()) =>
                {}
            Err(e) => return Err(sdk_error(e)),
        }
        let ttl = self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("ttl")
                    .build()
                    .expect("ttl spec"),
            )
            .send()
            .await;
        // Setting TTL twice is refused; either way TTL is on.
        if let Err(e) = ttl {
            let err = sdk_error(e);
            if err.is_retryable() {
                return Err(err);
            }
        }
        Ok(())
    }

    async fn get_item(&self, key: Item) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.item)
    }

    async fn put_item(&self, item: Item) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// Every item of a partition whose sort key starts with `prefix`, paged,
    /// each converted as its page arrives (raw items are large; only the
    /// converted values are kept).
    async fn query_prefix<T>(
        &self,
        pk: &str,
        prefix: &str,
        projection: Option<&str>,
        convert: impl Fn(Item) -> StoreResult<T> + Send + Sync,
    ) -> StoreResult<Vec<T>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take());
            q = in_partition(q, pk, prefix);
            if let Some(p) = projection {
                q = q.projection_expression(p);
            }
            let out = q.send().await.map_err(sdk_error)?;
            for item in out.items.unwrap_or_default() {
                items.push(convert(item)?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// The first `limit` items of a partition (whose sort key starts with
    /// `prefix`, unless empty), highest sort key (newest) first. One page:
    /// `limit` is at most 1,000.
    async fn newest_in_partition(
        &self,
        pk: &str,
        prefix: &str,
        limit: i32,
    ) -> StoreResult<Vec<Item>> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .scan_index_forward(false)
            .limit(limit)
            .consistent_read(true);
        q = in_partition(q, pk, prefix);
        let out = q.send().await.map_err(sdk_error)?;
        Ok(out.items.unwrap_or_default())
    }

    /// Items of a GSI partition, newest (highest sort key) first.
    async fn query_index(
        &self,
        index: &str,
        pk: &str,
        limit: Option<usize>,
    ) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(format!("{index}pk = :pk"))
                .expression_attribute_values(":pk", s(pk))
                .scan_index_forward(false)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk_error)?;
            items.extend(out.items.unwrap_or_default());
            if limit.is_some_and(|l| items.len() >= l) {
                items.truncate(limit.unwrap_or(usize::MAX));
                return Ok(items);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    fn entity_item(tenant: &str, write: &EntityWrite) -> Option<Item> {
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
    async fn batch_put(&self, items: Vec<Item>) -> StoreResult<u64> {
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

    async fn send_batch(&self, mut batch: Vec<WriteRequest>) -> StoreResult<()> {
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
    async fn set_archived(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
        by: ArchivedBy,
        at: DateTime<Utc>,
        run: Option<&str>,
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
        let update = match run {
            Some(run) => update
                .update_expression("SET archived_by = :by, archived_at = :at, archived_run = :run")
                .expression_attribute_values(":run", s(run)),
            None => update
                .update_expression("SET archived_by = :by, archived_at = :at REMOVE archived_run"),
        };
        update.send().await.map(|_| ())
    }

    async fn archive_one(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
        at: DateTime<Utc>,
        run: &str,
    ) -> StoreResult<()> {
        let mut attempt = 0;
        loop {
            match self
                .set_archived(tenant, kind, sourced_id, ArchivedBy::Sync, at, Some(run))
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

    fn run_items(run: &RunRecord) -> StoreResult<(Item, Item)> {
        let text = serde_json::to_string(run).map_err(json_error)?;
        let mut listing = key(
            format!("T#{}#RUNS", run.tenant),
            format!("RUN#{}", run.run_id),
        );
        listing.insert("record".into(), s(text.clone()));
        listing.insert("gsi1pk".into(), s("RUNS"));
        listing.insert("gsi1sk".into(), s(run.run_id.as_str()));
        let mut by_id = key(format!("RUN#{}", run.run_id), "RUN".into());
        by_id.insert("record".into(), s(text));
        by_id.insert("tenant".into(), s(run.tenant.as_str()));
        Ok((listing, by_id))
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
        let expires = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
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
            .send()
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
        let until = now + chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
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
            .send()
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
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => Ok(()),
            Err(e) => Err(sdk_error(e)),
        }
    }
}

fn summary_of(item: Item) -> StoreResult<StoredSummary> {
    let sis = item
        .get("sis")
        .map(attribute_to_json)
        .unwrap_or(Value::Null);
    Ok(StoredSummary {
        sourced_id: need_s(&item, "sid")?.to_string(),
        digest: SisContent::from_value(sis).digest(),
        archived: item.contains_key("archived_by"),
        first_seen_at: parse_ts(need_s(&item, "first_seen_at")?)?,
        first_seen_run: need_s(&item, "first_seen_run")?.to_string(),
    })
}

fn record_of(item: &Item) -> StoreResult<RunRecord> {
    serde_json::from_str(need_s(item, "record")?).map_err(json_error)
}

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

impl Records for DynamoStore {
    fn name(&self) -> &'static str {
        "dynamodb"
    }

    async fn load_summaries(
        &self,
        tenant: &str,
        kind: EntityKind,
    ) -> StoreResult<Vec<StoredSummary>> {
        let projection = "sid, sis, archived_by, first_seen_at, first_seen_run";
        let shards = stream::iter((0..SHARDS).map(|shard| {
            let pk = shard_pk(tenant, kind, shard);
            async move {
                self.query_prefix(&pk, "E#", Some(projection), summary_of)
                    .await
            }
        }))
        .buffer_unordered(8)
        .try_collect::<Vec<Vec<StoredSummary>>>()
        .await?;
        Ok(shards.into_iter().flatten().collect())
    }

    async fn get_entity(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
    ) -> StoreResult<Option<StoredEntity>> {
        let pk = entity_pk(tenant, kind, sourced_id);
        let Some(item) = self
            .get_item(key(pk.clone(), format!("E#{sourced_id}")))
            .await?
        else {
            return Ok(None);
        };
        let platform = self.get_item(key(pk, format!("P#{sourced_id}"))).await?;
        let primary_admin = platform
            .and_then(|p| {
                p.get("primary_admin")
                    .and_then(|v| v.as_bool().ok())
                    .copied()
            })
            .unwrap_or(false);
        let archive = match (get_s(&item, "archived_by"), get_s(&item, "archived_at")) {
            (Some(by), Some(at)) => Some(ArchiveInfo {
                by: ArchivedBy::parse(by),
                at: parse_ts(at)?,
                run: get_s(&item, "archived_run").map(String::from),
            }),
            _ => None,
        };
        Ok(Some(StoredEntity {
            kind,
            sourced_id: sourced_id.to_string(),
            sis: SisContent::from_value(
                item.get("sis")
                    .map(attribute_to_json)
                    .unwrap_or(Value::Null),
            ),
            archive,
            first_seen_at: parse_ts(need_s(&item, "first_seen_at")?)?,
            first_seen_run: need_s(&item, "first_seen_run")?.to_string(),
            updated_at: parse_ts(need_s(&item, "updated_at")?)?,
            updated_run: need_s(&item, "updated_run")?.to_string(),
            primary_admin,
        }))
    }

    async fn lookup(&self, tenant: &str, lookup: &Lookup) -> StoreResult<Vec<String>> {
        let (index, pk) = match lookup {
            Lookup::UsersByEmail(v) => ("gsi1", format!("T#{tenant}#EMAIL#{}", v.to_lowercase())),
            Lookup::UsersByUsername(v) => {
                ("gsi2", format!("T#{tenant}#USERNAME#{}", v.to_lowercase()))
            }
            Lookup::ClassesOfSchool(v) => ("gsi1", format!("T#{tenant}#SCHOOL#{v}")),
            Lookup::EnrollmentsOfClass(v) => ("gsi1", format!("T#{tenant}#CLASS#{v}")),
            Lookup::EnrollmentsOfUser(v) => ("gsi2", format!("T#{tenant}#USER#{v}")),
        };
        let kind = lookup.kind().file_name();
        let items = self.query_index(index, &pk, None).await?;
        let mut ids: Vec<String> = items
            .iter()
            .filter(|i| get_s(i, "kind") == Some(kind))
            .filter_map(|i| get_s(i, "sid").map(String::from))
            .collect();
        ids.sort();
        Ok(ids)
    }

    async fn write(&self, tenant: &str, writes: &[EntityWrite]) -> StoreResult<u64> {
        let puts: Vec<Item> = writes
            .iter()
            .filter_map(|w| Self::entity_item(tenant, w))
            .collect();
        let mut written = self.batch_put(puts).await?;
        let archives: Vec<(EntityKind, String, DateTime<Utc>, String)> = writes
            .iter()
            .filter_map(|w| match w {
                EntityWrite::Archive {
                    kind,
                    sourced_id,
                    at,
                    run,
                } => Some((*kind, sourced_id.clone(), *at, run.clone())),
                EntityWrite::Put { .. } => None,
            })
            .collect();
        let archived = archives.len() as u64;
        stream::iter(archives.into_iter().map(|(kind, id, at, run)| async move {
            self.archive_one(tenant, kind, &id, at, &run).await
        }))
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
        written += archived;
        Ok(written)
    }
}

impl PrimaryAdmins for DynamoStore {
    async fn primary_admins(&self, tenant: &str) -> StoreResult<Vec<String>> {
        let items = self
            .query_index("gsi1", &format!("T#{tenant}#PRIMARY_ADMIN"), None)
            .await?;
        let mut ids: Vec<String> = items
            .iter()
            .filter_map(|i| get_s(i, "gsi1sk").map(String::from))
            .collect();
        ids.sort();
        Ok(ids)
    }

    async fn set_primary_admin(
        &self,
        tenant: &str,
        sourced_id: &str,
        primary: bool,
    ) -> StoreResult<()> {
        let pk = entity_pk(tenant, EntityKind::Users, sourced_id);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, format!("P#{sourced_id}"))));
        let update = if primary {
            update
                .update_expression("SET primary_admin = :t, gsi1pk = :gpk, gsi1sk = :gsk")
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .expression_attribute_values(":gpk", s(format!("T#{tenant}#PRIMARY_ADMIN")))
                .expression_attribute_values(":gsk", s(sourced_id))
        } else {
            update
                .update_expression("SET primary_admin = :f REMOVE gsi1pk, gsi1sk")
                .expression_attribute_values(":f", AttributeValue::Bool(false))
        };
        update.send().await.map_err(sdk_error)?;
        Ok(())
    }
}

impl Runs for DynamoStore {
    async fn put_run(&self, run: &RunRecord) -> StoreResult<()> {
        let (listing, by_id) = Self::run_items(run)?;
        self.put_item(by_id).await?;
        self.put_item(listing).await
    }

    async fn get_run(&self, run_id: &str) -> StoreResult<Option<RunRecord>> {
        self.get_item(key(format!("RUN#{run_id}"), "RUN".into()))
            .await?
            .map(|i| record_of(&i))
            .transpose()
    }

    async fn list_runs(&self, tenant: Option<&str>, limit: usize) -> StoreResult<Vec<RunRecord>> {
        let items = match tenant {
            Some(t) => {
                self.newest_in_partition(&format!("T#{t}#RUNS"), "RUN#", limit.min(1000) as i32)
                    .await?
            }
            None => self.query_index("gsi1", "RUNS", Some(limit)).await?,
        };
        items.iter().map(record_of).collect()
    }
}

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
            .send()
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
            .send()
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

impl Leases for DynamoStore {
    async fn acquire_lease(
        &self,
        tenant: &str,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<LeaseOutcome> {
        let lease_key = key(format!("TENANT#{tenant}"), "LEASE".into());
        let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
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
            match put.send().await {
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
        let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
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
            .send()
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
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => Ok(()),
            Err(e) => Err(sdk_error(e)),
        }
    }
}

impl PlatformEdits for DynamoStore {
    async fn archive_by_hand(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.set_archived(tenant, kind, sourced_id, ArchivedBy::Manual, now, None)
            .await
            .map_err(sdk_error)
    }

    async fn edit_sis_field(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
        field: &str,
        value: &str,
    ) -> StoreResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                entity_pk(tenant, kind, sourced_id),
                format!("E#{sourced_id}"),
            )))
            .update_expression("SET sis.#f = :v")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#f", field)
            .expression_attribute_values(":v", s(value))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_attributes() {
        let value = json!({"a": "x", "b": true, "c": 3, "d": ["1", "2"], "e": {"f": "g"}});
        assert_eq!(attribute_to_json(&json_to_attribute(&value)), value);
    }

    #[test]
    fn shards_spread_ids_and_are_stable() {
        let mut counts = [0u32; SHARDS as usize];
        for i in 0..32_000 {
            counts[shard_of(&format!("stu-{i:06}")) as usize] += 1;
        }
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "{counts:?}");
        assert_eq!(
            entity_pk("d1", EntityKind::Users, "u1"),
            entity_pk("d1", EntityKind::Users, "u1")
        );
    }

    #[test]
    fn backoff_is_bounded_full_jitter() {
        for attempt in 0..20 {
            assert!(backoff(attempt) <= Duration::from_secs(5));
        }
    }
}
