//! rosterctl as operators run it: the real binary, its output and exit codes.
//! One test binary (each links the AWS SDK once), one module per command group.

mod approve_s3_cli;
mod browser_cli;
mod changes_cli;
mod explain_cli;
mod generated_1p2_cli;
mod help_cli;
mod offboard_cli;
mod oneroster_1p2_cli;
mod oneroster_1p2_pull_cli;
mod progress_cli;
mod pull_cli;
mod rekey_cli;
mod retention_cli;
mod roster_cli;
mod runs_told_cli;
mod sso_serve_cli;
mod tenants_cli;
mod validate_cli;
