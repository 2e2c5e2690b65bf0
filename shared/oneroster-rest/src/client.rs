//! A OneRoster 1.1 REST client: the three authentication modes, paging with
//! `limit`/`offset` sorted by sourcedId, `X-Total-Count`, retries with
//! exponential backoff and full jitter honouring `Retry-After`, fail-fast on
//! rejected credentials, request timeouts, and no redirects followed.
//! Credentials never appear in `Debug` output, logs or errors.

use crate::address::{self, AddressPolicy, AddressRefused};
use crate::oauth1;
use rand::Rng;
use serde_json::Value;
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How requests are authenticated.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// OAuth 1.0a two-legged HMAC-SHA256 signing (ClassLink's Roster Server).
    OAuth1 {
        /// Application key.
        key: String,
        /// Application secret.
        secret: String,
    },
    /// A static bearer token (ClassLink's OneRoster proxy).
    Bearer {
        /// The token.
        token: String,
    },
    /// OAuth 2 client credentials; the token is cached until it expires.
    ClientCredentials {
        /// Token endpoint.
        token_url: String,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: String,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::OAuth1 { .. } => f.write_str("OAuth1 { .. }"),
            Auth::Bearer { .. } => f.write_str("Bearer { .. }"),
            Auth::ClientCredentials { token_url, .. } => {
                write!(f, "ClientCredentials {{ token_url: {token_url:?}, .. }}")
            }
        }
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Records per page (`limit`): default 1000, at most 10000.
    pub page_size: usize,
    /// Pages in flight across collections.
    pub max_in_flight: usize,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Attempts per page for 429, 5xx and network faults.
    pub max_attempts: u32,
    /// Base of the exponential backoff.
    pub backoff_base: Duration,
    /// Where the records received are counted (default: nowhere).
    pub progress: oneroster::Progress,
    /// Which URLs and addresses the client may use (default: https to
    /// public addresses only).
    pub addresses: AddressPolicy,
}

/// The most a page's response body may hold: a page of 10,000 records of a
/// few hundred bytes each is a few MiB.
pub const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;

/// The most a token response may hold.
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// Reads a response body up to `limit` bytes, as it arrives.
async fn body_up_to(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(format!("the response is over {limit} bytes; refused"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        if body.len() + chunk.len() > limit {
            return Err(format!("the response is over {limit} bytes; refused"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            page_size: 1000,
            max_in_flight: 4,
            request_timeout: Duration::from_secs(60),
            max_attempts: 6,
            backoff_base: Duration::from_millis(500),
            progress: oneroster::Progress::none(),
            addresses: AddressPolicy::default(),
        }
    }
}

/// Why a request or a collection failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// 401/403: the district's credentials were refused.
    #[error("credentials rejected by the OneRoster API (HTTP {status}) on {collection}; check the Application Key, Secret and URL")]
    CredentialsRejected {
        /// HTTP status.
        status: u16,
        /// The collection requested.
        collection: String,
    },
    /// The request failed after every retry, or with a non-retryable status.
    #[error("{collection} at offset {offset}: {message}")]
    Request {
        /// Collection.
        collection: String,
        /// Offset of the page.
        offset: usize,
        /// What happened (never includes credentials).
        message: String,
    },
    /// The response is not a OneRoster envelope.
    #[error("{collection} at offset {offset}: unreadable response: {message}")]
    Decode {
        /// Collection.
        collection: String,
        /// Offset of the page.
        offset: usize,
        /// What was wrong.
        message: String,
    },
    /// The API or token URL is not https, or not to a public address.
    #[error("{0}")]
    AddressRefused(#[from] AddressRefused),
    /// The overall time budget ran out.
    #[error("the pull ran out of its time budget while reading {collection}")]
    Budget {
        /// Collection.
        collection: String,
    },
}

/// Why a client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    /// A URL the address policy refuses.
    #[error(transparent)]
    Address(#[from] AddressRefused),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// One page of a collection.
#[derive(Debug)]
pub struct Page {
    /// The records.
    pub records: Vec<serde_json::Map<String, Value>>,
    /// `X-Total-Count`, when sent.
    pub total: Option<usize>,
}

/// The client. Build it once; it is cheap to share.
pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: Auth,
    options: ClientOptions,
    /// The cached OAuth 2 token; held across a fetch so concurrent pages wait for one token.
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
    requests: std::sync::atomic::AtomicU64,
    retries: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("auth", &self.auth)
            .finish()
    }
}

/// Full jitter: a random wait between zero and `base * 2^attempt` (capped at 60 s).
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let ceiling = base
        .saturating_mul(1 << attempt.min(16))
        .min(Duration::from_secs(60));
    Duration::from_millis(rand::thread_rng().gen_range(0..=ceiling.as_millis() as u64))
}

fn nonce() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Client {
    /// A client for the API at `api_url` (the district's URL; `/ims/oneroster/v1p1` is appended when missing).
    /// Refused when the URL (or the token URL) is not https to a public
    /// address, unless the options allow local development.
    pub fn new(
        api_url: &str,
        auth: Auth,
        options: ClientOptions,
    ) -> Result<Client, ClientBuildError> {
        options.addresses.check_url("API URL", api_url)?;
        if let Auth::ClientCredentials { token_url, .. } = &auth {
            options.addresses.check_url("token URL", token_url)?;
        }
        let trimmed = api_url.trim_end_matches('/');
        let base = if trimmed.ends_with("/ims/oneroster/v1p1") {
            trimmed.to_string()
        } else {
            format!("{trimmed}/ims/oneroster/v1p1")
        };
        let mut http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(options.request_timeout)
            .connect_timeout(Duration::from_secs(10));
        if let Some(resolver) = address::resolver(options.addresses) {
            http = http.dns_resolver(resolver).https_only(true);
        }
        let http = http.build()?;
        Ok(Client {
            http,
            base,
            auth,
            options: ClientOptions {
                page_size: options.page_size.clamp(1, 10_000),
                ..options
            },
            token: tokio::sync::Mutex::new(None),
            requests: Default::default(),
            retries: Default::default(),
        })
    }

    /// The API base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Options in force.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Requests sent and retries made so far.
    pub fn counters(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.requests.load(Relaxed), self.retries.load(Relaxed))
    }

    async fn bearer_for_client_credentials(&self, collection: &str) -> Result<String, ClientError> {
        let Auth::ClientCredentials {
            token_url,
            client_id,
            client_secret,
        } = &self.auth
        else {
            unreachable!("only for client credentials");
        };
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.clone() {
            if Instant::now() < until {
                return Ok(token);
            }
        }
        let response = self
            .http
            .post(token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", client_secret),
            ])
            .send()
            .await
            .map_err(|e| ClientError::Request {
                collection: collection.into(),
                offset: 0,
                message: match address::refusal_in(&e) {
                    Some(refused) => format!("token request refused: {refused}"),
                    None => format!("token request failed: {}", e.without_url()),
                },
            })?;
        let status = response.status().as_u16();
        if status == 400 || status == 401 || status == 403 {
            return Err(ClientError::CredentialsRejected {
                status,
                collection: collection.into(),
            });
        }
        let bytes = body_up_to(response, MAX_TOKEN_RESPONSE_BYTES)
            .await
            .map_err(|message| ClientError::Request {
                collection: collection.into(),
                offset: 0,
                message: format!("token response unreadable: {message}"),
            })?;
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| ClientError::Request {
            collection: collection.into(),
            offset: 0,
            message: format!(
                "token response unreadable: not JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        })?;
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| ClientError::Request {
                collection: collection.into(),
                offset: 0,
                message: "token response has no access_token".into(),
            })?
            .to_string();
        let lifetime = body["expires_in"].as_u64().unwrap_or(300);
        // Renew a minute early.
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60).max(1));
        *cached = Some((token.clone(), until));
        Ok(token)
    }

    /// Fetches one page, with retries.
    pub async fn page(
        &self,
        collection: &str,
        offset: usize,
        filter: Option<&str>,
        deadline: Instant,
    ) -> Result<Page, ClientError> {
        let url = format!("{}/{collection}", self.base);
        let mut query = vec![
            ("limit".to_string(), self.options.page_size.to_string()),
            ("offset".to_string(), offset.to_string()),
            ("sort".to_string(), "sourcedId".to_string()),
            ("orderBy".to_string(), "asc".to_string()),
        ];
        if let Some(f) = filter {
            query.push(("filter".to_string(), f.to_string()));
        }
        let full_url = format!("{url}?{}", oauth1::query_string(&query));
        let fail = |message: String| ClientError::Request {
            collection: collection.into(),
            offset,
            message,
        };
        let mut attempt = 0u32;
        loop {
            if Instant::now() >= deadline {
                return Err(ClientError::Budget {
                    collection: collection.into(),
                });
            }
            let authorization = match &self.auth {
                Auth::OAuth1 { key, secret } => {
                    let timestamp = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    let n = nonce();
                    oauth1::authorization(
                        "GET",
                        &url,
                        &query,
                        &oauth1::OAuthParams {
                            consumer_key: key,
                            nonce: &n,
                            timestamp,
                        },
                        secret,
                    )
                }
                Auth::Bearer { token } => format!("Bearer {token}"),
                Auth::ClientCredentials { .. } => format!(
                    "Bearer {}",
                    self.bearer_for_client_credentials(collection).await?
                ),
            };
            self.requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let sent = self
                .http
                .get(&full_url)
                .header("Authorization", authorization)
                .header("Accept", "application/json")
                .send()
                .await;
            let retry_after = match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if status == 401 || status == 403 {
                        return Err(ClientError::CredentialsRejected {
                            status,
                            collection: collection.into(),
                        });
                    }
                    if status == 200 {
                        let total = response
                            .headers()
                            .get("X-Total-Count")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse().ok());
                        let bytes =
                            body_up_to(response, MAX_PAGE_BYTES)
                                .await
                                .map_err(|message| ClientError::Decode {
                                    collection: collection.into(),
                                    offset,
                                    message,
                                })?;
                        let body: Value =
                            serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
                                collection: collection.into(),
                                offset,
                                message: e.to_string(),
                            })?;
                        let records = match body.get(collection) {
                            Some(Value::Array(items)) => items
                                .iter()
                                .filter_map(|v| v.as_object().cloned())
                                .collect(),
                            _ => {
                                return Err(ClientError::Decode {
                                    collection: collection.into(),
                                    offset,
                                    message: format!("no `{collection}` array in the response"),
                                })
                            }
                        };
                        return Ok(Page { records, total });
                    }
                    if status != 429 && status < 500 {
                        return Err(fail(format!("HTTP {status}")));
                    }
                    response
                        .headers()
                        .get("Retry-After")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs)
                }
                Err(e) => match address::refusal_in(&e) {
                    // Refused by the address policy: retrying cannot help.
                    Some(refused) => return Err(fail(refused)),
                    None if e.is_timeout() || e.is_connect() || e.is_request() || e.is_body() => {
                        None
                    }
                    None => return Err(fail(e.without_url().to_string())),
                },
            };
            attempt += 1;
            if attempt >= self.options.max_attempts {
                return Err(fail(format!(
                    "gave up after {attempt} attempts (throttled, server errors or network faults)"
                )));
            }
            self.retries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let wait = retry_after.unwrap_or_else(|| backoff(self.options.backoff_base, attempt));
            if Instant::now() + wait >= deadline {
                return Err(ClientError::Budget {
                    collection: collection.into(),
                });
            }
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_credentials() {
        let auth = Auth::ClientCredentials {
            token_url: "https://t".into(),
            client_id: "id-123".into(),
            client_secret: "s3cret".into(),
        };
        let client = Client::new("https://api.example/", auth, ClientOptions::default()).unwrap();
        let shown = format!("{client:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("id-123"),
            "{shown}"
        );
        assert_eq!(client.base(), "https://api.example/ims/oneroster/v1p1");
        let oauth = Auth::OAuth1 {
            key: "k".into(),
            secret: "s3cret".into(),
        };
        assert!(!format!("{oauth:?}").contains("s3cret"));
    }

    #[test]
    fn page_size_is_clamped_and_backoff_bounded() {
        let client = Client::new(
            "https://h/ims/oneroster/v1p1",
            Auth::Bearer { token: "t".into() },
            ClientOptions {
                page_size: 50_000,
                ..ClientOptions::default()
            },
        )
        .unwrap();
        assert_eq!(client.options().page_size, 10_000);
        assert_eq!(client.base(), "https://h/ims/oneroster/v1p1");
        for attempt in 0..30 {
            assert!(backoff(Duration::from_millis(500), attempt) <= Duration::from_secs(60));
        }
    }
}
