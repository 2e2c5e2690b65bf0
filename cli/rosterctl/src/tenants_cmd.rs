//! `rosterctl tenants add|update|show|list|disable`: onboarding a district.
//! Writes the tenant config; stores API credentials in Secrets Manager; for
//! API tenants, creates or updates the EventBridge Scheduler schedule that
//! invokes oneroster-pull; prints the SFTP user to create for SFTP tenants.

use crate::outcome::{Outcome, EXIT_OK, EXIT_REFUSED, EXIT_USAGE};
use crate::validate_cmd::parse_roles;
use roster::api::PullEvent;
use roster::{ApiSecret, ApiSettings, Connection, PullSchedule, Store, TenantConfig};
use serde_json::json;

/// Every setting `add` and `update` accept; only those given change.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TenantArgs {
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// How the district delivers: sftp, api, or both.
    #[arg(long)]
    pub connection: Option<String>,
    /// ClassLink TenantId (for SSO).
    #[arg(long)]
    pub classlink_tenant_id: Option<String>,
    /// OneRoster API URL.
    #[arg(long)]
    pub api_url: Option<String>,
    /// OAuth 1.0a Application Key (stored in Secrets Manager with --api-secret).
    #[arg(long)]
    pub api_key: Option<String>,
    /// OAuth 1.0a Application Secret (or ONEROSTER_API_SECRET).
    #[arg(long)]
    pub api_secret: Option<String>,
    /// Bearer token (ClassLink's OneRoster proxy).
    #[arg(long)]
    pub api_token: Option<String>,
    /// Secrets Manager name prefix of tenants' API secrets (the stack's TenantSecretPrefix).
    #[arg(long, default_value = "roster/tenants/")]
    pub secret_prefix: String,
    /// Records per API page.
    #[arg(long)]
    pub page_size: Option<usize>,
    /// Pull days: MON,WED,... or DAILY.
    #[arg(long)]
    pub schedule_days: Option<String>,
    /// Pull time, HH:MM (24 h), in --timezone.
    #[arg(long)]
    pub schedule_time: Option<String>,
    /// The district's IANA time zone.
    #[arg(long, default_value = "America/New_York")]
    pub timezone: String,
    /// A full pull at least every N days; deltas in between (0: always full).
    #[arg(long)]
    pub full_every_days: Option<u32>,
    /// User roles imported (comma-separated).
    #[arg(long)]
    pub roles: Option<String>,
    /// Import demographics (true/false).
    #[arg(long)]
    pub demographics: Option<bool>,
    /// Hold a bulk sync archiving more than this percent of a type's active records.
    #[arg(long)]
    pub hold_percent: Option<f64>,
    /// ... and at least this many.
    #[arg(long)]
    pub hold_min: Option<u64>,
    /// Teachers sign in with ClassLink SSO (true/false).
    #[arg(long)]
    pub sso: Option<bool>,
    /// Administrators sign in with ClassLink SSO too (true/false).
    #[arg(long)]
    pub admin_sso: Option<bool>,
    /// Without a SourcedId from ClassLink, match teachers by email, then
    /// username, within this district (true/false).
    #[arg(long)]
    pub sso_match_by_email: Option<bool>,
    /// Aides may sign in with ClassLink SSO (true/false).
    #[arg(long)]
    pub sso_allow_aides: Option<bool>,
    /// The stack's PullScheduleGroupName output.
    #[arg(long, default_value = "roster-pulls")]
    pub schedule_group: String,
    /// The stack's OneRosterPullFunctionArn output.
    #[arg(long)]
    pub pull_function_arn: Option<String>,
    /// The stack's PullSchedulerRoleArn output.
    #[arg(long)]
    pub scheduler_role_arn: Option<String>,
    /// The stack's PullSchedulerDeadLetterQueueArn output.
    #[arg(long)]
    pub scheduler_dlq_arn: Option<String>,
    /// The stack's InboundBucketName output (for the SFTP user details).
    #[arg(long)]
    pub inbound_bucket: Option<String>,
}

fn err(json: bool, code: i32, message: &str) -> Outcome {
    Outcome {
        stdout: if json {
            json!({"ok": false, "error": message}).to_string() + "\n"
        } else {
            format!("error: {message}\n")
        },
        exit_code: code,
    }
}

/// Applies the given settings to `config`.
pub fn apply(config: &mut TenantConfig, a: &TenantArgs) -> Result<(), String> {
    if let Some(name) = &a.name {
        config.display_name = name.clone();
    }
    if let Some(c) = &a.connection {
        config.connections = match c.as_str() {
            "sftp" => vec![Connection::Sftp],
            "api" => vec![Connection::Api],
            "both" => vec![Connection::Sftp, Connection::Api],
            other => {
                return Err(format!(
                    "--connection is `{other}`; expected sftp, api or both"
                ))
            }
        };
    }
    if let Some(id) = &a.classlink_tenant_id {
        config.classlink_tenant_id = Some(id.clone());
    }
    if a.api_url.is_some()
        || a.page_size.is_some()
        || a.full_every_days.is_some()
        || a.api_key.is_some()
        || a.api_token.is_some()
    {
        let current = config.api.clone();
        let url = a
            .api_url
            .clone()
            .or(current.as_ref().map(|c| c.url.clone()))
            .ok_or("the API connection needs --api-url")?;
        config.api = Some(ApiSettings {
            url,
            secret_name: format!("{}{}", a.secret_prefix, config.tenant),
            page_size: a
                .page_size
                .or(current.as_ref().map(|c| c.page_size))
                .unwrap_or(1000),
            full_every_days: a
                .full_every_days
                .or(current.as_ref().map(|c| c.full_every_days))
                .unwrap_or(7),
        });
    }
    match (&a.schedule_days, &a.schedule_time) {
        (Some(days), Some(time)) => {
            config.schedule = Some(PullSchedule::new(days, time, &a.timezone)?)
        }
        (None, None) => {}
        _ => return Err("a schedule needs both --schedule-days and --schedule-time".into()),
    }
    if let Some(roles) = &a.roles {
        config.imported_roles = parse_roles(roles)?.iter().collect();
    }
    if let Some(d) = a.demographics {
        config.demographics = d;
    }
    if let Some(p) = a.hold_percent {
        if !(0.0..=100.0).contains(&p) {
            return Err(format!("--hold-percent {p} is not a percentage"));
        }
        config
            .hold
            .get_or_insert_with(roster::tenant::HoldThresholds::from_env)
            .max_archive_percent = p;
    }
    if let Some(m) = a.hold_min {
        config
            .hold
            .get_or_insert_with(roster::tenant::HoldThresholds::from_env)
            .min_archive_count = m;
    }
    if let Some(s) = a.sso {
        config.sso_enabled = s;
    }
    if let Some(s) = a.sso_match_by_email {
        config.sso_match_by_email = s;
    }
    if let Some(s) = a.sso_allow_aides {
        config.sso_allow_aides = s;
    }
    if let Some(s) = a.admin_sso {
        config.admin_sso_enabled = s;
    }
    if config.uses(Connection::Api) && config.api.is_none() {
        return Err("an API tenant needs --api-url (and credentials: --api-key with --api-secret, or --api-token)".into());
    }
    Ok(())
}

/// The secret JSON to store, if credentials were given.
fn secret_json(a: &TenantArgs) -> Result<Option<String>, String> {
    let secret = a
        .api_secret
        .clone()
        .or_else(|| std::env::var("ONEROSTER_API_SECRET").ok());
    match (&a.api_key, &a.api_token) {
        (Some(key), None) => {
            let secret = secret.ok_or("--api-key needs --api-secret (or ONEROSTER_API_SECRET)")?;
            Ok(Some(
                ApiSecret::Oauth1 {
                    key: key.clone(),
                    secret,
                }
                .to_secret_string(),
            ))
        }
        (None, Some(token)) => Ok(Some(
            ApiSecret::Bearer {
                token: token.clone(),
            }
            .to_secret_string(),
        )),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err("give either --api-key/--api-secret or --api-token".into()),
    }
}

async fn store_secret(name: &str, value: &str) -> Result<&'static str, String> {
    let sdk = cloud::sdk_config().await;
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    match sm
        .put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
    {
        Ok(_) => Ok("updated"),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            sm.create_secret()
                .name(name)
                .secret_string(value)
                .description("OneRoster API credentials (roster bridge)")
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "Secrets Manager: cannot create `{name}`: {}",
                        e.into_service_error()
                    )
                })?;
            Ok("created")
        }
        Err(e) => Err(format!(
            "Secrets Manager: cannot store `{name}`: {}",
            e.into_service_error()
        )),
    }
}

async fn upsert_schedule(config: &TenantConfig, a: &TenantArgs) -> Result<Option<String>, String> {
    let Some(schedule) = config
        .schedule
        .as_ref()
        .filter(|_| config.uses(Connection::Api))
    else {
        return Ok(None);
    };
    let (Some(function), Some(role)) = (&a.pull_function_arn, &a.scheduler_role_arn) else {
        return Err("a pull schedule needs --pull-function-arn and --scheduler-role-arn (the stack's outputs)".into());
    };
    use aws_sdk_scheduler::types::{
        DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode, ScheduleState, Target,
    };
    let sdk = cloud::sdk_config().await;
    let scheduler = aws_sdk_scheduler::Client::new(&sdk);
    let name = format!("{}-pull", config.tenant);
    let mut target = Target::builder().arn(function).role_arn(role).input(
        serde_json::to_string(&PullEvent::scheduled(&config.tenant)).map_err(|e| e.to_string())?,
    );
    if let Some(dlq) = &a.scheduler_dlq_arn {
        target = target.dead_letter_config(DeadLetterConfig::builder().arn(dlq).build());
    }
    let target = target.build().map_err(|e| e.to_string())?;
    let window = FlexibleTimeWindow::builder()
        .mode(FlexibleTimeWindowMode::Off)
        .build()
        .map_err(|e| e.to_string())?;
    let state = if config.enabled {
        ScheduleState::Enabled
    } else {
        ScheduleState::Disabled
    };
    let exists = scheduler
        .get_schedule()
        .name(&name)
        .group_name(&a.schedule_group)
        .send()
        .await
        .is_ok();
    let result = if exists {
        scheduler
            .update_schedule()
            .name(&name)
            .group_name(&a.schedule_group)
            .schedule_expression(schedule.expression())
            .schedule_expression_timezone(&schedule.timezone)
            .flexible_time_window(window)
            .target(target)
            .state(state)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("{}", e.into_service_error()))
    } else {
        scheduler
            .create_schedule()
            .name(&name)
            .group_name(&a.schedule_group)
            .schedule_expression(schedule.expression())
            .schedule_expression_timezone(&schedule.timezone)
            .flexible_time_window(window)
            .target(target)
            .state(state)
            .description(format!("OneRoster API pull of tenant {}", config.tenant))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("{}", e.into_service_error()))
    };
    result.map_err(|e| format!("EventBridge Scheduler: {e}"))?;
    Ok(Some(format!("{}/{name}", a.schedule_group)))
}

/// The AWS Transfer Family user to create for an SFTP district (the pattern
/// documented at `SftpUserRole` in template.yaml): the tenant id as user
/// name, a logical home directory mapped to `inbound/{tenant}/`, the stack's
/// SFTP user role, and a session policy that confines the user to its folder.
fn sftp_instructions(config: &TenantConfig, bucket: Option<&str>) -> Option<serde_json::Value> {
    if !config.uses(Connection::Sftp) {
        return None;
    }
    let bucket = bucket.unwrap_or("<InboundBucketName>");
    let tenant = &config.tenant;
    let target = format!("/{bucket}/inbound/{tenant}");
    let session_policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListOwnFolder",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": format!("arn:aws:s3:::{bucket}"),
                "Condition": {"StringLike": {"s3:prefix": [
                    "inbound/${transfer:UserName}/*", "inbound/${transfer:UserName}"
                ]}}
            },
            {
                "Sid": "UploadAndReadOwnFolder",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": format!("arn:aws:s3:::{bucket}/inbound/${{transfer:UserName}}/*")
            }
        ]
    });
    let mappings = json!([{"Entry": "/", "Target": target}]);
    Some(json!({
        "user_name": tenant,
        "server_id": "<SftpServerId output>",
        "role": "<SftpUserRoleArn output>",
        "home_directory_type": "LOGICAL",
        "home_directory_mappings": mappings,
        "session_policy": session_policy,
        "ssh_public_key": "the district's ClassLink Roster Server public key",
        "note": "uploads only (no delete): ClassLink must upload under the final file name",
        "command": format!(
            "aws transfer create-user --server-id <SftpServerId> --user-name {tenant} --role <SftpUserRoleArn> \
             --home-directory-type LOGICAL --home-directory-mappings '{mappings}' \
             --policy '{session_policy}' --ssh-public-key-body '<ssh-rsa ...>'"
        ),
    }))
}

/// `tenants add` (`create`: refuse an existing tenant) or `tenants update` (refuse a missing one).
pub async fn add_or_update<S: Store>(
    store: &S,
    tenant: &str,
    a: &TenantArgs,
    create: bool,
    json: bool,
) -> Outcome {
    let existing = match store.get_tenant(tenant).await {
        Ok(t) => t,
        Err(e) => return err(json, EXIT_USAGE, &e.to_string()),
    };
    let mut config = match (existing, create) {
        (Some(_), true) => {
            return err(
                json,
                EXIT_REFUSED,
                &format!("tenant `{tenant}` exists; use `tenants update`"),
            )
        }
        (None, false) => {
            return err(
                json,
                EXIT_REFUSED,
                &format!("no tenant `{tenant}`; use `tenants add`"),
            )
        }
        (Some(t), false) => t,
        (None, true) => match TenantConfig::new(tenant) {
            Ok(t) => t,
            Err(e) => return err(json, EXIT_USAGE, &e.to_string()),
        },
    };
    if let Err(e) = apply(&mut config, a) {
        return err(json, EXIT_USAGE, &e);
    }
    // Sign-in finds the district by its ClassLink TenantId: it must be unique.
    if let Some(classlink) = &config.classlink_tenant_id {
        match store.list_tenants().await {
            Ok(all) => {
                if let Some(other) = all.iter().find(|t| {
                    t.tenant != config.tenant && t.classlink_tenant_id.as_ref() == Some(classlink)
                }) {
                    return err(
                        json,
                        EXIT_REFUSED,
                        &format!(
                            "ClassLink TenantId {classlink} already belongs to tenant `{}`; one district, one ClassLink tenant",
                            other.tenant
                        ),
                    );
                }
            }
            Err(e) => return err(json, EXIT_USAGE, &e.to_string()),
        }
    }
    let secret = match secret_json(a) {
        Ok(s) => s,
        Err(e) => return err(json, EXIT_USAGE, &e),
    };
    let mut secret_action = None;
    if let (Some(value), Some(api)) = (&secret, &config.api) {
        match store_secret(&api.secret_name, value).await {
            Ok(action) => secret_action = Some(format!("{action} {}", api.secret_name)),
            Err(e) => return err(json, EXIT_USAGE, &e),
        }
    }
    let schedule = match upsert_schedule(&config, a).await {
        Ok(s) => s,
        Err(e) => return err(json, EXIT_USAGE, &e),
    };
    if let Err(e) = store.put_tenant(&config).await {
        return err(json, EXIT_USAGE, &e.to_string());
    }
    let report = json!({
        "ok": true,
        "tenant": config,
        "secret": secret_action,
        "schedule": schedule,
        "sftp_user": sftp_instructions(&config, a.inbound_bucket.as_deref()),
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

/// `tenants show`.
pub async fn show<S: Store>(store: &S, tenant: &str, json: bool) -> Outcome {
    match store.get_tenant(tenant).await {
        Ok(Some(t)) => {
            let v = serde_json::to_value(&t).unwrap_or_default();
            Outcome {
                stdout: if json {
                    v.to_string() + "\n"
                } else {
                    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
                },
                exit_code: EXIT_OK,
            }
        }
        Ok(None) => err(json, EXIT_REFUSED, &format!("no tenant `{tenant}`")),
        Err(e) => err(json, EXIT_USAGE, &e.to_string()),
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
        Err(e) => err(json, EXIT_USAGE, &e.to_string()),
    }
}

/// `tenants disable`: no more syncs (and the pull schedule, if any, is disabled).
pub async fn disable<S: Store>(store: &S, tenant: &str, a: &TenantArgs, json: bool) -> Outcome {
    let mut config = match store.get_tenant(tenant).await {
        Ok(Some(t)) => t,
        Ok(None) => return err(json, EXIT_REFUSED, &format!("no tenant `{tenant}`")),
        Err(e) => return err(json, EXIT_USAGE, &e.to_string()),
    };
    config.enabled = false;
    if config.schedule.is_some() && a.pull_function_arn.is_some() {
        if let Err(e) = upsert_schedule(&config, a).await {
            return err(json, EXIT_USAGE, &e);
        }
    }
    if let Err(e) = store.put_tenant(&config).await {
        return err(json, EXIT_USAGE, &e.to_string());
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
