//! The command line: the command tree, with each command's help text (clap).
//! Each command's options are defined beside it, in its module of the library.

use clap::{Parser, Subcommand};
use rosterctl::generate_cmd::GenerateArgs;
use rosterctl::history_cmd::{RecordHistoryArgs, UserHistoryArgs};
use rosterctl::sync_cmd::{PullArgs, SyncArgs};
use rosterctl::validate_cmd::ValidateArgs;
use rosterctl::{runs_cmd, sso_cmd, status_cmd, tenants_cmd, users_cmd};

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
  Watching and undoing:  runs, records, users, explain
  Districts:             tenants, admins, sso
  Testing:               generate

Commands that read or write a roster take --db FILE (default ./roster.db) or --dynamodb TABLE.";

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Read and validate a OneRoster 1.1 or 1.2 CSV package (a .zip or a folder).
    ///
    /// Exit code 0: acceptable (warnings allowed); 1: rejected; 2: usage or I/O error.
    Validate(ValidateArgs),
    /// Validate, plan and apply a package to a tenant's roster.
    ///
    /// Exit code 0: applied (or planned with --dry-run); 1: held, paused, rejected,
    /// stale or busy; 2: usage, I/O or store error.
    Sync(SyncArgs),
    /// Pull a tenant's OneRoster 1.1 or 1.2 API now and sync it (locally; the Lambda
    /// does the same on the tenant's schedule with credentials from Secrets Manager).
    ///
    /// Credentials: --key with --secret (OAuth 1.0a, ClassLink Roster Server),
    /// --token (bearer), or --token-url with --client-id and --client-secret
    /// (OAuth 2). A secret may come from ONEROSTER_API_SECRET instead of the
    /// command line (shell history).
    Pull(PullArgs),
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
    /// Why a user can or cannot sign in, and why each class is or is not
    /// listed for them at sign-in: state, role, the tenant's SSO switches,
    /// classes and terms, last sign-ins, and what to do next.
    ///
    /// Exit code 0: answered; 1: no such tenant; 2: store error.
    Explain(rosterctl::explain_cmd::ExplainArgs),
    /// Write a deterministic synthetic district as a OneRoster 1.1 or 1.2 package.
    Generate(GenerateArgs),
}

#[derive(Subcommand)]
pub(crate) enum RunsCommand {
    /// Recent runs, newest first.
    List(runs_cmd::ListArgs),
    /// One run record.
    Show(runs_cmd::ShowArgs),
    /// Apply a held run's plan (re-checked against the store first).
    Approve(runs_cmd::ApproveArgs),
    /// Undo an applied run from its before-images (records it updated get their
    /// earlier state back, archived ones are un-archived, inserted ones archived).
    ///
    /// A record a later run changed since is listed and the revert refused,
    /// unless --force, which reverts the others. A revert that would archive too
    /// much is held like a sync. Exit code 0: reverted (or already); 1: refused or held.
    Revert(runs_cmd::RevertArgs),
    /// Discard a held run; nothing is applied.
    Discard(runs_cmd::DiscardArgs),
}

#[derive(Subcommand)]
pub(crate) enum SsoCommand {
    /// Recent ClassLink sign-in attempts of a district: time, outcome, ClassLink
    /// user id, roster user, and the support reference shown to the person.
    Audit(sso_cmd::AuditArgs),
    /// Serve ClassLink sign-in locally: the sso-callback router on a SQLite roster.
    ///
    /// Settings come from the same environment variables as the Lambda
    /// (CLASSLINK_ISSUER, CLASSLINK_CLIENT_ID, TEACHER_APP_URL, ADMIN_PORTAL_URL, ...;
    /// SSO_REDIRECT_URL defaults to http://ADDR/sso/classlink/callback). The two
    /// secrets come from CLASSLINK_CLIENT_SECRET and SSO_REDEEM_SECRET, or from
    /// --secrets-file: never from a flag, never logged. Runs until stopped.
    Serve(sso_cmd::ServeArgs),
}

#[derive(Subcommand)]
pub(crate) enum RecordsCommand {
    /// The runs that wrote a record, newest first, and what each changed
    /// (field names; values only of the fields on a fixed allow-list: ids,
    /// status, role, type, grades, session and enrollment dates; never
    /// personal data such as birthDate).
    History(RecordHistoryArgs),
}

#[derive(Subcommand)]
pub(crate) enum UsersCommand {
    /// A tenant's users: sourcedId and state (active, archived, provisional).
    ///
    /// `--provisional` lists only the teachers signed in with ClassLink whom
    /// the roster did not have yet (the tenant's `sso_provision_teachers`).
    List(users_cmd::ListArgs),
    /// The runs that wrote a user, newest first, and what each changed.
    History(UserHistoryArgs),
    /// A stored user: SIS fields, archive state, Primary Administrator flag.
    Show(users_cmd::ShowArgs),
    /// Erase one person's personal data now, at the district's request: the
    /// user's fields but ids, status, role and enabledUser, and their
    /// demographics (active or archived; recorded as a `forget` run).
    ///
    /// The next delivery brings the data back if the district's file still
    /// has the person: the district must remove them at the source too.
    /// Exit code 0: erased (or already); 1: no such user or tenant, or busy.
    Forget(rosterctl::retention_cmd::ForgetArgs),
}

#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub(crate) enum TenantsCommand {
    /// Onboard a district: config, API credentials (Secrets Manager), pull schedule.
    Add(tenants_cmd::AddArgs),
    /// Change a district's settings (only the options given change).
    Update(tenants_cmd::ChangeArgs),
    /// A district's config (never its credentials).
    Show(tenants_cmd::ShowArgs),
    /// All districts.
    List(tenants_cmd::ListArgs),
    /// Stop syncing a district (its pull schedule is disabled too).
    Disable(tenants_cmd::ChangeArgs),
    /// The district's AWS Transfer Family user alone: a LOGICAL home mapped to
    /// inbound/<tenant>, exactly the district session policy, an SSH key.
    ///
    /// Exit code 0: right; 1: missing or wrong (each problem is listed); 2: AWS could not be asked.
    CheckSftp(tenants_cmd::CheckSftpArgs),
    /// Whether a district is ready: connection, deliveries, administrators, SSO, schedule.
    ///
    /// Each failing line says what to do next. Exit code 0: ready; 1: not ready.
    Check(tenants_cmd::CheckTenantArgs),
    /// Bring the run-notice topic's email subscriptions in line with every district's contacts.
    ///
    /// One subscription per address, its filter policy admitting the districts that name it;
    /// subscriptions made by hand without a tenant filter are left as they are.
    Notices(tenants_cmd::NoticesArgs),
    /// Delete everything of a district: store items, bucket objects (every
    /// version), API secret, pull schedule, SFTP user, notice subscriptions,
    /// local run files; and keep a deletion receipt apart from it.
    ///
    /// --confirm must repeat the tenant id. Refused while a run holds the
    /// tenant's lease. Exit code 0: deleted (or nothing left, or --dry-run);
    /// 1: refused; 2: some of it could not be deleted (run again to finish).
    Offboard(tenants_cmd::OffboardArgs),
    /// Erase the personal data of the district's people archived longer than
    /// its retention (`--retain-archived-days`, else RETAIN_ARCHIVED_DAYS,
    /// default 365; 0: off), and delete the local run folders older than it.
    ///
    /// Exit code 0: done (or nothing to do); 1: busy or no such tenant.
    Retain(rosterctl::retention_cmd::RetainArgs),
    /// The morning check: one line per district (last applied run and its age, last outcome, Primary Administrator, SSO, overdue).
    Status(status_cmd::StatusArgs),
}

#[derive(Subcommand)]
pub(crate) enum AdminsCommand {
    /// Make an active administrator a Primary Administrator.
    Promote(users_cmd::AdminArgs),
    /// Clear the Primary Administrator flag.
    Demote(users_cmd::AdminArgs),
}
