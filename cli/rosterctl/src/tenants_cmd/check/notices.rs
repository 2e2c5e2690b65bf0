//! The district's run notices: its contacts and their subscriptions.

use super::{Facts, Line, Status};
use roster::TenantConfig;

/// What was found of the district's run-notice contacts and their subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeFinding {
    /// The tenant names no contacts.
    NoContacts,
    /// Contacts, but no notice topic to check their subscriptions on.
    NotChecked {
        /// How many contacts.
        contacts: usize,
    },
    /// The contacts' subscriptions on the topic.
    Checked {
        /// How many contacts.
        contacts: usize,
        /// Contacts whose subscription awaits the address's confirmation.
        pending: usize,
        /// Contacts with no subscription admitting this tenant.
        missing: usize,
    },
    /// The topic could not be read.
    Error(String),
}

pub(super) fn notice_line(f: &Facts) -> Line {
    let t = &f.config.tenant;
    let add = format!("name the district's data contacts: rosterctl tenants update {t} --notify-email a@district.org,b@district.org");
    let sync = "run `rosterctl tenants notices` (with the stack's RunNoticeTopicArn)";
    match &f.notices {
        NoticeFinding::NoContacts => Line::new(
            "notices",
            Status::Warn,
            "no contacts: the district hears of rejected or held files only from us",
        )
        .then(add),
        NoticeFinding::NotChecked { contacts } => Line::new(
            "notices",
            Status::Warn,
            format!("{contacts} contact(s); their subscriptions were not checked: no notice topic"),
        )
        .then(format!("pass --notice-topic-arn (the stack's RunNoticeTopicArn output) or set {}", crate::tenants_cmd::notices::NOTICE_TOPIC_ENV)),
        NoticeFinding::Error(e) => Line::new(
            "notices",
            Status::Warn,
            format!("the notice topic could not be read: {e}"),
        )
        .then("check the topic ARN and the credentials' sns:ListSubscriptionsByTopic"),
        NoticeFinding::Checked { contacts, missing, .. } if *missing > 0 => Line::new(
            "notices",
            Status::Warn,
            format!("{missing} of {contacts} contact(s) not subscribed for {t}: they hear nothing"),
        )
        .then(sync),
        NoticeFinding::Checked { contacts, pending, .. } if *pending > 0 => Line::new(
            "notices",
            Status::Warn,
            format!("{pending} of {contacts} contact(s) have not confirmed SNS's subscription email: nothing reaches them until they do"),
        )
        .then("ask them to follow the link in the email \"AWS Notification - Subscription Confirmation\" (look in spam), then run `rosterctl tenants notices`"),
        NoticeFinding::Checked { contacts, .. } => Line::new(
            "notices",
            Status::Ok,
            format!("{contacts} contact(s) subscribed to run notices"),
        ),
    }
}

/// The notice finding of `config`'s contacts on the topic's `subscriptions`.
pub fn notice_finding(
    config: &TenantConfig,
    subscriptions: &[cloud::sns::EmailSubscription],
) -> NoticeFinding {
    if config.notify_emails.is_empty() {
        return NoticeFinding::NoContacts;
    }
    let (mut pending, mut missing) = (0, 0);
    for email in &config.notify_emails {
        match subscriptions
            .iter()
            .find(|s| s.endpoint.eq_ignore_ascii_case(email))
        {
            Some(s) if s.arn.is_none() => pending += 1,
            Some(s)
                if s.tenants
                    .as_ref()
                    .is_some_and(|t| t.contains(&config.tenant)) => {}
            // A hand-made subscription without a tenant filter hears of every district.
            Some(s) if s.tenants.is_none() => {}
            _ => missing += 1,
        }
    }
    NoticeFinding::Checked {
        contacts: config.notify_emails.len(),
        pending,
        missing,
    }
}
