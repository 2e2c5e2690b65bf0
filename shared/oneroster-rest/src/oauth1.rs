//! OAuth 1.0a two-legged request signing with HMAC-SHA256 (RFC 5849), as
//! ClassLink's Roster Server expects: every query parameter is signed, and
//! everything is percent-encoded per RFC 3986 (`'`, `=`, `>`, space and `/`
//! in filters included). The signing key is `secret&` (no token secret).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;

/// RFC 3986 percent-encoding: everything but unreserved characters.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes per RFC 3986 (upper-case hex).
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, RFC3986).to_string()
}

/// The OAuth parameters of one request (nonce and timestamp are the caller's).
#[derive(Debug, Clone)]
pub struct OAuthParams<'a> {
    /// Application key.
    pub consumer_key: &'a str,
    /// A fresh random value per request.
    pub nonce: &'a str,
    /// Seconds since the epoch.
    pub timestamp: u64,
}

/// The signature base string of RFC 5849 §3.4.1.
pub fn base_string(
    method: &str,
    base_url: &str,
    query: &[(String, String)],
    oauth: &OAuthParams<'_>,
) -> String {
    let mut params: Vec<(String, String)> =
        query.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    for (k, v) in oauth_pairs(oauth) {
        params.push((encode(k), encode(&v)));
    }
    params.sort();
    let normalized = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(base_url),
        encode(&normalized)
    )
}

fn oauth_pairs(oauth: &OAuthParams<'_>) -> Vec<(&'static str, String)> {
    vec![
        ("oauth_consumer_key", oauth.consumer_key.to_string()),
        ("oauth_nonce", oauth.nonce.to_string()),
        ("oauth_signature_method", "HMAC-SHA256".to_string()),
        ("oauth_timestamp", oauth.timestamp.to_string()),
        ("oauth_version", "1.0".to_string()),
    ]
}

/// The base64 HMAC-SHA256 signature of `base` with key `secret&`.
pub fn sign(base: &str, consumer_secret: &str) -> String {
    let key = format!("{}&", encode(consumer_secret));
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(base.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Authorization` header value for a signed request.
pub fn authorization(
    method: &str,
    base_url: &str,
    query: &[(String, String)],
    oauth: &OAuthParams<'_>,
    consumer_secret: &str,
) -> String {
    let signature = sign(
        &base_string(method, base_url, query, oauth),
        consumer_secret,
    );
    let mut pairs = oauth_pairs(oauth);
    pairs.push(("oauth_signature", signature));
    pairs.sort();
    let fields: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", encode(v)))
        .collect();
    format!("OAuth {}", fields.join(", "))
}

/// The query string, encoded exactly as it was signed.
pub fn query_string(query: &[(String, String)]) -> String {
    query
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_rfc3986() {
        assert_eq!(
            encode("dateLastModified>'2026-01-01T00:00:00Z'"),
            "dateLastModified%3E%272026-01-01T00%3A00%3A00Z%27"
        );
        assert_eq!(encode("a b/c=d~e"), "a%20b%2Fc%3Dd~e");
    }

    #[test]
    fn the_base_string_sorts_and_double_encodes() {
        let oauth = OAuthParams {
            consumer_key: "key",
            nonce: "n",
            timestamp: 1,
        };
        let query = vec![
            ("limit".to_string(), "10".to_string()),
            ("filter".to_string(), "x='a b'".to_string()),
        ];
        let base = base_string("get", "https://h/ims/oneroster/v1p1/users", &query, &oauth);
        assert!(base.starts_with("GET&https%3A%2F%2Fh%2Fims%2Foneroster%2Fv1p1%2Fusers&"));
        assert!(
            base.contains(
                "filter%3Dx%253D%2527a%2520b%2527%26limit%3D10%26oauth_consumer_key%3Dkey"
            ),
            "{base}"
        );
    }

    #[test]
    fn the_header_carries_every_oauth_field() {
        let oauth = OAuthParams {
            consumer_key: "key",
            nonce: "n",
            timestamp: 1,
        };
        let header = authorization("GET", "https://h/x", &[], &oauth, "secret");
        for field in [
            "oauth_consumer_key=\"key\"",
            "oauth_signature_method=\"HMAC-SHA256\"",
            "oauth_timestamp=\"1\"",
            "oauth_nonce=\"n\"",
            "oauth_signature=\"",
        ] {
            assert!(header.contains(field), "{header}");
        }
        assert!(!header.contains("secret"));
    }
}
