//! DynamoDB attribute values, item keys and shards, and SDK errors as store errors.

use super::*;

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A query of partition `pk`, limited to sort keys starting with `prefix` unless it is empty.
pub(super) fn in_partition(
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
pub(super) fn ttl_at(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp().to_string())
}

pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(super) fn parse_ts(text: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::permanent(format!("bad timestamp `{text}` in table")).because(e))
}

pub(super) fn get_s<'i>(item: &'i Item, key: &str) -> Option<&'i str> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(super) fn need_s<'i>(item: &'i Item, key: &str) -> StoreResult<&'i str> {
    get_s(item, key).ok_or_else(|| StoreError::permanent(format!("item lacks attribute `{key}`")))
}

/// An SDK error as a store error, classified by `cloud::classify` (the one
/// list of retryable codes), the SDK error kept as the source.
pub(super) fn sdk_error<E>(e: SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = cloud::failure::service_code(&e)
        .unwrap_or("no response")
        .to_string();
    let context = format!("DynamoDB: {code}");
    match cloud::classify(&e) {
        cloud::Retry::Retryable => StoreError::unavailable(context),
        cloud::Retry::Permanent => StoreError::permanent(context),
    }
    .because(e)
}

pub(super) fn is_condition_failed<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
    cloud::failure::service_code(e) == Some("ConditionalCheckFailedException")
}

pub(super) fn json_error(e: serde_json::Error) -> StoreError {
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

/// The partition key of one shard of a tenant's records of a type.
pub fn shard_pk(tenant: &str, kind: EntityKind, shard: u64) -> String {
    format!("T#{tenant}#{}#{shard:02}", kind.file_name())
}

pub(super) fn key(pk: String, sk: String) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}
