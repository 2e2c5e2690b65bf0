//! Writing: a run's writes reach the store one way, as a stream of chunks
//! handed to [`crate::store::Records::write_all`]. The chunks come from a
//! plan file (each record's before-image read just before its chunk), or,
//! in a first load, from the planner as it plans ([`StoreSink`]): with no
//! record stored nothing can be held, no before-image needs a read (each is
//! "did not exist") and nothing is archived, so a plan file would only be
//! written to be read back.

use super::planning::rejections_may_hold;
use super::{Engine, PLAN_FILE};
use crate::artifacts::Artifacts;
use crate::before::{BeforeImage, ImageWriter, BEFORE_FILE};
use crate::error::SyncError;
use crate::plan::{PlanChunks, PlanWriter, PlannedWrite};
use crate::run::RunRecord;
use crate::snapshot::Snapshot;
use crate::store::{EntityWrite, Lease, RecordState, Store};
use crate::tenant::{TenantConfig, TenantState};
use chrono::Utc;
use oneroster::EntityKind;
use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;
use tokio::sync::mpsc;

/// Chunks planned or read ahead of the store: memory stays bounded by the
/// chunk size while the store writes.
const CHUNKS_AHEAD: usize = 2;

/// The first chunk of each type in a first load: the store waits for no
/// more than this to be planned. Each next chunk is twice as large, up to
/// the store's batch.
const FIRST_CHUNK: usize = 1_000;

/// Where the planner puts its planned writes.
pub(super) trait PlanSink: Send {
    /// What the run is doing while it plans into this sink (for progress).
    fn doing(&self) -> &'static str;
    /// One planned write.
    fn push(&mut self, planned: PlannedWrite) -> Result<(), SyncError>;
    /// Planning is over: the last writes go out.
    fn finish(self: Box<Self>) -> Result<(), SyncError>;
}

impl PlanSink for PlanWriter {
    fn doing(&self) -> &'static str {
        "planning"
    }

    fn push(&mut self, planned: PlannedWrite) -> Result<(), SyncError> {
        self.write(&planned)
    }

    fn finish(self: Box<Self>) -> Result<(), SyncError> {
        PlanWriter::finish(*self)
    }
}

/// A first load's writes, handed to the store in chunks as they are
/// planned, each one's before-image ("did not exist") kept first.
struct StoreSink {
    chunk: Vec<PlannedWrite>,
    /// The current chunk's length when full (see [`FIRST_CHUNK`]).
    size: usize,
    /// The store's batch: the largest chunk.
    batch: usize,
    run_id: String,
    send: mpsc::Sender<Vec<EntityWrite>>,
    images: ImageWriter,
}

impl PlanSink for StoreSink {
    fn doing(&self) -> &'static str {
        "loading"
    }

    fn push(&mut self, planned: PlannedWrite) -> Result<(), SyncError> {
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

    fn finish(mut self: Box<Self>) -> Result<(), SyncError> {
        self.flush()?;
        self.images.finish().map(drop)
    }
}

impl StoreSink {
    /// Hands the chunk to the store (waiting while it is [`CHUNKS_AHEAD`]
    /// behind); the next chunk is twice as large.
    fn flush(&mut self) -> Result<(), SyncError> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        self.size = (self.size * 2).min(self.batch);
        let full = std::mem::replace(&mut self.chunk, Vec::with_capacity(self.size));
        let writes = PlannedWrite::into_writes(full, Utc::now(), &self.run_id);
        self.send
            .blocking_send(writes)
            .map_err(|_| SyncError::Refused("the store stopped writing".into()))
    }
}

impl<S: Store, A: Artifacts> Engine<'_, S, A> {
    /// Whether this run is a first load that may write as it plans: the
    /// tenant has no record stored, and too few rows are rejected to hold it.
    pub(super) async fn loads_as_planned(
        &self,
        tenant: &TenantConfig,
        snapshot: &dyn Snapshot,
    ) -> Result<bool, SyncError> {
        if rejections_may_hold(snapshot, &self.hold_for(tenant)) {
            return Ok(false);
        }
        Ok(!self.store.has_records(&tenant.tenant).await?)
    }

    /// A first load: planned and written at once, each chunk under `lease`.
    pub(super) async fn load_as_planned(
        &self,
        tenant: &TenantConfig,
        snapshot: &Arc<dyn Snapshot>,
        run: &mut RunRecord,
        lease: &Lease,
        state: TenantState,
    ) -> Result<(), SyncError> {
        let path = self
            .artifacts
            .scratch(&tenant.tenant, &run.run_id, BEFORE_FILE)?;
        let images = ImageWriter::create(&path)?;
        let (batch, run_id) = (self.write_chunk(), run.run_id.clone());
        let first = FIRST_CHUNK.min(batch);
        let written = self
            .write_chunks(&tenant.tenant, lease, |send| {
                let sink = Box::new(StoreSink {
                    chunk: Vec::with_capacity(first),
                    size: first,
                    batch,
                    run_id,
                    send,
                    images,
                });
                self.plan_types(tenant, snapshot, run, sink, Some(lease))
            })
            .await?;
        if !run.hold.is_empty() {
            // Rejections that could hold send a first load to the plan file.
            return Err(SyncError::Refused(
                "a first load was written in full, but its plan would have been held; review the tenant's records, and revert this run if they are wrong".into(),
            ));
        }
        run.before_ref =
            Some(
                self.artifacts
                    .keep(&tenant.tenant, &run.run_id, BEFORE_FILE, &path)?,
            );
        self.finish_applied(&tenant.tenant, lease, run, state, written)
            .await
    }

    /// Applies a plan as `run` under `lease`, keeping the before-images
    /// with the run's files (`run.before_ref`).
    pub(crate) async fn apply_with_images(
        &self,
        tenant: &str,
        lease: &Lease,
        run: &mut RunRecord,
        plan: &Path,
    ) -> Result<u64, SyncError> {
        let path = self.artifacts.scratch(tenant, &run.run_id, BEFORE_FILE)?;
        let mut images = ImageWriter::create(&path)?;
        let total = run.total_writes();
        self.options
            .progress
            .stage("applying", (total > 0).then_some(total));
        let run_id = &run.run_id;
        let written = self
            .write_chunks(tenant, lease, |send| {
                self.send_plan(tenant, run_id, plan, &mut images, send)
            })
            .await?;
        images.finish()?;
        run.before_ref = Some(
            self.artifacts
                .keep(tenant, &run.run_id, BEFORE_FILE, &path)?,
        );
        Ok(written)
    }

    /// Runs `produce`, which sends chunks of writes, while the store writes
    /// them under `lease`; returns the number of items written. The
    /// deadline is kept here, for every producer: once it has passed, the
    /// store takes no further chunk, and the run ends `continued` with that
    /// number (the producer, its channel closed, stops at its next send).
    async fn write_chunks<F, P>(
        &self,
        tenant: &str,
        lease: &Lease,
        produce: P,
    ) -> Result<u64, SyncError>
    where
        P: FnOnce(mpsc::Sender<Vec<EntityWrite>>) -> F,
        F: Future<Output = Result<(), SyncError>>,
    {
        let (send, mut receive) = mpsc::channel(CHUNKS_AHEAD);
        // Once the deadline has passed, no chunk after the first is written,
        // however many the producer has handed over.
        let (deadline, cut, mut taken) = (self.options.deadline, AtomicBool::new(false), 0);
        let cut_short = &cut;
        // `move`: the receiver goes with the stream, so a store that stops
        // writing drops it, and a producer waiting to send learns of it.
        let chunks = futures::stream::poll_fn(move |cx| {
            if taken > 0 && deadline.is_some_and(|d| Instant::now() >= d) {
                cut_short.store(true, Ordering::Relaxed);
                return Poll::Ready(None);
            }
            let next = receive.poll_recv(cx);
            taken += u64::from(matches!(next, Poll::Ready(Some(_))));
            next
        });
        // Boxed: the two futures are large, and a Lambda's stack is not.
        let (produced, written) = tokio::join!(
            Box::pin(produce(send)),
            Box::pin(self.store.write_all(tenant, lease, chunks))
        );
        // The store's error is the cause when the producer saw it stop.
        let written = written?;
        // Cut short, the run continues in a new invocation, whatever the
        // producer made of the closed channel.
        if cut.load(Ordering::Relaxed) {
            return Err(SyncError::DeadlineReached { written });
        }
        produced.map(|()| written)
    }

    /// Sends the plan file's writes in chunks as run `run_id`, the stored
    /// state of each record a chunk touches to `images` first.
    async fn send_plan(
        &self,
        tenant: &str,
        run_id: &str,
        plan: &Path,
        images: &mut ImageWriter,
        send: mpsc::Sender<Vec<EntityWrite>>,
    ) -> Result<(), SyncError> {
        let mut chunks = PlanChunks::open(plan, self.write_chunk())?;
        while let Some(chunk) = chunks.next_chunk().transpose()? {
            self.keep_before_images(tenant, &chunk, images).await?;
            let count = chunk.len() as u64;
            let writes = PlannedWrite::into_writes(chunk, Utc::now(), run_id);
            send.send(writes)
                .await
                .map_err(|_| SyncError::Refused("the store stopped writing".into()))?;
            self.options.progress.advance(count);
        }
        Ok(())
    }

    /// Writes handed to the store at a time.
    fn write_chunk(&self) -> usize {
        match self.options.chunk {
            0 => self.store.write_batch(),
            n => n,
        }
        .max(1)
    }

    /// Writes the before-image of each planned write: the record as read
    /// from the store just before its chunk is written, or "did not exist".
    /// Every record that may exist is read ([`may_exist`]), users the plan saw
    /// no record of among them: one may have been provisioned at sign-in since,
    /// and a revert must put it back, not archive it.
    async fn keep_before_images(
        &self,
        tenant: &str,
        planned: &[PlannedWrite],
        images: &mut ImageWriter,
    ) -> Result<(), SyncError> {
        let mut states: HashMap<EntityKind, HashMap<String, RecordState>> = HashMap::new();
        for kind in EntityKind::ALL {
            let ids: Vec<String> = planned
                .iter()
                .filter(|p| p.kind == kind && may_exist(p))
                .map(|p| p.id.clone())
                .collect();
            if !ids.is_empty() {
                let read = self.store.record_states(tenant, kind, &ids).await?;
                states.insert(kind, read);
            }
        }
        for p in planned {
            let before = states
                .get_mut(&p.kind)
                .and_then(|read| read.get(&p.id).cloned());
            images.write(&BeforeImage::of(p, before))?;
        }
        Ok(())
    }

    /// Plans to the run's plan file and keeps it with the run's files.
    pub(super) fn keep_plan(
        &self,
        tenant: &str,
        run: &mut RunRecord,
        plan: &Path,
    ) -> Result<(), SyncError> {
        run.plan_ref = Some(self.artifacts.keep(tenant, &run.run_id, PLAN_FILE, plan)?);
        Ok(())
    }
}

/// Whether a planned write's record may be stored when it is applied: it
/// was when planned, or a revert puts it back, or it is a user (sign-in
/// makes provisional teachers at any time). Nothing else makes records but a
/// sync, one at a time under the lease: a planned insert of another type
/// finds nothing, and its before-image ("did not exist") needs no read.
fn may_exist(planned: &PlannedWrite) -> bool {
    planned.before.is_some() || planned.restore.is_some() || planned.kind == EntityKind::Users
}
