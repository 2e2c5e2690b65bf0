//! The district's API credentials, as stored in Secrets Manager (JSON): the
//! one definition of the secret's shape, written by `rosterctl tenants add`
//! and read by the oneroster-pull function. Never logged, never in an error
//! message, never in `Debug` output.

use oneroster_rest::client::Auth;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The secret's JSON, by authentication mode:
///
/// - `{"auth": "oauth1", "key": "...", "secret": "..."}` — ClassLink Roster Server
///   (Application Key and Secret from the kickoff call);
/// - `{"auth": "bearer", "token": "..."}` — ClassLink's OneRoster proxy;
/// - `{"auth": "oauth2", "token_url": "...", "client_id": "...", "client_secret": "..."}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "auth", rename_all = "lowercase")]
pub enum ApiSecret {
    /// OAuth 1.0a.
    Oauth1 {
        /// Application key.
        key: String,
        /// Application secret.
        secret: String,
    },
    /// Bearer token.
    Bearer {
        /// The token.
        token: String,
    },
    /// OAuth 2 client credentials.
    Oauth2 {
        /// Token endpoint.
        token_url: String,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: String,
    },
}

impl fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApiSecret::Oauth1 { .. } => "ApiSecret::Oauth1 { .. }",
            ApiSecret::Bearer { .. } => "ApiSecret::Bearer { .. }",
            ApiSecret::Oauth2 { .. } => "ApiSecret::Oauth2 { .. }",
        })
    }
}

/// Why a secret's text is not usable (the text itself is never quoted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the API secret is not valid JSON of a known shape ({0}); see docs/oneroster-pull.md")]
pub struct BadSecret(String);

impl ApiSecret {
    /// Parses the secret string.
    pub fn parse(text: &str) -> Result<ApiSecret, BadSecret> {
        serde_json::from_str(text).map_err(|e| {
            // serde's message may quote values: keep only its category and position.
            BadSecret(format!(
                "{:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ))
        })
    }

    /// The secret string to store in Secrets Manager.
    pub fn to_secret_string(&self) -> String {
        serde_json::to_string(self).expect("a secret of strings always encodes")
    }

    /// The client authentication.
    pub fn auth(&self) -> Auth {
        match self.clone() {
            ApiSecret::Oauth1 { key, secret } => Auth::OAuth1 { key, secret },
            ApiSecret::Bearer { token } => Auth::Bearer { token },
            ApiSecret::Oauth2 {
                token_url,
                client_id,
                client_secret,
            } => Auth::ClientCredentials {
                token_url,
                client_id,
                client_secret,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_parses_and_nothing_leaks() {
        let s = ApiSecret::parse(r#"{"auth":"oauth1","key":"k","secret":"TOPSECRET"}"#).unwrap();
        assert!(matches!(s.auth(), Auth::OAuth1 { .. }));
        assert!(!format!("{s:?}").contains("TOPSECRET"));
        assert!(matches!(
            ApiSecret::parse(r#"{"auth":"bearer","token":"t"}"#)
                .unwrap()
                .auth(),
            Auth::Bearer { .. }
        ));
        assert!(matches!(
            ApiSecret::parse(
                r#"{"auth":"oauth2","token_url":"u","client_id":"c","client_secret":"s"}"#
            )
            .unwrap()
            .auth(),
            Auth::ClientCredentials { .. }
        ));
        for secret in [
            ApiSecret::Oauth1 {
                key: "k".into(),
                secret: "s".into(),
            },
            ApiSecret::Bearer { token: "t".into() },
        ] {
            assert_eq!(
                ApiSecret::parse(&secret.to_secret_string()).unwrap(),
                secret
            );
        }
        assert_eq!(
            ApiSecret::Bearer { token: "t".into() }.to_secret_string(),
            r#"{"auth":"bearer","token":"t"}"#
        );
        let bad =
            ApiSecret::parse(r#"{"auth":"oauth1","key":"k","secret":TOPSECRET}"#).unwrap_err();
        assert!(!bad.to_string().contains("TOPSECRET"), "{bad}");
        assert!(
            ApiSecret::parse(r#"{"auth":"kerberos","secret":"TOPSECRET"}"#)
                .unwrap_err()
                .to_string()
                .find("TOPSECRET")
                .is_none()
        );
    }
}
