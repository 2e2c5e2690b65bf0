//! `rosterctl tenants offboard T --confirm T [--dry-run]`: deletes everything
//! of a district — its store items, its objects (every version) in the
//! bucket, its API secret, pull schedule, SFTP user and notice
//! subscriptions, its local run files — and keeps a receipt apart from it.
//!
//! Order: the lease is taken first (refused while a run holds it), then the
//! AWS resources and the bucket, then the store (its configuration first),
//! then the local files. The store is deleted only once everything before
//! it is gone, so that a re-run after a failure still finds the tenant and
//! finishes the job; a run that finds nothing says so and stores nothing.

use super::offboard_aws::{self as aws, SubscriptionChange, Version};
use super::offboard_receipt::{digest, render_tally, Receipt, Tally};
use crate::outcome::{failure, refused, Outcome, EXIT_OK, EXIT_USAGE};
use crate::stores::StoreArgs;
use chrono::{DateTime, Utc};
use roster::{count_items, LeaseOutcome, Store, TenantErasure, TenantItem};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The lease owner offboarding takes the tenant's lease as (the same on a
/// re-run, which may then take it again at once).
const LEASE_OWNER: &str = "offboarding";

/// How long offboarding holds the lease (it is deleted at the end).
const LEASE_TTL: Duration = Duration::from_secs(3600);

/// The arguments of `rosterctl tenants offboard`.
#[derive(Debug, Clone, clap::Args)]
pub struct OffboardArgs {
    /// Tenant id of the district to delete.
    pub tenant: String,
    /// The tenant id again: offboarding deletes everything of it and cannot be undone.
    #[arg(long, value_name = "TENANT")]
    pub confirm: String,
    /// Only list what would be deleted (counts); delete nothing, store no receipt.
    #[arg(long)]
    pub dry_run: bool,
    /// Who offboards (recorded in the receipt) [default: $USER].
    #[arg(long)]
    pub by: Option<String>,
    /// With --dynamodb: the stack's bucket (InboundBucketName output): the
    /// tenant's objects go, and the receipt is kept under receipts/offboarding/.
    #[arg(long, value_name = "BUCKET")]
    pub inbound_bucket: Option<String>,
    /// With --dynamodb: the Transfer Family server (SftpServerId output)
    /// [default: ROSTER_SFTP_SERVER_ID].
    #[arg(long, value_name = "ID")]
    pub sftp_server_id: Option<String>,
    /// The EventBridge Scheduler group of the pull schedules.
    #[arg(long, default_value = "roster-pulls")]
    pub schedule_group: String,
    /// With --dynamodb: the run-notice topic (RunNoticeTopicArn output)
    /// [default: ROSTER_NOTICE_TOPIC_ARN].
    #[arg(long, value_name = "ARN")]
    pub notice_topic_arn: Option<String>,
    /// Secrets Manager name prefix of tenants' API secrets (TenantSecretPrefix).
    #[arg(long, default_value = "roster/tenants/")]
    pub secret_prefix: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

/// The deployed side of a tenant (with --dynamodb).
#[derive(Debug, Clone)]
struct AwsTargets {
    bucket: String,
    sftp_server_id: String,
    schedule_group: String,
    topic_arn: String,
    secret_prefix: String,
}

/// What one offboarding works with.
#[derive(Debug, Clone)]
struct Job {
    tenant: String,
    by: String,
    dry_run: bool,
    json: bool,
    aws: Option<AwsTargets>,
    runs_dir: PathBuf,
    /// Where receipts go when there is no bucket (the embedded store).
    receipt_dir: PathBuf,
}

impl OffboardArgs {
    /// Runs `rosterctl tenants offboard`.
    pub async fn run(self) -> Outcome {
        let json = self.json;
        if self.confirm != self.tenant {
            return refused(
                json,
                &format!(
                    "--confirm `{}` is not the tenant id `{}`: offboarding deletes everything of tenant `{}` and cannot be undone; give --confirm {} to go on",
                    self.confirm, self.tenant, self.tenant, self.tenant
                ),
            );
        }
        if let Err(e) = roster::tenant::check_tenant_id(&self.tenant) {
            return refused(json, &e.to_string());
        }
        let aws = match self.aws_targets() {
            Ok(aws) => aws,
            Err(missing) => return failure(json, &missing),
        };
        let job = Job {
            tenant: self.tenant.clone(),
            by: crate::runs_cmd::operator(self.by.clone()),
            dry_run: self.dry_run,
            json,
            aws,
            runs_dir: self.store.artifacts().dir().to_path_buf(),
            receipt_dir: self.receipt_dir(),
        };
        crate::on_store!(self.store, json, s => offboard(&s, &job).await)
    }

    /// With --dynamodb, the bucket, SFTP server and notice topic are needed
    /// (flags or environment): offboarding must not leave them out silently.
    fn aws_targets(&self) -> Result<Option<AwsTargets>, String> {
        if self.store.dynamodb.is_none() {
            return Ok(None);
        }
        let env = |flag: &Option<String>, var: &str| {
            flag.clone()
                .or_else(|| std::env::var(var).ok())
                .filter(|s| !s.is_empty())
        };
        let bucket = self.inbound_bucket.clone().filter(|s| !s.is_empty());
        let server = env(&self.sftp_server_id, "ROSTER_SFTP_SERVER_ID");
        let topic = env(&self.notice_topic_arn, super::notices::NOTICE_TOPIC_ENV);
        match (bucket, server, topic) {
            (Some(bucket), Some(sftp_server_id), Some(topic_arn)) => Ok(Some(AwsTargets {
                bucket,
                sftp_server_id,
                schedule_group: self.schedule_group.clone(),
                topic_arn,
                secret_prefix: self.secret_prefix.clone(),
            })),
            (bucket, server, topic) => {
                let missing: Vec<&str> = [
                    (
                        bucket.is_none(),
                        "--inbound-bucket (InboundBucketName output)",
                    ),
                    (
                        server.is_none(),
                        "--sftp-server-id (SftpServerId output, or ROSTER_SFTP_SERVER_ID)",
                    ),
                    (
                        topic.is_none(),
                        "--notice-topic-arn (RunNoticeTopicArn output, or ROSTER_NOTICE_TOPIC_ARN)",
                    ),
                ]
                .into_iter()
                .filter_map(|(m, what)| m.then_some(what))
                .collect();
                Err(format!(
                    "offboarding a deployed district (--dynamodb) deletes its AWS resources too: give {}",
                    missing.join(", ")
                ))
            }
        }
    }

    /// `receipts/offboarding/` beside the SQLite file (apart from its runs folder).
    fn receipt_dir(&self) -> PathBuf {
        let db = self
            .store
            .db
            .clone()
            .unwrap_or_else(|| PathBuf::from("roster.db"));
        db.parent()
            .unwrap_or(Path::new(""))
            .join("receipts")
            .join("offboarding")
    }
}

/// Everything of the tenant found, before anything is deleted.
#[derive(Debug, Default)]
struct Found {
    store_items: Vec<TenantItem>,
    s3: BTreeMap<String, Vec<Version>>,
    secret: Option<String>,
    schedule: Option<String>,
    sftp_user: bool,
    subscriptions: Vec<SubscriptionChange>,
    local_files: Vec<PathBuf>,
}

impl Found {
    fn tally(&self) -> Tally {
        let mut subscriptions = super::offboard_receipt::SubscriptionTally::default();
        for change in &self.subscriptions {
            match change {
                SubscriptionChange::Unsubscribe { .. } => subscriptions.unsubscribed += 1,
                SubscriptionChange::Narrow { .. } => subscriptions.narrowed += 1,
            }
        }
        Tally {
            store_items: count_items(&self.store_items),
            s3: self
                .s3
                .iter()
                .map(|(prefix, versions)| (prefix.clone(), aws::tally(versions)))
                .collect(),
            secret: self.secret.is_some(),
            schedule: self.schedule.is_some(),
            sftp_user: self.sftp_user,
            subscriptions,
            local_files: self.local_files.len() as u64,
        }
    }
}

/// The SDK clients of the deployed side.
struct Clients {
    s3: aws_sdk_s3::Client,
    sm: aws_sdk_secretsmanager::Client,
    scheduler: aws_sdk_scheduler::Client,
    transfer: aws_sdk_transfer::Client,
    topic: cloud::sns::Topic,
}

impl Clients {
    async fn new(targets: &AwsTargets) -> Clients {
        let sdk = cloud::sdk_config().await;
        Clients {
            s3: cloud::s3_client(&sdk),
            sm: aws_sdk_secretsmanager::Client::new(&sdk),
            scheduler: aws_sdk_scheduler::Client::new(&sdk),
            transfer: aws_sdk_transfer::Client::new(&sdk),
            topic: super::notices::topic(&targets.topic_arn).await,
        }
    }
}

/// Offboards on `store`: finds, then (unless a dry run) deletes and keeps the receipt.
async fn offboard<S: Store + TenantErasure>(store: &S, job: &Job) -> Outcome {
    let started_at = Utc::now();
    let clients = match &job.aws {
        Some(targets) => Some((Clients::new(targets).await, targets)),
        None => None,
    };
    let found = match find(store, job, clients.as_ref().map(|(c, t)| (c, *t))).await {
        Ok(found) => found,
        Err(e) => return failure(job.json, &format!("nothing was deleted: {e}")),
    };
    let tally = found.tally();
    if job.dry_run {
        return listing(job, store.name(), &tally);
    }
    if tally.is_empty() {
        return nothing_left(job);
    }
    match store
        .acquire_lease(&job.tenant, LEASE_OWNER, Utc::now(), LEASE_TTL)
        .await
    {
        Ok(LeaseOutcome::Acquired { .. }) => {}
        Ok(LeaseOutcome::Held { lease, expires_at }) => {
            return refused(
                job.json,
                &format!(
                    "run {} holds tenant `{}`'s lease until {} UTC: offboard once it has ended; nothing was deleted",
                    lease.owner,
                    job.tenant,
                    expires_at.format("%Y-%m-%d %H:%M:%S")
                ),
            )
        }
        Err(e) => return failure(job.json, &format!("nothing was deleted: {e}")),
    }
    let done = delete(store, job, clients.as_ref().map(|(c, t)| (c, *t)), found).await;
    let mut receipt = Receipt {
        receipt: "offboarding",
        tenant: job.tenant.clone(),
        by: job.by.clone(),
        started_at,
        finished_at: Utc::now(),
        store: store.name().to_string(),
        complete: done.errors.is_empty(),
        deleted: done.deleted,
        not_deleted: done.left,
        errors: done.errors,
        keys_deleted: done.keys.len() as u64,
        keys_sha256: digest(&done.keys),
        stored_at: None,
    };
    let kept = keep_receipt(
        job,
        clients.as_ref().map(|(c, t)| (&c.s3, t.bucket.as_str())),
        &receipt,
    )
    .await;
    match kept {
        Ok(at) => receipt.stored_at = Some(at),
        Err(e) => {
            receipt.complete = false;
            receipt.errors.push(e);
        }
    }
    let exit_code = if receipt.complete {
        EXIT_OK
    } else {
        EXIT_USAGE
    };
    Outcome {
        stdout: if job.json {
            serde_json::to_string(&receipt).unwrap_or_default() + "\n"
        } else {
            receipt.render()
        },
        exit_code,
    }
}

/// `--dry-run`: what would be deleted.
fn listing(job: &Job, store: &str, tally: &Tally) -> Outcome {
    let stdout = if job.json {
        json!({"tenant": job.tenant, "dry_run": true, "store": store, "would_delete": tally, "nothing_left": tally.is_empty()})
            .to_string()
            + "\n"
    } else {
        format!(
            "offboarding of tenant {} (dry run: nothing deleted, no receipt) would delete:\n{}",
            job.tenant,
            render_tally(tally)
        )
    };
    Outcome {
        stdout,
        exit_code: EXIT_OK,
    }
}

/// A tenant of which nothing is left: nothing to do, no receipt.
fn nothing_left(job: &Job) -> Outcome {
    let message = format!(
        "nothing left of tenant `{}`: already offboarded (or never onboarded); nothing deleted, no receipt stored",
        job.tenant
    );
    Outcome {
        stdout: if job.json {
            json!({"ok": true, "tenant": job.tenant, "nothing_left": true, "message": message})
                .to_string()
                + "\n"
        } else {
            message + "\n"
        },
        exit_code: EXIT_OK,
    }
}

/// Finds everything of the tenant (an error: nothing is deleted).
async fn find<S: Store + TenantErasure>(
    store: &S,
    job: &Job,
    aws: Option<(&Clients, &AwsTargets)>,
) -> Result<Found, String> {
    let t = &job.tenant;
    let mut found = Found {
        store_items: store.tenant_items(t).await.map_err(|e| e.to_string())?,
        local_files: local_files(&job.runs_dir.join(t)),
        ..Found::default()
    };
    let Some((c, targets)) = aws else {
        return Ok(found);
    };
    for prefix in aws::tenant_prefixes(t) {
        let versions = aws::list_versions(&c.s3, &targets.bucket, &prefix).await?;
        found.s3.insert(prefix, versions);
    }
    let config = store.get_tenant(t).await.map_err(|e| e.to_string())?;
    let secret = config
        .and_then(|c| c.api)
        .map(|api| api.secret_name)
        .unwrap_or_else(|| format!("{}{t}", targets.secret_prefix));
    found.secret = aws::secret_exists(&c.sm, &secret).await?.then_some(secret);
    let schedule = super::schedule::schedule_name(t);
    found.schedule = aws::schedule_exists(&c.scheduler, &targets.schedule_group, &schedule)
        .await?
        .then_some(schedule);
    found.sftp_user = aws::sftp_user_exists(&c.transfer, &targets.sftp_server_id, t).await?;
    found.subscriptions = aws::tenant_subscriptions(&c.topic, t).await?;
    Ok(found)
}

/// The files under `dir` (none when it does not exist).
fn local_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// What the deletions did.
#[derive(Debug, Default)]
struct Done {
    deleted: Tally,
    left: Tally,
    keys: Vec<String>,
    errors: Vec<String>,
}

/// Deletes what was found: AWS resources and the bucket first, then the
/// store and the local files, only when nothing before failed.
async fn delete<S: Store + TenantErasure>(
    store: &S,
    job: &Job,
    aws: Option<(&Clients, &AwsTargets)>,
    found: Found,
) -> Done {
    let mut done = Done::default();
    if let Some((c, targets)) = aws {
        delete_aws(c, targets, &job.tenant, &found, &mut done).await;
    }
    if !done.errors.is_empty() {
        done.left.store_items = count_items(&found.store_items);
        done.left.local_files = found.local_files.len() as u64;
        done.errors.push("the store and the local files are kept until the steps above succeed (the tenant's configuration names them): run again".into());
        return done;
    }
    let erasure = store.delete_tenant(&job.tenant).await;
    done.keys.extend(
        erasure
            .deleted
            .iter()
            .map(|i| format!("{}:{}", store.name(), i.key)),
    );
    done.deleted.store_items = count_items(&erasure.deleted);
    done.left.store_items = count_items(&erasure.left);
    if let Some(e) = erasure.error {
        done.errors.push(format!("store: {e}"));
        done.left.local_files = found.local_files.len() as u64;
        return done;
    }
    let dir = job.runs_dir.join(&job.tenant);
    let files = local_files(&dir);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {
            done.deleted.local_files = files.len() as u64;
            done.keys
                .extend(files.iter().map(|f| format!("file:{}", f.display())));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            done.left.local_files = files.len() as u64;
            done.errors
                .push(format!("local files {}: {e}", dir.display()));
        }
    }
    done
}

/// Records one AWS step: its key when it succeeded (true), its error when not.
fn record(done: &mut Done, result: Result<(), String>, key: String) -> bool {
    match result {
        Ok(()) => {
            done.keys.push(key);
            true
        }
        Err(e) => {
            done.errors.push(e);
            false
        }
    }
}

/// The AWS steps, each tried whatever the others did.
async fn delete_aws(
    c: &Clients,
    targets: &AwsTargets,
    tenant: &str,
    found: &Found,
    done: &mut Done,
) {
    let group = &targets.schedule_group;
    if let Some(name) = &found.schedule {
        let result = aws::delete_schedule(&c.scheduler, group, name).await;
        let ok = record(done, result, format!("scheduler:{group}/{name}"));
        (done.deleted.schedule, done.left.schedule) = (ok, !ok);
    }
    if found.sftp_user {
        let server = &targets.sftp_server_id;
        let result = aws::delete_sftp_user(&c.transfer, server, tenant).await;
        let ok = record(done, result, format!("transfer:{server}/{tenant}"));
        (done.deleted.sftp_user, done.left.sftp_user) = (ok, !ok);
    }
    if let Some(name) = &found.secret {
        let result = aws::delete_secret(&c.sm, name).await;
        let ok = record(done, result, format!("secretsmanager:{name}"));
        (done.deleted.secret, done.left.secret) = (ok, !ok);
    }
    for change in &found.subscriptions {
        let result = aws::change_subscription(&c.topic, change)
            .await
            .map_err(|e| format!("SNS {}: {e}", change.arn()));
        let ok = record(done, result, format!("sns:{}", change.arn()));
        let tally = if ok {
            &mut done.deleted
        } else {
            &mut done.left
        };
        match change {
            SubscriptionChange::Unsubscribe { .. } => tally.subscriptions.unsubscribed += 1,
            SubscriptionChange::Narrow { .. } => tally.subscriptions.narrowed += 1,
        }
    }
    for (prefix, versions) in &found.s3 {
        let (deleted, left, error) =
            aws::delete_versions(&c.s3, &targets.bucket, versions.clone()).await;
        done.keys
            .extend(deleted.iter().map(|v| v.receipt_key(&targets.bucket)));
        done.deleted.s3.insert(prefix.clone(), aws::tally(&deleted));
        if !left.is_empty() {
            done.left.s3.insert(prefix.clone(), aws::tally(&left));
        }
        done.errors.extend(error);
    }
}

/// Keeps the receipt apart from the tenant's data: in the bucket under
/// `receipts/offboarding/` (with --dynamodb), else in `receipts/offboarding/`
/// beside the SQLite file. Returns where.
async fn keep_receipt(
    job: &Job,
    bucket: Option<(&aws_sdk_s3::Client, &str)>,
    receipt: &Receipt,
) -> Result<String, String> {
    let name = receipt_name(&job.tenant, receipt.finished_at);
    let value = serde_json::to_value(receipt).map_err(|e| e.to_string())?;
    match bucket {
        Some((s3, bucket)) => {
            let key = format!("receipts/offboarding/{name}");
            cloud::s3::put_json(s3, bucket, &key, &value)
                .await
                .map_err(|e| {
                    format!(
                        "the receipt could not be stored in s3://{bucket}/{key}: {}",
                        e.chain()
                    )
                })?;
            Ok(format!("s3://{bucket}/{key}"))
        }
        None => {
            let path = job.receipt_dir.join(name);
            std::fs::create_dir_all(&job.receipt_dir)
                .and_then(|_| {
                    std::fs::write(&path, serde_json::to_vec_pretty(&value).unwrap_or_default())
                })
                .map_err(|e| {
                    format!("the receipt could not be stored at {}: {e}", path.display())
                })?;
            Ok(path.display().to_string())
        }
    }
}

/// `{tenant}-{YYYYMMDDTHHMMSSZ}.json`.
fn receipt_name(tenant: &str, at: DateTime<Utc>) -> String {
    format!("{tenant}-{}.json", at.format("%Y%m%dT%H%M%SZ"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_are_named_by_tenant_and_time() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T09:05:03Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(receipt_name("d1", at), "d1-20261207T090503Z.json");
    }
}
