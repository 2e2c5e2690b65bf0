//! `rosterctl tenants add|update|show|list|disable`: onboarding a district.
//! Writes the tenant config; stores API credentials in Secrets Manager; for
//! API tenants, creates or updates the EventBridge Scheduler schedule that
//! invokes oneroster-pull; prints the SFTP user to create for SFTP tenants.

use crate::outcome::{error_outcome, failure, Outcome, EXIT_OK, EXIT_REFUSED};
use roster::{Connection, Store, TenantConfig};
use serde_json::json;

pub mod check;
mod commands;
pub mod notices;
mod offboard;
mod offboard_aws;
mod offboard_receipt;
mod probe;
mod schedule;
mod secret;
mod settings;
mod sftp;

pub use commands::{
    AddArgs, ChangeArgs, CheckSftpArgs, CheckTenantArgs, ListArgs, NoticesArgs, ShowArgs,
};
pub use offboard::OffboardArgs;
use schedule::{schedule_state, upsert_schedule};
use secret::{read_secret, secret_json, store_secret};
pub use settings::{apply, parse_oneroster_version, ConnectionArg, TenantArgs};
use sftp::{find_sftp_user, sftp_instructions};

/// A refusal (exit code 1), worded as the tenants commands always have: `error: …`.
fn refusal(json: bool, message: &str) -> Outcome {
    error_outcome(json, "error", message, EXIT_REFUSED)
}

/// `tenants add` (`create`: refuse an existing tenant) or `tenants update` (refuse a missing one).
pub async fn add_or_update<S: Store>(
    store: &S,
    tenant: &str,
    a: &TenantArgs,
    create: bool,
    json: bool,
) -> Outcome {
    let mut config = match config_to_change(store, tenant, create, json).await {
        Ok(config) => config,
        Err(outcome) => return outcome,
    };
    let had_sftp = !create && config.uses(Connection::Sftp);
    if let Err(e) = apply(&mut config, a) {
        return failure(json, &e);
    }
    if let Err(outcome) = classlink_id_free(store, &config, json).await {
        return outcome;
    }
    let secret = match secret_json(a) {
        Ok(s) => s,
        Err(e) => return failure(json, &e),
    };
    let mut secret_action = None;
    if let (Some(value), Some(api)) = (&secret, &config.api) {
        match store_secret(&api.secret_name, value).await {
            Ok(action) => secret_action = Some(format!("{action} {}", api.secret_name)),
            Err(e) => return failure(json, &e),
        }
    }
    let schedule = match upsert_schedule(&config, a).await {
        Ok(s) => s,
        Err(e) => return failure(json, &e),
    };
    // The store refuses a ClassLink TenantId another tenant holds (atomically:
    // two operators racing cannot both get it).
    if let Err(e) = store.put_tenant(&config).await {
        if e.is_conflict() {
            return refusal(json, &e.to_string());
        }
        return failure(json, &e.to_string());
    }
    let notices = match notices_followed(store, tenant, a).await {
        Ok(notices) => notices,
        Err(e) => return failure(json, &e),
    };
    let report = json!({
        "ok": true,
        "tenant": config,
        "secret": secret_action,
        "schedule": schedule,
        // What to create on the Transfer Family side: only when SFTP is new to
        // the tenant, and only for the deployed system (DynamoDB, or an
        // operator naming the inbound bucket), never for a local tenant's edit.
        "sftp_user": (!had_sftp && (store.name() == "dynamodb" || a.inbound_bucket.is_some()))
            .then(|| sftp_instructions(&config, a.inbound_bucket.as_deref()))
            .flatten(),
        "notices": notices,
    });
    Outcome {
        stdout: if json {
            report.to_string() + "\n"
        } else {
            serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
        },
        exit_code: EXIT_OK,
    }
}

/// The stored config to update, or (`create`) a new one; refused when the
/// tenant exists and is to be created, or is missing and is to be updated.
async fn config_to_change<S: Store>(
    store: &S,
    tenant: &str,
    create: bool,
    json: bool,
) -> Result<TenantConfig, Outcome> {
    let existing = store
        .get_tenant(tenant)
        .await
        .map_err(|e| failure(json, &e.to_string()))?;
    match (existing, create) {
        (Some(_), true) => Err(refusal(
            json,
            &format!("tenant `{tenant}` exists; use `tenants update`"),
        )),
        (None, false) => Err(refusal(
            json,
            &format!("no tenant `{tenant}`; add it with `rosterctl tenants add {tenant}`"),
        )),
        (Some(t), false) => Ok(t),
        (None, true) => TenantConfig::new(tenant).map_err(|e| failure(json, &e.to_string())),
    }
}

/// Sign-in finds the district by its ClassLink TenantId: a taken one is
/// refused before a secret or a schedule is stored. (The store's own check,
/// when the configuration is saved, is what holds when two operators race.)
async fn classlink_id_free<S: Store>(
    store: &S,
    config: &TenantConfig,
    json: bool,
) -> Result<(), Outcome> {
    let Some(classlink) = &config.classlink_tenant_id else {
        return Ok(());
    };
    match roster::tenant_for_classlink(store, classlink).await {
        Ok(roster::ClassLinkOwner::Tenant(owner)) if owner.tenant != config.tenant => Err(refusal(
            json,
            &roster::classlink_taken(classlink, &owner.tenant).to_string(),
        )),
        Ok(roster::ClassLinkOwner::Misconfigured { tenants }) => {
            let others: Vec<String> = tenants
                .into_iter()
                .filter(|t| *t != config.tenant)
                .collect();
            if others.is_empty() {
                return Ok(());
            }
            Err(refusal(
                json,
                &roster::classlink_taken(classlink, &others.join("`, `")).to_string(),
            ))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(failure(json, &e.to_string())),
    }
}

/// With `--notify-email`, the notice topic's subscriptions brought in line
/// (or why they were not changed); the error says the tenant was saved.
async fn notices_followed<S: Store>(
    store: &S,
    tenant: &str,
    a: &TenantArgs,
) -> Result<Option<serde_json::Value>, String> {
    if a.notify_email.is_none() {
        return Ok(None);
    }
    Ok(Some(
        match notices::notice_topic_arn(a.notice_topic_arn.as_deref()) {
            None => {
                json!({"subscriptions": format!("not changed: no --notice-topic-arn (the stack's RunNoticeTopicArn output) or {}", notices::NOTICE_TOPIC_ENV)})
            }
            Some(arn) => match follow_contacts(store, &arn, false).await {
                Ok(applied) => json!({"topic": arn, "subscriptions": applied}),
                Err(e) => return Err(format!("tenant `{tenant}` saved, but {e}")),
            },
        },
    ))
}

/// The notice topic's subscriptions brought in line with every tenant's contacts.
async fn follow_contacts<S: Store>(
    store: &S,
    arn: &str,
    dry_run: bool,
) -> Result<Vec<notices::Applied>, String> {
    let tenants = store.list_tenants().await.map_err(|e| e.to_string())?;
    notices::reconcile(&notices::topic(arn).await, &tenants, dry_run).await
}

/// `tenants notices`: the run-notice topic's email subscriptions, brought in
/// line with every district's contacts (or, with `dry_run`, what would change).
/// Exit 1 when a change failed.
pub async fn sync_notices<S: Store>(
    store: &S,
    topic_flag: Option<&str>,
    dry_run: bool,
    json: bool,
) -> Outcome {
    let Some(arn) = notices::notice_topic_arn(topic_flag) else {
        return refusal(
            json,
            &format!(
                "no notice topic: give --notice-topic-arn (the stack's RunNoticeTopicArn output) or set {}",
                notices::NOTICE_TOPIC_ENV
            ),
        );
    };
    match follow_contacts(store, &arn, dry_run).await {
        Ok(applied) => {
            let ok = applied.iter().all(|a| a.error.is_none());
            Outcome {
                stdout: if json {
                    json!({"ok": ok, "topic": arn, "dry_run": dry_run, "subscriptions": applied})
                        .to_string()
                        + "\n"
                } else {
                    notices::render(&applied, dry_run)
                },
                exit_code: if ok { EXIT_OK } else { EXIT_REFUSED },
            }
        }
        Err(e) => failure(json, &e),
    }
}

/// `tenants show`.
pub async fn show<S: Store>(store: &S, tenant: &str, json: bool) -> Outcome {
    match store.get_tenant(tenant).await {
        Ok(Some(t)) => {
            let mut v = serde_json::to_value(&t).unwrap_or_default();
            // The retention in force: the tenant's own, else the deployment's (null: off).
            let in_force = match roster::retention::retain_days_from_env() {
                Ok(default) => serde_json::json!(roster::retention::retention_days(&t, default)),
                Err(e) => return failure(json, &e),
            };
            if let Some(map) = v.as_object_mut() {
                map.insert("retain_archived_days_in_force".into(), in_force);
            }
            Outcome {
                stdout: if json {
                    v.to_string() + "\n"
                } else {
                    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
                },
                exit_code: EXIT_OK,
            }
        }
        Ok(None) => refusal(
            json,
            &format!("no tenant `{tenant}`; add it with `rosterctl tenants add {tenant}`"),
        ),
        Err(e) => failure(json, &e.to_string()),
    }
}

/// `tenants list`.
pub async fn list<S: Store>(store: &S, json: bool) -> Outcome {
    match store.list_tenants().await {
        Ok(all) if json => Outcome {
            stdout: serde_json::to_string(&all).unwrap_or_default() + "\n",
            exit_code: EXIT_OK,
        },
        Ok(all) => {
            let mut out = format!(
                "{:<24} {:<8} {:<10} {}\n",
                "tenant", "enabled", "connection", "name"
            );
            for t in all {
                let conn: Vec<&str> = t
                    .connections
                    .iter()
                    .map(|c| match c {
                        Connection::Sftp => "sftp",
                        Connection::Api => "api",
                    })
                    .collect();
                out.push_str(&format!(
                    "{:<24} {:<8} {:<10} {}\n",
                    t.tenant,
                    t.enabled,
                    conn.join("+"),
                    t.display_name
                ));
            }
            Outcome {
                stdout: out,
                exit_code: EXIT_OK,
            }
        }
        Err(e) => failure(json, &e.to_string()),
    }
}

/// `tenants disable`: no more syncs (and the pull schedule, if any, is disabled).
pub async fn disable<S: Store>(store: &S, tenant: &str, a: &TenantArgs, json: bool) -> Outcome {
    let mut config = match store.get_tenant(tenant).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return refusal(
                json,
                &format!("no tenant `{tenant}`; add it with `rosterctl tenants add {tenant}`"),
            )
        }
        Err(e) => return failure(json, &e.to_string()),
    };
    config.enabled = false;
    if config.schedule.is_some() && a.pull_function_arn.is_some() {
        if let Err(e) = upsert_schedule(&config, a).await {
            return failure(json, &e);
        }
    }
    // The store refuses a ClassLink TenantId another tenant holds (atomically:
    // two operators racing cannot both get it).
    if let Err(e) = store.put_tenant(&config).await {
        if e.is_conflict() {
            return refusal(json, &e.to_string());
        }
        return failure(json, &e.to_string());
    }
    Outcome {
        stdout: if json {
            json!({"ok": true, "tenant": tenant, "enabled": false}).to_string() + "\n"
        } else {
            format!("tenant {tenant} disabled: no more syncs\n")
        },
        exit_code: EXIT_OK,
    }
}

/// Where `tenants check` looks on the AWS side.
#[derive(Debug, Clone, Default)]
pub struct CheckArgs {
    /// The Transfer Family server (the stack's SftpServerId output).
    pub sftp_server_id: Option<String>,
    /// The inbound bucket (the stack's InboundBucketName output), to check the home mapping exactly.
    pub inbound_bucket: Option<String>,
    /// The EventBridge Scheduler group of the pull schedules.
    pub schedule_group: String,
    /// The run-notice topic (the stack's RunNoticeTopicArn output), to check
    /// the contacts' subscriptions.
    pub notice_topic_arn: Option<String>,
    /// The deployment's default pause window (`DEFAULT_PAUSE_WINDOW`).
    pub default_pause: Option<roster::YearlyWindow>,
}

/// `tenants check-sftp`: the district's AWS Transfer Family user on
/// `server_id`, checked alone (no store needed): a LOGICAL home mapped to
/// `inbound/{tenant}`, exactly the district session policy, an SSH key.
/// Exit 0 when it is right, 1 when it is missing or wrong, 2 when AWS
/// cannot be asked.
pub async fn check_sftp(
    tenant: &str,
    server_id: Option<&str>,
    bucket: Option<&str>,
    json: bool,
) -> Outcome {
    use check::SftpFinding;
    let Some(server_id) = server_id else {
        return failure(
            json,
            "no Transfer Family server: pass --sftp-server-id (the stack's SftpServerId output) or set ROSTER_SFTP_SERVER_ID",
        );
    };
    let (status, problems, exit_code) = match find_sftp_user(server_id, tenant, bucket).await {
        SftpFinding::Found { problems } if problems.is_empty() => ("ok", problems, EXIT_OK),
        SftpFinding::Found { problems } => ("fail", problems, EXIT_REFUSED),
        SftpFinding::Missing => (
            "missing",
            vec![format!("server {server_id} has no user named {tenant}; create it as `rosterctl tenants show {tenant}` prints it (sftp_user)")],
            EXIT_REFUSED,
        ),
        SftpFinding::NotChecked => unreachable!("a server id was given"),
        SftpFinding::Error(e) => return failure(json, &format!("cannot read the Transfer Family user: {e}")),
    };
    let stdout = if json {
        serde_json::json!({
            "tenant": tenant,
            "server_id": server_id,
            "status": status,
            "problems": problems,
        })
        .to_string()
            + "\n"
    } else if problems.is_empty() {
        format!("SFTP user {tenant} on {server_id}: ok (LOGICAL home at inbound/{tenant}, the district session policy, an SSH key)\n")
    } else {
        let mut text = format!("SFTP user {tenant} on {server_id}: {status}\n");
        for p in &problems {
            text.push_str(&format!("  - {p}\n"));
        }
        text
    };
    Outcome { stdout, exit_code }
}

/// `tenants check`: the readiness report. Exit 0 when ready, 1 when a line fails.
pub async fn check_tenant<S: Store>(store: &S, tenant: &str, a: &CheckArgs, json: bool) -> Outcome {
    let config = match store.get_tenant(tenant).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return refusal(
                json,
                &format!("no tenant `{tenant}`; add it with `rosterctl tenants add {tenant}`"),
            )
        }
        Err(e) => return failure(json, &e.to_string()),
    };
    let now = chrono::Utc::now();
    let mut facts = match check::store_facts(store, config.clone(), now).await {
        Ok(f) => f,
        Err(e) => return failure(json, &e.to_string()),
    };
    facts.default_pause = a.default_pause;
    if config.uses(Connection::Sftp) {
        facts.sftp = Some(match &a.sftp_server_id {
            Some(server) => find_sftp_user(server, tenant, a.inbound_bucket.as_deref()).await,
            None => check::SftpFinding::NotChecked,
        });
    }
    if config.uses(Connection::Api) {
        facts.api = Some(match &config.api {
            None => check::ApiFinding::NoSettings,
            Some(api) => match read_secret(&api.secret_name).await {
                Err(e) => check::ApiFinding::NoCredentials(e),
                Ok(secret) => probe::probe(api, secret.auth()).await,
            },
        });
        if config.schedule.is_some() {
            facts.schedule = Some(schedule_state(&a.schedule_group, tenant).await);
        }
    }
    if let (Some(arn), false) = (&a.notice_topic_arn, config.notify_emails.is_empty()) {
        facts.notices = match notices::topic(arn).await.email_subscriptions().await {
            Ok(subscriptions) => check::notice_finding(&config, &subscriptions),
            Err(e) => check::NoticeFinding::Error(e.chain()),
        };
    }
    let lines = check::assess(&facts);
    let ready = lines.iter().all(|l| l.status != check::Status::Fail);
    let stdout = if json {
        json!({"tenant": tenant, "ready": ready, "checks": lines}).to_string() + "\n"
    } else {
        check::render(tenant, &lines)
    };
    Outcome {
        stdout,
        exit_code: if ready { EXIT_OK } else { EXIT_REFUSED },
    }
}
