//! Login transactions: what `start` remembers for the callback (`nonce`,
//! PKCE verifier, destination), stored server-side under a hash of `state`
//! for a few minutes, consumed exactly once, and bound to the browser that
//! started it by a `__Host-` cookie (only the cookie's hash is stored).

use crate::sha256_hex;
use axum::http::{header, HeaderMap};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::RngCore;
use roster::{OneTimeKind, OneTimeRecords, StoreError};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The cookie binding a login transaction to a browser. `__Host-` means:
/// Secure, no Domain, Path=/ — the browser will not let another site or a
/// subdomain set it.
pub const LOGIN_COOKIE: &str = "__Host-sso_login";

/// A pending login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginTransaction {
    /// The `nonce` sent; the ID token must carry it.
    pub nonce: String,
    /// The PKCE verifier for the code exchange.
    pub pkce_verifier: String,
    /// SHA-256 (hex) of the browser cookie's value.
    pub browser_binding: String,
    /// Where to send the user after sign-in (already checked against the allow-list).
    pub destination: String,
    /// When the login started.
    pub started_at: DateTime<Utc>,
    /// The teacher app's opaque value from `/start?app_state=`, bound to the
    /// ticket and returned on redeem (absent for a LaunchPad launch, and in
    /// transactions stored before this field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_state: Option<String>,
}

/// The longest `app_state` accepted, in bytes.
pub const MAX_APP_STATE_BYTES: usize = 512;

/// Why an `app_state` is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppStateError {
    /// Empty.
    #[error("app_state is empty")]
    Empty,
    /// Over [`MAX_APP_STATE_BYTES`].
    #[error("app_state is {0} bytes; at most {MAX_APP_STATE_BYTES} are accepted")]
    TooLong(usize),
    /// A byte outside visible ASCII.
    #[error("app_state may hold only visible ASCII characters (no spaces or control characters)")]
    NotVisibleAscii,
}

/// Checks the teacher app's `app_state`: 1 to 512 visible ASCII characters
/// (what a random token or a signed value in any URL-safe encoding is).
pub fn check_app_state(value: &str) -> Result<(), AppStateError> {
    if value.is_empty() {
        return Err(AppStateError::Empty);
    }
    if value.len() > MAX_APP_STATE_BYTES {
        return Err(AppStateError::TooLong(value.len()));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppStateError::NotVisibleAscii);
    }
    Ok(())
}

/// A fresh random cookie value and its hash (the hash is what is stored).
pub fn new_browser_binding() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = sha256_hex(&value);
    (value, hash)
}

/// Stores the transaction under the hash of `state` until `now + ttl`.
pub async fn remember<S: OneTimeRecords>(
    store: &S,
    state: &str,
    transaction: &LoginTransaction,
    ttl: Duration,
) -> Result<(), StoreError> {
    let payload = serde_json::to_string(transaction)
        .map_err(|e| StoreError::permanent("encoding JSON").because(e))?;
    let expires = transaction.started_at
        + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(10));
    store
        .put_one_time(
            OneTimeKind::LoginTransaction,
            &sha256_hex(state),
            &payload,
            expires,
        )
        .await
}

/// Consumes the transaction for `state`: at most one callback ever gets it.
pub async fn consume<S: OneTimeRecords>(
    store: &S,
    state: &str,
    now: DateTime<Utc>,
) -> Result<Option<LoginTransaction>, StoreError> {
    if state.len() > 512 {
        return Ok(None);
    }
    let Some(payload) = store
        .take_one_time(OneTimeKind::LoginTransaction, &sha256_hex(state), now)
        .await?
    else {
        return Ok(None);
    };
    serde_json::from_str(&payload)
        .map(Some)
        .map_err(|e| StoreError::permanent("bad login transaction").because(e))
}

/// Whether the browser's cookie is the one the transaction was started with
/// (compared in constant time).
pub fn browser_matches(transaction: &LoginTransaction, cookie: Option<&str>) -> bool {
    let Some(cookie) = cookie.filter(|c| !c.is_empty()) else {
        return false;
    };
    sha256_hex(cookie)
        .as_bytes()
        .ct_eq(transaction.browser_binding.as_bytes())
        .into()
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim().to_string())
}

/// `Set-Cookie` for a new login.
pub fn set_cookie(value: &str, ttl: Duration) -> String {
    format!(
        "{LOGIN_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
        ttl.as_secs()
    )
}

/// `Set-Cookie` removing the login cookie (after any callback).
pub fn clear_cookie() -> String {
    format!("{LOGIN_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_browser_binding_matches_only_its_cookie() {
        let (value, hash) = new_browser_binding();
        let tx = LoginTransaction {
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            browser_binding: hash,
            destination: "https://app.example/".into(),
            started_at: Utc::now(),
            app_state: None,
        };
        assert!(browser_matches(&tx, Some(&value)));
        assert!(!browser_matches(&tx, Some("other")));
        assert!(!browser_matches(&tx, Some("")));
        assert!(!browser_matches(&tx, None));
        assert!(!tx.browser_binding.contains(&value));
    }

    #[test]
    fn app_state_is_visible_ascii_of_bounded_length() {
        assert_eq!(check_app_state("abc-123_~.=+/"), Ok(()));
        assert_eq!(check_app_state(&"x".repeat(512)), Ok(()));
        assert_eq!(check_app_state(""), Err(AppStateError::Empty));
        assert_eq!(
            check_app_state(&"x".repeat(513)),
            Err(AppStateError::TooLong(513))
        );
        for bad in ["a b", "a\nb", "caf\u{e9}", "a\u{7f}"] {
            assert_eq!(
                check_app_state(bad),
                Err(AppStateError::NotVisibleAscii),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_transaction_stored_before_app_state_still_reads() {
        let old = r#"{"nonce":"n","pkce_verifier":"v","browser_binding":"b","destination":"https://app.example/","started_at":"2026-12-01T00:00:00Z"}"#;
        let tx: LoginTransaction = serde_json::from_str(old).unwrap();
        assert_eq!(tx.app_state, None);
    }

    #[test]
    fn cookies_are_read_from_any_cookie_header() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-sso_login=xyz"),
        );
        assert_eq!(cookie(&headers, LOGIN_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&headers, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&headers, "c"), None);
        let set = set_cookie("v", Duration::from_secs(600));
        for part in [
            "__Host-sso_login=v",
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Lax",
        ] {
            assert!(set.contains(part), "{set}");
        }
        assert!(!set.contains("Domain"));
    }
}
