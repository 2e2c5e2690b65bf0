//! The continuation queue: work that reached the Lambda deadline, or had to
//! wait for a busy tenant, is sent to an SQS queue that invokes the same
//! function again. One sender and one cap for both functions that continue.

use crate::failure::Failure;
use serde::Serialize;
use std::time::Duration;

/// Hops (continuations and deferrals) one piece of work may take before it
/// is given up: 50 deferrals of two minutes wait over an hour and a half for
/// a busy tenant; 50 continuations of a 15-minute function are 12.5 hours of work.
pub const MAX_HOPS: u32 = 50;

/// The queue (`CONTINUE_QUEUE_URL`) and its client.
#[derive(Debug, Clone)]
pub struct ContinuationQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl ContinuationQueue {
    /// The queue at `url`.
    pub fn new(sqs: aws_sdk_sqs::Client, url: impl Into<String>) -> ContinuationQueue {
        ContinuationQueue {
            sqs,
            url: url.into(),
        }
    }

    /// Sends `message` as hop number `hop` (1 for the first continuation),
    /// delivered after `delay` (at most 15 minutes). Work past [`MAX_HOPS`]
    /// is refused as a permanent failure naming `what`.
    pub async fn send(
        &self,
        what: &str,
        hop: u32,
        message: &impl Serialize,
        delay: Duration,
    ) -> Result<(), Failure> {
        if hop >= MAX_HOPS {
            return Err(Failure::permanent(format!(
                "{what} was continued or deferred {MAX_HOPS} times; giving up"
            )));
        }
        let body = serde_json::to_string(message).map_err(|e| {
            Failure::permanent(format!("encoding the continuation of {what}")).because(e)
        })?;
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(delay.as_secs().min(900) as i32)
            .send()
            .await
            .map_err(|e| Failure::sdk(format!("SendMessage (continuation of {what})"), e))?;
        Ok(())
    }
}
