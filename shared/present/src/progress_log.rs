//! Progress as log lines (Lambda): a line when a stage begins, then at most
//! one every few seconds with counts and rate, so an operator following a
//! long apply in CloudWatch sees it moving. Here rather than in `cloud`,
//! which would then depend on `oneroster` for the progress sink it implements.

use oneroster::progress::{ProgressLog, ProgressSink};
use oneroster::Progress;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Logs progress through `tracing` (ids and counts only).
#[derive(Debug)]
pub struct LoggedProgress {
    log: ProgressLog,
}

impl LoggedProgress {
    /// A line at most every `interval`.
    pub fn every(interval: Duration) -> Progress {
        Progress::to(Arc::new(LoggedProgress {
            log: ProgressLog::new(interval),
        }))
    }
}

impl ProgressSink for LoggedProgress {
    fn stage(&self, name: &str, total: Option<u64>) {
        self.log.start_stage(name, total, Instant::now());
        match total {
            Some(total) => tracing::info!(stage = name, total, "progress: {name} begun"),
            None => tracing::info!(stage = name, "progress: {name} begun"),
        }
    }

    fn advance(&self, n: u64) {
        if let Some(line) = self.log.line(n, Instant::now()) {
            tracing::info!("progress: {line}");
        }
    }

    fn finish(&self) {}
}
