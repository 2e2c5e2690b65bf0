//! What the Lambda runtime tells an invocation.

use std::time::{Instant, SystemTime};

/// When Lambda will stop this invocation, as an `Instant` (`None` when the
/// deadline has already passed or the context carries none).
pub fn deadline(context: &lambda_runtime::Context) -> Option<Instant> {
    deadline_from(context.deadline(), SystemTime::now(), Instant::now())
}

/// A failed invocation as Lambda gets it, after a log line naming it (its
/// type, `Retryable` or `Permanent`, and its message with causes): the
/// runtime does not log a handler's error itself.
pub fn failed(failure: crate::Failure) -> lambda_runtime::Diagnostic {
    tracing::error!(
        error_type = failure.retry().as_str(),
        error = %failure.chain(),
        "invocation failed"
    );
    failure.into()
}

fn deadline_from(deadline: SystemTime, now: SystemTime, now_instant: Instant) -> Option<Instant> {
    let left = deadline.duration_since(now).ok().filter(|d| !d.is_zero())?;
    Some(now_instant + left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_deadline_is_the_time_left_from_now() {
        let now = SystemTime::now();
        let at = Instant::now();
        assert_eq!(
            deadline_from(now + Duration::from_secs(30), now, at),
            Some(at + Duration::from_secs(30))
        );
        assert_eq!(deadline_from(now - Duration::from_secs(1), now, at), None);
        // A context without a deadline (0 ms since the epoch).
        assert_eq!(deadline(&lambda_runtime::Context::default()), None);
    }
}
