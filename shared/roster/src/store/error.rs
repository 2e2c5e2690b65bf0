//! Why a store operation failed.

use crate::error::BoxError;

/// A store failure. The underlying error (an SDK or SQLite error) is kept as
/// the source; the message says what the store was doing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttling, timeouts, network faults: retrying later may succeed.
    #[error("store unavailable (retryable): {context}")]
    Unavailable {
        /// What failed.
        context: String,
        /// Why.
        #[source]
        source: Option<BoxError>,
    },
    /// A write the store refused because it would break a rule it enforces
    /// (a ClassLink TenantId that belongs to another tenant). Retrying will
    /// not help; the message says what to change.
    #[error("{context}")]
    Conflict {
        /// What the rule is and who holds what.
        context: String,
    },
    /// A write refused because its run no longer holds its tenant's lease
    /// (another run took it over): the run must stop writing.
    #[error("lease lost: {context}")]
    LeaseLost {
        /// Whose lease, and what was refused.
        context: String,
    },
    /// A request the store refused or data it cannot read.
    #[error("store error: {context}")]
    Permanent {
        /// What failed.
        context: String,
        /// Why.
        #[source]
        source: Option<BoxError>,
    },
}

impl StoreError {
    /// A failure that retrying later may fix.
    pub fn unavailable(context: impl Into<String>) -> StoreError {
        StoreError::Unavailable {
            context: context.into(),
            source: None,
        }
    }

    /// A failure that retrying will not fix.
    pub fn permanent(context: impl Into<String>) -> StoreError {
        StoreError::Permanent {
            context: context.into(),
            source: None,
        }
    }

    /// A write refused by a rule the store enforces.
    pub fn conflict(context: impl Into<String>) -> StoreError {
        StoreError::Conflict {
            context: context.into(),
        }
    }

    /// A write refused because the run's lease is no longer held.
    pub fn lease_lost(context: impl Into<String>) -> StoreError {
        StoreError::LeaseLost {
            context: context.into(),
        }
    }

    /// The same failure, caused by `cause` (a conflict or a lost lease
    /// carries no cause).
    pub fn because(self, cause: impl Into<BoxError>) -> StoreError {
        match self {
            StoreError::Conflict { context } => StoreError::Conflict { context },
            StoreError::LeaseLost { context } => StoreError::LeaseLost { context },
            StoreError::Unavailable { context, .. } => StoreError::Unavailable {
                context,
                source: Some(cause.into()),
            },
            StoreError::Permanent { context, .. } => StoreError::Permanent {
                context,
                source: Some(cause.into()),
            },
        }
    }

    /// Whether the store refused the write by one of its rules.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }

    /// Whether the write was refused because the run's lease was lost.
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, StoreError::LeaseLost { .. })
    }

    /// Whether retrying later may succeed (the store was unavailable).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}
