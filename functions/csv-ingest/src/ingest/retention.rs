//! The daily retention pass (EventBridge, `{"retention": true}`): for every
//! tenant, the personal data of people archived longer than its retention
//! erased (docs/operations.md, "Retention").

use super::{Ingest, ItemOutcome};
use chrono::{DateTime, Utc};
use cloud::Failure;
use roster::{Engine, LocalArtifacts, RunStatus, Store};

impl<S: Store> Ingest<S> {
    /// Runs the retention pass of every tenant (enabled or not: a disabled
    /// district's people are still stored), each under the tenant's lease,
    /// waiting for a sync of the tenant up to `TENANT_WAIT_SECONDS`. A tenant
    /// that is busy or fails is logged and left for tomorrow's pass; the
    /// others go on. One outcome per tenant (`erased`, `nothing`, `off`,
    /// `busy`, `failed`); one metrics line for the pass (`PeopleErased`,
    /// `RetentionFailures`) and the run's own for each pass that erased.
    pub async fn retention(&self, now: DateTime<Utc>) -> Result<Vec<ItemOutcome>, Failure> {
        let started = std::time::Instant::now();
        let artifacts = LocalArtifacts::new(self.scratch.join("retention"));
        let mut engine = Engine::new(&self.store, &artifacts);
        engine.options.lease_wait = self.config.tenant_wait;
        let default = self.config.retain_archived_days;
        let (mut erased, mut failures, mut outcomes) = (0, 0, Vec::new());
        for tenant in self.store.list_tenants().await? {
            let id = tenant.tenant.clone();
            let (outcome, run_id) = match Box::pin(engine.retain(&tenant, default, now)).await {
                Ok(pass) => {
                    erased += pass.erased();
                    let said = match (&pass.run, pass.days) {
                        (_, None) => "off",
                        (None, Some(_)) => "nothing",
                        (Some(run), _) if run.status == RunStatus::Applied => "erased",
                        (Some(_), _) => "busy",
                    };
                    if let Some(run) = &pass.run {
                        present::run_log::emit("csv-ingest", run, started.elapsed(), None);
                    }
                    tracing::info!(tenant = %id, outcome = said, erased = pass.erased(), days = ?pass.days, "retention pass");
                    (said, pass.run.map(|r| r.run_id))
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(tenant = %id, error = %e, "retention pass failed; tomorrow's pass tries again");
                    ("failed", None)
                }
            };
            outcomes.push(ItemOutcome {
                run_id,
                ..ItemOutcome::new(&id, outcome)
            });
        }
        cloud::metrics::emit(
            &[],
            &[
                cloud::metrics::Metric::count("PeopleErased", erased),
                cloud::metrics::Metric::count("RetentionFailures", failures),
            ],
            &[],
        );
        Ok(outcomes)
    }
}
