//! Before-images: for each record an applied run wrote, its whole stored state
//! just before the write (or that it did not exist), and what the run left
//! (digest and archive state). Kept with the run's files, gzip-compressed JSON
//! lines, for `runs revert` (put the earlier states back, unless a later run
//! changed the record since) and `records history`.

use crate::error::SyncError;
use crate::plan::{Before, PlannedWrite};
use crate::store::RecordState;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use oneroster::EntityKind;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// The run file that holds a run's before-images.
pub const BEFORE_FILE: &str = "before.jsonl.gz";

/// One record's state before a run wrote it, and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BeforeImage {
    /// Type.
    pub kind: EntityKind,
    /// sourcedId.
    pub id: String,
    /// The stored state just before the write; `None`: the record did not exist.
    pub before: Option<RecordState>,
    /// What the run left: the content's digest and whether it was archived.
    pub after: Before,
}

impl BeforeImage {
    /// The image of the write `planned` asks for (see
    /// [`PlannedWrite::into_write`]), over the stored state `before` (`None`:
    /// the record did not exist).
    pub fn of(planned: &PlannedWrite, before: Option<RecordState>) -> BeforeImage {
        let after = match (&planned.restore, &planned.sis) {
            (Some(state), _) => Before {
                digest: state.sis.digest(),
                archived: state.archive.is_some(),
            },
            (None, Some(sis)) => Before {
                digest: sis.digest(),
                archived: false,
            },
            (None, None) => Before {
                digest: before.as_ref().map_or(0, |b| b.sis.digest()),
                archived: true,
            },
        };
        BeforeImage {
            kind: planned.kind,
            id: planned.id.clone(),
            before,
            after,
        }
    }
}

/// Writes before-images to a gzip file, one JSON line each.
pub struct ImageWriter {
    out: GzEncoder<BufWriter<File>>,
    /// Lines not yet handed to the encoder: it is handed 64 KiB at a time
    /// (a call per line of ~100 bytes cost a fifth of the compression).
    lines: Vec<u8>,
    count: u64,
}

/// How many bytes of lines [`ImageWriter`] hands the encoder at a time.
const LINES_PER_WRITE: usize = 64 * 1024;

impl ImageWriter {
    /// A new file at `path` (replaced if it exists).
    pub fn create(path: &Path) -> Result<ImageWriter, SyncError> {
        Ok(ImageWriter {
            out: GzEncoder::new(
                BufWriter::new(File::create(path)?),
                flate2::Compression::fast(),
            ),
            lines: Vec::with_capacity(LINES_PER_WRITE + 1024),
            count: 0,
        })
    }

    /// Appends one image.
    pub fn write(&mut self, image: &BeforeImage) -> Result<(), SyncError> {
        let start = self.lines.len();
        if let Err(e) = serde_json::to_writer(&mut self.lines, image) {
            // No half line is left for the next image to follow.
            self.lines.truncate(start);
            return Err(SyncError::io("writing the before-images", e));
        }
        self.lines.push(b'\n');
        self.count += 1;
        if self.lines.len() >= LINES_PER_WRITE {
            self.out.write_all(&self.lines)?;
            self.lines.clear();
        }
        Ok(())
    }

    /// Flushes and closes the file; the number of images written.
    pub fn finish(mut self) -> Result<u64, SyncError> {
        self.out.write_all(&self.lines)?;
        self.out.finish()?.flush()?;
        Ok(self.count)
    }
}

/// The images of a before-images file, in the order they were written.
pub fn read_images(
    path: &Path,
) -> Result<impl Iterator<Item = Result<BeforeImage, SyncError>>, SyncError> {
    let reader = BufReader::new(GzDecoder::new(File::open(path)?));
    Ok(reader.lines().map(|line| {
        serde_json::from_str(&line?).map_err(|e| SyncError::io("reading the before-images", e))
    }))
}
