//! The run-notice topic's email subscriptions, kept in line with the
//! districts' contacts (`tenants update T --notify-email ...`, and
//! `tenants notices` for all of them).
//!
//! One address is one subscription on the topic (SNS allows no second one for
//! the same endpoint), so a contact of two districts has one subscription
//! whose filter policy admits both. The plan is computed over every tenant:
//! the contacts of all districts against the topic's subscriptions.
//! Subscriptions whose filter policy is not a tenant filter (made by hand,
//! e.g. an operator who wants every notice) are never changed.

use cloud::sns::{EmailSubscription, Topic};
use roster::TenantConfig;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The environment variable naming the topic when `--notice-topic-arn` is not given.
pub const NOTICE_TOPIC_ENV: &str = "ROSTER_NOTICE_TOPIC_ARN";

/// The topic to manage: the flag, else [`NOTICE_TOPIC_ENV`]; empty means none.
pub fn notice_topic_arn(flag: Option<&str>) -> Option<String> {
    flag.map(str::to_string)
        .or_else(|| std::env::var(NOTICE_TOPIC_ENV).ok())
        .filter(|s| !s.is_empty())
}

/// Every address named by a tenant's contacts (lower-cased), with the tenants naming it.
pub fn contacts(tenants: &[TenantConfig]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in tenants {
        for email in &t.notify_emails {
            out.entry(email.to_ascii_lowercase())
                .or_default()
                .insert(t.tenant.clone());
        }
    }
    out
}

/// What to do about one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Change {
    /// No subscription yet: subscribe (SNS mails a confirmation link).
    Subscribe {
        /// The address.
        email: String,
        /// The tenants its filter admits.
        tenants: BTreeSet<String>,
    },
    /// Subscribed with another set of tenants: change the filter policy.
    SetTenants {
        /// The address.
        email: String,
        /// The subscription.
        arn: String,
        /// The tenants it admitted.
        before: BTreeSet<String>,
        /// The tenants it will admit.
        tenants: BTreeSet<String>,
    },
    /// No district names it any more: unsubscribe.
    Unsubscribe {
        /// The address.
        email: String,
        /// The subscription.
        arn: String,
    },
    /// Subscribed as it should be.
    Unchanged {
        /// The address.
        email: String,
        /// The tenants its filter admits.
        tenants: BTreeSet<String>,
    },
    /// Waiting for the address to confirm. SNS allows no change until then
    /// (and deletes it after three days unconfirmed); run again after.
    Pending {
        /// The address.
        email: String,
        /// Whether a district still names it.
        wanted: bool,
    },
    /// Subscribed by hand with a filter that is not a tenant filter: left as it is.
    LeftAsIs {
        /// The address.
        email: String,
    },
}

/// The changes that make `current` match `wanted` (address → tenants).
pub fn plan(
    wanted: &BTreeMap<String, BTreeSet<String>>,
    current: &[EmailSubscription],
) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut seen = BTreeSet::new();
    for s in current {
        let email = s.endpoint.to_ascii_lowercase();
        seen.insert(email.clone());
        let want = wanted.get(&email);
        changes.push(match (&s.arn, &s.tenants) {
            (None, _) => Change::Pending {
                email,
                wanted: want.is_some(),
            },
            (Some(_), None) => Change::LeftAsIs { email },
            (Some(arn), Some(have)) => match want {
                None => Change::Unsubscribe {
                    email,
                    arn: arn.clone(),
                },
                Some(want) if want == have => Change::Unchanged {
                    email,
                    tenants: want.clone(),
                },
                Some(want) => Change::SetTenants {
                    email,
                    arn: arn.clone(),
                    before: have.clone(),
                    tenants: want.clone(),
                },
            },
        });
    }
    for (email, tenants) in wanted {
        if !seen.contains(email) {
            changes.push(Change::Subscribe {
                email: email.clone(),
                tenants: tenants.clone(),
            });
        }
    }
    changes
}

/// One change and whether it was made.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    /// The change.
    #[serde(flatten)]
    pub change: Change,
    /// `None` when it was made (or needed nothing); the error otherwise.
    pub error: Option<String>,
}

/// Reads the topic's subscriptions, plans against every tenant's contacts,
/// and (unless `dry_run`) makes the changes. An error of one change is
/// reported with it and does not stop the others.
pub async fn reconcile(
    topic: &Topic,
    tenants: &[TenantConfig],
    dry_run: bool,
) -> Result<Vec<Applied>, String> {
    let current = topic.email_subscriptions().await.map_err(|e| {
        format!(
            "the notice topic's subscriptions cannot be read: {}",
            e.chain()
        )
    })?;
    let mut out = Vec::new();
    for change in plan(&contacts(tenants), &current) {
        let result = if dry_run {
            Ok(())
        } else {
            match &change {
                Change::Subscribe { email, tenants } => {
                    topic.subscribe_email(email, tenants).await.map(|_| ())
                }
                Change::SetTenants { arn, tenants, .. } => topic.set_tenants(arn, tenants).await,
                Change::Unsubscribe { arn, .. } => topic.unsubscribe(arn).await,
                _ => Ok(()),
            }
        };
        out.push(Applied {
            change,
            error: result.err().map(|e| e.chain()),
        });
    }
    Ok(out)
}

/// The SNS client for the topic, from the environment's SDK configuration.
pub async fn topic(arn: &str) -> Topic {
    let sdk = cloud::sdk_config().await;
    Topic::new(aws_sdk_sns::Client::new(&sdk), arn)
}

/// One line per change, for people.
pub fn render(applied: &[Applied], dry_run: bool) -> String {
    let mut out = String::new();
    let list = |t: &BTreeSet<String>| t.iter().cloned().collect::<Vec<_>>().join(", ");
    for a in applied {
        let line = match &a.change {
            Change::Subscribe { email, tenants } => format!(
                "{email}: {} for {} (SNS mails a confirmation link first; nothing is delivered until it is followed)",
                if dry_run { "would subscribe" } else { "subscribed" },
                list(tenants)
            ),
            Change::SetTenants {
                email,
                before,
                tenants,
                ..
            } => format!(
                "{email}: {} {} (was {})",
                if dry_run { "would hear of" } else { "now hears of" },
                list(tenants),
                list(before)
            ),
            Change::Unsubscribe { email, .. } => format!(
                "{email}: {} (no district names it)",
                if dry_run { "would unsubscribe" } else { "unsubscribed" }
            ),
            Change::Unchanged { email, tenants } => {
                format!("{email}: subscribed for {}", list(tenants))
            }
            Change::Pending { email, wanted: true } => format!(
                "{email}: waiting for the address to confirm SNS's email; run `rosterctl tenants notices` again once it has"
            ),
            Change::Pending { email, wanted: false } => format!(
                "{email}: unconfirmed and named by no district; SNS deletes it after three days unconfirmed"
            ),
            Change::LeftAsIs { email } => {
                format!("{email}: subscribed by hand without a tenant filter; left as it is")
            }
        };
        out.push_str(&line);
        if let Some(e) = &a.error {
            out.push_str(&format!(" — FAILED: {e}"));
        }
        out.push('\n');
    }
    if applied.is_empty() {
        out.push_str("no district has notice contacts, and the topic has no email subscriptions\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn tenant(id: &str, emails: &[&str]) -> TenantConfig {
        let mut t = TenantConfig::new(id).unwrap();
        t.notify_emails = emails.iter().map(|s| s.to_string()).collect();
        t
    }

    fn sub(arn: Option<&str>, email: &str, tenants: Option<&[&str]>) -> EmailSubscription {
        EmailSubscription {
            arn: arn.map(str::to_string),
            endpoint: email.to_string(),
            tenants: tenants.map(set),
        }
    }

    #[test]
    fn a_contact_of_two_districts_is_one_subscription_admitting_both() {
        let wanted = contacts(&[
            tenant("springfield", &["Data@Region.org", "it@springfield.org"]),
            tenant("shelbyville", &["data@region.org"]),
        ]);
        assert_eq!(
            wanted["data@region.org"],
            set(&["shelbyville", "springfield"])
        );
        assert_eq!(
            plan(&wanted, &[]),
            vec![
                Change::Subscribe {
                    email: "data@region.org".into(),
                    tenants: set(&["shelbyville", "springfield"])
                },
                Change::Subscribe {
                    email: "it@springfield.org".into(),
                    tenants: set(&["springfield"])
                },
            ]
        );
    }

    #[test]
    fn subscriptions_follow_the_contacts_and_hand_made_ones_are_left() {
        let wanted = contacts(&[tenant("springfield", &["a@x.org", "b@x.org"])]);
        let current = [
            sub(Some("arn:a"), "A@x.org", Some(&["springfield"])),
            sub(Some("arn:b"), "b@x.org", Some(&["shelbyville"])),
            sub(Some("arn:c"), "c@x.org", Some(&["springfield"])),
            sub(Some("arn:ops"), "ops@vendor.com", None),
            sub(None, "d@x.org", None),
        ];
        assert_eq!(
            plan(&wanted, &current),
            vec![
                Change::Unchanged {
                    email: "a@x.org".into(),
                    tenants: set(&["springfield"])
                },
                Change::SetTenants {
                    email: "b@x.org".into(),
                    arn: "arn:b".into(),
                    before: set(&["shelbyville"]),
                    tenants: set(&["springfield"])
                },
                Change::Unsubscribe {
                    email: "c@x.org".into(),
                    arn: "arn:c".into()
                },
                Change::LeftAsIs {
                    email: "ops@vendor.com".into()
                },
                Change::Pending {
                    email: "d@x.org".into(),
                    wanted: false
                },
            ]
        );
    }

    #[test]
    fn the_flag_wins_over_the_environment_and_empty_means_none() {
        assert_eq!(
            notice_topic_arn(Some("arn:aws:sns:us-east-1:1:t")).as_deref(),
            Some("arn:aws:sns:us-east-1:1:t")
        );
        assert_eq!(notice_topic_arn(Some("")), None);
    }
}
