//! What invokes the function: S3 notifications, continuation messages from
//! the queue, and the periodic sweep.

use aws_lambda_events::s3::{S3Event, S3EventRecord};
use aws_lambda_events::sqs::SqsEventObj;
use chrono::{DateTime, Utc};
pub use cloud::event::UnknownEvent;
use cloud::event::{typed_records, Payload};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
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
    /// The daily retention pass: archived people's personal data erased.
    Retention,
}

/// Every event the function is wired to receive, typed. The Lambda runtime
/// decodes it; a payload that is none of them fails the invocation with an
/// [`UnknownEvent`] message saying what was seen.
#[derive(Debug, Clone, PartialEq)]
pub enum IngestEvent {
    /// S3 notifications: objects created under `inbound/`.
    S3(S3Event),
    /// Continuation messages from the queue (SQS, bodies [`Continuation`]s).
    Continuations(SqsEventObj<Continuation>),
    /// The periodic sweep, `{"sweep": true}`.
    Sweep,
    /// The daily retention pass, `{"retention": true}`.
    Retention,
}

impl<'de> Deserialize<'de> for IngestEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IngestEvent::from_payload(Value::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

impl IngestEvent {
    /// Dispatches on what arrived: `Records` from `aws:s3` or `aws:sqs`, or
    /// an object `{"sweep": true}`.
    pub fn from_payload(payload: Value) -> Result<IngestEvent, UnknownEvent> {
        match Payload::read(payload)? {
            Payload::Records { source, records } => match source.as_str() {
                "aws:s3" => Ok(IngestEvent::S3(S3Event {
                    records: typed_records(records, "an S3 notification")
                        .map_err(|e| UnknownEvent(format!("S3 {e}")))?,
                })),
                "aws:sqs" => Ok(IngestEvent::Continuations(SqsEventObj {
                    records: typed_records(records, "a continuation message")
                        .map_err(|e| UnknownEvent(format!("SQS {e}")))?,
                })),
                other => Err(UnknownEvent(format!(
                    "records from `{other}` (this function takes `aws:s3` and `aws:sqs`)"
                ))),
            },
            Payload::Object(object) => match (object.get("sweep"), object.get("retention")) {
                (Some(Value::Bool(true)), None) => Ok(IngestEvent::Sweep),
                (None, Some(Value::Bool(true))) => Ok(IngestEvent::Retention),
                (Some(other), None) => Err(UnknownEvent(format!("`sweep` is {other}, not true"))),
                (None, Some(other)) => {
                    Err(UnknownEvent(format!("`retention` is {other}, not true")))
                }
                (Some(_), Some(_)) => Err(UnknownEvent(
                    "an object with both `sweep` and `retention`: one at a time".into(),
                )),
                (None, None) => Err(UnknownEvent(format!(
                    "an object with keys {:?}, neither `Records` (S3, SQS) nor `sweep` nor `retention`",
                    object.keys().take(10).collect::<Vec<_>>()
                ))),
            },
        }
    }

    /// The objects to process (keys decoded), or the sweep. An S3 record
    /// without a bucket name or key, or whose key is not UTF-8 once decoded,
    /// is an event the function cannot handle.
    pub fn into_invocation(self) -> Result<Invocation, UnknownEvent> {
        match self {
            IngestEvent::Sweep => Ok(Invocation::Sweep),
            IngestEvent::Retention => Ok(Invocation::Retention),
            IngestEvent::Continuations(sqs) => Ok(Invocation::Objects(
                sqs.records
                    .into_iter()
                    .map(|m| (m.body.object, m.body.attempt))
                    .collect(),
            )),
            IngestEvent::S3(s3) => s3
                .records
                .into_iter()
                .enumerate()
                .map(|(index, record)| {
                    object_ref(record)
                        .map(|o| (o, 0))
                        .map_err(|why| UnknownEvent(format!("S3 record {index}: {why}")))
                })
                .collect::<Result<_, _>>()
                .map(Invocation::Objects),
        }
    }
}

/// The object an S3 notification record names.
fn object_ref(record: S3EventRecord) -> Result<ObjectRef, String> {
    let non_empty = |v: Option<String>| v.filter(|v| !v.is_empty());
    let object = record.s3.object;
    let bucket = non_empty(record.s3.bucket.name).ok_or("no bucket name")?;
    let raw_key = non_empty(object.key).ok_or("no object key")?;
    Ok(ObjectRef {
        bucket,
        key: crate::keys::decode_event_key(&raw_key)?,
        version_id: non_empty(object.version_id),
        etag: non_empty(object.e_tag),
        event_time: Some(record.event_time),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What the handler gets: the typed event as the runtime decodes it, then
    /// its invocation.
    fn decode(payload: Value) -> Result<Invocation, String> {
        serde_json::from_value::<IngestEvent>(payload)
            .map_err(|e| e.to_string())?
            .into_invocation()
            .map_err(|e| e.to_string())
    }

    fn continuation() -> Continuation {
        Continuation {
            object: ObjectRef {
                bucket: "b".into(),
                key: "inbound/d1/x.zip".into(),
                version_id: None,
                etag: Some("e".into()),
                event_time: None,
            },
            attempt: 3,
        }
    }

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
        let c = continuation();
        let event = json!({"Records": [{"messageId": "m", "eventSource": "aws:sqs", "body": serde_json::to_string(&c).unwrap()}]});
        assert_eq!(
            decode(event).unwrap(),
            Invocation::Objects(vec![(c.object, 3)])
        );
        assert_eq!(decode(json!({"sweep": true})).unwrap(), Invocation::Sweep);
        assert_eq!(
            decode(json!({"retention": true})).unwrap(),
            Invocation::Retention
        );
        assert!(decode(json!({"retention": "yes"})).is_err());
        assert!(decode(json!({"retention": true, "sweep": true})).is_err());
        assert!(decode(json!({"hello": 1})).is_err());
    }

    #[test]
    fn each_kind_decodes_to_its_typed_event() {
        let s3 = IngestEvent::from_payload(s3_event("inbound/d1/a.zip")).unwrap();
        let IngestEvent::S3(s3) = s3 else {
            panic!("an S3 event expected: {s3:?}");
        };
        assert_eq!(
            s3.records[0].s3.object.key.as_deref(),
            Some("inbound/d1/a.zip")
        );
        let body = serde_json::to_string(&continuation()).unwrap();
        let sqs = json!({"Records": [
            {"messageId": "m1", "eventSource": "aws:sqs", "body": body},
            {"messageId": "m2", "eventSource": "aws:sqs", "body": body}
        ]});
        let IngestEvent::Continuations(sqs) = IngestEvent::from_payload(sqs).unwrap() else {
            panic!("continuations expected");
        };
        assert_eq!(sqs.records.len(), 2);
        assert_eq!(sqs.records[1].message_id.as_deref(), Some("m2"));
        assert_eq!(sqs.records[1].body, continuation());
        // As the runtime decodes it: from the bytes.
        let sweep: IngestEvent = serde_json::from_str(r#"{"sweep": true}"#).unwrap();
        assert_eq!(sweep, IngestEvent::Sweep);
    }

    #[test]
    fn events_it_cannot_handle_say_what_was_seen() {
        let prefix = "an event this function cannot handle: ";
        let cases = [
            (json!({"Records": []}), "`Records` is empty"),
            (
                json!({"Records": [{"eventSource": "aws:dynamodb"}]}),
                "records from `aws:dynamodb` (this function takes `aws:s3` and `aws:sqs`)",
            ),
            (
                json!({"Records": [{"EventSource": "aws:sns"}]}),
                "record 0 has no `eventSource`",
            ),
            (
                json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": "not json"}]}),
                "SQS record 0 (message m1): not a continuation message: expected ident",
            ),
            (
                json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": "{\"tenant\": \"d1\"}"}]}),
                "SQS record 0 (message m1): not a continuation message: missing field `object`",
            ),
            (
                json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m1"}]}),
                "SQS record 0 (message m1): not a continuation message: missing field `body`",
            ),
            (
                json!({"Records": [{"eventSource": "aws:s3", "s3": {}}]}),
                "S3 record 0: not an S3 notification: missing field",
            ),
            (json!({"sweep": false}), "`sweep` is false, not true"),
            (
                json!({"tenant": "d1"}),
                "an object with keys [\"tenant\"], neither `Records` (S3, SQS) nor `sweep`",
            ),
            (json!([1]), "the payload is a list, not a JSON object"),
        ];
        for (payload, why) in cases {
            let e = decode(payload.clone()).unwrap_err();
            assert!(e.starts_with(&format!("{prefix}{why}")), "{payload}: {e}");
        }
    }

    #[test]
    fn s3_records_need_a_bucket_and_a_utf8_key() {
        let mut no_key = s3_event("x");
        no_key["Records"][0]["s3"]["object"]
            .as_object_mut()
            .unwrap()
            .remove("key");
        let mut no_bucket = s3_event("inbound/d1/a.zip");
        no_bucket["Records"][0]["s3"]["bucket"]["name"] = json!("");
        let cases = [
            (no_key, "S3 record 0: no object key"),
            (no_bucket, "S3 record 0: no bucket name"),
            (
                s3_event("inbound/d1/%FF.zip"),
                "S3 record 0: object key `inbound/d1/%FF.zip` does not decode to UTF-8",
            ),
        ];
        for (payload, why) in cases {
            assert_eq!(
                decode(payload).unwrap_err(),
                format!("an event this function cannot handle: {why}")
            );
        }
    }
}
