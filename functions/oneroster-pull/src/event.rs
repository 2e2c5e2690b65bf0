//! What invokes the function: a tenant's schedule (or a manual invoke) with
//! `{"tenant": ..., "mode": ...}`, or continuation messages from the queue
//! whose bodies are the same JSON.

use api_pull::PullEvent;
use aws_lambda_events::sqs::SqsEventObj;
pub use cloud::event::UnknownEvent;
use cloud::event::{typed_records, Payload};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Every event the function is wired to receive, typed. The Lambda runtime
/// decodes it; a payload that is neither fails the invocation with an
/// [`UnknownEvent`] message saying what was seen.
#[derive(Debug, Clone, PartialEq)]
pub enum PullInvocation {
    /// A schedule's or a manual invoke's request.
    Request(PullEvent),
    /// Continuation messages from the queue (SQS, bodies [`PullEvent`]s).
    Continuations(SqsEventObj<PullEvent>),
}

impl<'de> Deserialize<'de> for PullInvocation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PullInvocation::from_payload(Value::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

impl PullInvocation {
    /// Dispatches on what arrived: `Records` from `aws:sqs`, or an object
    /// that is itself the request.
    pub fn from_payload(payload: Value) -> Result<PullInvocation, UnknownEvent> {
        match Payload::read(payload)? {
            Payload::Records { source, records } if source == "aws:sqs" => {
                Ok(PullInvocation::Continuations(SqsEventObj {
                    records: typed_records(records, "a pull request")
                        .map_err(|e| UnknownEvent(format!("SQS {e}")))?,
                }))
            }
            Payload::Records { source, .. } => Err(UnknownEvent(format!(
                "records from `{source}` (this function takes a schedule's \
                 `{{\"tenant\": ...}}` and `aws:sqs`)"
            ))),
            Payload::Object(object) => PullEvent::deserialize(Value::Object(object))
                .map(PullInvocation::Request)
                .map_err(|e| {
                    UnknownEvent(format!(
                        "not a pull request `{{\"tenant\": ..., \"mode\": ...}}`: {e}"
                    ))
                }),
        }
    }

    /// The pulls requested, in order.
    pub fn requests(self) -> Vec<PullEvent> {
        match self {
            PullInvocation::Request(request) => vec![request],
            PullInvocation::Continuations(sqs) => sqs.records.into_iter().map(|m| m.body).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_pull::RequestedMode;
    use serde_json::json;

    /// What the handler gets: the typed event as the runtime decodes it.
    fn decode(payload: Value) -> Result<Vec<PullEvent>, String> {
        serde_json::from_value::<PullInvocation>(payload)
            .map(PullInvocation::requests)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn schedules_manual_invokes_and_continuations_decode() {
        assert_eq!(
            decode(json!({"tenant": "d1"})).unwrap()[0],
            PullEvent {
                tenant: "d1".into(),
                mode: RequestedMode::Auto,
                continuation: 0
            }
        );
        assert_eq!(
            decode(json!({"tenant": "d1", "mode": "full"})).unwrap()[0].mode,
            RequestedMode::Full
        );
        let sqs = json!({"Records": [{"eventSource": "aws:sqs", "body": "{\"tenant\":\"d2\",\"mode\":\"delta\",\"continuation\":3}"}]});
        assert_eq!(
            decode(sqs).unwrap()[0],
            PullEvent {
                tenant: "d2".into(),
                mode: RequestedMode::Delta,
                continuation: 3
            }
        );
        assert!(
            decode(json!({"mode": "full"})).is_err(),
            "a tenant is required"
        );
    }

    #[test]
    fn each_kind_decodes_to_its_typed_event() {
        let request: PullInvocation = serde_json::from_str(r#"{"tenant": "d1"}"#).unwrap();
        assert_eq!(request, PullInvocation::Request(PullEvent::scheduled("d1")));
        let sqs = json!({"Records": [
            {"messageId": "m1", "eventSource": "aws:sqs", "body": "{\"tenant\":\"d1\"}"},
            {"messageId": "m2", "eventSource": "aws:sqs", "body": "{\"tenant\":\"d2\",\"continuation\":1}"}
        ]});
        let PullInvocation::Continuations(sqs) = serde_json::from_value(sqs).unwrap() else {
            panic!("continuations expected");
        };
        assert_eq!(sqs.records[1].message_id.as_deref(), Some("m2"));
        let requests = PullInvocation::Continuations(sqs).requests();
        assert_eq!(
            requests
                .iter()
                .map(|r| (r.tenant.as_str(), r.continuation))
                .collect::<Vec<_>>(),
            vec![("d1", 0), ("d2", 1)]
        );
    }

    #[test]
    fn events_it_cannot_handle_say_what_was_seen() {
        let prefix = "an event this function cannot handle: ";
        let cases = [
            (json!({"Records": []}), "`Records` is empty"),
            (
                json!({"Records": [{"eventSource": "aws:s3"}]}),
                "records from `aws:s3` (this function takes a schedule's `{\"tenant\": ...}` and `aws:sqs`)",
            ),
            (
                json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": "not json"}]}),
                "SQS record 0 (message m1): not a pull request: expected ident",
            ),
            (
                json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": "{\"sweep\":true}"}]}),
                "SQS record 0 (message m1): not a pull request: missing field `tenant`",
            ),
            (
                json!({"mode": "full"}),
                "not a pull request `{\"tenant\": ..., \"mode\": ...}`: missing field `tenant`",
            ),
            (
                json!({"tenant": "d1", "mode": "weekly"}),
                "not a pull request `{\"tenant\": ..., \"mode\": ...}`: unknown variant `weekly`",
            ),
            (json!("d1"), "the payload is a string, not a JSON object"),
        ];
        for (payload, why) in cases {
            let e = decode(payload.clone()).unwrap_err();
            assert!(e.starts_with(&format!("{prefix}{why}")), "{payload}: {e}");
        }
    }
}
