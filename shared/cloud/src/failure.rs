//! The one failure type of the functions, and the one classifier of AWS SDK
//! errors: whether trying again may succeed.
//!
//! Rejected packages, held runs and refused sign-ins are outcomes, not
//! failures. A [`Failure`] is the system around them failing: a service
//! unreachable or throttled (retryable: Lambda's retries, then the on-failure
//! queue), or configuration, permissions and data the function cannot handle
//! (permanent: retrying will not help, the on-failure queue keeps the event).

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::error::Error as StdError;

/// Any error, kept as the source of a failure.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Whether trying again later may succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Throttling, timeouts, network faults, server errors, a busy tenant.
    Retryable,
    /// A refusal or a fault that retrying cannot fix.
    Permanent,
}

impl Retry {
    /// `Retryable` or `Permanent`: the Lambda error type of a failure.
    pub fn as_str(self) -> &'static str {
        match self {
            Retry::Retryable => "Retryable",
            Retry::Permanent => "Permanent",
        }
    }

    /// Whether this is [`Retry::Retryable`].
    pub fn is_retryable(self) -> bool {
        self == Retry::Retryable
    }
}

/// Error codes that AWS services return for throttling and transient faults
/// (S3, DynamoDB, Secrets Manager, SQS, Scheduler). Any 5xx or 429 status is
/// retryable too, whatever its code.
const RETRYABLE_CODES: &[&str] = &[
    // Throttling.
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "SlowDown",
    // Transient service faults.
    "InternalError",
    "InternalServerError",
    "InternalFailure",
    "InternalServiceError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Classifies an AWS SDK error: transport faults, timeouts, throttling and
/// server errors are retryable; everything else (access denied, not found,
/// validation, a request that could not be built) is permanent.
pub fn classify<E: ProvideErrorMetadata>(error: &SdkError<E, Response>) -> Retry {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Retry::Retryable
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or("");
            if RETRYABLE_CODES.contains(&code) || status >= 500 || status == 429 {
                Retry::Retryable
            } else {
                Retry::Permanent
            }
        }
        _ => Retry::Permanent,
    }
}

/// The error code of a service error (`NoSuchKey`, `ConditionalCheckFailedException`), if any.
pub fn service_code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    match error {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// What went wrong with an SDK call, in a few words for a message: the
/// service's error code (`AccessDenied`, `SlowDown`), or the kind of
/// transport failure. Never a value the call carried.
pub fn what_failed<E: ProvideErrorMetadata>(error: &SdkError<E, Response>) -> String {
    match error {
        SdkError::ServiceError(service) => match service.err().code() {
            Some(code) => code.to_string(),
            // A HEAD answer has no body to carry a code.
            None => format!("HTTP {}", service.raw().status().as_u16()),
        },
        SdkError::TimeoutError(_) => "timed out".into(),
        SdkError::DispatchFailure(_) => "no answer (connection failed)".into(),
        SdkError::ResponseError(_) => "an unreadable answer".into(),
        _ => "the request could not be built".into(),
    }
}

/// A failure: what was being done, whether retrying may help, and the error
/// that caused it (kept as the source, never flattened into a string).
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct Failure {
    retry: Retry,
    context: String,
    #[source]
    source: Option<BoxError>,
}

impl Failure {
    /// A failure of the given kind.
    pub fn new(retry: Retry, context: impl Into<String>) -> Failure {
        Failure {
            retry,
            context: context.into(),
            source: None,
        }
    }

    /// A failure that retrying may fix.
    pub fn retryable(context: impl Into<String>) -> Failure {
        Failure {
            retry: Retry::Retryable,
            context: context.into(),
            source: None,
        }
    }

    /// A failure that retrying will not fix.
    pub fn permanent(context: impl Into<String>) -> Failure {
        Failure {
            retry: Retry::Permanent,
            context: context.into(),
            source: None,
        }
    }

    /// The same failure, caused by `source`.
    pub fn because(mut self, source: impl Into<BoxError>) -> Failure {
        self.source = Some(source.into());
        self
    }

    /// An AWS SDK error while doing `context` (`"GetObject s3://b/k"`), classified by [`classify`].
    pub fn sdk<E>(context: impl Into<String>, error: SdkError<E, Response>) -> Failure
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        Failure {
            retry: classify(&error),
            context: context.into(),
            source: Some(Box::new(error)),
        }
    }

    /// Whether retrying may help.
    pub fn retry(&self) -> Retry {
        self.retry
    }

    /// Whether retrying may help.
    pub fn is_retryable(&self) -> bool {
        self.retry.is_retryable()
    }

    /// The message followed by its causes: `context: cause: cause`.
    pub fn chain(&self) -> String {
        chain(self)
    }
}

/// An error's message followed by its causes, `: `-separated (repeats dropped:
/// some errors print their source in their own message).
pub fn chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !part.is_empty() && !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

impl From<std::io::Error> for Failure {
    /// A local file (scratch space) failing: permanent.
    fn from(e: std::io::Error) -> Failure {
        Failure::permanent("local file").because(e)
    }
}

#[cfg(feature = "lambda")]
impl From<Failure> for lambda_runtime::Diagnostic {
    /// The Lambda error: type `Retryable` or `Permanent` (it appears in the
    /// on-failure destination's record), message with the causes.
    fn from(failure: Failure) -> Self {
        lambda_runtime::Diagnostic {
            error_type: failure.retry.as_str().to_string(),
            error_message: failure.chain(),
        }
    }
}

impl Retry {
    /// `Retryable` when `retryable`, else `Permanent`.
    pub fn when(retryable: bool) -> Retry {
        if retryable {
            Retry::Retryable
        } else {
            Retry::Permanent
        }
    }
}

impl From<roster::StoreError> for Failure {
    fn from(e: roster::StoreError) -> Failure {
        Failure::new(Retry::when(e.is_retryable()), "the roster store failed").because(e)
    }
}

impl From<roster::SyncError> for Failure {
    fn from(e: roster::SyncError) -> Failure {
        Failure::new(Retry::when(e.is_retryable()), "the sync failed").because(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service(code: &str, status: u16) -> SdkError<ErrorMetadata, Response> {
        SdkError::service_error(
            ErrorMetadata::builder().code(code).message("m").build(),
            Response::new(StatusCode::try_from(status).unwrap(), SdkBody::empty()),
        )
    }

    #[test]
    fn throttling_server_errors_and_transport_faults_are_retryable() {
        for code in [
            "SlowDown",
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
        ] {
            assert_eq!(classify(&service(code, 400)), Retry::Retryable, "{code}");
        }
        assert_eq!(classify(&service("Anything", 503)), Retry::Retryable);
        assert_eq!(classify(&service("Anything", 429)), Retry::Retryable);
        let timeout: SdkError<ErrorMetadata, Response> = SdkError::timeout_error("slow");
        assert_eq!(classify(&timeout), Retry::Retryable);
    }

    #[test]
    fn refusals_are_permanent() {
        for code in [
            "AccessDenied",
            "AccessDeniedException",
            "NoSuchBucket",
            "ResourceNotFoundException",
            "ValidationException",
        ] {
            assert_eq!(classify(&service(code, 400)), Retry::Permanent, "{code}");
        }
        let unbuildable: SdkError<ErrorMetadata, Response> =
            SdkError::construction_failure("no region");
        assert_eq!(classify(&unbuildable), Retry::Permanent);
        assert_eq!(service_code(&service("NoSuchKey", 404)), Some("NoSuchKey"));
        assert_eq!(what_failed(&service("AccessDenied", 403)), "AccessDenied");
        assert_eq!(what_failed(&unbuildable), "the request could not be built");
        let no_code: SdkError<ErrorMetadata, Response> = SdkError::service_error(
            ErrorMetadata::builder().build(),
            Response::new(StatusCode::try_from(403).unwrap(), SdkBody::empty()),
        );
        assert_eq!(what_failed(&no_code), "HTTP 403");
    }

    #[test]
    fn a_failure_keeps_its_source_and_prints_the_chain() {
        let failure = Failure::sdk("GetObject s3://b/k", service("SlowDown", 503));
        assert!(failure.is_retryable());
        assert!(
            StdError::source(&failure).is_some(),
            "the SDK error is kept"
        );
        let io =
            Failure::permanent("reading the package").because(std::io::Error::other("disk full"));
        assert_eq!(io.chain(), "reading the package: disk full");
        assert!(!io.is_retryable());
    }

    #[cfg(feature = "lambda")]
    #[test]
    fn a_failure_becomes_a_lambda_diagnostic_with_its_type() {
        let d: lambda_runtime::Diagnostic = Failure::retryable("store busy")
            .because(std::io::Error::other("timed out"))
            .into();
        assert_eq!(d.error_type, "Retryable");
        assert_eq!(d.error_message, "store busy: timed out");
    }
}
