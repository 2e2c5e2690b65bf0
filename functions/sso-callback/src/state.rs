//! What every route shares: the function's clients and settings, the roles
//! it needs of the roster store, and the request id.

use crate::config::SsoConfig;
use crate::oidc::ClassLink;
use crate::secrets::CachedSecret;
use roster::{OneTimeRecords, ProvisionalUsers, Records, SignInAudits, Tenants};
use std::sync::Arc;

/// What the SSO function needs of the roster store: tenants and records to
/// find the teacher, provisional users for teachers the roster lacks (where
/// the tenant allows), one-time records for logins and tickets, and the audit
/// trail. No runs, leases, claims or sync writes of roster data.
pub trait SsoStore:
    Tenants + Records + ProvisionalUsers + OneTimeRecords + SignInAudits + 'static
{
}

impl<T> SsoStore for T where
    T: Tenants + Records + ProvisionalUsers + OneTimeRecords + SignInAudits + 'static
{
}

/// Everything the routes need.
pub struct App<S> {
    /// The roster store (tenants, users, login transactions, tickets, audit).
    pub store: S,
    /// Settings.
    pub config: SsoConfig,
    /// ClassLink as an OpenID provider.
    pub classlink: ClassLink,
    /// Our client secret at ClassLink.
    pub client_secret: CachedSecret,
    /// The teacher app's secret for redeeming tickets.
    pub redeem_secret: CachedSecret,
}

/// The request id: the Lambda request id, or a random one locally.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The state the router shares between requests.
pub type Shared<S> = Arc<App<S>>;
