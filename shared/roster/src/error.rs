//! Why a sync could not complete: the engine's error, below every module
//! that returns it (plan, snapshot, engine, api).

use crate::store::StoreError;

/// Any error, kept as the source of another.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a sync could not complete. Runs that end `held`, `rejected`, `stale`
/// or `busy` are not errors: they are outcomes recorded in the run record.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A local file could not be read or written.
    #[error("I/O error: {context}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// Why it failed.
        #[source]
        source: BoxError,
    },
    /// A run file that must outlive this process (kept in S3 by the
    /// functions) could not be kept or read: retrying may succeed. The
    /// failed run's message says why (the file, the error code).
    #[error("run file: {context}: {why}")]
    LastingFile {
        /// What was being done.
        context: &'static str,
        /// Why it failed.
        why: String,
    },
    /// The snapshot could not be streamed.
    #[error("reading the delivery failed")]
    Read(#[source] BoxError),
    /// No such run or tenant.
    #[error("{0}")]
    NotFound(String),
    /// The operation was refused (wrong state, plan out of date, lease lost).
    #[error("{0}")]
    Refused(String),
    /// The time limit came before the plan was fully applied.
    #[error(
        "stopped before the time limit after writing {written} items; continue in a new invocation"
    )]
    DeadlineReached {
        /// Items written before stopping.
        written: u64,
    },
}

impl SyncError {
    /// Whether retrying later may succeed (throttling, network).
    pub fn is_retryable(&self) -> bool {
        match self {
            SyncError::Store(e) => e.is_retryable(),
            SyncError::LastingFile { .. } => true,
            _ => false,
        }
    }
}

impl SyncError {
    /// A local I/O (or encoding) failure while doing `context`.
    pub fn io(context: &'static str, source: impl Into<BoxError>) -> SyncError {
        SyncError::Io {
            context,
            source: source.into(),
        }
    }

    /// A run file that must outlive this process could not be kept or
    /// read while doing `context` (see [`SyncError::LastingFile`]).
    pub fn lasting(context: &'static str, e: std::io::Error) -> SyncError {
        SyncError::LastingFile {
            context,
            why: e.to_string(),
        }
    }
}

impl From<std::io::Error> for SyncError {
    fn from(e: std::io::Error) -> Self {
        SyncError::io("local file", e)
    }
}
