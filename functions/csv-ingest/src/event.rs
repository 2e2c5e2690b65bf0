//! What invokes the function: S3 notifications, continuation messages from
//! the queue, and the periodic sweep.

use aws_lambda_events::s3::S3Event;
use aws_lambda_events::sqs::SqsEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One object to process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Bucket.
    pub bucket: String,
    /// Key, decoded.
    pub key: String,
    /// Version id (versioned buckets).
    pub version_id: Option<String>,
    /// ETag.
    pub etag: Option<String>,
    /// When the event happened.
    pub event_time: Option<DateTime<Utc>>,
}

impl ObjectRef {
    /// The idempotency key of this delivery: bucket, key and version (or ETag).
    pub fn claim_key(&self) -> String {
        let version = self
            .version_id
            .as_deref()
            .or(self.etag.as_deref())
            .unwrap_or("-");
        format!("OBJ#{}/{}#{version}", self.bucket, self.key)
    }
}

/// A unit of work carried by the continuation queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// The object whose processing continues.
    pub object: ObjectRef,
    /// How many times it has been continued or deferred.
    pub attempt: u32,
}

/// A decoded invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// Objects created (S3 notification, or continuations from the queue).
    Objects(Vec<(ObjectRef, u32)>),
    /// The periodic sweep of incomplete loose-file sets.
    Sweep,
}

/// Why an event could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unrecognised event: {0}")]
pub struct UnknownEvent(pub String);

/// Decodes any event the function is wired to receive.
pub fn decode(event: Value) -> Result<Invocation, UnknownEvent> {
    if event.get("sweep").and_then(Value::as_bool) == Some(true) {
        return Ok(Invocation::Sweep);
    }
    let source = event
        .pointer("/Records/0/eventSource")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match source.as_str() {
        "aws:s3" => {
            let s3: S3Event = serde_json::from_value(event)
                .map_err(|e| UnknownEvent(format!("S3 event: {e}")))?;
            let mut objects = Vec::new();
            for record in s3.records {
                let bucket = record.s3.bucket.name.clone().unwrap_or_default();
                let raw_key = record.s3.object.key.clone().unwrap_or_default();
                let key = crate::keys::decode_event_key(&raw_key).map_err(UnknownEvent)?;
                objects.push((
                    ObjectRef {
                        bucket,
                        key,
                        version_id: record
                            .s3
                            .object
                            .version_id
                            .clone()
                            .filter(|v| !v.is_empty()),
                        etag: record.s3.object.e_tag.clone().filter(|v| !v.is_empty()),
                        event_time: Some(record.event_time),
                    },
                    0,
                ));
            }
            Ok(Invocation::Objects(objects))
        }
        "aws:sqs" => {
            let sqs: SqsEvent = serde_json::from_value(event)
                .map_err(|e| UnknownEvent(format!("SQS event: {e}")))?;
            let mut objects = Vec::new();
            for message in sqs.records {
                let body = message.body.unwrap_or_default();
                let c: Continuation = serde_json::from_str(&body)
                    .map_err(|e| UnknownEvent(format!("continuation message: {e}")))?;
                objects.push((c.object, c.attempt));
            }
            Ok(Invocation::Objects(objects))
        }
        other => Err(UnknownEvent(format!("event source `{other}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s3_event(key: &str) -> Value {
        json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-11-28T10:00:00.000Z", "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "x"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
                   "bucket": {"name": "inbound-bucket", "ownerIdentity": {"principalId": "x"}, "arn": "arn:aws:s3:::inbound-bucket"},
                   "object": {"key": key, "size": 10, "eTag": "abc", "versionId": "v1", "sequencer": "1"}}
        }]})
    }

    #[test]
    fn s3_events_decode_with_their_keys() {
        let Invocation::Objects(objects) = decode(s3_event("inbound/d1/My+Export.zip")).unwrap()
        else {
            panic!("objects expected");
        };
        let (o, attempt) = &objects[0];
        assert_eq!(
            (o.bucket.as_str(), o.key.as_str(), attempt),
            ("inbound-bucket", "inbound/d1/My Export.zip", &0)
        );
        assert_eq!(
            o.claim_key(),
            "OBJ#inbound-bucket/inbound/d1/My Export.zip#v1"
        );
    }

    #[test]
    fn continuations_and_sweeps_decode() {
        let c = Continuation {
            object: ObjectRef {
                bucket: "b".into(),
                key: "inbound/d1/x.zip".into(),
                version_id: None,
                etag: Some("e".into()),
                event_time: None,
            },
            attempt: 3,
        };
        let event = json!({"Records": [{"messageId": "m", "eventSource": "aws:sqs", "body": serde_json::to_string(&c).unwrap()}]});
        assert_eq!(
            decode(event).unwrap(),
            Invocation::Objects(vec![(c.object, 3)])
        );
        assert_eq!(decode(json!({"sweep": true})).unwrap(), Invocation::Sweep);
        assert!(decode(json!({"hello": 1})).is_err());
    }
}
