//! Readers that hold a package's file to its limits: its listed or
//! declared size, and, for a zip entry, the ratio of inflated bytes to the
//! compressed bytes really read for it.

use super::RATIO_CHECK_MIN_BYTES;
use crate::report::{Issue, IssueCode, Severity};
use std::io::{self, Read, Seek};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Fails a read that goes past `remaining` bytes: a zip entry's declared
/// size (a lying header), or a folder file's listed size.
pub(super) struct SizeBound<R> {
    pub(super) inner: R,
    pub(super) remaining: u64,
    /// What going past means, for the error.
    pub(super) excess: &'static str,
}

impl<R: Read> Read for SizeBound<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.remaining {
            return Err(io::Error::new(io::ErrorKind::InvalidData, self.excess));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Counts the bytes read through it, for a reader elsewhere to see: under a
/// zip archive, what the inflater of an entry has really consumed.
pub(super) struct CountingReader<R> {
    inner: R,
    pub(super) count: Arc<AtomicU64>,
}

impl<R> CountingReader<R> {
    pub(super) fn new(inner: R) -> Self {
        CountingReader {
            inner,
            count: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: Seek> Seek for CountingReader<R> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// A zip entry that inflated past the ratio limit to the compressed bytes
/// read for it: a zip bomb whose header declares a smaller ratio. The
/// error inside the `io::Error` a read of the entry fails with.
#[derive(Debug, thiserror::Error)]
#[error("archive entry `{name}` expands {ratio}:1 ({compressed} to {inflated} bytes so far), though its header declares less; more than {max_ratio}:1 is refused as a likely zip bomb")]
pub(super) struct RatioExceeded {
    pub(super) name: String,
    ratio: u64,
    compressed: u64,
    inflated: u64,
    max_ratio: u64,
}

/// The fatal issue for a failed read of `file` (`users`) of a package: a
/// [`RatioExceeded`] is [`IssueCode::CompressionRatio`], as at opening;
/// anything else, [`IssueCode::Io`].
pub(crate) fn read_failure(file: &str, e: &io::Error) -> Issue {
    match e.get_ref().and_then(|e| e.downcast_ref::<RatioExceeded>()) {
        Some(bomb) => Issue::new(
            Severity::Fatal,
            file,
            IssueCode::CompressionRatio,
            bomb.to_string(),
        )
        .with_value(&bomb.name),
        None => Issue::new(
            Severity::Fatal,
            file,
            IssueCode::Io,
            format!("{file}.csv cannot be read: {e}"),
        ),
    }
}

/// Fails a zip entry's read once it has inflated past [`RATIO_CHECK_MIN_BYTES`]
/// at more than `max_ratio` to the bytes the archive's reader really gave
/// since the entry was opened: the inflater's consumption, whatever the
/// header says (it reads ahead a buffer, so the ratio is, if anything, low).
pub(super) struct RatioBound<'a, R> {
    pub(super) inner: R,
    pub(super) name: &'a str,
    pub(super) max_ratio: u64,
    /// The archive reader's count when the entry was opened, and since.
    pub(super) start: u64,
    pub(super) consumed: Arc<AtomicU64>,
    pub(super) inflated: u64,
}

impl<R: Read> Read for RatioBound<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.inflated += n as u64;
        if self.inflated > RATIO_CHECK_MIN_BYTES {
            let read = self
                .consumed
                .load(Ordering::Relaxed)
                .saturating_sub(self.start);
            let compressed = read.max(1);
            let ratio = self.inflated / compressed;
            if ratio > self.max_ratio {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    RatioExceeded {
                        name: self.name.to_string(),
                        ratio,
                        compressed,
                        inflated: self.inflated,
                        max_ratio: self.max_ratio,
                    },
                ));
            }
        }
        Ok(n)
    }
}
