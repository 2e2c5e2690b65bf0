//! Secrets read from Secrets Manager (the ClassLink client secret and the
//! teacher app's redeem secret), cached in memory for a few minutes so that
//! a rotation reaches warm functions without a redeploy. Values never reach
//! logs or error messages.

use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// How long a fetched value is reused.
pub const SECRET_CACHE_TTL: Duration = Duration::from_secs(300);

/// Why a secret is not available (the value is never part of the message).
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Secrets Manager failed or refused (retryable from the user's side).
    #[error("secret {id} could not be read from Secrets Manager: {reason}")]
    Unavailable {
        /// Secret id.
        id: String,
        /// The service's error (never the value).
        reason: String,
    },
    /// The secret has no string value.
    #[error("secret {0} has no string value")]
    Empty(String),
}

/// One secret, read on first use and cached.
pub struct CachedSecret {
    client: aws_sdk_secretsmanager::Client,
    id: String,
    cached: RwLock<Option<(String, Instant)>>,
}

impl std::fmt::Debug for CachedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSecret")
            .field("id", &self.id)
            .finish()
    }
}

impl CachedSecret {
    /// A secret by id (name or ARN).
    pub fn new(client: aws_sdk_secretsmanager::Client, id: impl Into<String>) -> CachedSecret {
        CachedSecret {
            client,
            id: id.into(),
            cached: RwLock::new(None),
        }
    }

    /// The value: cached, or fetched when missing or older than [`SECRET_CACHE_TTL`].
    pub async fn value(&self) -> Result<String, SecretError> {
        if let Some((value, at)) = self.cached.read().await.as_ref() {
            if at.elapsed() < SECRET_CACHE_TTL {
                return Ok(value.clone());
            }
        }
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.id)
            .send()
            .await
            .map_err(|e| SecretError::Unavailable {
                id: self.id.clone(),
                reason: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
            })?;
        let value = out
            .secret_string()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| SecretError::Empty(self.id.clone()))?
            .to_string();
        *self.cached.write().await = Some((value.clone(), Instant::now()));
        Ok(value)
    }
}
