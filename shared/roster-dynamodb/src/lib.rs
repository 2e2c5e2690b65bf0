//! The production store: one DynamoDB table (see `docs/data-model.md` for
//! every item type and access pattern).
//!
//! Entities of a tenant and type are spread over [`SHARDS`] partition keys
//! (by a hash of the sourcedId), so a district's first load is not limited to
//! one partition's 1,000 writes per second. Sync-owned data (`E#` items) and
//! platform-owned data (`P#` items) are separate items: a sync's `PutItem`
//! replaces only the former, so it cannot clobber the Primary Administrator flag.

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
use roster::content::{IndexKeys, SisContent};
use roster::run::RunRecord;
use roster::store::*;
use roster::tenant::{TenantConfig, TenantState};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use xxhash_rust::xxh3::xxh3_64;

mod coordination;
mod erasure;
mod items;
mod meter;
mod offboarding;
mod one_time;
mod records;
mod requests;
mod runs;
mod table;
mod tenants;
mod writes;

use items::*;
pub use items::{attribute_to_json, entity_pk, json_to_attribute, shard_of, shard_pk};
pub use meter::Meter;
use meter::{MeteredSend, RetryCounter};

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
    /// What the requests consumed (shared by the clones).
    meter: std::sync::Arc<Meter>,
}

impl DynamoStore {
    /// A store over `table` with a client built by the caller (once,
    /// outside handlers). The store's copy of the client counts the SDK's
    /// retries in the store's [`Meter`].
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        let meter = std::sync::Arc::new(Meter::default());
        let config = client
            .config()
            .to_builder()
            .interceptor(RetryCounter(meter.clone()))
            .build();
        DynamoStore {
            client: Client::from_conf(config),
            table: table.into(),
            meter,
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
}

#[cfg(test)]
mod tests {
    use super::writes::backoff;
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
