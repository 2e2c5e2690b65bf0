//! The OneRoster API pull use case, shared by the oneroster-pull function and
//! `rosterctl pull`: the shape of a tenant's API secret ([`ApiSecret`]), the
//! choice of full or delta, and the pull handed to the one engine
//! ([`pull_and_sync`]). The engine crate `roster` knows nothing of it.

pub mod pull;
pub mod relocate;
pub mod secret;

pub use pull::{choose_mode, pull_and_sync, PullConfig, PullEvent, RequestedMode};
pub use secret::{ApiSecret, BadSecret};
