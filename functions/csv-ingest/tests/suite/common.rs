//! Test support: real S3 and SQS (moto server) and DynamoDB (DynamoDB Local),
//! on the endpoints infra/test.sh starts; events built as S3 sends them.
#![allow(dead_code)]

use csv_ingest::event::{IngestEvent, Invocation};
use csv_ingest::{Ingest, IngestConfig};
use roster::roles::*;
use roster::TenantConfig;
use roster_dynamodb::DynamoStore;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cloud::continuation::ContinuationQueue;
#[allow(unused_imports)]
pub use testkit::{dynamodb, dynamodb_client, moto, s3_client, sqs_client, unique};

/// What the handler hands to the ingest: the typed event, decoded from
/// `event` as the Lambda runtime decodes it, then its invocation.
pub fn decode(event: Value) -> Result<Invocation, String> {
    serde_json::from_value::<IngestEvent>(event)
        .map_err(|e| e.to_string())?
        .into_invocation()
        .map_err(|e| e.to_string())
}

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
                max_delivery_bytes: csv_ingest::config::DEFAULT_MAX_DELIVERY_MB * 1024 * 1024,
                default_pause: None,
                retain_archived_days: 365,
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
                oneroster: district::OneRosterVersion::V1p1,
            },
            &out,
        )
        .unwrap();
        out
    }

    /// Takes the continuation message off the queue: the SQS event Lambda
    /// gives for it.
    pub async fn next_continuation(&self) -> Value {
        let received = sqs_client()
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(1)
            .send()
            .await
            .unwrap();
        let message = received
            .messages()
            .first()
            .expect("a continuation message")
            .clone();
        let receipt = message.receipt_handle().unwrap();
        sqs_client()
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .send()
            .await
            .unwrap();
        serde_json::json!({"Records": [{"messageId": message.message_id(), "eventSource": "aws:sqs", "body": message.body()}]})
    }

    /// Everything left under the scratch space (paths relative to it): a
    /// finished invocation, whatever its outcome, leaves nothing there.
    pub fn scratch_left(&self) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                out.push(path.strip_prefix(root).unwrap().display().to_string());
                if path.is_dir() {
                    walk(&path, root, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.ingest.scratch, &self.ingest.scratch, &mut out);
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

/// A TCP proxy in front of moto that cuts each connection once `budget` bytes
/// have come back from moto: a download dropped mid-way. Its endpoint.
pub fn cutting_proxy(budget: usize) -> String {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let target = moto().trim_start_matches("http://").to_string();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let target = target.clone();
            std::thread::spawn(move || {
                let Ok(mut server) = TcpStream::connect(&target) else {
                    return;
                };
                let (mut from_client, mut to_server) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || std::io::copy(&mut from_client, &mut to_server));
                let (mut sent, mut buf) = (0, [0u8; 4096]);
                while sent < budget {
                    let n = match server.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n.min(budget - sent),
                    };
                    if client.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    sent += n;
                }
                let _ = client.shutdown(Shutdown::Both);
                let _ = server.shutdown(Shutdown::Both);
            });
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// S3 on moto through `endpoint` (a proxy).
pub fn s3_client_via(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&testkit::moto_config())
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
