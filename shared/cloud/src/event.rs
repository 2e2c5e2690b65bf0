//! Lambda event payloads read once, so that a function's typed event can
//! dispatch on what arrived — a batch of `Records` from one event source (S3,
//! SQS, ...) or a plain JSON object (a schedule's input) — and say exactly
//! what it cannot handle.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A payload, read once.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// `{"Records": [...]}`: a batch from one event source.
    Records {
        /// The records' `eventSource` (`aws:s3`, `aws:sqs`, ...).
        source: String,
        /// The records, at least one.
        records: Vec<Value>,
    },
    /// Any other JSON object (a schedule's or a manual invoke's input).
    Object(Map<String, Value>),
}

/// Why a payload is neither a batch of records from one source nor an object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The payload is not a JSON object.
    #[error("the payload is {0}, not a JSON object")]
    NotAnObject(&'static str),
    /// `Records` is not a list.
    #[error("`Records` is {0}, not a list")]
    RecordsNotAList(&'static str),
    /// `Records` is an empty list.
    #[error("`Records` is empty")]
    NoRecords,
    /// A record has no `eventSource` string.
    #[error("record {0} has no `eventSource`")]
    NoEventSource(usize),
    /// The records come from more than one source.
    #[error("record {index} comes from `{found}`, record 0 from `{first}`")]
    MixedSources {
        /// The first record from another source.
        index: usize,
        /// Record 0's source.
        first: String,
        /// That record's source.
        found: String,
    },
}

/// The error of an event a function cannot handle, with why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an event this function cannot handle: {0}")]
pub struct UnknownEvent(pub String);

impl From<PayloadError> for UnknownEvent {
    fn from(e: PayloadError) -> Self {
        UnknownEvent(e.to_string())
    }
}

impl Payload {
    /// Reads `value`: `Records` (a non-empty list whose records all share
    /// one `eventSource`) or, without `Records`, the object itself.
    pub fn read(value: Value) -> Result<Payload, PayloadError> {
        let mut object = match value {
            Value::Object(object) => object,
            other => return Err(PayloadError::NotAnObject(kind(&other))),
        };
        let records = match object.remove("Records") {
            None => return Ok(Payload::Object(object)),
            Some(Value::Array(records)) => records,
            Some(other) => return Err(PayloadError::RecordsNotAList(kind(&other))),
        };
        let source_of = |index: usize, record: &Value| {
            record
                .get("eventSource")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or(PayloadError::NoEventSource(index))
        };
        let first = source_of(0, records.first().ok_or(PayloadError::NoRecords)?)?;
        for (index, record) in records.iter().enumerate().skip(1) {
            let found = source_of(index, record)?;
            if found != first {
                return Err(PayloadError::MixedSources {
                    index,
                    first,
                    found,
                });
            }
        }
        Ok(Payload::Records {
            source: first,
            records,
        })
    }
}

/// A record that is not the type expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {index}{}: {reason}", message_label(.message_id))]
pub struct RecordError {
    /// Its index in `Records`.
    pub index: usize,
    /// Its `messageId` (SQS), if any.
    pub message_id: Option<String>,
    /// What is wrong with it.
    pub reason: String,
}

/// Each record as a `T` (`what` it is, for the message: "a continuation
/// message"); the error names the first record that is not one.
pub fn typed_records<T: DeserializeOwned>(
    records: Vec<Value>,
    what: &str,
) -> Result<Vec<T>, RecordError> {
    records
        .into_iter()
        .enumerate()
        .map(|(index, record)| {
            let message_id = record
                .get("messageId")
                .and_then(Value::as_str)
                .map(str::to_string);
            serde_json::from_value(record).map_err(|e| RecordError {
                index,
                message_id,
                reason: format!("not {what}: {e}"),
            })
        })
        .collect()
}

/// ` (message {id})`, or nothing without a message id.
fn message_label(message_id: &Option<String>) -> String {
    message_id
        .as_deref()
        .map(|id| format!(" (message {id})"))
        .unwrap_or_default()
}

/// What a JSON value is, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_are_read_with_their_one_source() {
        let payload = Payload::read(json!({"Records": [
            {"eventSource": "aws:sqs", "body": "a"},
            {"eventSource": "aws:sqs", "body": "b"}
        ]}))
        .unwrap();
        let Payload::Records { source, records } = payload else {
            panic!("records expected: {payload:?}");
        };
        assert_eq!((source.as_str(), records.len()), ("aws:sqs", 2));
        assert_eq!(records[1]["body"], "b");
    }

    #[test]
    fn an_object_without_records_is_itself() {
        assert_eq!(
            Payload::read(json!({"tenant": "d1"})).unwrap(),
            Payload::Object(json!({"tenant": "d1"}).as_object().unwrap().clone())
        );
    }

    #[test]
    fn malformed_payloads_say_what_was_seen() {
        let cases = [
            (json!("sweep"), "the payload is a string, not a JSON object"),
            (json!(null), "the payload is null, not a JSON object"),
            (json!({"Records": {}}), "`Records` is an object, not a list"),
            (json!({"Records": []}), "`Records` is empty"),
            (
                json!({"Records": [{"EventSource": "aws:sns"}]}),
                "record 0 has no `eventSource`",
            ),
            (
                json!({"Records": [{"eventSource": "aws:s3"}, {"eventSource": "aws:sqs"}]}),
                "record 1 comes from `aws:sqs`, record 0 from `aws:s3`",
            ),
        ];
        for (payload, expected) in cases {
            let e = Payload::read(payload.clone()).unwrap_err();
            assert_eq!(e.to_string(), expected, "{payload}");
            assert_eq!(
                UnknownEvent::from(e).to_string(),
                format!("an event this function cannot handle: {expected}")
            );
        }
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Message {
        body: String,
    }

    #[test]
    fn typed_records_name_the_record_that_is_not_one() {
        let good = typed_records::<Message>(vec![json!({"body": "a"})], "a message").unwrap();
        assert_eq!(good, vec![Message { body: "a".into() }]);
        let e = typed_records::<Message>(
            vec![json!({"body": "a"}), json!({"messageId": "m2", "body": 3})],
            "a message",
        )
        .unwrap_err();
        assert_eq!((e.index, e.message_id.as_deref()), (1, Some("m2")));
        assert!(
            e.to_string()
                .starts_with("record 1 (message m2): not a message: invalid type: integer `3`"),
            "{e}"
        );
        let e = typed_records::<Message>(vec![json!({})], "a message").unwrap_err();
        assert_eq!(
            e.to_string(),
            "record 0: not a message: missing field `body`"
        );
    }
}
