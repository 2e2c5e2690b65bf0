//! A first load written while it is planned. When the tenant has no record
//! stored at all and too few rows are rejected to hold it, nothing can be
//! held (the other holds need active records), no
//! before-image needs a read (each is "did not exist"), and nothing is
//! archived: the plan file would only be written to be read back. A store
//! that writes on the calling thread ([`BlockingRecords`]) then takes the
//! planned writes from a second thread as the planner makes them. The store
//! is the slower side, so the planner's thread keeps the before-images, each
//! before its record is handed over, and makes the store writes (reading
//! their lookup keys from the content); the writer's thread only writes.
//! The first chunks of each type are small, so the writer starts at once
//! rather than waiting for a whole chunk to be planned.

use crate::before::{BeforeImage, ImageWriter};
use crate::error::SyncError;
use crate::plan::PlannedWrite;
use crate::store::{BlockingRecords, EntityWrite, Lease};
use chrono::Utc;
use std::sync::mpsc;

/// The first chunk of a type: the writer waits for no more than this to be
/// planned. Each next chunk is twice as large, up to the store's batch.
const FIRST_CHUNK: usize = 1_000;

/// Where the planner puts its writes: chunks handed to the writer thread.
pub(crate) struct DirectWrites<'i> {
    chunk: Vec<PlannedWrite>,
    /// The current chunk's length when full (see [`FIRST_CHUNK`]).
    size: usize,
    /// The store's batch: the largest chunk.
    batch: usize,
    run_id: &'i str,
    send: mpsc::SyncSender<Vec<EntityWrite>>,
    /// Chunks the writer has written, handed back to be freed here: the
    /// planner's thread allocated them, and the writer, the slower side,
    /// is spared the frees.
    written: mpsc::Receiver<Vec<EntityWrite>>,
    images: &'i mut ImageWriter,
}

impl DirectWrites<'_> {
    /// One planned write (a put of a record not stored); its before-image
    /// ("did not exist") is kept at once.
    pub(crate) fn push(&mut self, planned: PlannedWrite) -> Result<(), SyncError> {
        if planned.before.is_some() || planned.sis.is_none() {
            return Err(SyncError::Refused(format!(
                "{} {} is stored, but the tenant had no records when the run began; run the sync again",
                planned.kind, planned.id
            )));
        }
        self.images.write(&BeforeImage::of(&planned, None))?;

        self.chunk.push(planned);
        if self.chunk.len() >= self.size {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SyncError> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        while let Ok(done) = self.written.try_recv() {
            drop(done);
        }
        self.size = (self.size * 2).min(self.batch);
        let full = std::mem::replace(&mut self.chunk, Vec::with_capacity(self.size));
        let writes = PlannedWrite::into_writes(full, Utc::now(), self.run_id);
        self.send
            .send(writes)
            .map_err(|_| SyncError::Refused("the writer stopped".into()))
    }
}

/// Runs `plan`, which pushes its writes to a [`DirectWrites`], while a second
/// thread writes them to `store` as run `run_id`, `size` at a time, each
/// chunk under `lease` (fenced as [`crate::store::Records::write`]), keeping
/// each one's before-image in `images`. Returns what `plan` returned and the
/// number of items written. A failing write (a lost lease among them) stops
/// the planner, and no later chunk is written.
pub(crate) fn plan_while_writing<T>(
    store: &dyn BlockingRecords,
    (tenant, lease): (&str, &Lease),
    run_id: &str,
    size: usize,
    images: &mut ImageWriter,
    plan: impl FnOnce(&mut DirectWrites) -> Result<T, SyncError>,
) -> Result<(T, u64), SyncError> {
    std::thread::scope(|scope| {
        // Two chunks in flight: memory stays bounded by the chunk size.
        let (send, receive) = mpsc::sync_channel::<Vec<EntityWrite>>(2);
        let (give_back, written) = mpsc::channel::<Vec<EntityWrite>>();
        let writer = scope.spawn(move || -> Result<u64, SyncError> {
            let mut count = 0u64;
            for writes in receive {
                count += store.write(tenant, lease, &writes)?;
                // The planner may have finished: then the chunk is freed here.
                let _ = give_back.send(writes);
            }
            Ok(count)
        });
        let first = FIRST_CHUNK.min(size).max(1);
        let mut writes = DirectWrites {
            chunk: Vec::with_capacity(first),
            size: first,
            batch: size.max(1),
            run_id,
            send,
            written,
            images,
        };
        let planned = plan(&mut writes).and_then(|t| writes.flush().map(|()| t));
        // Hanging up ends the writer once it has written what it was given.
        drop(writes);
        let written = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // The writer's error is the cause when the planner saw it stop.
        let written = written?;
        Ok((planned?, written))
    })
}
