//! A store around another that fails after N writes (to kill a run
//! halfway), pauses its process, slows its writes, or records them.

use chrono::{DateTime, Utc};
use oneroster::EntityKind;
use roster::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A store that fails every write after `budget` items have been written:
/// a run killed halfway through its apply.
pub struct Faulty<S> {
    pub inner: Arc<S>,
    pub budget: AtomicU64,
    /// How long each write call waits before it writes.
    pub write_delay: Duration,
    /// Where the run's process is stopped, if it is.
    pub pause: Option<Arc<Pause>>,
    /// A teacher signing in (tenant, sourcedId, content) once a run has
    /// planned every type, before it applies: the engine asks for the
    /// Primary Administrators between the two.
    pub sign_in_after_planning: std::sync::Mutex<Option<(String, String, SisContent)>>,
    /// Whether writes come in the inner store's batches (only
    /// [`Faulty::recording`]) rather than in the port's default 1,000.
    pub inner_batch: bool,
    /// The length of each write call, in order.
    pub write_sizes: std::sync::Mutex<Vec<usize>>,
}

/// A process stopped (SIGSTOP) in the middle of its apply: the write call
/// numbered `at_write` (from 1) waits before it writes, and every lease
/// renewal waits with it, until [`Pause::resume`].
pub struct Pause {
    at_write: u64,
    writes: AtomicU64,
    state: tokio::sync::watch::Sender<PauseState>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PauseState {
    Running,
    Stopped,
    Resumed,
}

impl Pause {
    pub fn at_write(at_write: u64) -> Arc<Pause> {
        Arc::new(Pause {
            at_write,
            writes: AtomicU64::new(0),
            state: tokio::sync::watch::channel(PauseState::Running).0,
        })
    }

    /// Waits until the process has stopped.
    pub async fn stopped(&self) {
        let mut seen = self.state.subscribe();
        seen.wait_for(|s| *s == PauseState::Stopped).await.unwrap();
    }

    /// Lets the process go on.
    pub fn resume(&self) {
        self.state.send_replace(PauseState::Resumed);
    }

    async fn on_write(&self) {
        if self.writes.fetch_add(1, Ordering::SeqCst) + 1 == self.at_write {
            self.state.send_replace(PauseState::Stopped);
        }
        self.while_stopped().await;
    }

    async fn while_stopped(&self) {
        let mut seen = self.state.subscribe();
        seen.wait_for(|s| *s != PauseState::Stopped).await.unwrap();
    }
}

impl<S: Store> Faulty<S> {
    pub fn new(inner: Arc<S>, budget: u64) -> Faulty<S> {
        Faulty {
            inner,
            budget: AtomicU64::new(budget),
            write_delay: Duration::ZERO,
            pause: None,
            sign_in_after_planning: std::sync::Mutex::new(None),
            inner_batch: false,
            write_sizes: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// A store that writes in the inner one's batches and keeps the length
    /// of each write call in [`Faulty::write_sizes`]; it never fails.
    pub fn recording(inner: Arc<S>) -> Faulty<S> {
        Faulty {
            inner_batch: true,
            ..Faulty::new(inner, u64::MAX)
        }
    }

    /// The lengths of the write calls so far, in order.
    pub fn write_sizes(&self) -> Vec<usize> {
        self.write_sizes.lock().unwrap().clone()
    }

    /// A store whose process stops as `pause` says, and never fails.
    pub fn pausing(inner: Arc<S>, pause: Arc<Pause>) -> Faulty<S> {
        Faulty {
            pause: Some(pause),
            ..Faulty::new(inner, u64::MAX)
        }
    }

    /// A store whose every write call takes `delay` longer, and never fails.
    pub fn slow(inner: Arc<S>, delay: Duration) -> Faulty<S> {
        Faulty {
            write_delay: delay,
            ..Faulty::new(inner, u64::MAX)
        }
    }
}

impl<S: Store> Tenants for Faulty<S> {
    async fn get_tenant(&self, t: &str) -> StoreResult<Option<TenantConfig>> {
        self.inner.get_tenant(t).await
    }

    async fn put_tenant(&self, c: &TenantConfig) -> StoreResult<()> {
        self.inner.put_tenant(c).await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<TenantConfig>> {
        self.inner.list_tenants().await
    }

    async fn classlink_mapping(&self, id: &str) -> StoreResult<Option<String>> {
        self.inner.classlink_mapping(id).await
    }

    async fn get_state(&self, t: &str) -> StoreResult<TenantState> {
        self.inner.get_state(t).await
    }

    async fn put_state(&self, t: &str, s: &TenantState, l: &Lease) -> StoreResult<()> {
        self.inner.put_state(t, s, l).await
    }
}

impl<S: Store> Records for Faulty<S> {
    fn name(&self) -> &'static str {
        "faulty"
    }

    async fn load_summaries(&self, t: &str, k: EntityKind) -> StoreResult<Vec<StoredSummary>> {
        self.inner.load_summaries(t, k).await
    }

    async fn get_entity(
        &self,
        t: &str,
        k: EntityKind,
        id: &str,
    ) -> StoreResult<Option<StoredEntity>> {
        self.inner.get_entity(t, k, id).await
    }

    async fn lookup(&self, t: &str, l: &Lookup) -> StoreResult<Vec<String>> {
        self.inner.lookup(t, l).await
    }

    /// The inner store's batch when [`Faulty::recording`] (it writes as the
    /// inner store does); otherwise the port's default, 1,000, which the
    /// tests that fail or pause runs were written against.
    fn write_batch(&self) -> usize {
        if self.inner_batch {
            self.inner.write_batch()
        } else {
            1000
        }
    }

    async fn has_records(&self, t: &str) -> StoreResult<bool> {
        self.inner.has_records(t).await
    }

    async fn write(&self, t: &str, lease: &Lease, writes: &[EntityWrite]) -> StoreResult<u64> {
        self.write_sizes.lock().unwrap().push(writes.len());
        tokio::time::sleep(self.write_delay).await;
        if let Some(pause) = &self.pause {
            pause.on_write().await;
        }
        let left = self.budget.load(Ordering::SeqCst);
        if left == 0 {
            return Err(StoreError::unavailable(
                "injected fault: the store went away",
            ));
        }
        let n = (writes.len() as u64).min(left);
        self.budget.fetch_sub(n, Ordering::SeqCst);
        let written = self.inner.write(t, lease, &writes[..n as usize]).await?;
        if (n as usize) < writes.len() {
            return Err(StoreError::unavailable(format!(
                "injected fault after {written} items"
            )));
        }
        Ok(written)
    }
}

impl<S: Store> Rekeys for Faulty<S> {
    async fn link_rekey(
        &self,
        t: &str,
        k: EntityKind,
        old: &str,
        new: &str,
        previous: &[String],
    ) -> StoreResult<()> {
        self.inner.link_rekey(t, k, old, new, previous).await
    }

    async fn unlink_rekey(&self, t: &str, k: EntityKind, old: &str, new: &str) -> StoreResult<()> {
        self.inner.unlink_rekey(t, k, old, new).await
    }
}

impl<S: Store> PrimaryAdmins for Faulty<S> {
    async fn primary_admins(&self, t: &str) -> StoreResult<Vec<String>> {
        let sign_in = self.sign_in_after_planning.lock().unwrap().take();
        if let Some((tenant, id, sis)) = sign_in {
            let made = self
                .inner
                .provision_user(&tenant, &id, &sis, Utc::now(), "sso:between")
                .await?;
            assert!(made, "{id} was not stored yet");
        }
        self.inner.primary_admins(t).await
    }

    async fn set_primary_admin(&self, t: &str, id: &str, p: bool) -> StoreResult<()> {
        self.inner.set_primary_admin(t, id, p).await
    }
}

impl<S: Store> ProvisionalUsers for Faulty<S> {
    async fn provision_user(
        &self,
        t: &str,
        id: &str,
        sis: &SisContent,
        now: DateTime<Utc>,
        origin: &str,
    ) -> StoreResult<bool> {
        self.inner.provision_user(t, id, sis, now, origin).await
    }

    async fn provisional_users(&self, t: &str) -> StoreResult<Vec<StoredEntity>> {
        self.inner.provisional_users(t).await
    }
}

impl<S: Store> Runs for Faulty<S> {
    async fn put_run(&self, r: &RunRecord) -> StoreResult<()> {
        self.inner.put_run(r).await
    }

    async fn get_run(&self, id: &str) -> StoreResult<Option<RunRecord>> {
        self.inner.get_run(id).await
    }

    async fn list_runs(&self, t: Option<&str>, l: usize) -> StoreResult<Vec<RunRecord>> {
        self.inner.list_runs(t, l).await
    }
}

impl<S: Store> OneTimeRecords for Faulty<S> {
    async fn put_one_time(
        &self,
        k: OneTimeKind,
        key: &str,
        p: &str,
        e: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inner.put_one_time(k, key, p, e).await
    }

    async fn take_one_time(
        &self,
        k: OneTimeKind,
        key: &str,
        n: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        self.inner.take_one_time(k, key, n).await
    }
}

impl<S: Store> SignInAudits for Faulty<S> {
    async fn put_sign_in_audit(&self, a: &SignInAudit) -> StoreResult<()> {
        self.inner.put_sign_in_audit(a).await
    }

    async fn list_sign_in_audits(
        &self,
        t: Option<&str>,
        limit: usize,
        n: DateTime<Utc>,
    ) -> StoreResult<Vec<SignInAudit>> {
        self.inner.list_sign_in_audits(t, limit, n).await
    }
}

impl<S: Store> Leases for Faulty<S> {
    async fn acquire_lease(
        &self,
        t: &str,
        o: &str,
        n: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<LeaseOutcome> {
        self.inner.acquire_lease(t, o, n, ttl).await
    }

    async fn renew_lease(&self, t: &str, l: &Lease, n: DateTime<Utc>) -> StoreResult<bool> {
        if let Some(pause) = &self.pause {
            pause.while_stopped().await;
        }
        self.inner.renew_lease(t, l, n).await
    }

    async fn release_lease(&self, t: &str, l: &Lease) -> StoreResult<()> {
        self.inner.release_lease(t, l).await
    }
}

impl<S: Store> Claims for Faulty<S> {
    async fn claim(
        &self,
        w: &str,
        o: &str,
        n: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<ClaimOutcome> {
        self.inner.claim(w, o, n, lease).await
    }

    async fn finish_claim(
        &self,
        w: &str,
        o: &str,
        r: &str,
        n: DateTime<Utc>,
        keep: Duration,
    ) -> StoreResult<()> {
        self.inner.finish_claim(w, o, r, n, keep).await
    }

    async fn release_claim(&self, w: &str, o: &str) -> StoreResult<()> {
        self.inner.release_claim(w, o).await
    }
}

impl<S: Store> Erasures for Faulty<S> {
    async fn archived_before(
        &self,
        t: &str,
        k: EntityKind,
        before: DateTime<Utc>,
    ) -> StoreResult<Vec<StoredEntity>> {
        self.inner.archived_before(t, k, before).await
    }

    async fn erase(&self, t: &str, lease: &Lease, erasures: &[Erase]) -> StoreResult<u64> {
        self.inner.erase(t, lease, erasures).await
    }
}
