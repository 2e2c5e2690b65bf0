//! `rosterctl records history` and `rosterctl users history`: the runs that
//! wrote a record, newest first, and what each changed, from the runs'
//! before-images and run records (no second copy of the roster). Field names
//! always; values only of the fields on `roster::history::SHOWN_FIELDS`,
//! written on one line (control characters escaped).

use crate::on_store;
use crate::outcome::*;
use crate::stores::StoreArgs;
use oneroster::report::escape_controls;
use oneroster::EntityKind;
use roster::before::{read_images, BeforeImage};
use roster::history::{archive_change, field_changes, FieldChange};
use roster::{Artifacts, RecordState, RunRecord, Store};
use serde_json::json;
use std::fmt::Write as _;

/// The arguments of `rosterctl records history`.
#[derive(Debug, Clone, clap::Args)]
pub struct RecordHistoryArgs {
    /// The record's sourcedId.
    pub sourced_id: String,
    /// The tenant.
    #[arg(long)]
    pub tenant: String,
    /// The type: orgs, academicSessions, courses, classes, users, enrollments, demographics.
    // Parsed here, not by clap: an unknown type is refused on stdout (as JSON with --json).
    #[arg(long)]
    pub kind: String,
    /// How many of the tenant's newest runs to look through.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl RecordHistoryArgs {
    /// Runs `rosterctl records history`.
    pub async fn run(self) -> Outcome {
        let Some(kind) = EntityKind::from_file_name(&self.kind) else {
            return failure(
                self.json,
                &format!("--kind `{}` is not a OneRoster type (orgs, academicSessions, courses, classes, users, enrollments, demographics)", self.kind),
            );
        };
        history_command(
            self.sourced_id,
            self.tenant,
            kind,
            self.limit,
            self.store,
            self.json,
        )
        .await
    }
}

/// The arguments of `rosterctl users history`.
#[derive(Debug, Clone, clap::Args)]
pub struct UserHistoryArgs {
    /// The user's sourcedId.
    pub sourced_id: String,
    /// The tenant.
    #[arg(long)]
    pub tenant: String,
    /// How many of the tenant's newest runs to look through.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl UserHistoryArgs {
    /// Runs `rosterctl users history`.
    pub async fn run(self) -> Outcome {
        let kind = EntityKind::Users;
        history_command(
            self.sourced_id,
            self.tenant,
            kind,
            self.limit,
            self.store,
            self.json,
        )
        .await
    }
}

/// A record's history, on the store `store` names.
async fn history_command(
    id: String,
    tenant: String,
    kind: EntityKind,
    limit: usize,
    store: StoreArgs,
    json: bool,
) -> Outcome {
    let artifacts = store.artifacts();
    on_store!(store, json, s => record_history(&s, &artifacts, &tenant, kind, &id, limit, json).await)
}

/// One run's write of the record.
struct Entry {
    run: RunRecord,
    before: Option<RecordState>,
    after_archived: bool,
}

/// The record's image in a before-images file, if the run wrote it.
fn find_image(
    path: &std::path::Path,
    kind: EntityKind,
    id: &str,
) -> Result<Option<BeforeImage>, roster::SyncError> {
    for image in read_images(path)? {
        let image = image?;
        if image.kind == kind && image.id == id {
            return Ok(Some(image));
        }
    }
    Ok(None)
}

/// `records history`: the record's writes among the tenant's newest `limit` runs.
pub async fn record_history<S: Store, A: Artifacts>(
    store: &S,
    artifacts: &A,
    tenant: &str,
    kind: EntityKind,
    id: &str,
    limit: usize,
    json: bool,
) -> Outcome {
    let current = match store.get_entity(tenant, kind, id).await {
        Ok(Some(e)) => e,
        Ok(None) => return refused(json, &format!("no {kind} {id} in tenant {tenant}")),
        Err(e) => return store_failure(json, &e),
    };
    let runs = match store.list_runs(Some(tenant), limit).await {
        Ok(r) => r,
        Err(e) => return store_failure(json, &e),
    };
    let (entries, without_images) = match writes_of(artifacts, runs, kind, id).await {
        Ok(found) => found,
        Err(message) => return failure(json, &message),
    };
    let rows = history_rows(&entries, &RecordState::of(&current));
    let record = Record { tenant, kind, id };
    let erased = current.erasure.as_ref().map(|e| e.describe());
    ok(if json {
        let text = render_json(&record, &rows, without_images, erased.as_deref());
        let mut value: serde_json::Value = serde_json::from_str(&text).expect("our own JSON");
        value["rekey"] = json!(current.rekey);
        value.to_string() + "\n"
    } else {
        let mut out = render_text(&record, limit, &rows, without_images);
        if let Some(said) = erased {
            out.push_str(&format!(
                "{said}: what earlier runs wrote of its personal fields is gone\n"
            ));
        }
        out.push_str(&rekey_lines(kind, &current.rekey));
        out
    })
}

/// Where the same person's history goes on (or came from) across re-keys.
fn rekey_lines(kind: EntityKind, rekey: &roster::store::RekeyLinks) -> String {
    let mut out = String::new();
    if let Some(new) = &rekey.rekeyed_to {
        let _ = writeln!(
            out,
            "re-keyed: the district gave this person a new sourcedId; the history goes on under `{new}` (`rosterctl users history {new}`)"
        );
    }
    if let Some(last) = rekey.previous_sourced_ids.last() {
        let earlier: Vec<String> = rekey
            .previous_sourced_ids
            .iter()
            .map(|id| format!("`{id}`"))
            .collect();
        let _ = writeln!(
            out,
            "re-keyed: earlier sourcedIds {} ({kind} history before the re-key: `rosterctl users history {last}`)",
            earlier.join(", ")
        );
    }
    out
}

/// The record's writes among `runs`, newest first, and how many applied runs
/// that wrote something have no before-images to look in.
async fn writes_of<A: Artifacts>(
    artifacts: &A,
    runs: Vec<RunRecord>,
    kind: EntityKind,
    id: &str,
) -> Result<(Vec<Entry>, usize), String> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut without_images = 0;
    for run in runs {
        let Some(reference) = run.before_ref.clone() else {
            // Erasures keep no before-images: they would hold what was erased.
            let erasing = matches!(run.source.kind.as_str(), "retention" | "forget");
            if run.status == roster::RunStatus::Applied && run.items_written > 0 && !erasing {
                without_images += 1;
            }
            continue;
        };
        // A file fetched from S3 is a temporary one, removed when dropped.
        let found = if reference.starts_with("s3://") {
            crate::runs_cmd::fetch_s3(&reference)
                .await
                .map(|p| find_image(&p, kind, id))
        } else {
            artifacts
                .fetch(&reference)
                .map(|p| find_image(&p, kind, id))
                .map_err(|e| e.to_string())
        };
        let Ok(found) = found else {
            without_images += 1;
            continue;
        };
        match found {
            Ok(Some(image)) => entries.push(Entry {
                run,
                before: image.before,
                after_archived: image.after.archived,
            }),
            Ok(None) => {}
            Err(e) => return Err(format!("run {}: {e}", run.run_id)),
        }
    }
    Ok((entries, without_images))
}

/// The record whose history is shown.
struct Record<'a> {
    tenant: &'a str,
    kind: EntityKind,
    id: &'a str,
}

/// One run's write: the run, its field changes, its archive change.
type Row<'a> = (&'a Entry, Vec<FieldChange>, Option<&'static str>);

/// Each write with what it changed: what a run left is what the next newer
/// one found, or `now` (what is stored now) for the newest.
fn history_rows<'a>(entries: &'a [Entry], now: &RecordState) -> Vec<Row<'a>> {
    let mut rows = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let after = if i == 0 {
            now
        } else {
            entries[i - 1].before.as_ref().unwrap_or(now)
        };
        let changes: Vec<FieldChange> =
            field_changes(entry.before.as_ref().map(|b| &b.sis), Some(&after.sis));
        rows.push((
            entry,
            changes,
            archive_change(entry.before.as_ref(), entry.after_archived),
        ));
    }
    rows
}

/// The history as one JSON object.
fn render_json(
    record: &Record,
    rows: &[Row],
    without_images: usize,
    erased: Option<&str>,
) -> String {
    let history: Vec<_> = rows
        .iter()
        .map(|(e, changes, archive)| {
            json!({
                "run_id": e.run.run_id,
                "at": e.run.ended_at.unwrap_or(e.run.started_at),
                "source": e.run.source.kind,
                "archive": archive,
                "changes": changes,
            })
        })
        .collect();
    json!({
        "tenant": record.tenant, "kind": record.kind.file_name(), "sourcedId": record.id,
        "history": history, "runs_without_images": without_images, "erasure": erased,
    })
    .to_string()
        + "\n"
}

/// The history for a person: a line per write.
fn render_text(record: &Record, limit: usize, rows: &[Row], without_images: usize) -> String {
    let Record { tenant, kind, id } = record;
    let mut out = format!(
        "{kind} {id} (tenant {tenant}): written by {} of the newest {limit} runs, newest first\n",
        rows.len()
    );
    for (e, changes, archive) in rows {
        let fields: Vec<String> = changes.iter().map(render_change).collect();
        let _ = writeln!(
            out,
            "  {}  {}  {:<6}  {}{}{}",
            e.run.run_id,
            e.run
                .ended_at
                .unwrap_or(e.run.started_at)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            e.run.source.kind,
            archive.unwrap_or(""),
            if archive.is_some() && !fields.is_empty() {
                "; "
            } else {
                ""
            },
            fields.join(", ")
        );
    }
    if without_images > 0 {
        let _ = writeln!(
            out,
            "  ({without_images} applied runs have no before-images: kept before they existed, or expired)"
        );
    }
    out
}

/// `field changed` for a hidden field, else `field: from → to` (escaped, `-` for none).
fn render_change(c: &FieldChange) -> String {
    match (c.hidden, &c.from, &c.to) {
        (true, _, _) => format!("{} changed", c.field),
        (false, from, to) => format!(
            "{}: {} → {}",
            c.field,
            escape_controls(from.as_deref().unwrap_or("-")),
            escape_controls(to.as_deref().unwrap_or("-"))
        ),
    }
}
