//! The store port: everything the engine, the CLI and the Lambdas need from
//! a roster store, as small role traits ([`Tenants`], [`Records`],
//! [`PrimaryAdmins`], [`Runs`], [`OneTimeRecords`], [`SignInAudits`],
//! [`Leases`], [`Claims`], [`Erasures`]) that [`Store`] gathers, and the values they
//! carry. Two adapters implement them — `roster-dynamodb` (production) and
//! `roster-sqlite` (embedded, local) — and one conformance suite keeps them equal.

mod coordination;
mod erasure;
mod error;
mod offboarding;
mod records;
mod roles;

pub use crate::run::StoreUsage;
use chrono::{DateTime, Utc};
pub use coordination::*;
pub use erasure::*;
pub use error::*;
pub use offboarding::*;
pub use records::*;
pub use roles::*;
use std::time::Duration;

/// Result type of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// When a lease, claim or kept result that starts at `now` and lasts `length`
/// ends, in both adapters; a length past chrono's range never ends.
pub fn expires_after(now: DateTime<Utc>, length: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(length)
        .ok()
        .and_then(|length| now.checked_add_signed(length))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_ends_its_length_after_now_and_a_length_past_the_calendar_never() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T18:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            expires_after(now, Duration::from_secs(90)).to_rfc3339(),
            "2026-12-02T18:01:30+00:00"
        );
        assert_eq!(expires_after(now, Duration::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            expires_after(now, Duration::from_secs(400_000 * 365 * 86_400)),
            DateTime::<Utc>::MAX_UTC
        );
    }
}
