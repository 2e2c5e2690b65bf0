//! Test support: real S3 and SQS (moto server) and DynamoDB (DynamoDB Local),
//! on the endpoints infra/test.sh starts; events built as S3 sends them.
#![allow(dead_code)]

use csv_ingest::{Ingest, IngestConfig};
use roster::roles::*;
use roster::{DynamoStore, TenantConfig};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cloud::continuation::ContinuationQueue;
#[allow(unused_imports)]
pub use testkit::{dynamodb, dynamodb_client, moto, s3_client, sqs_client, unique};

/// A fresh bucket (versioned), queue and table, and an Ingest over them.
pub struct World {
    pub ingest: Ingest<DynamoStore>,
    pub bucket: String,
    pub queue_url: String,
    pub dir: tempfile::TempDir,
}

impl World {
    pub async fn new() -> World {
        Self::with_dynamodb(&dynamodb()).await
    }

    pub async fn with_dynamodb(ddb_endpoint: &str) -> World {
        let s3 = s3_client();
        let sqs = sqs_client();
        let bucket = unique("inbound");
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("bucket on moto");
        s3.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("versioning");
        let queue_url = sqs
            .create_queue()
            .queue_name(unique("continue"))
            .send()
            .await
            .expect("queue on moto")
            .queue_url
            .expect("queue url");
        let table = unique("roster");
        let store = DynamoStore::new(dynamodb_client(ddb_endpoint), table.clone());
        if ddb_endpoint == dynamodb() {
            store.ensure_table().await.expect("table on DynamoDB Local");
        }
        let dir = tempfile::tempdir().unwrap();
        let ingest = Ingest {
            s3,
            continuations: Some(ContinuationQueue::new(sqs, queue_url.clone())),
            notices: None,
            store,
            config: IngestConfig {
                table,
                bucket: bucket.clone(),
                incomplete_window: Duration::from_secs(7200),
                continue_margin: Duration::from_secs(0),
                continue_queue_url: Some(queue_url.clone()),
                tenant_wait: Duration::from_secs(5),
                overdue_days: 3,
                notice_topic_arn: None,
            },
            scratch: dir.path().join("scratch"),
        };
        World {
            ingest,
            bucket,
            queue_url,
            dir,
        }
    }

    pub async fn tenant(&self, id: &str) -> TenantConfig {
        let t = TenantConfig::new(id).unwrap();
        self.ingest.store.put_tenant(&t).await.unwrap();
        t
    }

    /// Uploads bytes; returns (version id, etag).
    pub async fn put(&self, key: &str, body: Vec<u8>) -> (Option<String>, Option<String>) {
        let out = self
            .ingest
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .expect("put object");
        (
            out.version_id,
            out.e_tag.map(|e| e.trim_matches('"').to_string()),
        )
    }

    pub async fn put_file(&self, key: &str, path: &Path) -> Value {
        let (version, etag) = self.put(key, std::fs::read(path).unwrap()).await;
        s3_event(&self.bucket, key, version.as_deref(), etag.as_deref())
    }

    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let out = self
            .ingest
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        let mut keys: Vec<String> = out
            .contents()
            .iter()
            .filter_map(|o| o.key().map(String::from))
            .collect();
        keys.sort();
        keys
    }

    pub async fn get_json(&self, key: &str) -> Value {
        let out = self
            .ingest
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: {e:?}"));
        let bytes = out.body.collect().await.unwrap().into_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// A generated district as a folder (and a zip of it).
    pub fn district(&self, name: &str, students: u32) -> PathBuf {
        let out = self.dir.path().join(name);
        district::generate(
            &district::GenerateOptions {
                students,
                seed: 5,
                rollovers: 0,
            },
            &out,
        )
        .unwrap();
        out
    }

    pub fn zip_of(&self, folder: &Path) -> PathBuf {
        let path = folder.with_extension("zip");
        testkit::zip::zip_folder(folder, &path);
        path
    }
}

/// Characters S3 leaves as they are in event keys (space becomes `+`).
pub use testkit::events::s3_event;
