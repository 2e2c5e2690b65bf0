//! Test support: the project's local OneRoster server, generated districts,
//! and clients for moto (Secrets Manager) and DynamoDB Local.
#![allow(dead_code)]

pub use testkit::servers::Server;

pub use testkit::servers::{control, district_package as district, oneroster_server as start};

#[allow(unused_imports)]
pub use testkit::{secrets_client, sqs_client, unique};

pub async fn dynamo_store() -> roster_dynamodb::DynamoStore {
    testkit::dynamo_store("pull").await
}
