//! `rosterctl sso audit`: a district's recent sign-in attempts (ids and outcomes).

use crate::outcome::*;
use roster::Store;
use serde_json::json;
use std::fmt::Write as _;

/// `sso audit`: a district's recent sign-in attempts (ids and outcomes only).
pub async fn sso_audit<S: Store>(
    store: &S,
    tenant: Option<&str>,
    limit: usize,
    json: bool,
) -> Outcome {
    match store
        .list_sign_in_audits(tenant, limit, chrono::Utc::now())
        .await
    {
        Err(e) => store_failure(json, &e),
        Ok(audits) if json => ok(json!({ "attempts": audits }).to_string() + "\n"),
        Ok(audits) => {
            let mut out = format!(
                "Sign-in attempts ({}), newest first: {}\n",
                tenant.unwrap_or("unrecognised districts"),
                audits.len()
            );
            let _ = writeln!(
                out,
                "{:<24}  {:<22}  {:<12}  {:<14}  {:<14}  {:<10}  reference",
                "time", "outcome", "classlink", "user", "sourcedId", "matched by"
            );
            for a in &audits {
                let _ = writeln!(
                    out,
                    "{:<24}  {:<22}  {:<12}  {:<14}  {:<14}  {:<10}  {}",
                    a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    a.outcome,
                    a.classlink_tenant_id.as_deref().unwrap_or("-"),
                    a.classlink_user_id.as_deref().unwrap_or("-"),
                    a.sourced_id.as_deref().unwrap_or("-"),
                    a.matched_by.as_deref().unwrap_or("-"),
                    a.request_id
                );
            }
            ok(out)
        }
    }
}
