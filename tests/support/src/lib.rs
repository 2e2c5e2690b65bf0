//! Test support shared by the integration tests of every crate (a
//! dev-dependency only): clients for the local emulators that `infra/test.sh`
//! starts (moto for S3, SQS, SNS, Secrets Manager and Scheduler; DynamoDB Local),
//! a Lambda Runtime API emulator that runs a real function binary, a runner
//! for the CLI, the stack's resources from template.yaml, the OneRoster
//! samples, zip writers, and fault-injecting proxies for DynamoDB (`faults`)
//! and in front of moto (`moto_faults`).
//!
//! A test that needs an emulator panics with a clear message when its
//! endpoint variable is not set: tests never pass by skipping.

pub mod binaries;
pub mod browser;
pub mod cli;
pub mod events;
pub mod faults;
pub mod moto_faults;
pub mod notices;
pub mod runtime_api;
pub mod samples;
pub mod servers;
pub mod template;
pub mod v1p2;
pub mod zip;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use roster_dynamodb::DynamoStore;
use std::process::Command;
use std::time::Duration;

/// An emulator endpoint from the environment, or a loud failure.
pub fn endpoint(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the suite with infra/test.sh (it starts moto and DynamoDB Local), or start them with infra/local/*.sh and export the endpoints")
    })
}

/// moto server (`ROSTER_MOTO_ENDPOINT`).
pub fn moto() -> String {
    endpoint("ROSTER_MOTO_ENDPOINT")
}

/// DynamoDB Local (`ROSTER_DYNAMODB_ENDPOINT`).
pub fn dynamodb() -> String {
    endpoint("ROSTER_DYNAMODB_ENDPOINT")
}

/// A unique name for a table, bucket, queue or secret.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// The environment of a child process of the stack (a function binary,
/// rosterctl) on the local emulators: a region, dummy credentials, moto for
/// every service and DynamoDB Local for DynamoDB. Panics if either endpoint
/// variable is not set.
pub fn aws_env(command: &mut Command) -> &mut Command {
    command
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", moto())
        .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb())
}

fn credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "tests")
}

/// The SDK configuration for moto: its endpoint, a region, dummy credentials.
pub fn moto_config() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(moto())
        .region(Region::new("us-east-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials()),
        )
        .build()
}

/// S3 on moto (path-style addressing).
pub fn s3_client() -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&moto_config())
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Gives the people of the package `folder` whose sourcedIds hold `from`
/// that text as `to` instead, in `users.csv` and the files naming them
/// (`enrollments.csv`, `demographics.csv`); their other ids are kept, so
/// exact keys pair old and new (a district's SIS re-keying them).
pub fn rekey_in_package(folder: &std::path::Path, from: &str, to: &str) {
    for file in ["users.csv", "enrollments.csv", "demographics.csv"] {
        let path = folder.join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }
}

/// A new bucket on moto, named `prefix` and a unique suffix: its name.
pub async fn s3_bucket(prefix: &str) -> String {
    let bucket = unique(prefix);
    s3_client()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("bucket {bucket} on moto: {e:?}"));
    bucket
}

/// An S3 object's bytes on moto.
pub async fn s3_object(bucket: &str, key: &str) -> Vec<u8> {
    let object = s3_client()
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await;
    let object = object.unwrap_or_else(|e| panic!("s3://{bucket}/{key}: {e:?}"));
    object.body.collect().await.unwrap().into_bytes().to_vec()
}

/// An S3 object's tags on moto, as (key, value) pairs.
pub async fn s3_tags(bucket: &str, key: &str) -> Vec<(String, String)> {
    s3_client()
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("tags of s3://{bucket}/{key}: {e:?}"))
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// SQS on moto.
pub fn sqs_client() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&moto_config())
}

/// Secrets Manager on moto.
pub fn secrets_client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&moto_config())
}

/// The JSON value of secret `name` on moto (a test reads back what a command stored).
pub async fn stored_secret(name: &str) -> serde_json::Value {
    let stored = secrets_client()
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("secret {name}: {e}"));
    serde_json::from_str(stored.secret_string().expect("a string secret")).expect("JSON")
}

/// Creates a secret with a plain string value on moto.
pub async fn create_secret(name: &str, value: &str) {
    secrets_client()
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|e| panic!("secret {name} not created on moto: {e}"));
}

/// EventBridge Scheduler on moto.
pub fn scheduler_client() -> aws_sdk_scheduler::Client {
    aws_sdk_scheduler::Client::new(&moto_config())
}

/// A DynamoDB client for `endpoint`, with short timeouts and few retries so
/// that outage tests fail fast.
pub fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials())
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(2))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A store over a fresh table (named after `prefix`) on DynamoDB Local.
pub async fn dynamo_store(prefix: &str) -> DynamoStore {
    let store = DynamoStore::new(dynamodb_client(&dynamodb()), unique(prefix));
    store
        .ensure_table()
        .await
        .expect("table created on DynamoDB Local");
    store
}
