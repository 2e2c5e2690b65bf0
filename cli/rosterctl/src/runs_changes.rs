//! `rosterctl runs show RUN --changes FILE`: the changes a held run waits to
//! make, as a CSV file the district can open: one row a planned write (type,
//! sourcedId, action, archive reason, the names of the fields that change;
//! never a value). The plan is read from the run's kept file (local, or S3),
//! a chunk at a time; the stored contents the updates are compared with are
//! read per chunk with one batch read per type ([`Records::record_states`]).

use crate::outcome::{failure, refused, Outcome};
use oneroster::EntityKind;
use roster::held_changes::{change_rows, needs_stored, ChangeCounts, ChangeRow};
use roster::plan::{PlanChunks, PlannedWrite};
use roster::roles::*;
use roster::{Artifacts, LocalArtifacts, RecordState, RunRecord, RunStatus};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tempfile::TempPath;

/// Planned writes read (and stored records asked for) at a time.
const CHUNK: usize = 1000;

/// Why no changes file was written.
#[derive(Debug)]
pub enum ChangesError {
    /// The run has no changes waiting (not held, or its plan is gone): exit 1.
    Refused(String),
    /// The plan, the store or the file failed: exit 2.
    Failed(String),
}

impl ChangesError {
    /// The command's outcome for this error.
    pub fn outcome(&self, json: bool) -> Outcome {
        match self {
            ChangesError::Refused(m) => refused(json, m),
            ChangesError::Failed(m) => failure(json, m),
        }
    }
}

/// `runs show RUN --changes FILE`: writes the changes file of the held run
/// `run_id` and says so on stderr (the run itself is shown after, on stdout);
/// the outcome to end with when it cannot.
pub async fn show_changes<S: Store>(
    store: &S,
    artifacts: &LocalArtifacts,
    run_id: &str,
    path: &Path,
    json: bool,
) -> Result<(), Outcome> {
    let run = match store.get_run(run_id).await {
        Ok(Some(run)) => run,
        Ok(None) => {
            return Err(refused(
                json,
                &format!("no run {run_id} (`rosterctl runs list` shows the recent runs)"),
            ))
        }
        Err(e) => return Err(failure(json, &e.to_string())),
    };
    let counts = write_changes(store, artifacts, &run, path)
        .await
        .map_err(|e| e.outcome(json))?;
    eprintln!("{}", summary(&counts, path));
    Ok(())
}

/// Writes the changes file of the held run `run` to `path`; returns the
/// counts written. The file appears whole or not at all.
pub async fn write_changes<S: Store>(
    store: &S,
    artifacts: &LocalArtifacts,
    run: &RunRecord,
    path: &Path,
) -> Result<ChangeCounts, ChangesError> {
    let plan = held_plan(artifacts, run).await?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let failed =
        |e: &dyn std::fmt::Display| ChangesError::Failed(format!("{}: {e}", path.display()));
    let file = tempfile::NamedTempFile::new_in(dir).map_err(|e| {
        ChangesError::Failed(format!(
            "cannot write {} in the folder {}: {}",
            path.display(),
            dir.display(),
            std::io::Error::from(e.kind())
        ))
    })?;
    let mut out = csv::Writer::from_writer(file);
    let counts = write_rows(store, &run.tenant, plan.path(), &mut out).await?;
    let file = out.into_inner().map_err(|e| failed(e.error()))?;
    file.persist(path).map_err(|e| failed(&e.error))?;
    Ok(counts)
}

/// The one-line summary of a changes file written.
pub fn summary(counts: &ChangeCounts, path: &Path) -> String {
    let unarchives = if counts.unarchives > 0 {
        format!(", {} unarchives", counts.unarchives)
    } else {
        String::new()
    };
    format!(
        "wrote {} rows to {} ({} inserts, {} updates{unarchives}, {} archives)",
        counts.rows(),
        path.display(),
        counts.inserts,
        counts.updates,
        counts.archives
    )
}

/// Reads the plan chunk by chunk and writes its rows.
async fn write_rows<S: Store, W: std::io::Write>(
    store: &S,
    tenant: &str,
    plan: &Path,
    out: &mut csv::Writer<W>,
) -> Result<ChangeCounts, ChangesError> {
    let read_failed = |e: roster::SyncError| {
        ChangesError::Failed(format!("reading the plan {}: {e}", plan.display()))
    };
    let mut chunks = PlanChunks::open(plan, CHUNK).map_err(read_failed)?;
    let mut counts = ChangeCounts::default();
    while let Some(chunk) = chunks.next_chunk() {
        let chunk = chunk.map_err(read_failed)?;
        let stored = stored_contents(store, tenant, &chunk).await?;
        let rows = change_rows(&chunk, |kind, id| {
            stored.get(&kind).and_then(|s| s.get(id)).map(|s| &s.sis)
        });
        for row in &rows {
            write_row(out, row)?;
            counts.add(row);
        }
    }
    Ok(counts)
}

fn write_row<W: std::io::Write>(
    out: &mut csv::Writer<W>,
    row: &ChangeRow,
) -> Result<(), ChangesError> {
    out.serialize(row)
        .map_err(|e| ChangesError::Failed(format!("writing the changes file: {e}")))
}

/// The stored states of the chunk's updated and unarchived records: one
/// batch read per type (DynamoDB: BatchGetItem, 100 keys a request).
async fn stored_contents<S: Store>(
    store: &S,
    tenant: &str,
    chunk: &[PlannedWrite],
) -> Result<HashMap<EntityKind, HashMap<String, RecordState>>, ChangesError> {
    let mut ids: HashMap<EntityKind, Vec<String>> = HashMap::new();
    for w in chunk.iter().filter(|w| needs_stored(w)) {
        ids.entry(w.kind).or_default().push(w.id.clone());
    }
    let mut stored = HashMap::with_capacity(ids.len());
    for (kind, ids) in ids {
        let states = store
            .record_states(tenant, kind, &ids)
            .await
            .map_err(|e| ChangesError::Failed(e.to_string()))?;
        stored.insert(kind, states);
    }
    Ok(stored)
}

/// A plan made available locally: a kept local file, or a temporary copy
/// of one kept in S3 (removed when dropped).
enum PlanFile {
    Local(PathBuf),
    Fetched(TempPath),
}

impl PlanFile {
    fn path(&self) -> &Path {
        match self {
            PlanFile::Local(path) => path,
            PlanFile::Fetched(path) => path,
        }
    }
}

/// The plan of a held run, fetched; refused when the run is not held or its
/// plan is gone.
async fn held_plan(artifacts: &LocalArtifacts, run: &RunRecord) -> Result<PlanFile, ChangesError> {
    let id = &run.run_id;
    if run.status != RunStatus::Held {
        return Err(ChangesError::Refused(format!(
            "run {id} is {}; only a held run has changes waiting",
            run.status.as_str()
        )));
    }
    let gone = |reference: &str| {
        ChangesError::Refused(format!(
            "run {id} is held, but its plan {reference} is gone (a plan kept in S3 expires with the bucket's processed/ files): discard the run and sync the delivery again"
        ))
    };
    let Some(reference) = &run.plan_ref else {
        return Err(ChangesError::Refused(format!(
            "run {id} is held, but keeps no plan: discard the run and sync the delivery again"
        )));
    };
    if reference.starts_with("s3://") {
        let s3 = cloud::s3_client(&cloud::sdk_config().await);
        return match crate::runs_cmd::download_run_file(&s3, reference).await {
            Ok(Some(local)) => Ok(PlanFile::Fetched(local)),
            Ok(None) => Err(gone(reference)),
            Err(e) => Err(ChangesError::Failed(e)),
        };
    }
    match artifacts.fetch(reference) {
        Ok(path) => Ok(PlanFile::Local(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(gone(reference)),
        Err(e) => Err(ChangesError::Failed(format!("the plan {reference}: {e}"))),
    }
}
