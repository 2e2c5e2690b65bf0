//! SNS: the run-notice topic. Publishing a message with the tenant as a
//! message attribute (each contact's subscription has a filter policy on it,
//! so a district hears only of its own runs), and the topic's email
//! subscriptions: listing them with the tenants their filter policies name,
//! subscribing, changing a filter, unsubscribing.
//!
//! Nothing here logs an email address: a failure names the subscription ARN
//! or the operation, never the endpoint.

use crate::failure::service_code;
use crate::Failure;
use std::collections::BTreeSet;

/// The message attribute (and filter-policy key) naming the tenant.
pub const TENANT_ATTRIBUTE: &str = "tenant";
/// The message attribute naming the run's outcome.
pub const OUTCOME_ATTRIBUTE: &str = "outcome";
/// The longest subject SNS accepts (for email subscriptions).
pub const MAX_SUBJECT: usize = 100;

/// A topic and the client that reaches it.
#[derive(Debug, Clone)]
pub struct Topic {
    client: aws_sdk_sns::Client,
    arn: String,
}

/// One email subscription of the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSubscription {
    /// The subscription ARN; `None` while the address has not confirmed
    /// (SNS lists it as `PendingConfirmation`, and it cannot be changed or
    /// removed: SNS deletes it after three days unconfirmed).
    pub arn: Option<String>,
    /// The address.
    pub endpoint: String,
    /// The tenants its filter policy admits: `None` when the policy is not a
    /// tenant filter (absent, or on other attributes), i.e. a subscription
    /// someone made by hand, which tenant contacts never change.
    pub tenants: Option<BTreeSet<String>>,
}

/// The filter policy admitting the messages of `tenants`: `{"tenant":[...]}`.
pub fn tenant_filter_policy(tenants: &BTreeSet<String>) -> String {
    serde_json::json!({ TENANT_ATTRIBUTE: tenants }).to_string()
}

/// The tenants a filter policy admits, when it is exactly a tenant filter
/// (`{"tenant":["a","b"]}`); `None` for anything else.
pub fn tenants_of_filter_policy(policy: &str) -> Option<BTreeSet<String>> {
    let value: serde_json::Value = serde_json::from_str(policy).ok()?;
    let object = value.as_object()?;
    if object.len() != 1 {
        return None;
    }
    object
        .get(TENANT_ATTRIBUTE)?
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// `subject` cut to what SNS accepts: one line, ASCII, at most [`MAX_SUBJECT`] characters.
pub fn email_subject(subject: &str) -> String {
    let mut out: String = subject
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                ' '
            }
        })
        .collect();
    out.truncate(MAX_SUBJECT);
    out
}

impl Topic {
    /// The topic `arn`, reached through `client`.
    pub fn new(client: aws_sdk_sns::Client, arn: impl Into<String>) -> Topic {
        Topic {
            client,
            arn: arn.into(),
        }
    }

    /// The topic's ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// Publishes one message (`subject` cut to what email accepts) with the
    /// string message attributes `attributes`; returns the message id.
    pub async fn publish(
        &self,
        subject: &str,
        body: &str,
        attributes: &[(&str, &str)],
    ) -> Result<String, Failure> {
        use aws_sdk_sns::types::MessageAttributeValue;
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.arn)
            .subject(email_subject(subject))
            .message(body);
        for (name, value) in attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(*value)
                .build()
                .map_err(|e| Failure::permanent("a message attribute").because(e))?;
            request = request.message_attributes(*name, value);
        }
        let out = request
            .send()
            .await
            .map_err(|e| Failure::sdk(format!("Publish to {}", self.arn), e))?;
        Ok(out.message_id.unwrap_or_default())
    }

    /// Publishes a district's run notice with its tenant and outcome as
    /// message attributes (the subscriptions' filter policies read the
    /// tenant); returns the message id.
    pub async fn publish_notice(
        &self,
        tenant: &str,
        outcome: &str,
        subject: &str,
        body: &str,
    ) -> Result<String, Failure> {
        self.publish(
            subject,
            body,
            &[(TENANT_ATTRIBUTE, tenant), (OUTCOME_ATTRIBUTE, outcome)],
        )
        .await
    }

    /// Publishes a district's run notice, best effort: a failure is logged
    /// (tenant, outcome and the error, never the text) and counted in the
    /// `NoticeFailures` metric, and never fails the run that was recorded.
    /// Returns whether it was published.
    pub async fn send_notice(
        &self,
        tenant: &str,
        outcome: &str,
        subject: &str,
        body: &str,
    ) -> bool {
        use crate::metrics::{emit, Metric};
        match self.publish_notice(tenant, outcome, subject, body).await {
            Ok(id) => {
                tracing::info!(tenant, outcome, message_id = %id, "run notice published");
                emit(&[], &[Metric::count("NoticesSent", 1)], &[]);
                true
            }
            Err(e) => {
                tracing::warn!(tenant, outcome, error = %e.chain(), "run notice not published");
                emit(&[], &[Metric::count("NoticeFailures", 1)], &[]);
                false
            }
        }
    }

    /// The topic's email subscriptions, with the tenants their filter policies name.
    pub async fn email_subscriptions(&self) -> Result<Vec<EmailSubscription>, Failure> {
        let mut out = Vec::new();
        let mut next = None;
        loop {
            let page = self
                .client
                .list_subscriptions_by_topic()
                .topic_arn(&self.arn)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| Failure::sdk(format!("ListSubscriptionsByTopic {}", self.arn), e))?;
            for s in page.subscriptions() {
                if s.protocol() != Some("email") && s.protocol() != Some("email-json") {
                    continue;
                }
                let Some(endpoint) = s.endpoint() else {
                    continue;
                };
                let arn = s
                    .subscription_arn()
                    .filter(|a| a.starts_with("arn:"))
                    .map(str::to_string);
                let tenants = match &arn {
                    Some(arn) => self.filter_tenants(arn).await?,
                    None => None,
                };
                out.push(EmailSubscription {
                    arn,
                    endpoint: endpoint.to_string(),
                    tenants,
                });
            }
            next = page.next_token().map(str::to_string);
            if next.is_none() {
                return Ok(out);
            }
        }
    }

    async fn filter_tenants(&self, arn: &str) -> Result<Option<BTreeSet<String>>, Failure> {
        let attributes = self
            .client
            .get_subscription_attributes()
            .subscription_arn(arn)
            .send()
            .await
            .map_err(|e| Failure::sdk(format!("GetSubscriptionAttributes {arn}"), e))?;
        Ok(attributes
            .attributes()
            .and_then(|a| a.get("FilterPolicy"))
            .and_then(|p| tenants_of_filter_policy(p)))
    }

    /// Subscribes the address `endpoint` with a filter policy admitting
    /// `tenants`; SNS mails it a confirmation link first. Returns the
    /// subscription ARN (SNS gives one even while confirmation is pending).
    pub async fn subscribe_email(
        &self,
        endpoint: &str,
        tenants: &BTreeSet<String>,
    ) -> Result<Option<String>, Failure> {
        let out = self
            .client
            .subscribe()
            .topic_arn(&self.arn)
            .protocol("email")
            .endpoint(endpoint)
            .attributes("FilterPolicy", tenant_filter_policy(tenants))
            .attributes("FilterPolicyScope", "MessageAttributes")
            .return_subscription_arn(true)
            .send()
            .await
            .map_err(|e| {
                let code = service_code(&e).unwrap_or("no response").to_string();
                Failure::sdk(format!("Subscribe (email) to {}: {code}", self.arn), e)
            })?;
        Ok(out.subscription_arn)
    }

    /// Sets the filter policy of subscription `arn` to admit `tenants`.
    pub async fn set_tenants(&self, arn: &str, tenants: &BTreeSet<String>) -> Result<(), Failure> {
        self.client
            .set_subscription_attributes()
            .subscription_arn(arn)
            .attribute_name("FilterPolicy")
            .attribute_value(tenant_filter_policy(tenants))
            .send()
            .await
            .map_err(|e| Failure::sdk(format!("SetSubscriptionAttributes {arn}"), e))?;
        Ok(())
    }

    /// Removes subscription `arn`.
    pub async fn unsubscribe(&self, arn: &str) -> Result<(), Failure> {
        self.client
            .unsubscribe()
            .subscription_arn(arn)
            .send()
            .await
            .map_err(|e| Failure::sdk(format!("Unsubscribe {arn}"), e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_tenant_filter_policy_reads_back_as_its_tenants() {
        let tenants = set(&["springfield", "shelbyville"]);
        let policy = tenant_filter_policy(&tenants);
        assert_eq!(policy, r#"{"tenant":["shelbyville","springfield"]}"#);
        assert_eq!(tenants_of_filter_policy(&policy), Some(tenants));
    }

    #[test]
    fn other_filter_policies_are_not_tenant_filters() {
        for policy in [
            "",
            "{}",
            r#"{"outcome":["held"]}"#,
            r#"{"tenant":["a"],"outcome":["held"]}"#,
            r#"{"tenant":[{"prefix":"a"}]}"#,
            r#"{"tenant":"a"}"#,
        ] {
            assert_eq!(tenants_of_filter_policy(policy), None, "{policy}");
        }
    }

    #[test]
    fn subjects_are_one_ascii_line_of_at_most_100_characters() {
        let long = format!("Roster sync for {}: held\nrun é", "x".repeat(120));
        let subject = email_subject(&long);
        assert_eq!(subject.len(), MAX_SUBJECT);
        assert!(subject
            .chars()
            .all(|c| c.is_ascii() && !c.is_ascii_control()));
        assert_eq!(email_subject("a\nb é"), "a b  ");
    }
}
