//! oneroster-pull: a tenant's OneRoster 1.1 API pulled on its schedule (or on
//! demand) with credentials from Secrets Manager, then synced by the one engine.

pub mod config;
pub mod event;
pub mod puller;

pub use config::PullFunctionConfig;
pub use event::PullInvocation;
pub use puller::{PullConfig, PullEvent, Puller, RequestedMode, RunFilesBucket};
