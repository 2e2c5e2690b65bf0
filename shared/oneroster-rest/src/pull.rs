//! A pull: every requested collection read page by page and written as a
//! OneRoster CSV package (manifest + one CSV per collection) in a folder, so
//! the pull is validated and applied exactly like an SFTP delivery.
//!
//! A collection is complete only when the rows received match `X-Total-Count`
//! (or, without a total, a short or empty final page was seen) and no page
//! failed. Any incomplete collection fails the whole pull: nothing is applied
//! from a partial pull. An optional collection (demographics) that the API
//! declines on its first page (404, or 403) is left out: declared `absent`,
//! which archives nothing.
//!
//! A 1.2 pull is written as a 1.2 package: `users.csv` with 1.2's columns
//! and a `roles.csv` made of each user's `roles[]` ([`crate::flatten_v1p2`]),
//! declared `bulk` as the reader requires. In a delta pull that `roles.csv`
//! holds exactly the roles of the users delivered: the reader folds each
//! delivered user's roles into its record and checks roles against the
//! users only when `users.csv` is bulk, so a delta's roles are complete for
//! every user it carries (roles are no records of their own: nothing is
//! archived by their file's mode).

use crate::client::{Client, ClientError};
use crate::flatten::{flatten, FlatRow};
use crate::flatten_v1p2::{flatten_user, FlatUser};
use crate::origins::{Origins, RoleOrigins};
use crate::version::OneRosterVersion;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::stream::{self, StreamExt};
use oneroster::v1p2::columns::{columns, ROLES, ROLES_FILE};
use oneroster::EntityKind;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Full or delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullMode {
    /// Every record: a bulk snapshot.
    Full,
    /// Records modified after `since`: a delta snapshot.
    Delta {
        /// Lower bound (exclusive) of `dateLastModified`.
        since: DateTime<Utc>,
    },
}

/// What one collection gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CollectionPull {
    /// Records received.
    pub rows: u64,
    /// `X-Total-Count` as first reported.
    pub total: Option<u64>,
    /// Pages read.
    pub pages: u64,
    /// The HTTP status by which the API declined this optional collection
    /// (404 or 403): it is left out of the package (`absent`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declined: Option<u16>,
    /// Where each row of the collection's CSV came from.
    #[serde(skip)]
    pub origins: Origins,
    /// A 1.2 pull's users: where each row of the `roles.csv` made of their
    /// `roles[]` came from.
    #[serde(skip)]
    pub role_origins: Option<RoleOrigins>,
}

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PullSummary {
    /// Per collection.
    pub collections: BTreeMap<String, CollectionPull>,
    /// HTTP requests sent (retries included).
    pub requests: u64,
    /// Retries.
    pub retries: u64,
}

/// Why a pull produced nothing to apply.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// A request failed (credentials, retries exhausted, budget).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A collection did not arrive whole.
    #[error("{collection} is incomplete: {reason}; nothing from this pull is applied")]
    Incomplete {
        /// Collection.
        collection: String,
        /// Why.
        reason: String,
    },
    /// The package could not be written.
    #[error("writing the pulled package: {0}")]
    Io(#[from] std::io::Error),
}

/// The `filter` of a delta pull.
pub fn delta_filter(since: DateTime<Utc>) -> String {
    format!(
        "dateLastModified>'{}'",
        since.to_rfc3339_opts(SecondsFormat::Millis, true)
    )
}

/// Pulls `kinds` into the package folder `out` (created), within `budget`.
/// Those of `optional` the API declines (404 or 403 on their first page)
/// are declared absent, and said so in the summary.
pub async fn pull(
    client: &Client,
    kinds: &[EntityKind],
    optional: &[EntityKind],
    mode: PullMode,
    out: &Path,
    budget: Duration,
) -> Result<PullSummary, PullError> {
    std::fs::create_dir_all(out)?;
    let deadline = Instant::now() + budget;
    let filter = match mode {
        PullMode::Full => None,
        PullMode::Delta { since } => Some(delta_filter(since)),
    };
    client.options().progress.stage("pulling", None);
    let results: Vec<Result<(EntityKind, CollectionPull), PullError>> =
        stream::iter(kinds.iter().copied())
            .map(|kind| {
                let filter = filter.clone();
                let optional = optional.contains(&kind);
                async move {
                    pull_collection(client, kind, optional, filter.as_deref(), out, deadline)
                        .await
                        .map(|c| (kind, c))
                }
            })
            .buffer_unordered(client.options().max_in_flight.max(1))
            .collect()
            .await;
    let mut summary = PullSummary::default();
    for result in results {
        let (kind, pulled) = result?;
        summary
            .collections
            .insert(kind.file_name().to_string(), pulled);
    }
    let (requests, retries) = client.counters();
    summary.requests = requests;
    summary.retries = retries;
    let delivered: Vec<EntityKind> = kinds
        .iter()
        .copied()
        .filter(|k| summary.collections[k.file_name()].declined.is_none())
        .collect();
    write_manifest(out, &delivered, mode, client.version())?;
    Ok(summary)
}

fn write_manifest(
    out: &Path,
    kinds: &[EntityKind],
    mode: PullMode,
    version: OneRosterVersion,
) -> std::io::Result<()> {
    let mut text = format!(
        "propertyName,value\nmanifest.version,1.0\noneroster.version,{}\n",
        version.as_str()
    );
    if version == OneRosterVersion::V1p2 && kinds.contains(&EntityKind::Users) {
        // Each pulled user carries all its roles: roles.csv is complete
        // for the users pulled (bulk), applied with their rows.
        text.push_str(&format!("file.{ROLES_FILE},bulk\n"));
    }
    for kind in EntityKind::ALL {
        let m = if !kinds.contains(&kind) {
            "absent"
        } else if mode == PullMode::Full {
            "bulk"
        } else {
            "delta"
        };
        text.push_str(&format!("file.{},{m}\n", kind.file_name()));
    }
    text.push_str("source.systemName,OneRoster API\nsource.systemCode,api\n");
    std::fs::write(out.join("manifest.csv"), text)
}

/// Pulls every page of `kind` (with `filter`) into `out`'s CSV file, via a
/// spill file of flattened records, checking the count against
/// `X-Total-Count`. An `optional` collection the API declines on its first
/// page is given as declined, with no file.
async fn pull_collection(
    client: &Client,
    kind: EntityKind,
    optional: bool,
    filter: Option<&str>,
    out: &Path,
    deadline: Instant,
) -> Result<CollectionPull, PullError> {
    let name = kind.file_name();
    let version = client.version();
    let spill_path = out.join(format!(".{name}.jsonl"));
    let mut spill = BufWriter::new(std::fs::File::create(&spill_path)?);
    let mut roles = match (version, kind) {
        (OneRosterVersion::V1p2, EntityKind::Users) => Some(RolesCsv::create(out)?),
        _ => None,
    };
    let mut extensions: BTreeSet<String> = BTreeSet::new();
    let mut pulled = CollectionPull::default();
    let limit = client.options().page_size;
    let incomplete = |reason: String| PullError::Incomplete {
        collection: name.to_string(),
        reason,
    };
    let mut offset = 0usize;
    loop {
        let page = match client.page(name, offset, filter, deadline).await {
            Ok(page) => page,
            Err(e) => match e.declined_status() {
                Some(status) if optional && offset == 0 => {
                    drop(spill);
                    std::fs::remove_file(&spill_path)?;
                    pulled.declined = Some(status);
                    return Ok(pulled);
                }
                _ => return Err(e.into()),
            },
        };
        pulled.pages += 1;
        pulled.origins.page(offset as u64);
        match (pulled.total, page.total) {
            (None, Some(t)) if pulled.pages == 1 => pulled.total = Some(t as u64),
            (Some(first), Some(now)) if first != now as u64 => {
                return Err(incomplete(format!(
                    "X-Total-Count changed from {first} to {now} during the pull"
                )))
            }
            _ => {}
        }
        let received = page.records.len();
        client.options().progress.advance(received as u64);
        spill_records(kind, &page.records, &mut spill, &mut extensions, &mut roles)?;
        pulled.rows += received as u64;
        match pulled.total {
            Some(total) if pulled.rows >= total => break,
            Some(total) if received < limit => {
                return Err(incomplete(format!(
                    "a short page at offset {offset} ({received} of {limit} records) ended the collection at {} of {total} records",
                    pulled.rows
                )))
            }
            None if received < limit => break,
            _ => {}
        }
        if received == 0 {
            break;
        }
        offset += received;
    }
    if let Some(total) = pulled.total {
        if pulled.rows != total {
            return Err(incomplete(format!(
                "received {} records, X-Total-Count says {total}",
                pulled.rows
            )));
        }
    }
    spill.flush()?;
    drop(spill);
    if let Some(roles) = roles {
        pulled.role_origins = Some(roles.finish()?);
    }
    write_csv(
        kind,
        version,
        &spill_path,
        &extensions,
        &out.join(format!("{name}.csv")),
        &mut pulled.origins,
    )?;
    std::fs::remove_file(&spill_path)?;
    Ok(pulled)
}

/// A 1.2 pull's `roles.csv`, written as the users arrive, and where each
/// of its rows came from.
struct RolesCsv {
    writer: csv::Writer<BufWriter<std::fs::File>>,
    origins: RoleOrigins,
}

impl RolesCsv {
    fn create(out: &Path) -> std::io::Result<RolesCsv> {
        let file = std::fs::File::create(out.join(format!("{ROLES_FILE}.csv")))?;
        let mut writer = csv::Writer::from_writer(BufWriter::new(file));
        writer.write_record(ROLES.iter().map(|c| c.name))?;
        Ok(RolesCsv {
            writer,
            origins: RoleOrigins::default(),
        })
    }

    /// The next user's rows.
    fn user(&mut self, roles: &[Vec<String>]) -> std::io::Result<()> {
        for role in roles {
            self.writer.write_record(role)?;
        }
        let line_breaks: Vec<u64> = roles.iter().map(|r| line_feeds(r)).collect();
        self.origins.user(&line_breaks);
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<RoleOrigins> {
        self.writer.flush()?;
        Ok(self.origins)
    }
}

/// Flattens `records` of `kind` into the spill file, one JSON line each,
/// and notes the extension columns they carry; a 1.2 pull's users (with
/// `roles`) have their roles written to `roles.csv`.
fn spill_records(
    kind: EntityKind,
    records: &[serde_json::Map<String, serde_json::Value>],
    spill: &mut impl Write,
    extensions: &mut BTreeSet<String>,
    roles: &mut Option<RolesCsv>,
) -> std::io::Result<()> {
    for record in records {
        let flat = match roles.as_mut() {
            Some(roles_csv) => {
                let FlatUser { user, roles } = flatten_user(record);
                roles_csv.user(&roles)?;
                user
            }
            None => flatten(kind, record),
        };
        let FlatRow {
            fields,
            extensions: ext,
        } = flat;
        for (k, _) in &ext {
            if !extensions.contains(k) {
                extensions.insert(k.clone());
            }
        }
        serde_json::to_writer(&mut *spill, &(fields, ext)).map_err(std::io::Error::other)?;
        spill.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes the CSV of `kind` from its spill file, noting in `origins` the
/// lines each row takes.
fn write_csv(
    kind: EntityKind,
    version: OneRosterVersion,
    spill: &Path,
    extensions: &BTreeSet<String>,
    target: &Path,
    origins: &mut Origins,
) -> std::io::Result<()> {
    let mut writer = csv::Writer::from_writer(BufWriter::new(std::fs::File::create(target)?));
    let specified = columns(kind, version);
    let mut header: Vec<&str> = specified.iter().map(|c| c.name).collect();
    header.extend(extensions.iter().map(String::as_str));
    writer.write_record(&header)?;
    let ext_index: BTreeMap<&str, usize> = extensions
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut row: Vec<String> = Vec::with_capacity(header.len());
    for line in BufReader::new(std::fs::File::open(spill)?).lines() {
        let (fields, ext): (Vec<String>, Vec<(String, String)>) =
            serde_json::from_str(&line?).map_err(std::io::Error::other)?;
        row.clear();
        row.extend(fields);
        row.extend(std::iter::repeat_n(String::new(), extensions.len()));
        let base = specified.len();
        for (k, v) in ext {
            if let Some(i) = ext_index.get(k.as_str()) {
                row[base + i] = v;
            }
        }
        writer.write_record(&row)?;
        origins.row(line_feeds(&row));
    }
    writer.flush()?;
    Ok(())
}

/// Line feeds in a row's fields: a quoted value with line breaks spans lines.
fn line_feeds(row: &[String]) -> u64 {
    let feeds = |f: &String| f.bytes().filter(|b| *b == b'\n').count() as u64;
    row.iter().map(feeds).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_filters_quote_the_time() {
        let since: DateTime<Utc> = "2026-11-01T08:00:00Z".parse().unwrap();
        assert_eq!(
            delta_filter(since),
            "dateLastModified>'2026-11-01T08:00:00.000Z'"
        );
    }

    #[test]
    fn manifests_declare_pulled_kinds_and_the_rest_absent() {
        let dir = tempfile::tempdir().unwrap();
        write_manifest(
            dir.path(),
            &[EntityKind::Users],
            PullMode::Delta { since: Utc::now() },
            OneRosterVersion::V1p1,
        )
        .unwrap();
        let text = std::fs::read_to_string(dir.path().join("manifest.csv")).unwrap();
        assert!(
            text.contains("file.users,delta")
                && text.contains("file.orgs,absent")
                && text.contains("oneroster.version,1.1")
                && !text.contains("file.roles")
        );
    }

    #[test]
    fn a_1p2_manifest_declares_roles_bulk_whenever_users_are_pulled() {
        let dir = tempfile::tempdir().unwrap();
        write_manifest(
            dir.path(),
            &[EntityKind::Orgs, EntityKind::Users],
            PullMode::Delta { since: Utc::now() },
            OneRosterVersion::V1p2,
        )
        .unwrap();
        let text = std::fs::read_to_string(dir.path().join("manifest.csv")).unwrap();
        assert!(
            text.contains("oneroster.version,1.2")
                && text.contains("file.roles,bulk")
                && text.contains("file.users,delta"),
            "{text}"
        );
        write_manifest(
            dir.path(),
            &[EntityKind::Orgs],
            PullMode::Full,
            OneRosterVersion::V1p2,
        )
        .unwrap();
        let text = std::fs::read_to_string(dir.path().join("manifest.csv")).unwrap();
        assert!(!text.contains("file.roles"), "{text}");
    }
}
