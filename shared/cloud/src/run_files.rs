//! A Lambda run's files kept in S3: the held plan (for `runs approve`), the
//! applied run's before-images (for `runs revert` and history) and its
//! re-key files leave the function's `/tmp` for `s3://{bucket}/{folder}`,
//! and the run record points at them. Shared by csv-ingest and
//! oneroster-pull; [`LastingInS3`] by `rosterctl` too.

use crate::s3::{self, S3Uri};
use crate::Failure;
use roster::RunRecord;
use std::path::PathBuf;

/// The object tag of before-images in S3: template.yaml's lifecycle rule
/// `expire-before-images` removes them after `BeforeImageRetentionDays`.
pub const BEFORE_IMAGES_TAG: &str = "roster-file=before-images";

/// The name of a held run's plan in S3.
pub const PLAN_FILE: &str = "plan.jsonl";

/// The name in S3 of a held run's proposed re-key (for `runs show|approve
/// --rekey`).
pub const REKEY_MAPPING_FILE: &str = "rekey.csv";
/// The name in S3 of the re-key pairs a run applied (for `runs revert`).
pub const REKEY_APPLIED_FILE: &str = "rekey-applied.json";

/// Uploads `run`'s local held plan, before-images and re-key files (those
/// that exist) to `s3://{bucket}/{folder}` (`folder` ends with `/`) and
/// points the run's references at the copies. The before-images are tagged
/// [`BEFORE_IMAGES_TAG`]. The caller stores the run record.
pub async fn keep_in_s3(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    folder: &str,
    run: &mut RunRecord,
) -> Result<(), Failure> {
    let images = roster::before::BEFORE_FILE;
    keep_one(client, (bucket, folder), PLAN_FILE, None, &mut run.plan_ref).await?;
    let tag = Some(BEFORE_IMAGES_TAG);
    keep_one(client, (bucket, folder), images, tag, &mut run.before_ref).await?;
    if let Some(rekey) = run.rekey.as_mut() {
        let mapping = &mut rekey.mapping_ref;
        keep_one(client, (bucket, folder), REKEY_MAPPING_FILE, None, mapping).await?;
        let applied = &mut rekey.applied_ref;
        keep_one(client, (bucket, folder), REKEY_APPLIED_FILE, None, applied).await?;
    }
    Ok(())
}

/// Uploads the local run file `reference` names, if it exists, as `name`
/// in the folder (tagged `tag`), and points `reference` at the copy.
async fn keep_one(
    client: &aws_sdk_s3::Client,
    (bucket, folder): (&str, &str),
    name: &str,
    tag: Option<&str>,
    reference: &mut Option<String>,
) -> Result<(), Failure> {
    if let Some(file) = local_file(reference) {
        let key = format!("{folder}{name}");
        s3::put_file_tagged(client, bucket, &key, &file, tag).await?;
        *reference = Some(uri(bucket, key));
    }
    Ok(())
}

fn uri(bucket: &str, key: String) -> String {
    S3Uri {
        bucket: bucket.to_string(),
        key,
    }
    .to_string()
}

/// A run file's local path, when the reference names one that exists.
fn local_file(reference: &Option<String>) -> Option<PathBuf> {
    reference
        .as_deref()
        .filter(|r| !r.starts_with("s3://"))
        .map(PathBuf::from)
        .filter(|p| p.is_file())
}

/// A run's folder in the run-files bucket, `processed/{tenant}/{run}/`,
/// where the functions keep its files (csv-ingest beside the delivery).
pub fn processed_run_folder(tenant: &str, run_id: &str) -> String {
    format!("processed/{tenant}/{run_id}/")
}

/// The largest lasting file fetched: the pairs of a re-key of every
/// record of a large district take a few tens of MB.
const MAX_LASTING_FILE_BYTES: u64 = 1 << 30;

/// Run files of `A` (a function's `/tmp`, an operator's runs folder),
/// except a file the tenant's state names for the next run (the pairs of a
/// re-key in progress): that next run may be another invocation, in another
/// container, or a function after an operator's command, so the file goes
/// to S3 at once, into the run's folder ([`processed_run_folder`]).
pub struct LastingInS3<A> {
    inner: A,
    /// Where lasting files go; without it they stay where `inner` keeps
    /// files (a deployment without a run-files bucket), and a re-key cannot
    /// be carried on by another container.
    lasting: Option<Lasting>,
}

/// The bucket lasting files go to, and where those fetched from it are put
/// (a private temporary folder, removed with this).
struct Lasting {
    client: aws_sdk_s3::Client,
    bucket: String,
    fetched: tempfile::TempDir,
}

/// A Lambda run's files: in the function's `/tmp`, lasting ones in S3.
pub type FunctionArtifacts = LastingInS3<roster::LocalArtifacts>;

impl FunctionArtifacts {
    /// Run files under `dir`; lasting ones in `lasting`'s bucket. Fails
    /// when `dir` cannot be made.
    pub fn new(
        dir: impl Into<PathBuf>,
        lasting: Option<(aws_sdk_s3::Client, String)>,
    ) -> std::io::Result<FunctionArtifacts> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let local = roster::LocalArtifacts::new(&dir);
        LastingInS3::wrap(local, lasting, &dir)
    }
}

impl<A> LastingInS3<A> {
    /// `inner`'s run files, lasting ones in `lasting`'s bucket; files
    /// fetched from it go to a private temporary folder in `fetch_in`.
    /// Fails when that cannot be made.
    pub fn wrap(
        inner: A,
        lasting: Option<(aws_sdk_s3::Client, String)>,
        fetch_in: &std::path::Path,
    ) -> std::io::Result<LastingInS3<A>> {
        let lasting = match lasting {
            Some((client, bucket)) => Some(Lasting {
                client,
                bucket,
                fetched: private_folder(fetch_in)?,
            }),
            None => None,
        };
        Ok(LastingInS3 { inner, lasting })
    }
}

/// A new temporary folder in `dir` that only its owner may enter (0700):
/// fetched run files hold ids of children.
fn private_folder(dir: &std::path::Path) -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix("lasting-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(dir)
}

impl<A: roster::Artifacts> roster::Artifacts for LastingInS3<A> {
    fn scratch(&self, tenant: &str, run_id: &str, name: &str) -> std::io::Result<PathBuf> {
        self.inner.scratch(tenant, run_id, name)
    }

    fn keep(
        &self,
        tenant: &str,
        run_id: &str,
        name: &str,
        path: &std::path::Path,
    ) -> std::io::Result<String> {
        self.inner.keep(tenant, run_id, name, path)
    }

    fn fetch(&self, reference: &str) -> std::io::Result<PathBuf> {
        self.inner.fetch(reference)
    }

    async fn keep_lasting(
        &self,
        tenant: &str,
        run_id: &str,
        name: &str,
        path: &std::path::Path,
    ) -> std::io::Result<String> {
        let Some(Lasting { client, bucket, .. }) = &self.lasting else {
            return self.inner.keep_lasting(tenant, run_id, name, path).await;
        };
        let local = self.inner.keep(tenant, run_id, name, path)?;
        let key = format!("{}{name}", processed_run_folder(tenant, run_id));
        s3::put_file(client, bucket, &key, std::path::Path::new(&local))
            .await
            .map_err(|e| std::io::Error::other(e.chain()))?;
        Ok(uri(bucket, key))
    }

    /// A file in this deployment's bucket is downloaded to a private
    /// temporary folder removed with `self`; a local one is as the wrapped
    /// run files find it.
    async fn fetch_lasting(&self, reference: &str) -> std::io::Result<PathBuf> {
        let Ok(object) = S3Uri::parse(reference) else {
            return self.inner.fetch_lasting(reference).await;
        };
        let Some(Lasting {
            client,
            bucket,
            fetched,
        }) = &self.lasting
        else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                format!("run file `{reference}` is kept in S3, and no run-files bucket is given to read it from"),
            ));
        };
        if *bucket != object.bucket {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("run file `{reference}` is not in the run-files bucket `{bucket}`"),
            ));
        }
        let path = fetched.path().join("lasting-file");
        let limit = MAX_LASTING_FILE_BYTES;
        match s3::download(client, &object.bucket, &object.key, None, &path, limit).await {
            Ok(Some(_)) => Ok(path),
            Ok(None) => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("run file `{reference}` is gone"),
            )),
            Err(e) => Err(std::io::Error::other(e.chain())),
        }
    }
}
