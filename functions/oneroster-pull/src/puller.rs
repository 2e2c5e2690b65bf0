//! One scheduled (or on-demand) pull of a tenant's OneRoster API: the tenant's
//! API settings, the credentials from Secrets Manager, then the shared
//! pull-and-sync (`api_pull`). A partial pull applies nothing.

use api_pull::pull::PullPlaces;
use api_pull::pull_and_sync;
use api_pull::ApiSecret;
pub use api_pull::{PullConfig, PullEvent, RequestedMode};
use chrono::Utc;
use cloud::continuation::{ContinuationQueue, MAX_HOPS};
use cloud::run_files::{processed_run_folder, FunctionArtifacts};
use cloud::Failure;
use roster::{Connection, RunRecord, RunSource, RunStatus, Store, TenantConfig};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The pull function's clients and settings.
pub struct Puller<S: Store> {
    /// The roster store.
    pub store: S,
    /// Secrets Manager.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// Settings.
    pub config: PullConfig,
    /// Local scratch space (`/tmp`).
    pub scratch: PathBuf,
    /// Tenants' secrets must be named with this prefix (`TENANT_SECRET_PREFIX`);
    /// the function's IAM policy grants nothing else.
    pub secret_prefix: Option<String>,
    /// Where a pull that reached the deadline continues (`CONTINUE_QUEUE_URL`).
    pub continuations: Option<ContinuationQueue>,
    /// The run-notice topic (`NOTICE_TOPIC_ARN`), if the deployment has one.
    pub notices: Option<cloud::sns::Topic>,
    /// Where runs' files are kept (`RUN_FILES_BUCKET`): the report
    /// (`report.json` and its page), held plans for `runs approve`,
    /// before-images for `runs revert`. Without it they stay in `/tmp` and are
    /// lost with the container.
    pub run_files: Option<RunFilesBucket>,
}

/// The bucket that keeps runs' files, under `processed/{tenant}/{run_id}/`.
#[derive(Debug, Clone)]
pub struct RunFilesBucket {
    /// S3.
    pub s3: aws_sdk_s3::Client,
    /// The bucket (the stack's inbound bucket).
    pub bucket: String,
}

impl<S: Store> Puller<S> {
    /// Runs one pull; returns its run record (also stored). Pull failures
    /// (credentials rejected, incomplete collections, an unreadable secret)
    /// are `failed` runs, not errors.
    pub async fn handle(
        &self,
        event: PullEvent,
        deadline: Option<Instant>,
    ) -> Result<RunRecord, Failure> {
        let started = Instant::now();
        let (tenant, run) = self.handle_inner(event, deadline).await?;
        present::run_log::emit("oneroster-pull", &run, started.elapsed(), None);
        if let (Some(topic), Some(n)) = (&self.notices, present::notice::for_tenant(&tenant, &run))
        {
            topic
                .send_notice(&n.tenant, &n.outcome, &n.subject, &n.body)
                .await;
        }
        Ok(run)
    }

    async fn handle_inner(
        &self,
        event: PullEvent,
        deadline: Option<Instant>,
    ) -> Result<(TenantConfig, RunRecord), Failure> {
        let tenant = self.store.get_tenant(&event.tenant).await?.ok_or_else(|| {
            Failure::permanent(format!("tenant `{}` is not configured", event.tenant))
        })?;
        let reference = tenant
            .api
            .as_ref()
            .map(|a| a.url.clone())
            .unwrap_or_default();
        let mut run = RunRecord::start(
            &tenant.tenant,
            RunSource {
                kind: "api".into(),
                reference,
            },
            Utc::now(),
        );
        if event.continuation >= MAX_HOPS {
            run.finish(
                RunStatus::Failed,
                format!("the pull was continued {MAX_HOPS} times without finishing; giving up (the next schedule starts afresh)"),
                Utc::now(),
            );
            self.store.put_run(&run).await?;
            return Ok((tenant, run));
        }
        let Some(api) = tenant
            .api
            .clone()
            .filter(|_| tenant.enabled && tenant.uses(Connection::Api))
        else {
            run.finish(RunStatus::Rejected, "the tenant is disabled or has no OneRoster API connection configured; nothing was pulled", Utc::now());
            self.store.put_run(&run).await?;
            return Ok((tenant, run));
        };
        if let Some(prefix) = &self.secret_prefix {
            if !api.secret_name.starts_with(prefix.as_str()) {
                run.finish(
                    RunStatus::Failed,
                    format!("the tenant's API secret `{}` is not under the prefix `{prefix}` this function may read; store it as `{prefix}{}`", api.secret_name, tenant.tenant),
                    Utc::now(),
                );
                self.store.put_run(&run).await?;
                return Ok((tenant, run));
            }
        }
        let secret = match self.read_secret(&api.secret_name).await {
            Ok(s) => s,
            Err(e) if !e.is_retryable() => {
                tracing::warn!(tenant = %tenant.tenant, run_id = %run.run_id, error = %e.chain(), "API secret unreadable: run failed");
                run.finish(RunStatus::Failed, e.to_string(), Utc::now());
                self.store.put_run(&run).await?;
                return Ok((tenant, run));
            }
            Err(e) => return Err(e),
        };
        let lasting = self
            .run_files
            .as_ref()
            .map(|f| (f.s3.clone(), f.bucket.clone()));
        let artifacts = FunctionArtifacts::new(self.scratch.join("runs"), lasting)?;
        let places = PullPlaces {
            scratch: &self.scratch,
            artifacts: &artifacts,
        };
        let mut run = pull_and_sync(
            &self.store,
            &tenant,
            &api,
            secret.auth(),
            event.mode,
            deadline,
            &self.config,
            places,
        )
        .await?;
        self.keep_run_files(&mut run).await?;
        if run.status == RunStatus::Continued {
            self.continue_later(&event, &run).await?;
        }
        Ok((tenant, run))
    }

    /// Moves the run's files from `/tmp` to the run-files bucket, beside
    /// csv-ingest's (`processed/{tenant}/{run}/`): its report as
    /// `report.json` (`{"run", "validation"}`) and as the district's page
    /// (`report.html`), its held plan and before-images; and stores the
    /// record pointing at them.
    async fn keep_run_files(&self, run: &mut RunRecord) -> Result<(), Failure> {
        let local = self
            .scratch
            .join("runs")
            .join(&run.tenant)
            .join(&run.run_id);
        let Some(files) = &self.run_files else {
            tracing::warn!(tenant = %run.tenant, run_id = %run.run_id, "no RUN_FILES_BUCKET: the run's report, plan, before-images and re-key pairs stay in /tmp (a re-key cannot be carried on by another invocation)");
            return Ok(());
        };
        let folder = processed_run_folder(&run.tenant, &run.run_id);
        let validation = std::fs::read(local.join("report.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        cloud::run_files::keep_in_s3(&files.s3, &files.bucket, &folder, run).await?;
        run.report_ref = Some(format!("s3://{}/{folder}report.json", files.bucket));
        self.store.put_run(run).await?;
        let report = serde_json::json!({"run": run, "validation": validation});
        present::report_page::s3::put_report(
            &files.s3,
            &files.bucket,
            &folder,
            &report,
            run,
            validation.as_ref(),
        )
        .await?;
        let _ = std::fs::remove_dir_all(&local);
        Ok(())
    }

    /// A run that reached the deadline continues in a fresh invocation: the
    /// next one pulls again and re-plans, so what was written is not rewritten.
    async fn continue_later(&self, event: &PullEvent, run: &RunRecord) -> Result<(), Failure> {
        let Some(queue) = &self.continuations else {
            return Err(Failure::retryable(format!(
                "run {} must continue and no CONTINUE_QUEUE_URL is set",
                run.run_id
            )));
        };
        // A full pull continues as a full pull (a delta would not archive what is absent).
        let full = run.counts.values().any(|c| c.archived > 0) || event.mode == RequestedMode::Full;
        let next = PullEvent {
            tenant: event.tenant.clone(),
            mode: if full {
                RequestedMode::Full
            } else {
                event.mode
            },
            continuation: event.continuation + 1,
        };
        queue
            .send(
                &format!("the pull of tenant {}", event.tenant),
                next.continuation,
                &next,
                Duration::ZERO,
            )
            .await
    }

    async fn read_secret(&self, name: &str) -> Result<ApiSecret, Failure> {
        let text = cloud::secrets::secret_string(&self.secrets, name).await?;
        ApiSecret::parse(&text)
            .map_err(|e| Failure::permanent(format!("the API secret `{name}`: {e}")))
    }
}
