//! The command line: every command and option, with its help text (clap).

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use rosterctl::stores::StoreArgs;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "rosterctl",
    version,
    about = "Operate the ClassLink OneRoster roster bridge",
    after_help = COMMAND_GROUPS
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands by task, under the list clap prints (`rosterctl --help`).
pub(crate) const COMMAND_GROUPS: &str = "\
Commands by task:
  A district's roster:   validate, sync, pull
  Watching and undoing:  runs, records, users
  Districts:             tenants, admins, sso
  Testing:               generate

Commands that read or write a roster take --db FILE (default ./roster.db) or --dynamodb TABLE.";

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Read and validate a OneRoster 1.1 CSV package (a .zip or a folder).
    ///
    /// Exit code 0: acceptable (warnings allowed); 1: rejected; 2: usage or I/O error.
    Validate {
        /// The package: a .zip file or a folder holding manifest.csv.
        path: PathBuf,
        /// Print one JSON object instead of the human report.
        #[arg(long)]
        json: bool,
        /// User roles the tenant imports (comma-separated); others are skipped.
        #[arg(
            long,
            value_name = "ROLES",
            default_value = "student,teacher,administrator,aide"
        )]
        tenant_roles: String,
        /// Also write the report as a self-contained HTML page (for the district's data manager).
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Validate, plan and apply a package to a tenant's roster.
    ///
    /// Exit code 0: applied (or planned with --dry-run); 1: held, rejected,
    /// stale or busy; 2: usage, I/O or store error.
    Sync {
        /// The package: a .zip file or a folder holding manifest.csv.
        path: PathBuf,
        /// The tenant (created with default settings if it does not exist).
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
        /// Plan only: show what would be written; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the run record as JSON.
        #[arg(long)]
        json: bool,
        /// When the delivery was generated and received (RFC 3339), as the operator states it
        /// (a replay) [default: the files' modification time, never later than this machine's clock].
        #[arg(long, value_name = "TIME")]
        generated_at: Option<DateTime<Utc>>,
        /// Seconds to wait for another run of the tenant before ending busy.
        #[arg(long, default_value_t = 0)]
        wait: u64,
    },
    /// Pull a tenant's OneRoster 1.1 API now and sync it (locally; the Lambda
    /// does the same on the tenant's schedule with credentials from Secrets Manager).
    ///
    /// Credentials: --key with --secret (OAuth 1.0a, ClassLink Roster Server),
    /// --token (bearer), or --token-url with --client-id and --client-secret
    /// (OAuth 2). A secret may come from ONEROSTER_API_SECRET instead of the
    /// command line (shell history).
    Pull {
        /// The tenant (created with default settings if it does not exist).
        #[arg(long)]
        tenant: String,
        /// The API URL [default: the tenant's configured URL].
        #[arg(long)]
        api_url: Option<String>,
        /// OAuth 1.0a Application Key.
        #[arg(long)]
        key: Option<String>,
        /// OAuth 1.0a Application Secret (or ONEROSTER_API_SECRET).
        #[arg(long)]
        secret: Option<String>,
        /// Bearer token.
        #[arg(long, conflicts_with_all = ["key", "client_id"])]
        token: Option<String>,
        /// OAuth 2 token URL.
        #[arg(long, requires = "client_id")]
        token_url: Option<String>,
        /// OAuth 2 client id.
        #[arg(long, requires = "token_url")]
        client_id: Option<String>,
        /// OAuth 2 client secret (or ONEROSTER_API_SECRET).
        #[arg(long)]
        client_secret: Option<String>,
        /// full, delta, or auto (by the tenant's cadence).
        #[arg(long, default_value = "auto")]
        mode: String,
        /// Records per page (1-10000).
        #[arg(long, default_value_t = 1000)]
        page_size: usize,
        #[command(flatten)]
        store: StoreArgs,
        /// Print the run record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run records: list, show, approve or discard held runs, revert applied ones.
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// Any stored roster record (classes, enrollments, orgs, ...): its history.
    Records {
        #[command(subcommand)]
        command: RecordsCommand,
    },
    /// Stored users: list, show, history.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Districts: onboard, update, check readiness, status, run-notice contacts.
    Tenants {
        #[command(subcommand)]
        command: TenantsCommand,
    },
    /// Primary Administrators: promote or demote (platform-owned; syncs never change them).
    Admins {
        #[command(subcommand)]
        command: AdminsCommand,
    },
    /// ClassLink single sign-on: the sign-in audit trail, and the sign-in served locally.
    Sso {
        #[command(subcommand)]
        command: SsoCommand,
    },
    /// Write a deterministic synthetic district as a OneRoster 1.1 package.
    Generate {
        /// Number of students.
        #[arg(long, default_value_t = 1000)]
        students: u32,
        /// Random seed: the same seed and size give byte-identical output.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write the district's school year this many rollovers after the first
        /// (2026–2027): new sessions, classes and enrollments, and about 8% of
        /// the students replaced each year; the rest is byte-identical, so
        /// syncing year 0 then year 1 replays a rollover.
        #[arg(long, default_value_t = 0)]
        rollovers: u32,
        /// Output folder, or a path ending in .zip.
        #[arg(long)]
        out: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum RunsCommand {
    /// Recent runs, newest first.
    List {
        /// Only this tenant's runs.
        #[arg(long)]
        tenant: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// One run record.
    Show {
        /// The run id.
        run_id: String,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
        /// Also write the run's report as a self-contained HTML page (for the district).
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Apply a held run's plan (re-checked against the store first).
    Approve {
        /// The run id.
        run_id: String,
        /// Who approves (recorded) [default: $USER].
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Undo an applied run from its before-images (records it updated get their
    /// earlier state back, archived ones are un-archived, inserted ones archived).
    ///
    /// A record a later run changed since is listed and the revert refused,
    /// unless --force, which reverts the others. A revert that would archive too
    /// much is held like a sync. Exit code 0: reverted (or already); 1: refused or held.
    Revert {
        /// The applied run to undo.
        run_id: String,
        /// Revert the records no later run changed, and leave the others.
        #[arg(long)]
        force: bool,
        /// Show what would be written; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Who reverts (recorded) [default: $USER].
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Discard a held run; nothing is applied.
    Discard {
        /// The run id.
        run_id: String,
        /// Who discards (recorded) [default: $USER].
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum SsoCommand {
    /// Recent ClassLink sign-in attempts of a district: time, outcome, ClassLink
    /// user id, roster user, and the support reference shown to the person.
    Audit {
        /// The tenant; without it, attempts from districts that were not recognised.
        #[arg(long)]
        tenant: Option<String>,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Serve ClassLink sign-in locally: the sso-callback router on a SQLite roster.
    ///
    /// Settings come from the same environment variables as the Lambda
    /// (CLASSLINK_ISSUER, CLASSLINK_CLIENT_ID, TEACHER_APP_URL, ADMIN_PORTAL_URL, ...;
    /// SSO_REDIRECT_URL defaults to http://ADDR/sso/classlink/callback). The two
    /// secrets come from CLASSLINK_CLIENT_SECRET and SSO_REDEEM_SECRET, or from
    /// --secrets-file: never from a flag, never logged. Runs until stopped.
    Serve {
        /// The SQLite roster (for example the main job's target/demo/roster.db).
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// Address to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
        listen: String,
        /// A file of `CLASSLINK_CLIENT_SECRET=…` and `SSO_REDEEM_SECRET=…` lines
        /// (instead of the environment variables).
        #[arg(long, value_name = "FILE")]
        secrets_file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub(crate) enum RecordsCommand {
    /// The runs that wrote a record, newest first, and what each changed
    /// (field names; values only of the fields on a fixed allow-list: ids,
    /// status, role, type, grades, session and enrollment dates; never
    /// personal data such as birthDate).
    History {
        /// The record's sourcedId.
        sourced_id: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The type: orgs, academicSessions, courses, classes, users, enrollments, demographics.
        #[arg(long)]
        kind: String,
        /// How many of the tenant's newest runs to look through.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum UsersCommand {
    /// A tenant's users: sourcedId and state (active, archived, provisional).
    ///
    /// `--provisional` lists only the teachers signed in with ClassLink whom
    /// the roster did not have yet (the tenant's `sso_provision_teachers`).
    List {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Only provisional users, made at sign-in and not yet delivered by a sync.
        #[arg(long)]
        provisional: bool,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// The runs that wrote a user, newest first, and what each changed.
    History {
        /// The user's sourcedId.
        sourced_id: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// How many of the tenant's newest runs to look through.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// A stored user: SIS fields, archive state, Primary Administrator flag.
    Show {
        /// The user's sourcedId.
        sourced_id: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub(crate) enum TenantsCommand {
    /// Onboard a district: config, API credentials (Secrets Manager), pull schedule.
    Add {
        /// Tenant id (lower-case letters, digits, `-`, `_`).
        tenant: String,
        #[command(flatten)]
        settings: rosterctl::tenants_cmd::TenantArgs,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Change a district's settings (only the options given change).
    Update {
        /// Tenant id.
        tenant: String,
        #[command(flatten)]
        settings: rosterctl::tenants_cmd::TenantArgs,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// A district's config (never its credentials).
    Show {
        /// Tenant id.
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// All districts.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Stop syncing a district (its pull schedule is disabled too).
    Disable {
        /// Tenant id.
        tenant: String,
        #[command(flatten)]
        settings: rosterctl::tenants_cmd::TenantArgs,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// The district's AWS Transfer Family user alone: a LOGICAL home mapped to
    /// inbound/<tenant>, exactly the district session policy, an SSH key.
    ///
    /// Exit code 0: right; 1: missing or wrong (each problem is listed); 2: AWS could not be asked.
    CheckSftp {
        /// Tenant id (the SFTP user's name).
        tenant: String,
        /// The Transfer Family server (the stack's SftpServerId output)
        /// [default: ROSTER_SFTP_SERVER_ID].
        #[arg(long, value_name = "ID")]
        sftp_server_id: Option<String>,
        /// The stack's InboundBucketName output [default: the bucket of the user's home mapping].
        #[arg(long)]
        inbound_bucket: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Whether a district is ready: connection, deliveries, administrators, SSO, schedule.
    ///
    /// Each failing line says what to do next. Exit code 0: ready; 1: not ready.
    Check {
        /// Tenant id.
        tenant: String,
        /// The Transfer Family server to find the district's SFTP user on (the
        /// stack's SftpServerId output) [default: ROSTER_SFTP_SERVER_ID].
        #[arg(long, value_name = "ID")]
        sftp_server_id: Option<String>,
        /// The stack's InboundBucketName output, to check the SFTP home mapping exactly.
        #[arg(long)]
        inbound_bucket: Option<String>,
        /// The EventBridge Scheduler group of the pull schedules.
        #[arg(long, default_value = "roster-pulls")]
        schedule_group: String,
        /// The stack's RunNoticeTopicArn output, to check the contacts'
        /// subscriptions [default: ROSTER_NOTICE_TOPIC_ARN].
        #[arg(long, value_name = "ARN")]
        notice_topic_arn: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Bring the run-notice topic's email subscriptions in line with every district's contacts.
    ///
    /// One subscription per address, its filter policy admitting the districts that name it;
    /// subscriptions made by hand without a tenant filter are left as they are.
    Notices {
        /// The stack's RunNoticeTopicArn output [default: ROSTER_NOTICE_TOPIC_ARN].
        #[arg(long, value_name = "ARN")]
        notice_topic_arn: Option<String>,
        /// Only say what would change.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// The morning check: one line per district (last applied run and its age, last outcome, Primary Administrator, SSO, overdue).
    Status {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// A district is overdue when its last applied run is older than this
        /// (the stack's NoSyncAlarmDays).
        #[arg(long, default_value_t = 3, value_name = "DAYS")]
        overdue_days: u32,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum AdminsCommand {
    /// Make an active administrator a Primary Administrator.
    Promote {
        /// The administrator's sourcedId.
        sourced_id: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Clear the Primary Administrator flag.
    Demote {
        /// The administrator's sourcedId.
        sourced_id: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}
