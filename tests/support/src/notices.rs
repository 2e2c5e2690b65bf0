//! The run-notice topic on moto, and listeners in place of the districts'
//! email contacts: an SQS queue subscribed with the same tenant filter policy
//! a contact's email subscription has, so a test reads what SNS delivered to
//! whom.

use serde_json::Value;

/// SNS on moto.
pub fn sns_client() -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(&crate::moto_config())
}

/// A fresh topic on moto; its ARN.
pub async fn notice_topic() -> String {
    sns_client()
        .create_topic()
        .name(crate::unique("run-notices"))
        .send()
        .await
        .expect("topic on moto")
        .topic_arn
        .expect("topic arn")
}

/// A queue subscribed to `topic` with the filter policy `{"tenant":[tenant]}`;
/// its URL.
pub async fn tenant_listener(topic: &str, tenant: &str) -> String {
    let sqs = crate::sqs_client();
    let url = sqs
        .create_queue()
        .queue_name(crate::unique("contact"))
        .send()
        .await
        .expect("queue on moto")
        .queue_url
        .expect("queue url");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("queue arn");
    sns_client()
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(arn)
        .attributes(
            "FilterPolicy",
            serde_json::json!({ "tenant": [tenant] }).to_string(),
        )
        .send()
        .await
        .expect("subscription on moto");
    url
}

/// The SNS notifications a listener received so far (each the JSON envelope
/// SNS delivers: `Subject`, `Message`, `MessageAttributes`), removed from the queue.
pub async fn received(queue_url: &str) -> Vec<Value> {
    let sqs = crate::sqs_client();
    let mut out = Vec::new();
    loop {
        let page = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("receive from moto");
        let messages = page.messages.unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        for m in messages {
            let body = m.body.unwrap_or_default();
            out.push(serde_json::from_str(&body).unwrap_or(Value::String(body)));
            if let Some(handle) = m.receipt_handle {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete on moto");
            }
        }
    }
}

/// A notification's message attribute `name` (its string value).
pub fn attribute<'v>(notification: &'v Value, name: &str) -> Option<&'v str> {
    notification["MessageAttributes"][name]["Value"].as_str()
}
