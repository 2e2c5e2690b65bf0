//! `rosterctl runs list|show|approve|discard|revert`: run records, deciding
//! held runs (a held plan kept in S3 is fetched first) and undoing applied
//! ones; after a decision the district is told and the run's page rendered
//! again (`runs_told`).

use crate::on_store;
use crate::outcome::*;
use crate::run_text::render_run;
use crate::runs_changes;
use crate::stores::StoreArgs;
use cloud::s3::S3Uri;
use oneroster::report::escape_controls;
use roster::engine::RekeyChoice;
use roster::revert::{RevertOutcome, RevertRequest};
use roster::{Artifacts, Engine, LocalArtifacts, Prefetched, RunRecord, Store, SyncError};
use serde_json::json;
use std::fmt::Write as _;
use std::path::PathBuf;
use tempfile::TempPath;

/// The arguments of `rosterctl runs list`.
#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    /// Only this tenant's runs.
    #[arg(long)]
    pub tenant: Option<String>,
    /// How many.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl ListArgs {
    /// Runs `rosterctl runs list`.
    pub async fn run(self) -> Outcome {
        let tenant = self.tenant.as_deref();
        on_store!(self.store, self.json, s => runs_list(&s, tenant, self.limit, self.json).await)
    }
}

/// The arguments of `rosterctl runs show`.
#[derive(Debug, Clone, clap::Args)]
pub struct ShowArgs {
    /// The run id.
    pub run_id: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
    /// Also write the run's report as a self-contained HTML page (for the district).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// A held run: also write the changes it waits to make as a CSV file (for
    /// the district): one row a record, its ids and the names of the fields
    /// that change, never their values.
    #[arg(long, value_name = "FILE")]
    pub changes: Option<PathBuf>,
    /// A held run whose users look re-keyed: also write its proposed mapping
    /// (old_sourcedId, new_sourcedId, matched_on; ids only) as a CSV file the
    /// district can correct; approve with `runs approve RUN --rekey FILE`.
    #[arg(long, value_name = "FILE")]
    pub rekey: Option<PathBuf>,
}

impl ShowArgs {
    /// Runs `rosterctl runs show`.
    pub async fn run(self) -> Outcome {
        let html = self.html.as_deref();
        let artifacts = self.store.artifacts();
        let (run_id, json, changes) = (&self.run_id, self.json, self.changes.as_deref());
        let rekey = self.rekey.as_deref();
        on_store!(self.store, json, s => {
            if let Some(path) = rekey {
                match crate::runs_rekey::write_proposal(&s, run_id, path).await {
                    Ok(n) => eprintln!("wrote {n} proposed pairs to {}", path.display()),
                    Err(e) => return refused(json, &e),
                }
            }
            if let Some(path) = changes {
                let written = runs_changes::show_changes(&s, &artifacts, run_id, path, json);
                if let Err(refusal) = written.await {
                    return refusal;
                }
            }
            runs_show(&s, run_id, json, html).await
        })
    }
}

/// The arguments of `rosterctl runs approve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ApproveArgs {
    /// The run id.
    pub run_id: String,
    /// Who approves (recorded) [default: $USER].
    #[arg(long)]
    pub by: Option<String>,
    /// The run-notice topic the district's contacts follow (the stack's
    /// RunNoticeTopicArn output) [default: $ROSTER_NOTICE_TOPIC_ARN; none: nothing is published].
    #[arg(long, value_name = "ARN")]
    pub notice_topic_arn: Option<String>,
    /// Apply as a re-key: each new user carries on its old record (first
    /// seen, Primary Administrator, earlier ids), the old one is archived as
    /// `rekeyed`. Alone: the run's proposal; with a FILE: that mapping (a
    /// corrected proposal, `runs show RUN --rekey FILE`).
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    pub rekey: Option<Option<PathBuf>>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub run_files: crate::lasting::RunFilesBucketArg,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl ApproveArgs {
    /// Runs `rosterctl runs approve`.
    pub async fn run(self) -> Outcome {
        let decision = Decision {
            approve: true,
            by: self.by,
            topic: self.notice_topic_arn,
            rekey: self.rekey,
            run_files: self.run_files,
        };
        decide_command(self.run_id, decision, self.store, self.json).await
    }
}

/// The arguments of `rosterctl runs discard`.
#[derive(Debug, Clone, clap::Args)]
pub struct DiscardArgs {
    /// The run id.
    pub run_id: String,
    /// Who discards (recorded) [default: $USER].
    #[arg(long)]
    pub by: Option<String>,
    /// The run-notice topic the district's contacts follow (the stack's
    /// RunNoticeTopicArn output) [default: $ROSTER_NOTICE_TOPIC_ARN; none: nothing is published].
    #[arg(long, value_name = "ARN")]
    pub notice_topic_arn: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl DiscardArgs {
    /// Runs `rosterctl runs discard`.
    pub async fn run(self) -> Outcome {
        let decision = Decision {
            approve: false,
            by: self.by,
            topic: self.notice_topic_arn,
            rekey: None,
            run_files: crate::lasting::RunFilesBucketArg { bucket: None },
        };
        decide_command(self.run_id, decision, self.store, self.json).await
    }
}

/// What `runs approve|discard` was asked.
pub struct Decision {
    approve: bool,
    by: Option<String>,
    topic: Option<String>,
    /// `--rekey [FILE]`.
    rekey: Option<Option<PathBuf>>,
    /// An approval's `--run-files-bucket` (none for a discard).
    run_files: crate::lasting::RunFilesBucketArg,
}

/// `runs approve` (`approve`) or `runs discard`, on the store `store` names.
async fn decide_command(run_id: String, d: Decision, store: StoreArgs, json: bool) -> Outcome {
    let artifacts = store.artifacts();
    on_store!(store, json, s => runs_decide(&s, &artifacts, &run_id, &d, json).await)
}

/// The outcome of a decided run: the run, then what the district was told
/// and the pages rendered (lines after the run, or the fields `notice`,
/// `pages` and `page_errors` beside the run's in its JSON).
fn told_outcome(run: &RunRecord, told: &crate::runs_told::Told, json: bool) -> Outcome {
    let mut outcome = run_outcome(run, json);
    if json {
        let mut value = serde_json::to_value(run).expect("run serialises");
        let told = serde_json::to_value(told).expect("told serialises");
        if let (Some(object), serde_json::Value::Object(told)) = (value.as_object_mut(), told) {
            object.extend(told);
        }
        outcome.stdout = value.to_string() + "\n";
    } else {
        outcome.stdout.push_str(&told.render());
    }
    outcome
}

/// The arguments of `rosterctl runs revert`.
#[derive(Debug, Clone, clap::Args)]
pub struct RevertArgs {
    /// The applied run to undo.
    pub run_id: String,
    /// Revert the records no later run changed, and leave the others.
    #[arg(long)]
    pub force: bool,
    /// Show what would be written; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Who reverts (recorded) [default: $USER].
    #[arg(long)]
    pub by: Option<String>,
    /// The run-notice topic the district's contacts follow (the stack's
    /// RunNoticeTopicArn output) [default: $ROSTER_NOTICE_TOPIC_ARN; none: nothing is published].
    #[arg(long, value_name = "ARN")]
    pub notice_topic_arn: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl RevertArgs {
    /// Runs `rosterctl runs revert`.
    pub async fn run(self) -> Outcome {
        let artifacts = self.store.artifacts();
        let request = RevertRequest {
            force: self.force,
            by: operator(self.by),
        };
        let (run_id, dry_run, json) = (&self.run_id, self.dry_run, self.json);
        let topic = self.notice_topic_arn.as_deref();
        on_store!(self.store, json, s => runs_revert(&s, &artifacts, run_id, &request, dry_run, topic, json).await)
    }
}

/// Who runs a command, as recorded: `--by`, else `$USER`, else `operator`.
pub(crate) fn operator(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "operator".into())
}

pub(crate) fn run_outcome(run: &RunRecord, json: bool) -> Outcome {
    Outcome {
        stdout: if json {
            serde_json::to_string(run).expect("run serialises") + "\n"
        } else {
            render_run(run)
        },
        exit_code: exit_code_for(run.status),
    }
}

/// `rosterctl runs list`.
pub async fn runs_list<S: Store>(
    store: &S,
    tenant: Option<&str>,
    limit: usize,
    json: bool,
) -> Outcome {
    match store.list_runs(tenant, limit).await {
        Err(e) => store_failure(json, &e),
        Ok(runs) if json => ok(serde_json::to_string(&runs).expect("runs serialise") + "\n"),
        Ok(runs) => {
            let mut out = format!(
                "{:<30} {:<16} {:<10} {:>8}  {}\n",
                "run", "tenant", "status", "written", "message"
            );
            for r in runs {
                let _ = writeln!(
                    out,
                    "{:<30} {:<16} {:<10} {:>8}  {}",
                    r.run_id,
                    r.tenant,
                    r.status.as_str(),
                    r.items_written,
                    escape_controls(&r.message)
                );
            }
            ok(out)
        }
    }
}

/// `rosterctl runs show`.
pub async fn runs_show<S: Store>(
    store: &S,
    run_id: &str,
    json: bool,
    html: Option<&std::path::Path>,
) -> Outcome {
    match store.get_run(run_id).await {
        Err(e) => store_failure(json, &e),
        Ok(None) => refused(
            json,
            &format!("no run {run_id} (`rosterctl runs list` shows the recent runs)"),
        ),
        Ok(Some(run)) => {
            if let Some(page) = html {
                let validation = match run_validation(&run).await {
                    Ok(v) => v,
                    Err(e) => return failure(json, &e),
                };
                let findings =
                    validation.and_then(|v| present::report_page::Findings::from_value(&v));
                let text = present::report_page::render(Some(&run), findings.as_ref());
                if let Err(e) = std::fs::write(page, text) {
                    return failure(json, &format!("{}: {e}", page.display()));
                }
            }
            Outcome {
                exit_code: EXIT_OK,
                ..run_outcome(&run, json)
            }
        }
    }
}

/// The validation report of a run, from its `report_ref` (a local file, or
/// S3 for Lambda runs, where `report.json` holds `{"run", "validation"}`).
async fn run_validation(run: &RunRecord) -> Result<Option<serde_json::Value>, String> {
    let Some(reference) = &run.report_ref else {
        return Ok(None);
    };
    let read = if reference.starts_with("s3://") {
        std::fs::read(fetch_s3(reference).await?)
    } else {
        std::fs::read(reference)
    };
    let Ok(bytes) = read else {
        return Ok(None); // a report that is gone: the page shows the run alone
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("the run's report {reference} is not JSON: {e}"))?;
    Ok(Some(match value.get("validation") {
        Some(v) if !v.is_null() => v.clone(),
        Some(_) => return Ok(None),
        None => value,
    }))
}

/// `rosterctl runs approve|discard`: the decision recorded, then the
/// district told (through the topic `topic`, `--notice-topic-arn`) and the
/// run's page rendered again.
pub async fn runs_decide<S: Store>(
    store: &S,
    artifacts: &LocalArtifacts,
    run_id: &str,
    d: &Decision,
    json: bool,
) -> Outcome {
    let (approve, by, topic) = (d.approve, operator(d.by.clone()), d.topic.as_deref());
    let rekey = match crate::runs_rekey::choice(store, run_id, &d.rekey).await {
        Ok(rekey) => rekey,
        Err(e) => return refused(json, &e),
    };
    let result = match approve {
        false => Ok(decide(&local_engine(store, artifacts), run_id, false, &by, rekey).await),
        // A plan kept in S3 by a Lambda run is fetched first.
        true => match prefetch_from_s3(store, artifacts, run_id, false).await {
            Err(e) => Err(e),
            Ok(Some((prefetched, files))) => {
                let result = approve_keeping(store, prefetched, run_id, d, &by, rekey).await;
                drop(files); // the fetched plan's temporary file is removed
                result
            }
            Ok(None) => {
                let local = LocalArtifacts::new(artifacts.dir());
                approve_keeping(store, local, run_id, d, &by, rekey).await
            }
        },
    };
    match result {
        Err(e) => failure(json, &e),
        Ok(Ok(run)) => {
            let told = crate::runs_told::tell(store, &run, std::slice::from_ref(&run), topic).await;
            told_outcome(&run, &told, json)
        }
        Ok(Err(e)) => sync_failure(json, &e),
    }
}

/// Approves `run_id` ([`decide`]) with the run files of `inner`, the
/// lasting ones kept where a function reads them ([`crate::lasting`]);
/// `Err` when those cannot be set up.
async fn approve_keeping<S: Store, A: Artifacts>(
    store: &S,
    inner: A,
    run_id: &str,
    d: &Decision,
    by: &str,
    rekey: RekeyChoice,
) -> Result<Result<RunRecord, SyncError>, String> {
    let Some(held) = store.get_run(run_id).await.map_err(|e| e.to_string())? else {
        // Unknown: the engine says so.
        return Ok(decide(&local_engine(store, &inner), run_id, true, by, rekey).await);
    };
    let (given, plan) = (&d.run_files, held.plan_ref.as_deref());
    let files = crate::lasting::run_files(store, inner, &held.tenant, given, plan).await?;
    Ok(decide(&local_engine(store, &files), run_id, true, by, rekey).await)
}

/// `rosterctl runs revert`: an applied revert tells the district (through
/// the topic `topic`, `--notice-topic-arn`) and renders the reverted run's
/// page again.
pub async fn runs_revert<S: Store>(
    store: &S,
    artifacts: &LocalArtifacts,
    run_id: &str,
    request: &RevertRequest,
    dry_run: bool,
    topic: Option<&str>,
    json: bool,
) -> Outcome {
    // Before-images kept in S3 by a Lambda run are fetched first.
    let fetched = match prefetch_from_s3(store, artifacts, run_id, true).await {
        Ok(f) => f,
        Err(e) => return failure(json, &e),
    };
    let result = match &fetched {
        Some((prefetched, _file)) => {
            revert(local_engine(store, prefetched), run_id, request, dry_run).await
        }
        None => revert(local_engine(store, artifacts), run_id, request, dry_run).await,
    };
    drop(fetched); // the fetched images' temporary file is removed
    match result {
        Err(e) => sync_failure(json, &e),
        Ok(RevertOutcome::AlreadyReverted { by }) => {
            let message = format!("run {run_id} was reverted already by run {by}; nothing to do");
            ok(if json {
                json!({"ok": true, "run_id": run_id, "reverted_by": by, "message": message})
                    .to_string()
                    + "\n"
            } else {
                message + "\n"
            })
        }
        Ok(RevertOutcome::Refused { conflicts, total }) => {
            let message = format!(
                "{total} records changed since run {run_id} (a later run or a hand edit): {}{}; nothing was written. `--force` reverts the others and leaves these",
                conflicts.join(", "),
                if total as usize > conflicts.len() { ", ..." } else { "" }
            );
            if json {
                Outcome {
                    stdout: json!({"ok": false, "error": message, "changed_since": conflicts, "changed_since_count": total})
                        .to_string()
                        + "\n",
                    exit_code: EXIT_REFUSED,
                }
            } else {
                refused(false, &message)
            }
        }
        Ok(RevertOutcome::Run(run)) if dry_run => run_outcome(&run, json),
        Ok(RevertOutcome::Run(run)) => {
            // The reverted run now names the run that undid it.
            let reverted = match store.get_run(run_id).await {
                Ok(Some(original)) => vec![original],
                _ => Vec::new(),
            };
            let told = crate::runs_told::tell(store, &run, &reverted, topic).await;
            told_outcome(&run, &told, json)
        }
    }
}

async fn revert<S: Store, A: Artifacts>(
    mut engine: Engine<'_, S, A>,
    run_id: &str,
    request: &RevertRequest,
    dry_run: bool,
) -> Result<RevertOutcome, SyncError> {
    engine.options.dry_run = dry_run;
    engine.revert(run_id, request).await
}

pub(crate) async fn decide<S: Store, A: Artifacts>(
    engine: &Engine<'_, S, A>,
    run_id: &str,
    approve: bool,
    by: &str,
    rekey: RekeyChoice,
) -> Result<RunRecord, SyncError> {
    if approve {
        engine.approve_with(run_id, by, rekey).await
    } else {
        engine.discard(run_id, by).await
    }
}

/// The run files a decision on `run_id` (or with `revert`, a revert of it)
/// reads that are kept in S3 (by a Lambda run), downloaded, with their
/// temporary files (removed when dropped): `None` when there are none (or
/// the run is unknown). A revert reads the run's before-images and re-key
/// pairs; an approval its plan, and for a held revert the re-key pairs of
/// the run it reverts (the pairs of a re-key a function stopped part way,
/// which the tenant's state names, are read from S3 as the run needs them:
/// [`crate::lasting`]). The files the new run keeps (its before-images) go
/// where local runs keep theirs (`--runs-dir`), not to a shared temporary
/// folder.
async fn prefetch_from_s3<S: Store>(
    store: &S,
    artifacts: &LocalArtifacts,
    run_id: &str,
    revert: bool,
) -> Result<Option<(Prefetched, Vec<TempPath>)>, String> {
    let Ok(Some(run)) = store.get_run(run_id).await else {
        return Ok(None);
    };
    let (refs, reverted) = match revert {
        true => (run.before_ref.clone(), Some(run)),
        false => match &run.reverts {
            Some(id) => {
                let reverted = store.get_run(id).await.map_err(|e| e.to_string())?;
                (run.plan_ref.clone(), reverted)
            }
            None => (run.plan_ref.clone(), None),
        },
    };
    let in_s3 = |r: Option<String>| r.filter(|r| r.starts_with("s3://"));
    let required = in_s3(refs);
    let pairs = in_s3(reverted.and_then(|r| r.rekey).and_then(|k| k.applied_ref));
    if required.is_none() && pairs.is_none() {
        return Ok(None);
    }
    let s3 = cloud::s3_client(&cloud::sdk_config().await);
    let (mut files, mut temps) = (Vec::new(), Vec::new());
    // The plan or before-images must be there; the re-key pairs may be gone
    // (the revert then warns and leaves the links).
    if let Some(uri) = required {
        let local = fetch_run_file(&s3, &uri).await?;
        files.push((uri, local.to_path_buf()));
        temps.push(local);
    }
    if let Some(uri) = pairs {
        if let Some(local) = download_run_file(&s3, &uri).await? {
            files.push((uri, local.to_path_buf()));
            temps.push(local);
        }
    }
    let prefetched = Prefetched::new(files, artifacts.dir().to_path_buf());
    Ok(Some((prefetched, temps)))
}

/// Downloads a run file kept in S3 (a held plan, before-images) with the
/// AWS configuration of the environment; see [`fetch_run_file`].
pub(crate) async fn fetch_s3(uri: &str) -> Result<TempPath, String> {
    let s3 = cloud::s3_client(&cloud::sdk_config().await);
    fetch_run_file(&s3, uri).await
}

/// Downloads the run file `uri` (`s3://...`) to a private temporary file:
/// created new with mode 0600 under an unpredictable name in the temporary
/// folder, and removed when the returned path is dropped (or the download
/// fails). A run file holds people's records: no other local user may read
/// it, nor plant a file or link where it goes.
pub async fn fetch_run_file(s3: &aws_sdk_s3::Client, uri: &str) -> Result<TempPath, String> {
    download_run_file(s3, uri)
        .await?
        .ok_or_else(|| format!("the run file {uri} is gone"))
}

/// As [`fetch_run_file`]; `None` when the file is gone (expired or removed).
pub(crate) async fn download_run_file(
    s3: &aws_sdk_s3::Client,
    uri: &str,
) -> Result<Option<TempPath>, String> {
    let object = S3Uri::parse(uri)?;
    let local = tempfile::Builder::new()
        .prefix("rosterctl-run-file-")
        .tempfile()
        .map_err(|e| format!("cannot create a temporary file for the run file {uri}: {e}"))?
        .into_temp_path();
    match cloud::s3::download(s3, &object.bucket, &object.key, None, &local, u64::MAX).await {
        Ok(Some(_)) => Ok(Some(local)),
        Ok(None) => Ok(None),
        Err(e) => Err(format!("cannot fetch the run file {uri}: {}", e.chain())),
    }
}

/// The engine as the CLI runs it: its runs record this process, so a later
/// command on this machine takes over at once if it dies.
pub(crate) fn local_engine<'a, S: Store, A: Artifacts>(
    store: &'a S,
    artifacts: &'a A,
) -> Engine<'a, S, A> {
    let mut engine = Engine::new(store, artifacts);
    engine.options.this_process = roster::run::RunProcess::current();
    engine
}
