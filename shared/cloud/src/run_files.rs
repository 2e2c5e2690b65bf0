//! A Lambda run's files kept in S3: the held plan (for `runs approve`) and
//! the applied run's before-images (for `runs revert` and history) leave the
//! function's `/tmp` for `s3://{bucket}/{folder}`, and the run record points
//! at them. Shared by csv-ingest and oneroster-pull.

use crate::s3::{self, S3Uri};
use crate::Failure;
use roster::RunRecord;
use std::path::PathBuf;

/// The object tag of before-images in S3: template.yaml's lifecycle rule
/// `expire-before-images` removes them after `BeforeImageRetentionDays`.
pub const BEFORE_IMAGES_TAG: &str = "roster-file=before-images";

/// The name of a held run's plan in S3.
pub const PLAN_FILE: &str = "plan.jsonl";

/// Uploads `run`'s local held plan and before-images (those that exist) to
/// `s3://{bucket}/{folder}` (`folder` ends with `/`) and points `plan_ref`
/// and `before_ref` at the copies. The before-images are tagged
/// [`BEFORE_IMAGES_TAG`]. The caller stores the run record.
pub async fn keep_in_s3(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    folder: &str,
    run: &mut RunRecord,
) -> Result<(), Failure> {
    if let Some(plan) = local_file(&run.plan_ref) {
        let key = format!("{folder}{PLAN_FILE}");
        s3::put_file(client, bucket, &key, &plan).await?;
        run.plan_ref = Some(uri(bucket, key));
    }
    if let Some(images) = local_file(&run.before_ref) {
        let key = format!("{folder}{}", roster::before::BEFORE_FILE);
        s3::put_file_tagged(client, bucket, &key, &images, Some(BEFORE_IMAGES_TAG)).await?;
        run.before_ref = Some(uri(bucket, key));
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
