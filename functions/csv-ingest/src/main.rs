//! `csv-ingest` Lambda: S3 ObjectCreated events for ClassLink SFTP drops -> OneRoster package reader -> sync engine.
//!
//! A thin, compiling stub: the function is built in its own issue (#4). Until
//! then it refuses every event with a clear error rather than pretending to work.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

/// Refuses the event: this function is not implemented yet.
async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let _ = event;
    Err("csv-ingest is not implemented yet (see issue #4)".into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::Context;

    #[tokio::test]
    async fn the_stub_refuses_events_instead_of_pretending() {
        let event = LambdaEvent::new(serde_json::json!({}), Context::default());
        let error = handler(event).await.unwrap_err();
        assert!(error.to_string().contains("not implemented"));
    }
}
