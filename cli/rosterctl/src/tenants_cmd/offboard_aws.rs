//! What offboarding finds and deletes on the AWS side: the tenant's object
//! versions in the bucket, its API secret, pull schedule, SFTP user and
//! notice subscriptions. Each function answers with ids and counts only.

use super::offboard_receipt::S3Tally;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use cloud::sns::Topic;
use std::collections::BTreeSet;

/// The bucket prefixes that hold a tenant's objects: deliveries, and the
/// runs' files (reports, pages, plans, before-images) beside them.
pub fn tenant_prefixes(tenant: &str) -> [String; 3] {
    ["inbound", "processed", "rejected"].map(|p| format!("{p}/{tenant}/"))
}

/// One version (or delete marker) of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The object key.
    pub key: String,
    /// Its version id (`null` in a bucket never versioned).
    pub version_id: String,
    /// A delete marker rather than a version with content.
    pub marker: bool,
}

impl Version {
    /// The version as a receipt's digest lists it.
    pub fn receipt_key(&self, bucket: &str) -> String {
        format!("s3://{bucket}/{}?versionId={}", self.key, self.version_id)
    }
}

/// The counts of `versions`.
pub fn tally(versions: &[Version]) -> S3Tally {
    let keys: BTreeSet<&str> = versions.iter().map(|v| v.key.as_str()).collect();
    S3Tally {
        objects: keys.len() as u64,
        versions: versions.iter().filter(|v| !v.marker).count() as u64,
        delete_markers: versions.iter().filter(|v| v.marker).count() as u64,
    }
}

/// Every version and delete marker under `prefix`.
pub async fn list_versions(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<Version>, String> {
    let mut out = Vec::new();
    let (mut key_marker, mut version_marker) = (None, None);
    loop {
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .prefix(prefix)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "S3 ListObjectVersions {bucket}/{prefix}: {}",
                    cloud::failure::chain(&e)
                )
            })?;
        for v in page.versions() {
            out.push(Version {
                key: v.key().unwrap_or_default().to_string(),
                version_id: v.version_id().unwrap_or("null").to_string(),
                marker: false,
            });
        }
        for m in page.delete_markers() {
            out.push(Version {
                key: m.key().unwrap_or_default().to_string(),
                version_id: m.version_id().unwrap_or("null").to_string(),
                marker: true,
            });
        }
        if page.is_truncated() != Some(true) {
            return Ok(out);
        }
        key_marker = page.next_key_marker().map(String::from);
        version_marker = page.next_version_id_marker().map(String::from);
    }
}

/// Deletes `versions` (1,000 a request): those deleted, those not, and the
/// first error.
pub async fn delete_versions(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    versions: Vec<Version>,
) -> (Vec<Version>, Vec<Version>, Option<String>) {
    let (mut deleted, mut left, mut error) = (Vec::new(), Vec::new(), None);
    for chunk in versions.chunks(1000) {
        if error.is_some() {
            left.extend_from_slice(chunk);
            continue;
        }
        match delete_chunk(s3, bucket, chunk).await {
            Ok(failed) => {
                for v in chunk {
                    if failed.contains(&(v.key.as_str(), v.version_id.as_str())) {
                        left.push(v.clone());
                    } else {
                        deleted.push(v.clone());
                    }
                }
                if !failed.is_empty() {
                    error = Some(format!(
                        "S3 DeleteObjects {bucket}: {} versions not deleted",
                        failed.len()
                    ));
                }
            }
            Err(e) => {
                left.extend_from_slice(chunk);
                error = Some(e);
            }
        }
    }
    (deleted, left, error)
}

/// One DeleteObjects request (quiet): the (key, version) pairs it did not delete.
async fn delete_chunk<'v>(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    chunk: &'v [Version],
) -> Result<Vec<(&'v str, &'v str)>, String> {
    let objects = chunk
        .iter()
        .map(|v| {
            ObjectIdentifier::builder()
                .key(&v.key)
                .version_id(&v.version_id)
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let delete = Delete::builder()
        .set_objects(Some(objects))
        .quiet(true)
        .build()
        .map_err(|e| e.to_string())?;
    let out = s3
        .delete_objects()
        .bucket(bucket)
        .delete(delete)
        .send()
        .await
        .map_err(|e| format!("S3 DeleteObjects {bucket}: {}", cloud::failure::chain(&e)))?;
    let failed: BTreeSet<(String, String)> = out
        .errors()
        .iter()
        .map(|e| {
            (
                e.key().unwrap_or_default().to_string(),
                e.version_id().unwrap_or("null").to_string(),
            )
        })
        .collect();
    Ok(chunk
        .iter()
        .filter(|v| failed.contains(&(v.key.clone(), v.version_id.clone())))
        .map(|v| (v.key.as_str(), v.version_id.as_str()))
        .collect())
}

/// Whether an SDK error is "not there" (AWS's ResourceNotFoundException; moto's UserNotFound).
fn not_found<E: aws_sdk_s3::error::ProvideErrorMetadata>(e: &E) -> bool {
    matches!(
        e.code(),
        Some("ResourceNotFoundException" | "UserNotFound" | "NotFoundException")
    )
}

/// Whether a found thing exists, from its lookup's result.
fn exists<T, E>(result: Result<T, aws_sdk_s3::error::SdkError<E>>) -> Result<bool, String>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(not_found) => Ok(false),
        Err(e) => Err(cloud::failure::chain(&e)),
    }
}

/// Whether the secret `name` exists (scheduled for deletion included).
pub async fn secret_exists(
    sm: &aws_sdk_secretsmanager::Client,
    name: &str,
) -> Result<bool, String> {
    exists(sm.describe_secret().secret_id(name).send().await)
        .map_err(|e| format!("Secrets Manager DescribeSecret {name}: {e}"))
}

/// Deletes the secret `name` at once (no recovery window).
pub async fn delete_secret(sm: &aws_sdk_secretsmanager::Client, name: &str) -> Result<(), String> {
    let result = sm
        .delete_secret()
        .secret_id(name)
        .force_delete_without_recovery(true)
        .send()
        .await;
    exists(result)
        .map(|_| ())
        .map_err(|e| format!("Secrets Manager DeleteSecret {name}: {e}"))
}

/// Whether the schedule `name` exists in `group`.
pub async fn schedule_exists(
    scheduler: &aws_sdk_scheduler::Client,
    group: &str,
    name: &str,
) -> Result<bool, String> {
    exists(
        scheduler
            .get_schedule()
            .name(name)
            .group_name(group)
            .send()
            .await,
    )
    .map_err(|e| format!("EventBridge Scheduler GetSchedule {group}/{name}: {e}"))
}

/// Deletes the schedule `name` of `group`.
pub async fn delete_schedule(
    scheduler: &aws_sdk_scheduler::Client,
    group: &str,
    name: &str,
) -> Result<(), String> {
    let result = scheduler
        .delete_schedule()
        .name(name)
        .group_name(group)
        .send()
        .await;
    exists(result)
        .map(|_| ())
        .map_err(|e| format!("EventBridge Scheduler DeleteSchedule {group}/{name}: {e}"))
}

/// Whether the Transfer Family user `user` exists on `server`.
pub async fn sftp_user_exists(
    transfer: &aws_sdk_transfer::Client,
    server: &str,
    user: &str,
) -> Result<bool, String> {
    exists(
        transfer
            .describe_user()
            .server_id(server)
            .user_name(user)
            .send()
            .await,
    )
    .map_err(|e| format!("Transfer Family DescribeUser {server}/{user}: {e}"))
}

/// Deletes the Transfer Family user `user` of `server`.
pub async fn delete_sftp_user(
    transfer: &aws_sdk_transfer::Client,
    server: &str,
    user: &str,
) -> Result<(), String> {
    let result = transfer
        .delete_user()
        .server_id(server)
        .user_name(user)
        .send()
        .await;
    exists(result)
        .map(|_| ())
        .map_err(|e| format!("Transfer Family DeleteUser {server}/{user}: {e}"))
}

/// What to do with one notice subscription that admits the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionChange {
    /// It admits only the tenant: unsubscribe.
    Unsubscribe {
        /// The subscription.
        arn: String,
    },
    /// It admits other tenants too: it keeps them, without this one.
    Narrow {
        /// The subscription.
        arn: String,
        /// The tenants it keeps.
        tenants: BTreeSet<String>,
    },
}

impl SubscriptionChange {
    /// The subscription's ARN (no address: the ARN names none).
    pub fn arn(&self) -> &str {
        match self {
            SubscriptionChange::Unsubscribe { arn } | SubscriptionChange::Narrow { arn, .. } => arn,
        }
    }
}

/// The subscriptions whose tenant filter admits `tenant`, and what to do
/// with each (subscriptions without a tenant filter are never changed).
pub async fn tenant_subscriptions(
    topic: &Topic,
    tenant: &str,
) -> Result<Vec<SubscriptionChange>, String> {
    let all = topic.email_subscriptions().await.map_err(|e| {
        format!(
            "the notice topic's subscriptions cannot be read: {}",
            e.chain()
        )
    })?;
    Ok(all
        .into_iter()
        .filter_map(|s| {
            let (arn, mut tenants) = (s.arn?, s.tenants?);
            if !tenants.remove(tenant) {
                return None;
            }
            Some(if tenants.is_empty() {
                SubscriptionChange::Unsubscribe { arn }
            } else {
                SubscriptionChange::Narrow { arn, tenants }
            })
        })
        .collect())
}

/// Makes one subscription change.
pub async fn change_subscription(topic: &Topic, change: &SubscriptionChange) -> Result<(), String> {
    let result = match change {
        SubscriptionChange::Unsubscribe { arn } => topic.unsubscribe(arn).await,
        SubscriptionChange::Narrow { arn, tenants } => topic.set_tenants(arn, tenants).await,
    };
    result.map_err(|e| e.chain())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenants_prefixes_end_with_a_slash_so_no_other_tenant_shares_them() {
        assert_eq!(
            tenant_prefixes("d1"),
            ["inbound/d1/", "processed/d1/", "rejected/d1/"].map(String::from)
        );
    }

    #[test]
    fn versions_are_counted_by_object_version_and_delete_marker() {
        let v = |key: &str, id: &str, marker| Version {
            key: key.into(),
            version_id: id.into(),
            marker,
        };
        let t = tally(&[
            v("a", "1", false),
            v("a", "2", false),
            v("a", "3", true),
            v("b", "1", false),
        ]);
        assert_eq!((t.objects, t.versions, t.delete_markers), (2, 3, 1));
        assert_eq!(
            v("inbound/d1/x.zip", "v9", false).receipt_key("bkt"),
            "s3://bkt/inbound/d1/x.zip?versionId=v9"
        );
    }
}
