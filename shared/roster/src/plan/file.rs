//! Planned writes, and the plan files that keep them: one planned write a
//! line, written as planned and read back, a chunk at a time, when
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
    /// The schools the record belongs to, stored and delivered (planned
    /// against stored records only): the per-school hold sets a held
    /// school's writes apart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schools: Vec<Box<str>>,
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
            schools: self.schools.clone(),
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

/// A plan file read in chunks of planned writes.
pub struct PlanChunks {
    lines: std::io::Lines<BufReader<File>>,
    size: usize,
}

impl PlanChunks {
    /// Reads the plan file at `path` in chunks of `size` writes.
    pub fn open(path: &Path, size: usize) -> Result<PlanChunks, SyncError> {
        let reader = BufReader::with_capacity(256 * 1024, File::open(path)?);
        Ok(PlanChunks {
            lines: reader.lines(),
            size: size.max(1),
        })
    }

    /// The next chunk, or `None` at the end of the plan.
    pub fn next_chunk(&mut self) -> Option<Result<Vec<PlannedWrite>, SyncError>> {
        let mut chunk = Vec::new();
        for line in self.lines.by_ref().take(self.size) {
            let planned = line.map_err(SyncError::from).and_then(|line| {
                PlannedWrite::read_line(&line)
                    .map_err(|e| SyncError::io("reading the plan file", e))
            });
            match planned {
                Ok(planned) => chunk.push(planned),
                Err(e) => return Some(Err(e)),
            }
        }
        (!chunk.is_empty()).then_some(Ok(chunk))
    }
}
