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
    /// One image's line, handed to the encoder in one write.
    line: Vec<u8>,
    count: u64,
}

impl ImageWriter {
    /// A new file at `path` (replaced if it exists).
    pub fn create(path: &Path) -> Result<ImageWriter, SyncError> {
        Ok(ImageWriter {
            out: GzEncoder::new(
                BufWriter::new(File::create(path)?),
                flate2::Compression::fast(),
            ),
            line: Vec::with_capacity(1024),
            count: 0,
        })
    }

    /// Appends one image.
    pub fn write(&mut self, image: &BeforeImage) -> Result<(), SyncError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, image)
            .map_err(|e| SyncError::io("writing the before-images", e))?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.count += 1;
        Ok(())
    }

    /// Flushes and closes the file; the number of images written.
    pub fn finish(self) -> Result<u64, SyncError> {
        let count = self.count;
        self.out.finish()?.flush()?;
        Ok(count)
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
