//! How a long run tells someone it is moving: stages (validating a file,
//! planning a type, applying), each with a count of items done and, when
//! known, how many there are. The reader, the engine and the API pull report
//! to a [`Progress`]; what is shown (a terminal bar, a log line every few
//! seconds, nothing) is the caller's choice.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where progress goes.
pub trait ProgressSink: Send + Sync {
    /// A new stage begins (the previous one is over); `total` when known.
    fn stage(&self, name: &str, total: Option<u64>);
    /// `n` more items of the current stage are done.
    fn advance(&self, n: u64);
    /// The run is over.
    fn finish(&self);
}

/// A handle to a [`ProgressSink`], or none (the default): cheap to clone and
/// to call when nobody listens.
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<dyn ProgressSink>>);

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(reported)"
        } else {
            "Progress(none)"
        })
    }
}

impl Progress {
    /// Reports to `sink`.
    pub fn to(sink: Arc<dyn ProgressSink>) -> Progress {
        Progress(Some(sink))
    }

    /// Reports nowhere.
    pub fn none() -> Progress {
        Progress(None)
    }

    /// Whether anyone listens.
    pub fn is_reported(&self) -> bool {
        self.0.is_some()
    }

    /// A new stage begins.
    pub fn stage(&self, name: &str, total: Option<u64>) {
        if let Some(sink) = &self.0 {
            sink.stage(name, total);
        }
    }

    /// `n` more items are done.
    pub fn advance(&self, n: u64) {
        if let Some(sink) = &self.0 {
            if n > 0 {
                sink.advance(n);
            }
        }
    }

    /// The run is over.
    pub fn finish(&self) {
        if let Some(sink) = &self.0 {
            sink.finish();
        }
    }

    /// A counter that hands items on in batches of `every` (per-row callers).
    pub fn counter(&self, every: u64) -> Counter<'_> {
        Counter {
            progress: self,
            pending: 0,
            every: every.max(1),
        }
    }
}

/// Counts items and reports them in batches; the rest is reported when dropped.
pub struct Counter<'p> {
    progress: &'p Progress,
    pending: u64,
    every: u64,
}

impl Counter<'_> {
    /// One more item.
    pub fn tick(&mut self) {
        self.pending += 1;
        if self.pending >= self.every {
            self.progress.advance(self.pending);
            self.pending = 0;
        }
    }
}

impl Drop for Counter<'_> {
    fn drop(&mut self) {
        self.progress.advance(self.pending);
    }
}

/// Progress as log lines, one at most every `interval` (for Lambda, where an
/// operator follows a long apply in CloudWatch). Pure: [`ProgressLog::line`]
/// says what to log and when; the caller logs it.
#[derive(Debug)]
pub struct ProgressLog {
    interval: Duration,
    state: Mutex<LogState>,
    done: AtomicU64,
}

#[derive(Debug)]
struct LogState {
    stage: String,
    total: Option<u64>,
    started: Instant,
    last_line: Instant,
}

impl ProgressLog {
    /// A log of at most one line every `interval`.
    pub fn new(interval: Duration) -> ProgressLog {
        let now = Instant::now();
        ProgressLog {
            interval,
            state: Mutex::new(LogState {
                stage: String::new(),
                total: None,
                started: now,
                last_line: now,
            }),
            done: AtomicU64::new(0),
        }
    }

    /// Starts a stage.
    pub fn start_stage(&self, name: &str, total: Option<u64>, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.stage = name.to_string();
        state.total = total;
        state.started = now;
        self.done.store(0, Ordering::Relaxed);
    }

    /// Counts `n` items; the line to log when the interval has passed since
    /// the last one: "applying: 120,000 of 887,817 (13.5%), 41,250/s".
    pub fn line(&self, n: u64, now: Instant) -> Option<String> {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if now.duration_since(state.last_line) < self.interval {
            return None;
        }
        state.last_line = now;
        let seconds = now.duration_since(state.started).as_secs_f64();
        let rate = if seconds > 0.0 {
            (done as f64 / seconds) as u64
        } else {
            0
        };
        let of = match state.total {
            Some(total) if total > 0 => format!(
                " of {} ({:.1}%)",
                thousands(total),
                done as f64 * 100.0 / total as f64
            ),
            _ => String::new(),
        };
        Some(format!(
            "{}: {}{of}, {}/s",
            state.stage,
            thousands(done),
            thousands(rate)
        ))
    }
}

/// `887817` as `887,817`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Tally(Mutex<Vec<String>>, AtomicU64);

    impl ProgressSink for Tally {
        fn stage(&self, name: &str, total: Option<u64>) {
            self.0.lock().unwrap().push(format!("{name} {total:?}"));
        }
        fn advance(&self, n: u64) {
            self.1.fetch_add(n, Ordering::Relaxed);
        }
        fn finish(&self) {
            self.0.lock().unwrap().push("finish".into());
        }
    }

    #[test]
    fn a_counter_reports_in_batches_and_the_rest_when_dropped() {
        let tally = Arc::new(Tally::default());
        let progress = Progress::to(tally.clone());
        progress.stage("planning users", None);
        {
            let mut counter = progress.counter(1000);
            for _ in 0..2500 {
                counter.tick();
            }
            assert_eq!(tally.1.load(Ordering::Relaxed), 2000);
        }
        assert_eq!(tally.1.load(Ordering::Relaxed), 2500);
        progress.finish();
        assert_eq!(*tally.0.lock().unwrap(), ["planning users None", "finish"]);
        // Nobody listening: nothing to call.
        Progress::none().counter(1).tick();
    }

    #[test]
    fn the_log_says_at_most_one_line_an_interval_with_counts_and_rate() {
        let log = ProgressLog::new(Duration::from_secs(5));
        let t0 = Instant::now();
        log.start_stage("applying", Some(887_817), t0);
        assert_eq!(log.line(1000, t0 + Duration::from_secs(1)), None);
        let line = log.line(119_000, t0 + Duration::from_secs(6)).unwrap();
        assert_eq!(line, "applying: 120,000 of 887,817 (13.5%), 20,000/s");
        assert_eq!(log.line(1, t0 + Duration::from_secs(7)), None);
        log.start_stage("validating users.csv", None, t0 + Duration::from_secs(10));
        let line = log.line(50_000, t0 + Duration::from_secs(12)).unwrap();
        assert_eq!(line, "validating users.csv: 50,000, 25,000/s");
    }
}
