//! The arguments of `rosterctl tenants add|update|show|list|disable|check-sftp|check|notices`,
//! each run on the store it names.

use super::{add_or_update, check_sftp, check_tenant, disable, list, notices, show, sync_notices};
use super::{CheckArgs, TenantArgs};
use crate::on_new_store;
use crate::on_store;
use crate::outcome::Outcome;
use crate::stores::StoreArgs;

/// The arguments of `rosterctl tenants add`.
#[derive(Debug, Clone, clap::Args)]
pub struct AddArgs {
    /// Tenant id (lower-case letters, digits, `-`, `_`).
    pub tenant: String,
    #[command(flatten)]
    pub settings: TenantArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl AddArgs {
    /// Runs `rosterctl tenants add` (the SQLite file is created if need be).
    pub async fn run(self) -> Outcome {
        let (tenant, settings, json) = (&self.tenant, &self.settings, self.json);
        on_new_store!(self.store, json, s => add_or_update(&s, tenant, settings, true, json).await)
    }
}

/// The arguments of `rosterctl tenants update` and `tenants disable`.
#[derive(Debug, Clone, clap::Args)]
pub struct ChangeArgs {
    /// Tenant id.
    pub tenant: String,
    #[command(flatten)]
    pub settings: TenantArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl ChangeArgs {
    /// Runs `rosterctl tenants update`.
    pub async fn update(self) -> Outcome {
        let (tenant, settings, json) = (&self.tenant, &self.settings, self.json);
        on_store!(self.store, json, s => add_or_update(&s, tenant, settings, false, json).await)
    }

    /// Runs `rosterctl tenants disable`.
    pub async fn disable(self) -> Outcome {
        let (tenant, settings, json) = (&self.tenant, &self.settings, self.json);
        on_store!(self.store, json, s => disable(&s, tenant, settings, json).await)
    }
}

/// The arguments of `rosterctl tenants show`.
#[derive(Debug, Clone, clap::Args)]
pub struct ShowArgs {
    /// Tenant id.
    pub tenant: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl ShowArgs {
    /// Runs `rosterctl tenants show`.
    pub async fn run(self) -> Outcome {
        let (tenant, json) = (&self.tenant, self.json);
        on_store!(self.store, json, s => show(&s, tenant, json).await)
    }
}

/// The arguments of `rosterctl tenants list`.
#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl ListArgs {
    /// Runs `rosterctl tenants list`.
    pub async fn run(self) -> Outcome {
        on_store!(self.store, self.json, s => list(&s, self.json).await)
    }
}

/// `--sftp-server-id`, else ROSTER_SFTP_SERVER_ID; neither when empty.
fn sftp_server_id(flag: Option<String>) -> Option<String> {
    flag.or_else(|| std::env::var("ROSTER_SFTP_SERVER_ID").ok())
        .filter(|s| !s.is_empty())
}

/// The arguments of `rosterctl tenants check-sftp`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckSftpArgs {
    /// Tenant id (the SFTP user's name).
    pub tenant: String,
    /// The Transfer Family server (the stack's SftpServerId output)
    /// [default: ROSTER_SFTP_SERVER_ID].
    #[arg(long, value_name = "ID")]
    pub sftp_server_id: Option<String>,
    /// The stack's InboundBucketName output [default: the bucket of the user's home mapping].
    #[arg(long)]
    pub inbound_bucket: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

impl CheckSftpArgs {
    /// Runs `rosterctl tenants check-sftp` (no store needed).
    pub async fn run(self) -> Outcome {
        let server = sftp_server_id(self.sftp_server_id);
        let bucket = self.inbound_bucket.as_deref();
        check_sftp(&self.tenant, server.as_deref(), bucket, self.json).await
    }
}

/// The arguments of `rosterctl tenants check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckTenantArgs {
    /// Tenant id.
    pub tenant: String,
    /// The Transfer Family server to find the district's SFTP user on (the
    /// stack's SftpServerId output) [default: ROSTER_SFTP_SERVER_ID].
    #[arg(long, value_name = "ID")]
    pub sftp_server_id: Option<String>,
    /// The stack's InboundBucketName output, to check the SFTP home mapping exactly.
    #[arg(long)]
    pub inbound_bucket: Option<String>,
    /// The EventBridge Scheduler group of the pull schedules.
    #[arg(long, default_value = "roster-pulls")]
    pub schedule_group: String,
    /// The stack's RunNoticeTopicArn output, to check the contacts'
    /// subscriptions [default: ROSTER_NOTICE_TOPIC_ARN].
    #[arg(long, value_name = "ARN")]
    pub notice_topic_arn: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl CheckTenantArgs {
    /// Runs `rosterctl tenants check`.
    pub async fn run(self) -> Outcome {
        let default_pause = match crate::outcome::default_pause(self.json) {
            Ok(window) => window,
            Err(outcome) => return outcome,
        };
        let args = CheckArgs {
            notice_topic_arn: notices::notice_topic_arn(self.notice_topic_arn.as_deref()),
            sftp_server_id: sftp_server_id(self.sftp_server_id),
            inbound_bucket: self.inbound_bucket,
            schedule_group: self.schedule_group,
            default_pause,
        };
        let (tenant, json) = (&self.tenant, self.json);
        on_store!(self.store, json, s => check_tenant(&s, tenant, &args, json).await)
    }
}

/// The arguments of `rosterctl tenants notices`.
#[derive(Debug, Clone, clap::Args)]
pub struct NoticesArgs {
    /// The stack's RunNoticeTopicArn output [default: ROSTER_NOTICE_TOPIC_ARN].
    #[arg(long, value_name = "ARN")]
    pub notice_topic_arn: Option<String>,
    /// Only say what would change.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl NoticesArgs {
    /// Runs `rosterctl tenants notices`.
    pub async fn run(self) -> Outcome {
        let (topic, dry_run, json) = (self.notice_topic_arn.as_deref(), self.dry_run, self.json);
        on_store!(self.store, json, s => sync_notices(&s, topic, dry_run, json).await)
    }
}
