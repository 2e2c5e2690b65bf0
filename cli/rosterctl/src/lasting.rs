//! Where a command keeps the files a later run must read: the pairs of a
//! re-key in progress, which the tenant's state names. A command that
//! stops part way (interrupted, its machine gone) leaves them for the next
//! run, often a function's: kept in the operator's runs folder, no function
//! could read them and the re-key would be given up. So, where the
//! deployment's run-files bucket is known, they go there, as a function
//! keeps them.

use cloud::run_files::LastingInS3;
use cloud::s3::S3Uri;
use roster::{Artifacts, Store};

/// `--run-files-bucket`: the deployment's run-files bucket (the stack's
/// inbound bucket).
#[derive(Debug, Clone, clap::Args)]
pub struct RunFilesBucketArg {
    /// The deployment's run-files bucket (the stack's inbound bucket): the
    /// pairs of a re-key in progress go there, so that a function carries
    /// on a run this command stops part way, and those of a re-key a
    /// function stopped are read only from there [default:
    /// $ROSTER_RUN_FILES_BUCKET, else the bucket a function kept the run's
    /// plan or the tenant's re-key in progress in; else they stay in the
    /// runs folder].
    #[arg(long = "run-files-bucket", value_name = "BUCKET")]
    pub bucket: Option<String>,
}

/// The bucket a tenant's lasting files go to: `given`, else
/// `$ROSTER_RUN_FILES_BUCKET`, else that of the held run's plan
/// (`held_plan`), else that of the re-key in progress the tenant's state
/// names in S3.
async fn bucket<S: Store>(
    store: &S,
    tenant: &str,
    given: Option<&str>,
    held_plan: Option<&str>,
) -> Result<Option<String>, String> {
    let from_env = std::env::var("ROSTER_RUN_FILES_BUCKET").ok();
    let from_env = from_env.filter(|b| !b.trim().is_empty());
    if let Some(bucket) = given.map(String::from).or(from_env) {
        return Ok(Some(bucket));
    }
    let in_s3 = |reference: &str| S3Uri::parse(reference).ok().map(|o| o.bucket);
    if let Some(bucket) = held_plan.and_then(in_s3) {
        return Ok(Some(bucket));
    }
    let state = store.get_state(tenant).await.map_err(|e| e.to_string())?;
    Ok(state.rekey_in_progress.as_deref().and_then(in_s3))
}

/// `inner`'s run files for a command on `tenant`, its lasting files kept
/// in S3 where [`bucket`] finds one (with the AWS configuration of the
/// environment), else where `inner` keeps files.
pub(crate) async fn run_files<S: Store, A: Artifacts>(
    store: &S,
    inner: A,
    tenant: &str,
    given: &RunFilesBucketArg,
    held_plan: Option<&str>,
) -> Result<LastingInS3<A>, String> {
    let lasting = match bucket(store, tenant, given.bucket.as_deref(), held_plan).await? {
        Some(bucket) => Some((cloud::s3_client(&cloud::sdk_config().await), bucket)),
        None => None,
    };
    LastingInS3::wrap(inner, lasting, &std::env::temp_dir())
        .map_err(|e| format!("a temporary folder for run files cannot be made: {e}"))
}
