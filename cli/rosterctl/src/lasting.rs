//! Where a command keeps the files a later run must read: the pairs of a
//! re-key in progress, which the tenant's state names. A command that
//! stops part way (interrupted, its machine gone) leaves them for the next
//! run, often a function's: kept in the operator's runs folder, no function
//! could read them and the re-key would be given up. So, where the
//! deployment's run-files bucket is known, they go there, as a function
//! keeps them.

use cloud::run_files::{processed_run_folder, LastingInS3, RunFolder};
use cloud::s3::S3Uri;
use roster::{Artifacts, Store};

/// The bucket and folder the run's lasting files go to.
struct Place {
    bucket: String,
    /// The run's folder, when it is known already (a held run's).
    folder: Option<String>,
}

/// The bucket a tenant's lasting files go to: `given` (`--run-files-bucket`),
/// else that of the held run's plan (`held_plan`), kept in S3 by the
/// function that held it (and the files then go to the plan's folder), else
/// that of the re-key in progress the tenant's state names in S3.
async fn place<S: Store>(
    store: &S,
    tenant: &str,
    given: Option<&str>,
    held_plan: Option<&str>,
) -> Result<Option<Place>, String> {
    if let Some(bucket) = given {
        let bucket = bucket.to_string();
        return Ok(Some(Place {
            bucket,
            folder: None,
        }));
    }
    if let Some(plan) = held_plan.and_then(|r| S3Uri::parse(r).ok()) {
        let folder = plan
            .key
            .rsplit_once('/')
            .map(|(folder, _)| format!("{folder}/"));
        return Ok(Some(Place {
            bucket: plan.bucket,
            folder,
        }));
    }
    let state = store.get_state(tenant).await.map_err(|e| e.to_string())?;
    Ok(state
        .rekey_in_progress
        .and_then(|r| S3Uri::parse(&r).ok())
        .map(|object| Place {
            bucket: object.bucket,
            folder: None,
        }))
}

/// `inner`'s run files for a command on `tenant`, its lasting files kept
/// in S3 where [`place`] finds a bucket (with the AWS configuration of the
/// environment), else where `inner` keeps files.
pub(crate) async fn run_files<S: Store, A: Artifacts>(
    store: &S,
    inner: A,
    tenant: &str,
    given: Option<&str>,
    held_plan: Option<&str>,
) -> Result<LastingInS3<A>, String> {
    let place = place(store, tenant, given, held_plan).await?;
    let (lasting, folder) = match place {
        Some(Place { bucket, folder }) => {
            let s3 = cloud::s3_client(&cloud::sdk_config().await);
            (Some((s3, bucket)), folder)
        }
        None => (None, None),
    };
    let run_folder: RunFolder = match folder {
        Some(folder) => Box::new(move |_, _| folder.clone()),
        None => Box::new(processed_run_folder),
    };
    LastingInS3::wrap(inner, lasting, run_folder, &std::env::temp_dir())
        .map_err(|e| format!("a temporary folder for run files cannot be made: {e}"))
}
