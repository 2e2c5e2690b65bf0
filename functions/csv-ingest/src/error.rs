//! What can go wrong in an invocation, split by what Lambda should do about it.

use roster::{StoreError, SyncError};

/// An invocation failure. Rejected packages are not errors (they are
/// reported and moved aside); these are failures of the system around them.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Throttling, timeouts, network faults, a busy tenant: fail the invocation
    /// so Lambda's async retries apply (then the on-failure queue).
    #[error("retryable: {0}")]
    Retryable(String),
    /// Configuration, permissions, or data the function cannot handle: fail
    /// the invocation; retries will not help but the on-failure queue keeps the event.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl IngestError {
    /// Whether retrying may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, IngestError::Retryable(_))
    }
}

impl From<StoreError> for IngestError {
    fn from(e: StoreError) -> Self {
        if e.is_retryable() {
            IngestError::Retryable(e.to_string())
        } else {
            IngestError::Permanent(e.to_string())
        }
    }
}

impl From<SyncError> for IngestError {
    fn from(e: SyncError) -> Self {
        if e.is_retryable() {
            IngestError::Retryable(e.to_string())
        } else {
            IngestError::Permanent(e.to_string())
        }
    }
}

impl From<std::io::Error> for IngestError {
    fn from(e: std::io::Error) -> Self {
        IngestError::Permanent(format!("local file: {e}"))
    }
}

/// Classifies an AWS SDK error: transport faults, timeouts, throttling and
/// server errors are retryable.
pub fn sdk<E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug>(
    what: &str,
    e: aws_sdk_s3::error::SdkError<E>,
) -> IngestError {
    use aws_sdk_s3::error::SdkError;
    let retryable_codes = [
        "SlowDown",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "Throttling",
        "ThrottlingException",
    ];
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            IngestError::Retryable(format!("{what}: {e:?}"))
        }
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or("unknown");
            let status = s.raw().status().as_u16();
            let message = format!("{what}: {code} {}", s.err().message().unwrap_or(""));
            if retryable_codes.contains(&code) || status >= 500 || status == 429 {
                IngestError::Retryable(message)
            } else {
                IngestError::Permanent(message)
            }
        }
        _ => IngestError::Permanent(format!("{what}: {e:?}")),
    }
}
