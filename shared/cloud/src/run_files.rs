//! A Lambda run's files kept in S3: the held plan (for `runs approve`), the
//! applied run's before-images (for `runs revert` and history) and its
//! re-key files leave the function's `/tmp` for `s3://{bucket}/{folder}`,
//! and the run record points at them. Shared by csv-ingest and
//! oneroster-pull.

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
