//! Events as AWS services send them to the functions.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};

const EVENT_KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'*')
    .remove(b' ');

/// An S3 ObjectCreated:Put notification as S3 sends it (key URL-encoded).
/// An S3 `ObjectCreated:Put` notification for one object, with the key
/// URL-encoded as S3 encodes it (spaces as `+`).
pub fn s3_event(bucket: &str, key: &str, version: Option<&str>, etag: Option<&str>) -> Value {
    let encoded = utf8_percent_encode(key, EVENT_KEY)
        .to_string()
        .replace(' ', "+");
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": chrono::Utc::now().to_rfc3339(), "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:transfer"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "r", "x-amz-id-2": "i"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "inbound",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "o"}, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": encoded, "size": 1, "eTag": etag, "versionId": version, "sequencer": "0A"}}
    }]})
}

/// An API Gateway HTTP API (payload 2.0) request event.
pub fn http_api_event(
    method: &str,
    path: &str,
    query: &str,
    headers: Value,
    cookies: &[String],
    body: Option<&str>,
) -> Value {
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": query,
        "cookies": cookies,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "sso-api",
            "domainName": "sso.example",
            "domainPrefix": "sso",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "apigw-request",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "29/Nov/2026:00:00:00 +0000",
            "timeEpoch": 1_795_000_000_000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}
