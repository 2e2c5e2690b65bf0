//! The S3 operations the functions and the CLI need: stream an object to a
//! file, list a folder, move an object (copy, then delete that version),
//! write a report or a file, and `s3://` references to run files (held plans
//! and reports kept beside the delivery).

use crate::Failure;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use chrono::{DateTime, Utc};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An object's `s3://bucket/key` reference, as run records store it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Uri {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
}

impl S3Uri {
    /// `s3://bucket/key`, or an error saying what is wrong with it.
    pub fn parse(uri: &str) -> Result<S3Uri, String> {
        let rest = uri
            .strip_prefix("s3://")
            .ok_or_else(|| format!("`{uri}` is not an s3:// URI"))?;
        let (bucket, key) = rest
            .split_once('/')
            .filter(|(b, k)| !b.is_empty() && !k.is_empty())
            .ok_or_else(|| format!("`{uri}` has no bucket or no key"))?;
        Ok(S3Uri {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }
}

impl std::fmt::Display for S3Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// Characters kept as they are in a `CopySource` (everything else is %-encoded).
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `bucket/key[?versionId=...]` for CopyObject, with the key URL-encoded.
pub fn copy_source(bucket: &str, key: &str, version: Option<&str>) -> String {
    let key = utf8_percent_encode(key, COPY_SOURCE).to_string();
    match version {
        Some(v) => format!(
            "{bucket}/{key}?versionId={}",
            utf8_percent_encode(v, COPY_SOURCE)
        ),
        None => format!("{bucket}/{key}"),
    }
}

/// An object as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Key.
    pub key: String,
    /// ETag (quotes stripped).
    pub etag: String,
    /// Last modified.
    pub last_modified: DateTime<Utc>,
    /// Size in bytes.
    pub size: u64,
}

/// What a download learned about the object.
#[derive(Debug, Clone)]
pub struct Downloaded {
    /// Last modified (the delivery's generation time).
    pub last_modified: Option<DateTime<Utc>>,
    /// ETag.
    pub etag: Option<String>,
    /// Bytes written.
    pub bytes: u64,
}

fn to_chrono(t: &aws_sdk_s3::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

fn strip_quotes(etag: &str) -> String {
    etag.trim_matches('"').to_string()
}

/// An SDK error of `op` on `s3://bucket/key`: the message names both and
/// what went wrong (`GetObject s3://b/k: AccessDenied`).
fn failed<E>(
    op: &str,
    bucket: &str,
    key: &str,
    e: aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> Failure
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let what = crate::failure::what_failed(&e);
    Failure::sdk(format!("{op} s3://{bucket}/{key}: {what}"), e)
}

/// Whether an SDK error is "the object is not there".
fn is_missing<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    e: &aws_sdk_s3::error::SdkError<E>,
) -> bool {
    matches!(
        crate::failure::service_code(e),
        Some("NoSuchKey" | "NoSuchVersion" | "NotFound")
    )
}

/// An object's size, without its content (HeadObject); `None` when it is gone.
pub async fn size_of(
    s3: &Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> Result<Option<u64>, Failure> {
    let response = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(String::from))
        .send()
        .await;
    match response {
        Ok(r) => Ok(Some(r.content_length().unwrap_or(0).max(0) as u64)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(failed("HeadObject", bucket, key, e)),
    }
}

/// Streams an object (that version, if given) to `dest` without holding it in
/// memory, and no more than `max_bytes` of it: an object larger than that
/// (replaced since its size was checked) is a retryable failure, and what was
/// written of it is left for the caller's scratch folder to remove.
/// `Ok(None)`: the object is gone (moved by another invocation).
pub async fn download(
    s3: &Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
    dest: &Path,
    max_bytes: u64,
) -> Result<Option<Downloaded>, Failure> {
    let response = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(String::from))
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(failed("GetObject", bucket, key, e)),
    };
    let last_modified = response.last_modified().and_then(to_chrono);
    let etag = response.e_tag().map(strip_quotes);
    let too_large = |bytes: u64| {
        Failure::retryable(format!(
            "s3://{bucket}/{key} holds {bytes} bytes or more, more than the {max_bytes} checked before; it changed, and is checked again on the next attempt"
        ))
    };
    let declared = response.content_length().unwrap_or(0).max(0) as u64;
    if declared > max_bytes {
        return Err(too_large(declared));
    }
    let mut file = tokio::fs::File::create(dest).await?;
    let mut body = response
        .body
        .into_async_read()
        .take(max_bytes.saturating_add(1));
    let bytes = tokio::io::copy(&mut body, &mut file)
        .await
        .map_err(|e| Failure::retryable(format!("reading s3://{bucket}/{key}")).because(e))?;
    if bytes > max_bytes {
        return Err(too_large(bytes));
    }
    file.flush().await?;
    Ok(Some(Downloaded {
        last_modified,
        etag,
        bytes,
    }))
}

/// The objects directly in `folder` (not in sub-folders).
pub async fn list_folder(s3: &Client, bucket: &str, folder: &str) -> Result<Vec<Listed>, Failure> {
    list(s3, bucket, folder, Some("/")).await
}

/// Every object under `prefix`.
pub async fn list_all(s3: &Client, bucket: &str, prefix: &str) -> Result<Vec<Listed>, Failure> {
    list(s3, bucket, prefix, None).await
}

async fn list(
    s3: &Client,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
) -> Result<Vec<Listed>, Failure> {
    let mut out = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .set_delimiter(delimiter.map(String::from))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| failed("ListObjectsV2", bucket, prefix, e))?;
        for o in page.contents() {
            let (Some(key), Some(modified)) = (o.key(), o.last_modified().and_then(to_chrono))
            else {
                continue;
            };
            out.push(Listed {
                key: key.to_string(),
                etag: o.e_tag().map(strip_quotes).unwrap_or_default(),
                last_modified: modified,
                size: o.size().unwrap_or(0).max(0) as u64,
            });
        }
    }
    Ok(out)
}

/// Moves an object: copy to `dest`, then delete the source (that version).
/// A source that is already gone is not an error (a duplicate moved it).
pub async fn move_object(
    s3: &Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
    dest: &str,
) -> Result<(), Failure> {
    if !copy_object(s3, bucket, key, version, dest).await? {
        return Ok(());
    }
    s3.delete_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(String::from))
        .send()
        .await
        .map_err(|e| failed("DeleteObject", bucket, key, e))?;
    Ok(())
}

/// Copies `key` (at `version`) to `dest` in `bucket`; `false` when the
/// source is gone (nothing copied).
pub async fn copy_object(
    s3: &Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
    dest: &str,
) -> Result<bool, Failure> {
    let copied = s3
        .copy_object()
        .bucket(bucket)
        .key(dest)
        .copy_source(copy_source(bucket, key, version))
        .send()
        .await;
    match copied {
        Ok(_) => Ok(true),
        Err(e) if is_missing(&e) => Ok(false),
        Err(e) => Err(failed(
            &format!("CopyObject to s3://{bucket}/{dest} from"),
            bucket,
            key,
            e,
        )),
    }
}

/// Writes a JSON document.
pub async fn put_json(
    s3: &Client,
    bucket: &str,
    key: &str,
    value: &serde_json::Value,
) -> Result<(), Failure> {
    let body = serde_json::to_vec_pretty(value)
        .map_err(|e| Failure::permanent("encoding a report").because(e))?;
    put_bytes(s3, bucket, key, body, "application/json").await
}

/// Uploads a local file.
pub async fn put_file(s3: &Client, bucket: &str, key: &str, path: &Path) -> Result<(), Failure> {
    put_file_tagged(s3, bucket, key, path, None).await
}

/// Uploads a local file with object tags (`key=value&...`, URL-encoded), for
/// example the tag a lifecycle rule expires by.
pub async fn put_file_tagged(
    s3: &Client,
    bucket: &str,
    key: &str,
    path: &Path,
    tagging: Option<&str>,
) -> Result<(), Failure> {
    let body = ByteStream::from_path(path)
        .await
        .map_err(|e| Failure::permanent(format!("reading {}", path.display())).because(e))?;
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body)
        .set_tagging(tagging.map(String::from))
        .send()
        .await
        .map_err(|e| failed("PutObject", bucket, key, e))?;
    Ok(())
}

/// Writes `body` with its content type (`text/html; charset=utf-8`, ...).
pub async fn put_bytes(
    s3: &Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
) -> Result<(), Failure> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| failed("PutObject", bucket, key, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_sources_encode_the_key() {
        assert_eq!(
            copy_source("b", "inbound/d1/My Export+1.zip", None),
            "b/inbound/d1/My%20Export%2B1.zip"
        );
        assert_eq!(
            copy_source("b", "k.zip", Some("v1")),
            "b/k.zip?versionId=v1"
        );
    }

    #[test]
    fn s3_uris_parse_and_print() {
        let uri = S3Uri::parse("s3://b/processed/d1/plan.jsonl").unwrap();
        assert_eq!(uri.bucket, "b");
        assert_eq!(uri.key, "processed/d1/plan.jsonl");
        assert_eq!(uri.to_string(), "s3://b/processed/d1/plan.jsonl");
        assert!(S3Uri::parse("https://b/k").is_err());
        assert!(S3Uri::parse("s3://b").is_err());
        assert!(S3Uri::parse("s3:///k").is_err());
    }
}
