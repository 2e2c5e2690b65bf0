//! `rosterctl users show` and `rosterctl admins promote|demote`: one roster
//! user, and the platform-owned Primary Administrator flag.

use crate::outcome::*;
use oneroster::{EntityKind, Role};
use roster::Store;
use serde_json::json;
use std::fmt::Write as _;

/// `rosterctl users show`.
pub async fn users_show<S: Store>(
    store: &S,
    tenant: &str,
    sourced_id: &str,
    json: bool,
) -> Outcome {
    match store
        .get_entity(tenant, EntityKind::Users, sourced_id)
        .await
    {
        Err(e) => store_failure(json, &e),
        Ok(None) => refused(json, &format!("no user {sourced_id} in tenant {tenant}")),
        Ok(Some(user)) => {
            let value = json!({
                "tenant": tenant,
                "sourcedId": user.sourced_id,
                "sis": user.sis.fields(),
                "archived": user.archive.is_some(),
                "archived_by": user.archive.as_ref().map(|a| a.by.as_str()),
                "archived_at": user.archive.as_ref().map(|a| a.at),
                "archived_run": user.archive.as_ref().and_then(|a| a.run.clone()),
                "archive_reason": user.archive.as_ref().and_then(|a| a.reason).map(|r| r.as_str()),
                "primary_admin": user.primary_admin,
                "first_seen_at": user.first_seen_at,
                "first_seen_run": user.first_seen_run,
                "updated_at": user.updated_at,
                "updated_run": user.updated_run,
            });
            if json {
                return ok(value.to_string() + "\n");
            }
            let mut out = format!("User {} (tenant {tenant})\n", user.sourced_id);
            for (k, v) in user.sis.fields() {
                let _ = writeln!(out, "  {k}: {v}");
            }
            let _ = writeln!(out, "archived: {}", user.archive.is_some());
            if let Some(a) = &user.archive {
                let _ = writeln!(
                    out,
                    "archived_by: {} at {} (run {}){}",
                    a.by.as_str(),
                    a.at,
                    a.run.as_deref().unwrap_or("-"),
                    a.reason
                        .map(|r| format!(", reason: {}", r.as_str()))
                        .unwrap_or_default()
                );
            }
            let _ = writeln!(out, "primary_admin: {}", user.primary_admin);
            let _ = writeln!(
                out,
                "first seen: {} (run {}); last written: {} (run {})",
                user.first_seen_at, user.first_seen_run, user.updated_at, user.updated_run
            );
            ok(out)
        }
    }
}

/// `rosterctl admins promote|demote`.
pub async fn admins_set<S: Store>(
    store: &S,
    tenant: &str,
    sourced_id: &str,
    promote: bool,
    json: bool,
) -> Outcome {
    let user = match store
        .get_entity(tenant, EntityKind::Users, sourced_id)
        .await
    {
        Ok(Some(u)) => u,
        Ok(None) => return refused(json, &format!("no user {sourced_id} in tenant {tenant}")),
        Err(e) => return store_failure(json, &e),
    };
    if promote {
        if user.archive.is_some() {
            return refused(
                json,
                &format!(
                    "user {sourced_id} is archived; only an active administrator can be promoted"
                ),
            );
        }
        if user.sis.str("role") != Some(Role::Administrator.as_str()) {
            return refused(
                json,
                &format!(
                    "user {sourced_id} has role `{}`; only an administrator can be promoted",
                    user.sis.str("role").unwrap_or("unknown")
                ),
            );
        }
    }
    if let Err(e) = store.set_primary_admin(tenant, sourced_id, promote).await {
        return store_failure(json, &e);
    }
    let verb = if promote {
        "promoted to"
    } else {
        "demoted from"
    };
    if json {
        ok(
            json!({"ok": true, "tenant": tenant, "sourcedId": sourced_id, "primary_admin": promote})
                .to_string() + "\n",
        )
    } else {
        ok(format!(
            "user {sourced_id} {verb} Primary Administrator of tenant {tenant}\n"
        ))
    }
}
