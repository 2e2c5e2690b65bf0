//! Secrets read from Secrets Manager (the ClassLink client secret and the
//! teacher app's redeem secret), cached in memory for a few minutes so that
//! a rotation reaches warm functions without a redeploy; or, for a local
//! server (`rosterctl sso serve`), given at start from the environment or a
//! file. Values never reach logs or error messages.

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
    /// Where it comes from: Secrets Manager, or `None` for a value given at start.
    client: Option<aws_sdk_secretsmanager::Client>,
    /// The secret id, or where a given value came from (for messages).
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
            client: Some(client),
            id: id.into(),
            cached: RwLock::new(None),
        }
    }

    /// A value given at start (a local server's environment variable or
    /// file, named by `origin`); it never expires. An empty value is refused.
    pub fn given(origin: impl Into<String>, value: &str) -> Result<CachedSecret, SecretError> {
        let origin = origin.into();
        let value = value.trim();
        if value.is_empty() {
            return Err(SecretError::Empty(origin));
        }
        Ok(CachedSecret {
            client: None,
            id: origin,
            cached: RwLock::new(Some((value.to_string(), Instant::now()))),
        })
    }

    /// The value: cached, or fetched when missing or older than [`SECRET_CACHE_TTL`].
    pub async fn value(&self) -> Result<String, SecretError> {
        let Some(client) = &self.client else {
            return self
                .cached
                .read()
                .await
                .as_ref()
                .map(|(value, _)| value.clone())
                .ok_or_else(|| SecretError::Empty(self.id.clone()));
        };
        if let Some((value, at)) = self.cached.read().await.as_ref() {
            if at.elapsed() < SECRET_CACHE_TTL {
                return Ok(value.clone());
            }
        }
        let out = client
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_given_value_is_kept_and_an_empty_one_refused() {
        let secret = CachedSecret::given("CLASSLINK_CLIENT_SECRET", " s3cret \n").unwrap();
        assert_eq!(secret.value().await.unwrap(), "s3cret");
        assert!(!format!("{secret:?}").contains("s3cret"));
        let empty = CachedSecret::given("SSO_REDEEM_SECRET", "  ").unwrap_err();
        assert_eq!(
            empty.to_string(),
            "secret SSO_REDEEM_SECRET has no string value"
        );
    }
}
