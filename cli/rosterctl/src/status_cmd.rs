//! `rosterctl tenants status`: each district's last run and whether a Primary
//! Administrator exists.

use crate::outcome::*;
use roster::Store;
use serde_json::json;
use std::fmt::Write as _;

/// `rosterctl tenants status`.
pub async fn tenants_status<S: Store>(store: &S, only: Option<&str>, json: bool) -> Outcome {
    let tenants = match store.list_tenants().await {
        Ok(t) => t,
        Err(e) => return store_failure(json, &e),
    };
    let mut rows = Vec::new();
    for t in tenants
        .iter()
        .filter(|t| only.is_none_or(|o| o == t.tenant))
    {
        let last = match store.list_runs(Some(&t.tenant), 1).await {
            Ok(runs) => runs.into_iter().next(),
            Err(e) => return store_failure(json, &e),
        };
        let admins = match store.primary_admins(&t.tenant).await {
            Ok(a) => a,
            Err(e) => return store_failure(json, &e),
        };
        let state = match store.get_state(&t.tenant).await {
            Ok(s) => s,
            Err(e) => return store_failure(json, &e),
        };
        rows.push(json!({
            "tenant": t.tenant,
            "enabled": t.enabled,
            "last_run": last.as_ref().map(|r| json!({
                "run_id": r.run_id, "status": r.status.as_str(), "ended_at": r.ended_at,
                "message": r.message, "counts": r.counts, "items_written": r.items_written,
            })),
            "last_applied_run": state.last_applied_run,
            "last_applied_at": state.last_applied_at,
            "primary_admins": admins,
            "has_primary_admin": !admins.is_empty(),
        }));
    }
    if only.is_some() && rows.is_empty() {
        let t = only.unwrap_or_default();
        return refused(
            json,
            &format!("no tenant `{t}`; add it with `rosterctl tenants add {t}` (`rosterctl tenants list` shows the tenants)"),
        );
    }
    if json {
        return ok(serde_json::Value::Array(rows).to_string() + "\n");
    }
    let mut out = String::new();
    for r in &rows {
        let _ = writeln!(
            out,
            "Tenant {}{}",
            r["tenant"].as_str().unwrap_or(""),
            if r["enabled"] == true {
                ""
            } else {
                " (disabled)"
            }
        );
        match r["last_run"].as_object() {
            Some(last) => {
                let _ = writeln!(
                    out,
                    "  last run: {} {} — {}",
                    last["run_id"].as_str().unwrap_or(""),
                    last["status"].as_str().unwrap_or(""),
                    last["message"].as_str().unwrap_or("")
                );
            }
            None => {
                let _ = writeln!(out, "  last run: none yet");
            }
        }
        if r["has_primary_admin"] == true {
            let _ = writeln!(out, "  Primary Administrator: {}", r["primary_admins"]);
        } else {
            let _ = writeln!(out, "  Primary Administrator: NONE — the roster is not usable until one is promoted (rosterctl admins promote --tenant {} SOURCEDID)", r["tenant"].as_str().unwrap_or(""));
        }
    }
    ok(out)
}
