//! `rosterctl users list|show` and `rosterctl admins promote|demote`: a
//! tenant's users, one roster user, and the platform-owned Primary
//! Administrator flag.

use crate::on_store;
use crate::outcome::*;
use crate::stores::StoreArgs;
use oneroster::{EntityKind, Role};
use roster::Store;
use serde_json::json;
use std::fmt::Write as _;

/// The arguments of `rosterctl users list`.
#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    /// The tenant.
    #[arg(long)]
    pub tenant: String,
    /// Only provisional users, made at sign-in and not yet delivered by a sync.
    #[arg(long)]
    pub provisional: bool,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl ListArgs {
    /// Runs `rosterctl users list`.
    pub async fn run(self) -> Outcome {
        let (tenant, provisional, json) = (&self.tenant, self.provisional, self.json);
        on_store!(self.store, json, s => users_list(&s, tenant, provisional, json).await)
    }
}

/// The arguments of `rosterctl users show`.
#[derive(Debug, Clone, clap::Args)]
pub struct ShowArgs {
    /// The user's sourcedId.
    pub sourced_id: String,
    /// The tenant.
    #[arg(long)]
    pub tenant: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl ShowArgs {
    /// Runs `rosterctl users show`.
    pub async fn run(self) -> Outcome {
        let (tenant, id, json) = (&self.tenant, &self.sourced_id, self.json);
        on_store!(self.store, json, s => users_show(&s, tenant, id, json).await)
    }
}

/// The arguments of `rosterctl admins promote` and `demote`.
#[derive(Debug, Clone, clap::Args)]
pub struct AdminArgs {
    /// The administrator's sourcedId.
    pub sourced_id: String,
    /// The tenant.
    #[arg(long)]
    pub tenant: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl AdminArgs {
    /// Runs `rosterctl admins promote` (`promote`) or `admins demote`.
    pub async fn run(self, promote: bool) -> Outcome {
        let (tenant, id, json) = (&self.tenant, &self.sourced_id, self.json);
        on_store!(self.store, json, s => admins_set(&s, tenant, id, promote, json).await)
    }
}

/// `rosterctl users list`: every user of the tenant with its state, or with
/// `provisional` only the provisional ones (when and by which sign-in each
/// was made, and its email, so the district can be asked to send them).
pub async fn users_list<S: Store>(
    store: &S,
    tenant: &str,
    provisional: bool,
    json: bool,
) -> Outcome {
    match store.get_tenant(tenant).await {
        Err(e) => return store_failure(json, &e),
        Ok(None) => {
            return refused(
                json,
                &format!("no tenant `{tenant}`; add it with `rosterctl tenants add {tenant}`"),
            )
        }
        Ok(Some(_)) => {}
    }
    if provisional {
        return match store.provisional_users(tenant).await {
            Ok(users) => ok(render_provisional(tenant, &users, json)),
            Err(e) => store_failure(json, &e),
        };
    }
    let mut users = match store.load_summaries(tenant, EntityKind::Users).await {
        Ok(u) => u,
        Err(e) => return store_failure(json, &e),
    };
    users.sort_by(|a, b| a.sourced_id.cmp(&b.sourced_id));
    let state = |u: &roster::StoredSummary| match (u.archived, u.provisional) {
        (true, _) => "archived",
        (false, true) => "provisional",
        (false, false) => "active",
    };
    if json {
        let rows: Vec<_> = users
            .iter()
            .map(|u| json!({"sourcedId": u.sourced_id.as_str(), "state": state(u)}))
            .collect();
        return ok(json!({"tenant": tenant, "users": rows}).to_string() + "\n");
    }
    let mut out = format!("{} user(s) in tenant {tenant}\n", users.len());
    for u in &users {
        let _ = writeln!(out, "{:<24} {}", u.sourced_id, state(u));
    }
    ok(out)
}

/// The provisional users: JSON, or a table and what to ask the district.
fn render_provisional(tenant: &str, users: &[roster::StoredEntity], json: bool) -> String {
    if json {
        let rows: Vec<_> = users
            .iter()
            .map(|u| {
                json!({
                    "sourcedId": u.sourced_id,
                    "email": u.sis.str("email"),
                    "archived": u.archive.is_some(),
                    "first_seen_at": u.first_seen_at,
                    "first_seen_run": u.first_seen_run,
                })
            })
            .collect();
        return json!({"tenant": tenant, "provisional": rows}).to_string() + "\n";
    }
    let mut out = format!(
        "{} provisional user(s) in tenant {tenant}: signed in with ClassLink before the roster had them\n",
        users.len()
    );
    if !users.is_empty() {
        let _ = writeln!(
            out,
            "{:<24} {:<26} {:<9} email",
            "sourcedId", "first signed in", "state"
        );
    }
    for u in users {
        let _ = writeln!(
            out,
            "{:<24} {:<26} {:<9} {}",
            u.sourced_id,
            u.first_seen_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            if u.archive.is_some() {
                "archived"
            } else {
                "active"
            },
            u.sis.str("email").unwrap_or("-")
        );
    }
    if !users.is_empty() {
        out.push_str("Ask the district to send them (in ClassLink, turn on Unenrolled Users, or enrol them in a class); the next sync makes them ordinary roster users.\n");
    }
    out
}

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
                "provisional": user.provisional,
                "first_seen_at": user.first_seen_at,
                "first_seen_run": user.first_seen_run,
                "updated_at": user.updated_at,
                "updated_run": user.updated_run,
                "erasure": user.erasure,
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
            if let Some(erasure) = &user.erasure {
                let _ = writeln!(out, "erased: {}", erasure.describe());
            }
            if user.provisional {
                let _ = writeln!(
                    out,
                    "provisional: true (made at ClassLink sign-in; no sync has delivered this user yet)"
                );
            }
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
