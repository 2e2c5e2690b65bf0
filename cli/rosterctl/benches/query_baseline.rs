//! The baseline of a DynamoDB re-sync (issue #16): a plain parallel `Query` of
//! every stored record of a tenant with the AWS SDK, as the store reads them
//! (every shard of every type, 8 in flight, the same projection), nothing
//! else. Run by `infra/bench/dynamodb.sh` against the table it synced.
//!
//! Environment: `ROSTER_BENCH_TABLE`, `ROSTER_BENCH_TENANT` (default `bench`),
//! and the endpoint (`AWS_ENDPOINT_URL_DYNAMODB`). Prints "SECONDS ITEMS".

use aws_sdk_dynamodb::types::AttributeValue;
use futures::stream::{self, StreamExt, TryStreamExt};
use oneroster::EntityKind;
use roster_dynamodb::{shard_pk, SHARDS};
use std::time::Instant;

async fn partition(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: String,
) -> Result<usize, aws_sdk_dynamodb::Error> {
    let mut items = 0;
    let mut start = None;
    loop {
        let out = client
            .query()
            .table_name(table)
            .consistent_read(true)
            .key_condition_expression("pk = :pk AND begins_with(sk, :e)")
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .expression_attribute_values(":e", AttributeValue::S("E#".into()))
            .projection_expression(
                "sid, sis, archived_by, first_seen_at, first_seen_run, provisional",
            )
            .set_exclusive_start_key(start)
            .send()
            .await?;
        items += out.items().len();
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(items),
        }
    }
}

#[tokio::main]
async fn main() {
    let table = std::env::var("ROSTER_BENCH_TABLE").expect("ROSTER_BENCH_TABLE names the table");
    let tenant = std::env::var("ROSTER_BENCH_TENANT").unwrap_or_else(|_| "bench".into());
    let client = roster_dynamodb::DynamoStore::client_from_env().await;
    let partitions: Vec<String> = EntityKind::ALL
        .iter()
        .flat_map(|kind| {
            let tenant = &tenant;
            (0..SHARDS).map(move |shard| shard_pk(tenant, *kind, shard))
        })
        .collect();
    let started = Instant::now();
    let counts: Vec<usize> = stream::iter(
        partitions
            .into_iter()
            .map(|pk| partition(&client, &table, pk)),
    )
    .buffer_unordered(8)
    .try_collect()
    .await
    .expect("the queries succeed");
    println!(
        "{:.2} {}",
        started.elapsed().as_secs_f64(),
        counts.iter().sum::<usize>()
    );
}
