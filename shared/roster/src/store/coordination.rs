//! What runs and sign-ins coordinate through: one-time records, sign-in
//! audits, leases and claims.

use super::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Short-lived, single-use records: SSO login transactions and login tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneTimeKind {
    /// An SSO login transaction (state, nonce, PKCE verifier), ~10 minutes.
    LoginTransaction,
    /// A one-time login ticket, ~60 seconds.
    LoginTicket,
}

impl OneTimeKind {
    /// Stable name used in keys.
    pub fn as_str(self) -> &'static str {
        match self {
            OneTimeKind::LoginTransaction => "login-tx",
            OneTimeKind::LoginTicket => "ticket",
        }
    }
}

/// One SSO sign-in attempt, for the audit trail: ids and the outcome, never
/// names, emails, codes or tokens. Kept until `expires_at` (then TTL removes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInAudit {
    /// When the attempt finished.
    pub at: DateTime<Utc>,
    /// The request id shown to the user as the support reference.
    pub request_id: String,
    /// Our tenant, when known.
    pub tenant: Option<String>,
    /// ClassLink's TenantId, when known.
    pub classlink_tenant_id: Option<String>,
    /// ClassLink's UserId, when known.
    pub classlink_user_id: Option<String>,
    /// The roster user signed in, if any.
    pub sourced_id: Option<String>,
    /// Which key found the roster user: `sourced_id`, `email` or `username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<String>,
    /// A stable outcome code (`signed_in`, `not_in_roster`, `invalid_token`, ...).
    pub outcome: String,
    /// When the record may be removed.
    pub expires_at: DateTime<Utc>,
}

/// One tenure of a tenant's lease: who took it, with which fencing token.
///
/// The token grows by one each time the lease is taken (by anyone), so a
/// run whose lease was taken over holds a token the store no longer has:
/// every write under the lease ([`Records::write`], [`Tenants::put_state`])
/// is refused with [`StoreError::LeaseLost`] from then on, whatever the
/// clocks say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The run (or approval) that holds it.
    pub owner: String,
    /// The fencing token of this tenure.
    pub token: u64,
    /// How long the lease lasts from each renewal.
    pub ttl: Duration,
}

impl Lease {
    /// The refusal of a write under this lease of `tenant` once another run
    /// has taken it over.
    pub fn lost(&self, tenant: &str) -> StoreError {
        StoreError::lease_lost(format!(
            "{} no longer holds the lease of tenant `{tenant}` (token {}); another run took it over, and nothing more was written",
            self.owner, self.token
        ))
    }

    /// A renewal's answer as a fence: `Ok` when it `renewed` the lease, the
    /// refusal ([`Lease::lost`]) when another run has taken it over.
    pub fn still_held(&self, tenant: &str, renewed: bool) -> StoreResult<()> {
        if renewed {
            Ok(())
        } else {
            Err(self.lost(tenant))
        }
    }
}

/// The result of trying to take a tenant's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// Taken. `expired_owner` names a run whose lease had expired (it died).
    Acquired {
        /// The lease now held.
        lease: Lease,
        /// The previous owner whose lease expired, if any.
        expired_owner: Option<String>,
    },
    /// Another run holds it.
    Held {
        /// The holder's lease (its token frees it only if it is still held,
        /// see [`Leases::release_lease`]).
        lease: Lease,
        /// Until when.
        expires_at: DateTime<Utc>,
    },
}

/// What claiming a piece of work found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Claimed by the caller: do the work, then finish or release the claim.
    Claimed,
    /// Already done (the duplicate is skipped); `result` says how it ended.
    Done {
        /// What the finisher recorded (a run id and status).
        result: String,
    },
    /// Another invocation is doing it now.
    Busy {
        /// The holder.
        owner: String,
    },
}
