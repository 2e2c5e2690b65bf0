//! The operators' command line for the ClassLink OneRoster bridge, as a
//! library so that its commands are testable; `main.rs` only parses arguments.

pub mod roster_cmds;
pub mod stores;
pub mod tenants_cmd;
pub mod validate_cmd;
