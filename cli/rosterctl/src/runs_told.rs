//! After an operator decided about a run (`runs approve|discard|revert`):
//! the district told, as the Lambdas tell it (the same notice, published to
//! the run-notice topic with the tenant as a message attribute), and the
//! page of the run that changed rendered again where its report is kept
//! (the runs folder, or S3 beside csv-ingest's `report.json`).
//!
//! Neither fails the command: the decision is recorded already. What was
//! not published or not rendered is said, with why.

use crate::tenants_cmd::notices::{notice_topic_arn, NOTICE_TOPIC_ENV};
use roster::{RunRecord, Store};
use serde::Serialize;
use std::fmt::Write as _;

/// What became of the district's notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeSent {
    /// Whether it was published.
    pub published: bool,
    /// The topic, when one is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// The message id SNS gave, when published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Why it was not published (no contacts, no topic, an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_published: Option<String>,
}

/// What the command did besides deciding: the notice and the pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Told {
    /// The district's notice.
    pub notice: NoticeSent,
    /// The pages rendered again (paths or `s3://` URIs).
    pub pages: Vec<String>,
    /// Pages that could not be rendered again, with why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub page_errors: Vec<String>,
}

impl Told {
    /// The lines a person reads after the run.
    pub fn render(&self) -> String {
        let mut out = String::new();
        match (&self.notice.message_id, &self.notice.not_published) {
            (Some(id), _) => {
                let topic = self.notice.topic.as_deref().unwrap_or("");
                let _ = writeln!(out, "notice: published to {topic} (message {id})");
            }
            (None, Some(why)) => {
                let _ = writeln!(out, "notice: not published: {why}");
            }
            (None, None) => {}
        }
        for page in &self.pages {
            let _ = writeln!(out, "page: {page}");
        }
        for error in &self.page_errors {
            let _ = writeln!(out, "page not rendered: {error}");
        }
        out
    }
}

/// Tells the district of `run` (the run the command recorded) and renders
/// again the pages of `changed` (the runs whose state changed: the decided
/// run, or the reverted one). `topic_flag` is `--notice-topic-arn`.
pub async fn tell<S: Store>(
    store: &S,
    run: &RunRecord,
    changed: &[RunRecord],
    topic_flag: Option<&str>,
) -> Told {
    let notice = publish(store, run, topic_flag).await;
    let mut pages = Vec::new();
    let mut page_errors = Vec::new();
    for r in changed {
        match rerender(r).await {
            Ok(Some(page)) => pages.push(page),
            Ok(None) => {}
            Err(e) => page_errors.push(format!("run {}: {e}", r.run_id)),
        }
    }
    Told {
        notice,
        pages,
        page_errors,
    }
}

/// Publishes the notice of `run` to the tenant's contacts, when it has any
/// and a topic is configured (`--notice-topic-arn`, else the environment).
async fn publish<S: Store>(store: &S, run: &RunRecord, topic_flag: Option<&str>) -> NoticeSent {
    let topic = notice_topic_arn(topic_flag);
    let not_published = |why: String| NoticeSent {
        published: false,
        topic: topic.clone(),
        message_id: None,
        not_published: Some(why),
    };
    let tenant = match store.get_tenant(&run.tenant).await {
        Ok(Some(t)) => t,
        Ok(None) => return not_published(format!("tenant {} is not configured", run.tenant)),
        Err(e) => return not_published(format!("the tenant could not be read: {e}")),
    };
    let Some(notice) = present::notice::for_decision(&tenant, run) else {
        let why = if tenant.enabled {
            "the district has no notice contacts (`tenants update --notify-email`)"
        } else {
            "the district is disabled"
        };
        return not_published(why.into());
    };
    let Some(arn) = &topic else {
        return not_published(format!(
            "no notice topic: give --notice-topic-arn (the stack's RunNoticeTopicArn output) or set {NOTICE_TOPIC_ENV}; the district's {} contact(s) were not told",
            tenant.notify_emails.len()
        ));
    };
    let topic_client = crate::tenants_cmd::notices::topic(arn).await;
    match topic_client
        .publish_notice(
            &notice.tenant,
            &notice.outcome,
            &notice.subject,
            &notice.body,
        )
        .await
    {
        Ok(id) => NoticeSent {
            published: true,
            topic: Some(arn.clone()),
            message_id: Some(id),
            not_published: None,
        },
        Err(e) => not_published(format!("publishing failed: {}", e.chain())),
    }
}

/// Renders `run`'s page again where its report is kept: beside the local
/// `report.json`, or in S3 (the report's `run` replaced too). `None` when
/// the run has no report (a revert run, a report that is gone).
async fn rerender(run: &RunRecord) -> Result<Option<String>, String> {
    let Some(reference) = run.report_ref.as_deref() else {
        return Ok(None);
    };
    if !reference.starts_with("s3://") {
        return present::report_page::write_beside(run)
            .map(|page| page.map(|p| p.display().to_string()))
            .map_err(|e| format!("{reference}: {e}"));
    }
    let s3 = cloud::s3_client(&cloud::sdk_config().await);
    let local = crate::runs_cmd::fetch_run_file(&s3, reference).await?;
    let bytes = std::fs::read(&local).map_err(|e| format!("{reference}: {e}"))?;
    let report: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("the run's report {reference} is not JSON: {e}"))?;
    present::report_page::s3::rerender(&s3, reference, report, run)
        .await
        .map(Some)
        .map_err(|e| e.chain().to_string())
}
