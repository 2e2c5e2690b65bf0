//! Coordination: per-tenant leases (one sync at a time) and idempotency claims
//! (each delivery's work done once).

use super::{db_error, parse_ts, ts, SqliteStore};
use chrono::{DateTime, Utc};
use roster::store::*;
use rusqlite::{params, OptionalExtension};
use std::time::Duration;

impl Leases for SqliteStore {
    async fn acquire_lease(
        &self,
        tenant: &str,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<LeaseOutcome> {
        let expires = expires_after(now, ttl);
        self.with(|c| {
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let current: Option<(String, String, i64)> = tx
                .query_row(
                    "SELECT owner, expires_at, token FROM leases WHERE tenant = ?1",
                    [tenant],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(db_error)?;
            let mut token = 0u64;
            let mut expired_owner = None;
            if let Some((holder, until, held_token)) = current {
                token = u64::try_from(held_token).unwrap_or(0);
                let until = parse_ts(&until)?;
                // An empty owner: released.
                if !holder.is_empty() {
                    if holder != owner && until > now {
                        return Ok(LeaseOutcome::Held {
                            lease: Lease {
                                owner: holder,
                                token,
                                ttl,
                            },
                            expires_at: until,
                        });
                    }
                    expired_owner = (holder != owner).then_some(holder);
                }
            }
            let lease = Lease {
                owner: owner.to_string(),
                token: token + 1,
                ttl,
            };
            tx.execute(
                "INSERT INTO leases (tenant, owner, expires_at, token) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (tenant) DO UPDATE SET owner = excluded.owner,
                     expires_at = excluded.expires_at, token = excluded.token",
                params![tenant, owner, ts(expires), token_value(lease.token)?],
            )
            .map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            Ok(LeaseOutcome::Acquired {
                lease,
                expired_owner,
            })
        })
    }

    async fn renew_lease(
        &self,
        tenant: &str,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.with(|c| renew(c, tenant, lease, now))
    }

    async fn release_lease(&self, tenant: &str, lease: &Lease) -> StoreResult<()> {
        self.with(|c| {
            // The row stays, with its token: the next taker's is greater.
            c.execute(
                "UPDATE leases SET owner = '' WHERE tenant = ?1 AND owner = ?2 AND token = ?3",
                params![tenant, lease.owner, token_value(lease.token)?],
            )
            .map_err(db_error)?;
            Ok(())
        })
    }
}

/// A token as SQLite stores it (a signed 64-bit integer).
fn token_value(token: u64) -> StoreResult<i64> {
    i64::try_from(token)
        .map_err(|_| StoreError::permanent(format!("lease token {token} out of range")))
}

/// Renews `lease` on connection `c` (in the caller's transaction, if it has
/// one): true when it is still the tenant's lease.
fn renew(
    c: &rusqlite::Connection,
    tenant: &str,
    lease: &Lease,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let n = c
        .execute(
            "UPDATE leases SET expires_at = ?4 WHERE tenant = ?1 AND owner = ?2 AND token = ?3",
            params![
                tenant,
                lease.owner,
                token_value(lease.token)?,
                ts(expires_after(now, lease.ttl))
            ],
        )
        .map_err(db_error)?;
    Ok(n == 1)
}

/// The fence of a write under `lease`, in the write's own transaction:
/// renews the lease, or refuses the write when another run took it over.
pub(super) fn fence(c: &rusqlite::Connection, tenant: &str, lease: &Lease) -> StoreResult<()> {
    lease.still_held(tenant, renew(c, tenant, lease, Utc::now())?)
}

impl Claims for SqliteStore {
    async fn claim(
        &self,
        work: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<ClaimOutcome> {
        let expires = expires_after(now, lease);
        self.with(|c| {
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let current: Option<(String, String, Option<String>, String)> = tx
                .query_row(
                    "SELECT owner, state, result, expires_at FROM claims WHERE work = ?1",
                    [work],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(db_error)?;
            if let Some((holder, state, result, until)) = current {
                // A finished claim is remembered until its time (then it is gone,
                // as DynamoDB's TTL removes it); a running one until its lease ends.
                if parse_ts(&until)? >= now {
                    return Ok(if state == "done" {
                        ClaimOutcome::Done {
                            result: result.unwrap_or_default(),
                        }
                    } else {
                        ClaimOutcome::Busy { owner: holder }
                    });
                }
            }
            tx.execute(
                "INSERT INTO claims (work, owner, state, result, expires_at) VALUES (?1, ?2, 'in_progress', NULL, ?3)
                 ON CONFLICT (work) DO UPDATE SET owner = excluded.owner, state = excluded.state,
                     result = NULL, expires_at = excluded.expires_at",
                params![work, owner, ts(expires)],
            )
            .map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            Ok(ClaimOutcome::Claimed)
        })
    }

    async fn finish_claim(
        &self,
        work: &str,
        owner: &str,
        result: &str,
        now: DateTime<Utc>,
        keep: Duration,
    ) -> StoreResult<()> {
        let until = expires_after(now, keep);
        self.with(|c| {
            let n = c
                .execute(
                    "UPDATE claims SET state = 'done', result = ?3, expires_at = ?4
                     WHERE work = ?1 AND owner = ?2",
                    params![work, owner, result, ts(until)],
                )
                .map_err(db_error)?;
            if n == 0 {
                return Err(StoreError::permanent(format!(
                    "the claim on `{work}` is not held by `{owner}`"
                )));
            }
            Ok(())
        })
    }

    async fn release_claim(&self, work: &str, owner: &str) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "DELETE FROM claims WHERE work = ?1 AND owner = ?2 AND state = 'in_progress'",
                params![work, owner],
            )
            .map_err(db_error)?;
            Ok(())
        })
    }
}
