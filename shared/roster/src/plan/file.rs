//! Planned writes, and the plan files that keep them: one planned write a
//! line, written as planned and read back (ahead, on a second thread) when
//! applied.

use crate::content::{IndexKeys, SisContent};
use crate::error::SyncError;
use crate::store::{ArchiveReason, ArchivedBy, EntityWrite, RecordState, StoredSummary};
use chrono::{DateTime, Utc};
use oneroster::EntityKind;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// What was stored when a write was planned; checked again before a held
/// plan is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Before {
    /// Digest of the stored SIS content.
    pub digest: u64,
    /// Whether it was archived.
    pub archived: bool,
}

impl Before {
    /// What a stored summary says of the record now.
    pub fn of(stored: &StoredSummary) -> Before {
        Before {
            digest: stored.digest,
            archived: stored.archived,
        }
    }
}

/// One planned write, as a line of a plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedWrite {
    /// Type.
    pub kind: EntityKind,
    /// sourcedId.
    pub id: String,
    /// The content to put (active); `None` archives the record. Written as
    /// the JSON object it is, read back without parsing it into fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sis: Option<SisContent>,
    /// First seen, carried over (puts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<(DateTime<Utc>, String)>,
    /// The stored state when planned (`None`: not stored).
    pub before: Option<Before>,
    /// Why an archive archives (plans made before reasons were kept: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ArchiveReason>,
    /// Who an archive is by (`None`: a sync; a revert archives as `revert`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_by: Option<ArchivedBy>,
    /// A revert: the whole earlier state to put back (content, archive state, stamps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RecordState>,
    /// The put's lookup keys, when the planner had them from the record
    /// (not kept in plan files: `None` reads them from the content).
    #[serde(skip)]
    pub keys: Option<IndexKeys>,
}

impl PlannedWrite {
    /// Appends this write as one plan-file line (JSON and a newline). The
    /// content goes in as its text, not re-serialised.
    pub fn write_line(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        let sis = self.sis.as_ref();
        if let Some(sis) = sis {
            serde_json::to_writer(&mut *out, &self.clone_without_content())?;
            debug_assert_eq!(out.last(), Some(&b'}'));
            out.pop();
            out.extend_from_slice(b",\"sis\":");
            out.extend_from_slice(sis.text().as_bytes());
            out.extend_from_slice(b"}\n");
        } else {
            serde_json::to_writer(&mut *out, self)?;
            out.push(b'\n');
        }
        Ok(())
    }

    fn clone_without_content(&self) -> PlannedWrite {
        PlannedWrite {
            kind: self.kind,
            id: self.id.clone(),
            sis: None,
            first_seen: self.first_seen.clone(),
            before: self.before,
            reason: self.reason,
            archived_by: self.archived_by,
            restore: self.restore.clone(),
            keys: None,
        }
    }

    /// Reads one plan-file line.
    pub fn read_line(line: &str) -> Result<PlannedWrite, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// The store writes a chunk of plan lines asks for, made at `now` by
    /// `run` (see [`PlannedWrite::into_write`]).
    pub fn into_writes(
        chunk: Vec<PlannedWrite>,
        now: DateTime<Utc>,
        run: &str,
    ) -> Vec<EntityWrite> {
        chunk.into_iter().map(|p| p.into_write(now, run)).collect()
    }

    /// The store write this plan line asks for, made of the line itself (its
    /// content moved, not copied).
    pub fn into_write(self, now: DateTime<Utc>, run: &str) -> EntityWrite {
        if let Some(state) = self.restore {
            return EntityWrite::Restore {
                kind: self.kind,
                sourced_id: self.id,
                state,
            };
        }
        match self.sis {
            Some(sis) => {
                let (first_seen_at, first_seen_run) =
                    self.first_seen.unwrap_or_else(|| (now, run.to_string()));
                EntityWrite::Put {
                    kind: self.kind,
                    sourced_id: self.id,
                    keys: self.keys.unwrap_or_else(|| sis.index_keys(self.kind)),
                    sis,
                    first_seen_at,
                    first_seen_run,
                    updated_at: now,
                    run: run.to_string(),
                }
            }
            None => EntityWrite::Archive {
                kind: self.kind,
                sourced_id: self.id,
                at: now,
                run: run.to_string(),
                reason: match self.archived_by {
                    None | Some(ArchivedBy::Sync) => {
                        Some(self.reason.unwrap_or(ArchiveReason::Absent))
                    }
                    Some(_) => self.reason,
                },
                by: self.archived_by.unwrap_or(ArchivedBy::Sync),
            },
        }
    }
}

/// A plan file being written: one [`PlannedWrite`] a line.
pub struct PlanWriter {
    out: BufWriter<File>,
    line: Vec<u8>,
}

impl PlanWriter {
    /// Creates (or truncates) the plan file at `path`.
    pub fn create(path: &Path) -> Result<PlanWriter, SyncError> {
        Ok(PlanWriter {
            out: BufWriter::with_capacity(256 * 1024, File::create(path)?),
            line: Vec::with_capacity(512),
        })
    }

    /// Appends one planned write.
    pub fn write(&mut self, planned: &PlannedWrite) -> Result<(), SyncError> {
        self.line.clear();
        planned
            .write_line(&mut self.line)
            .map_err(|e| SyncError::io("writing the plan file", e))?;
        self.out.write_all(&self.line)?;
        Ok(())
    }

    /// Flushes the file.
    pub fn finish(mut self) -> Result<(), SyncError> {
        self.out.flush()?;
        Ok(())
    }
}

/// The planned writes of a plan file, line by line.
pub fn read_plan(
    path: &Path,
) -> Result<impl Iterator<Item = Result<PlannedWrite, SyncError>>, SyncError> {
    let reader = BufReader::with_capacity(256 * 1024, File::open(path)?);
    Ok(reader.lines().map(|line| {
        PlannedWrite::read_line(&line?).map_err(|e| SyncError::io("reading the plan file", e))
    }))
}

/// A plan file read ahead on a second thread, in chunks of planned writes:
/// parsing the next chunk overlaps with writing this one.
pub struct PlanChunks {
    chunks: std::sync::mpsc::Receiver<Result<Vec<PlannedWrite>, SyncError>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl PlanChunks {
    /// Starts reading the plan file at `path` in chunks of `size` writes.
    pub fn open(path: &Path, size: usize) -> Result<PlanChunks, SyncError> {
        let lines = read_plan(path)?;
        let size = size.max(1);
        // Two chunks ahead at most: memory stays bounded by the chunk size.
        let (send, chunks) = std::sync::mpsc::sync_channel(2);
        let reader = std::thread::Builder::new()
            .name("plan-reader".into())
            .spawn(move || {
                let mut chunk = Vec::with_capacity(size);
                for planned in lines {
                    match planned {
                        Ok(planned) => chunk.push(planned),
                        Err(e) => {
                            let _ = send.send(Err(e));
                            return;
                        }
                    }
                    if chunk.len() == size {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(size));
                        if send.send(Ok(full)).is_err() {
                            return; // The applier stopped (deadline, error).
                        }
                    }
                }
                if !chunk.is_empty() {
                    let _ = send.send(Ok(chunk));
                }
            })
            .map_err(|e| SyncError::io("starting the plan reader", e))?;
        Ok(PlanChunks {
            chunks,
            reader: Some(reader),
        })
    }

    /// The next chunk, or `None` at the end of the plan.
    pub fn next_chunk(&mut self) -> Option<Result<Vec<PlannedWrite>, SyncError>> {
        self.chunks.recv().ok()
    }
}

impl Drop for PlanChunks {
    fn drop(&mut self) {
        // Hang up first, so that a reader blocked on a full channel ends.
        let (_, empty) = std::sync::mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.chunks, empty));
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}
