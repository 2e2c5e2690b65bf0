//! The operators' command line for the ClassLink OneRoster bridge, as a
//! library so that its commands are testable. `main.rs` parses the arguments
//! (defined in `cli.rs`), checks what the parser cannot, opens the store,
//! runs `generate` and dispatches every other command to a module here.

pub mod history_cmd;
pub mod outcome;
pub mod progress;
pub mod runs_cmd;
pub mod sso_cmd;
pub mod status_cmd;
pub mod stores;
pub mod sync_cmd;
pub mod tenants_cmd;
pub mod users_cmd;
pub mod validate_cmd;
