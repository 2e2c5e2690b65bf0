//! The operators' command line for the ClassLink OneRoster bridge, as a
//! library so that its commands are testable. Each command's arguments are a
//! `clap::Args` struct in its module here, whose `run` checks what the parser
//! cannot, opens the store it names and runs the command; `cli.rs` arranges
//! them into the command tree and `main.rs` parses and dispatches.

pub mod explain_cmd;
pub mod generate_cmd;
pub mod history_cmd;
pub mod lasting;
pub mod outcome;
pub mod progress;
pub mod retention_cmd;
pub mod run_text;
pub mod runs_changes;
pub mod runs_cmd;
pub mod runs_rekey;
pub mod runs_told;
pub mod sso_cmd;
pub mod status_cmd;
pub mod stores;
pub mod sync_cmd;
pub mod tenants_cmd;
pub mod users_cmd;
pub mod validate_cmd;
