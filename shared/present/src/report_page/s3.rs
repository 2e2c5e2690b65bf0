//! A run's report kept in S3 (feature `s3`): `report.json` and the page
//! beside it in the run's folder (`processed/{tenant}/{run}/` or
//! `rejected/...`), written by csv-ingest when it files a run, and rendered
//! again by `rosterctl runs approve|discard|revert` when the run changes.

use super::{render, Findings, PAGE_FILE};
use cloud::s3::{self, S3Uri};
use cloud::Failure;
use roster::run::RunRecord;
use serde_json::Value;

/// The report's file name in a run's folder.
pub const REPORT_FILE: &str = "report.json";

/// Writes `report` as `{folder}report.json` in `bucket` and beside it the
/// page of `run` with the findings of `validation` (`folder` ends with `/`).
pub async fn put_report(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    folder: &str,
    report: &Value,
    run: &RunRecord,
    validation: Option<&Value>,
) -> Result<(), Failure> {
    s3::put_json(client, bucket, &format!("{folder}{REPORT_FILE}"), report).await?;
    let findings = validation.and_then(Findings::from_value);
    s3::put_bytes(
        client,
        bucket,
        &format!("{folder}{PAGE_FILE}"),
        render(Some(run), findings.as_ref()).into_bytes(),
        "text/html; charset=utf-8",
    )
    .await
}

/// Renders again the report kept at `report_uri` (`s3://.../report.json`,
/// holding `{"run", "validation"}` or `{"run", "reason"}`) for the run as it
/// is now: the `run` in it replaced, the rest kept, and the page beside it
/// rewritten. `report` is the report's current content (read by the caller).
/// Returns the page's URI.
pub async fn rerender(
    client: &aws_sdk_s3::Client,
    report_uri: &str,
    mut report: Value,
    run: &RunRecord,
) -> Result<String, Failure> {
    let uri = S3Uri::parse(report_uri).map_err(Failure::permanent)?;
    let folder = uri
        .key
        .strip_suffix(REPORT_FILE)
        .ok_or_else(|| Failure::permanent(format!("{report_uri} is not a run's {REPORT_FILE}")))?;
    if !report.is_object() {
        return Err(Failure::permanent(format!(
            "{report_uri} is not a run's report (not a JSON object)"
        )));
    }
    report["run"] = serde_json::to_value(run)
        .map_err(|e| Failure::permanent("encoding a run record").because(e))?;
    let validation = report.get("validation").filter(|v| !v.is_null()).cloned();
    put_report(
        client,
        &uri.bucket,
        folder,
        &report,
        run,
        validation.as_ref(),
    )
    .await?;
    Ok(format!("s3://{}/{folder}{PAGE_FILE}", uri.bucket))
}
