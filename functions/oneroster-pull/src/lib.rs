//! oneroster-pull: a tenant's OneRoster 1.1 API pulled on its schedule (or on
//! demand) with credentials from Secrets Manager, then synced by the one engine.

pub mod config;
pub mod puller;

pub use config::PullFunctionConfig;
pub use puller::{PullConfig, PullEvent, Puller, RequestedMode, RunFilesBucket};

/// Decodes an invocation: a schedule's (or a manual) `{"tenant": ...}`, or
/// continuation messages from the queue (SQS records whose bodies are the same JSON).
pub fn decode(event: serde_json::Value) -> Result<Vec<PullEvent>, serde_json::Error> {
    if event
        .pointer("/Records/0/eventSource")
        .and_then(|v| v.as_str())
        == Some("aws:sqs")
    {
        let sqs: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(event)?;
        return sqs
            .records
            .into_iter()
            .map(|m| serde_json::from_str(&m.body.unwrap_or_default()))
            .collect();
    }
    Ok(vec![serde_json::from_value(event)?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
