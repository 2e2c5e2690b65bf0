//! One run of a tenant at a time: the lease, taken, kept and given up.

use super::Engine;
use crate::artifacts::Artifacts;
use crate::error::SyncError;
use crate::run::{RunRecord, RunStatus};
use crate::store::{Lease, LeaseOutcome, Store};
use chrono::Utc;
use std::time::{Duration, Instant};

impl<S: Store, A: Artifacts> Engine<'_, S, A> {
    /// Records the run as started and takes its tenant's lease. `Ok(None)`:
    /// another run holds it, and the run is recorded `busy`.
    pub(crate) async fn start_under_lease(
        &self,
        run: &mut RunRecord,
    ) -> Result<Option<Lease>, SyncError> {
        run.process = self.options.this_process.clone();
        self.store.put_run(run).await?;
        match self.take_lease(&run.tenant, &run.run_id).await {
            Ok(Taken::Lease(lease)) => Ok(Some(lease)),
            Ok(Taken::Busy(busy)) => {
                run.finish(RunStatus::Busy, busy, Utc::now());
                self.store.put_run(run).await?;
                Ok(None)
            }
            Err(e) => Err(self.fail(run.clone(), e).await),
        }
    }

    /// Runs `work` while renewing `lease` every `lease_renew_every`. When a
    /// renewal finds the lease taken by another run, the work is dropped
    /// where it stands, and the run fails ("lease lost"). The work's own
    /// writes are fenced by the store besides ([`crate::store::Records::write`]):
    /// whatever the timing, none lands once the lease was taken over.
    pub(crate) async fn keeping_lease<T>(
        &self,
        tenant: &str,
        lease: &Lease,
        work: impl std::future::Future<Output = Result<T, SyncError>>,
    ) -> Result<T, SyncError> {
        tokio::select! {
            biased;
            result = work => result,
            lost = self.renew_until_lost(tenant, lease) => Err(lost),
        }
    }

    /// Renews the lease until it is lost (or cannot be renewed before it runs out).
    async fn renew_until_lost(&self, tenant: &str, lease: &Lease) -> SyncError {
        let every = self.options.lease_renew_every;
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(every).await;
            match self.store.renew_lease(tenant, lease, Utc::now()).await {
                Ok(true) => renewed = Instant::now(),
                Ok(false) => return lease.lost(tenant).into(),
                Err(e) if renewed.elapsed() + every < lease.ttl => {
                    tracing::warn!(tenant, run = lease.owner, error = %e, "cannot renew the lease; trying again");
                }
                Err(e) => return e.into(),
            }
        }
    }

    /// Renews `lease` now; an error when another run has taken it over.
    pub(super) async fn renew_or_lost(&self, tenant: &str, lease: &Lease) -> Result<(), SyncError> {
        let renewed = self.store.renew_lease(tenant, lease, Utc::now()).await?;
        Ok(lease.still_held(tenant, renewed)?)
    }

    /// Takes the tenant's lease, waiting up to `lease_wait`. A run whose
    /// lease expired is marked failed, and so is a run of this machine whose
    /// process has died (its lease is taken at once).
    pub(crate) async fn take_lease(&self, tenant: &str, run_id: &str) -> Result<Taken, SyncError> {
        let deadline = Instant::now() + self.options.lease_wait;
        loop {
            match self
                .store
                .acquire_lease(tenant, run_id, Utc::now(), self.options.lease_ttl)
                .await?
            {
                LeaseOutcome::Acquired {
                    lease,
                    expired_owner,
                } => {
                    if let Some(dead) = expired_owner {
                        if let Some(old) = self.store.get_run(&dead).await? {
                            let why = format!("interrupted: its lease expired; run {run_id} took over and re-planned against the store");
                            self.mark_interrupted(old, why).await?;
                        }
                    }
                    return Ok(Taken::Lease(lease));
                }
                LeaseOutcome::Held { lease, expires_at } => {
                    if self
                        .free_lease_of_dead_process(tenant, &lease, run_id)
                        .await?
                    {
                        continue;
                    }
                    if Instant::now() >= deadline {
                        return Ok(Taken::Busy(format!(
                            "another run ({}) of this tenant is in progress (lease until {expires_at}); nothing was applied — try again later",
                            lease.owner
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    }

    /// Records a run that was still `running` as failed, for `why`.
    async fn mark_interrupted(&self, mut run: RunRecord, why: String) -> Result<(), SyncError> {
        if run.status == RunStatus::Running {
            run.finish(RunStatus::Failed, why, Utc::now());
            self.store.put_run(&run).await?;
        }
        Ok(())
    }

    /// When `holder` is a run of this machine's boot and PID namespace
    /// whose process no longer exists: frees its lease (only if it still
    /// holds it) for `run_id` to take, and marks the dead run failed.
    /// `Ok(false)`: the holder may be alive.
    async fn free_lease_of_dead_process(
        &self,
        tenant: &str,
        holder: &Lease,
        run_id: &str,
    ) -> Result<bool, SyncError> {
        let Some(me) = &self.options.this_process else {
            return Ok(false);
        };
        let Some(dead) = self.store.get_run(&holder.owner).await? else {
            return Ok(false);
        };
        let Some(process) = dead.process.clone().filter(|p| p.is_gone_from(me)) else {
            return Ok(false);
        };
        self.store.release_lease(tenant, holder).await?;
        self.mark_interrupted(
            dead,
            format!(
                "interrupted: its process ({}) on this machine ended without finishing; run {run_id} took over at once and re-planned against the store",
                process.pid
            ),
        )
        .await?;
        tracing::info!(
            tenant,
            dead_run = holder.owner,
            run = run_id,
            "freed the lease of a run whose process has ended"
        );
        Ok(true)
    }
}

/// What taking a tenant's lease came to.
pub(crate) enum Taken {
    /// The lease, held.
    Lease(Lease),
    /// Another run holds it: why the run is busy.
    Busy(String),
}
