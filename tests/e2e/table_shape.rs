//! The DynamoDB table template.yaml declares and the one
//! `DynamoStore::ensure_table` creates (local runs, tests) have the same
//! shape: key schema, attribute definitions, indexes, billing mode and TTL.
//!
//! The template's table is created on DynamoDB Local from template.yaml itself
//! (infra/local/resources.py), the store's by `ensure_table`; both are then
//! described by DynamoDB Local. Needs ROSTER_DYNAMODB_ENDPOINT,
//! ROSTER_MOTO_ENDPOINT (resources.py also creates the bucket) and
//! ROSTER_TEMPLATE_PYTHON; fails loudly without them.

use aws_sdk_dynamodb::types::{KeySchemaElement, Projection};
use aws_sdk_dynamodb::Client;

/// One index: name, key schema, projection (type, non-key attributes).
type Index = (String, Vec<(String, String)>, (String, Vec<String>));

/// What both tables must agree on, each list sorted.
#[derive(Debug, PartialEq)]
struct Shape {
    key_schema: Vec<(String, String)>,
    attributes: Vec<(String, String)>,
    global_indexes: Vec<Index>,
    local_indexes: Vec<Index>,
    billing_mode: Option<String>,
    ttl: (Option<String>, Option<String>),
}

fn keys(schema: &[KeySchemaElement]) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = schema
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect();
    keys.sort();
    keys
}

fn projection(projection: Option<&Projection>) -> (String, Vec<String>) {
    let kind = projection
        .and_then(|p| p.projection_type())
        .map(|t| t.as_str().to_string())
        .unwrap_or_default();
    let mut attributes = projection
        .map(|p| p.non_key_attributes().to_vec())
        .unwrap_or_default();
    attributes.sort();
    (kind, attributes)
}

async fn shape(client: &Client, table: &str) -> Shape {
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeTable {table} on DynamoDB Local: {e:?}"))
        .table
        .unwrap_or_else(|| panic!("DescribeTable {table}: no table description"));
    let mut attributes: Vec<(String, String)> = described
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_string(),
                a.attribute_type().as_str().to_string(),
            )
        })
        .collect();
    attributes.sort();
    let mut global_indexes: Vec<Index> = described
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap_or_default().to_string(),
                keys(i.key_schema()),
                projection(i.projection()),
            )
        })
        .collect();
    global_indexes.sort();
    let mut local_indexes: Vec<Index> = described
        .local_secondary_indexes()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap_or_default().to_string(),
                keys(i.key_schema()),
                projection(i.projection()),
            )
        })
        .collect();
    local_indexes.sort();
    let ttl = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeTimeToLive {table} on DynamoDB Local: {e:?}"))
        .time_to_live_description;
    Shape {
        key_schema: keys(described.key_schema()),
        attributes,
        global_indexes,
        local_indexes,
        billing_mode: described
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str().to_string()),
        ttl: (
            ttl.as_ref()
                .and_then(|t| t.time_to_live_status())
                .map(|s| s.as_str().to_string()),
            ttl.as_ref()
                .and_then(|t| t.attribute_name())
                .map(String::from),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_templates_table_and_ensure_tables_have_the_same_shape() {
    let client = testkit::dynamodb_client(&testkit::dynamodb());

    let template_table = testkit::unique("shape-template");
    testkit::template::create_resources(&template_table, &testkit::unique("shape-bucket"));
    let store = testkit::dynamo_store("shape-store").await;

    let template = shape(&client, &template_table).await;
    let ensured = shape(&client, store.table()).await;
    assert_eq!(
        template, ensured,
        "template.yaml's RosterTable (left, via infra/local/resources.py) and DynamoStore::ensure_table (right) differ"
    );
    // Both agree, and on something: not two empty descriptions.
    assert_eq!(
        template.key_schema,
        [("pk".into(), "HASH".into()), ("sk".into(), "RANGE".into())],
        "{template:#?}"
    );
    assert_eq!(template.global_indexes.len(), 2, "{template:#?}");
    assert_eq!(
        template.billing_mode.as_deref(),
        Some("PAY_PER_REQUEST"),
        "{template:#?}"
    );
    assert_eq!(
        template.ttl,
        (Some("ENABLED".into()), Some("ttl".into())),
        "{template:#?}"
    );
}
