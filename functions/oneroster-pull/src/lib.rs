//! oneroster-pull: a tenant's OneRoster 1.1 API pulled on its schedule (or on
//! demand) with credentials from Secrets Manager, then synced by the one engine.

pub mod puller;
pub mod secret;

pub use puller::{PullConfig, PullEvent, PullFailure, Puller, RequestedMode};
pub use secret::ApiSecret;
