//! A OneRoster REST client (1.1, or the 1.2 Rostering Service; see
//! [`crate::version`]): the three authentication modes, paging with
//! `limit`/`offset` sorted by sourcedId, `X-Total-Count`, retries with
//! exponential backoff and full jitter honouring `Retry-After`, fail-fast on
//! rejected credentials, request timeouts, and no redirects followed.
//! Credentials never appear in `Debug` output, logs or errors.

use crate::address::{self, AddressPolicy, AddressRefused};
use crate::oauth1;
use crate::request::{AttemptError, PageRequest};
use crate::token::{Credentials, TokenCache};
use crate::version::{self, OneRosterVersion, VersionConflict};
use backon::{ExponentialBuilder, Retryable};
use rand::Rng;
use serde_json::Value;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
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
    /// The OneRoster version the tenant is set to (`None`: told by the API
    /// URL's path, else 1.1); see [`version::resolve`].
    pub version: Option<OneRosterVersion>,
    /// Whether the pull reads demographics: a 1.2 token is then asked for
    /// the demographics scope too.
    pub demographics: bool,
}

/// The most a page's response body may hold: a page of 10,000 records of a
/// few hundred bytes each is a few MiB.
pub const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;

/// The most a token response may hold.
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// The longest wait between two attempts at a page.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Reads a response body up to `limit` bytes, as it arrives.
pub(crate) async fn body_up_to(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, String> {
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
            version: None,
            demographics: false,
        }
    }
}

/// Why a request or a collection failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// 401/403: the district's credentials were refused.
    #[error("credentials rejected by the OneRoster API (HTTP {status}{}) on {collection}; check the Application Key, Secret and URL", said(.detail))]
    CredentialsRejected {
        /// HTTP status.
        status: u16,
        /// The collection requested.
        collection: String,
        /// What the API's status payload said (code minor: description).
        detail: Option<String>,
    },
    /// 404: the API serves no such collection at this URL.
    #[error("{collection} at offset {offset}: HTTP 404 Not Found{}: the API serves no `{collection}` collection at this URL; check the API URL (it ends in {base_path}) and the tenant's OneRoster version", said(.detail))]
    NotFound {
        /// Collection.
        collection: String,
        /// Offset of the page.
        offset: usize,
        /// The base path requested.
        base_path: &'static str,
        /// What the API's status payload said (code minor: description).
        detail: Option<String>,
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

/// ` (what the API said)`, when it said something.
fn said(detail: &Option<String>) -> String {
    detail
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

impl ClientError {
    /// The HTTP status of an answer by which the API declines to serve a
    /// collection (404, or 403 for a collection these credentials may not
    /// read), when this error is one.
    pub fn declined_status(&self) -> Option<u16> {
        match self {
            ClientError::NotFound { .. } => Some(404),
            ClientError::CredentialsRejected { status: 403, .. } => Some(403),
            _ => None,
        }
    }
}

/// Why a client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    /// A URL the address policy refuses.
    #[error(transparent)]
    Address(#[from] AddressRefused),
    /// The API URL names another OneRoster version than the one configured.
    #[error(transparent)]
    Version(#[from] VersionConflict),
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
    version: OneRosterVersion,
    /// The OAuth 2 scopes asked for (1.2 client credentials only).
    scopes: Vec<&'static str>,
    auth: Auth,
    options: ClientOptions,
    /// The OAuth 2 token (`Auth::ClientCredentials` only).
    token: TokenCache,
    requests: AtomicU64,
    retries: AtomicU64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("version", &self.version)
            .field("auth", &self.auth)
            .finish()
    }
}

/// Full jitter: a random wait between zero and `step`.
fn full_jitter(step: Duration) -> Duration {
    Duration::from_millis(rand::thread_rng().gen_range(0..=step.as_millis() as u64))
}

/// The exponential steps between attempts: from `base`, doubling, capped at
/// [`MAX_BACKOFF`], `max_attempts` attempts in all. Each wait is drawn below
/// its step ([`full_jitter`]) unless the server sent `Retry-After`.
pub fn retry_policy(base: Duration, max_attempts: u32) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(base)
        .with_factor(2.0)
        .with_max_delay(MAX_BACKOFF)
        .with_max_times(max_attempts.saturating_sub(1) as usize)
}

/// The wait before the next attempt: the server's `Retry-After`, else a
/// draw below the policy's `step`.
fn wait_before_retry(error: &AttemptError, step: Duration) -> Duration {
    match error {
        AttemptError::Transient {
            retry_after: Some(wait),
            ..
        } => *wait,
        _ => full_jitter(step),
    }
}

fn nonce() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Client {
    /// A client for the API at `api_url` (the district's URL; the version's
    /// base path, `/ims/oneroster/v1p1` or `/ims/oneroster/rostering/v1p2`,
    /// is appended when missing). Refused when the URL (or the token URL) is
    /// not https to a public address, unless the options allow local
    /// development, and when the URL's path names another version than the
    /// one configured.
    pub fn new(
        api_url: &str,
        auth: Auth,
        options: ClientOptions,
    ) -> Result<Client, ClientBuildError> {
        options.addresses.check_url("API URL", api_url)?;
        if let Auth::ClientCredentials { token_url, .. } = &auth {
            options.addresses.check_url("token URL", token_url)?;
        }
        let version = version::resolve(api_url, options.version)?;
        let base = version::base_url(api_url, version);
        let scopes = version::scopes(version, options.demographics);
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
            version,
            scopes,
            auth,
            options: ClientOptions {
                page_size: options.page_size.clamp(1, 10_000),
                ..options
            },
            token: TokenCache::default(),
            requests: Default::default(),
            retries: Default::default(),
        })
    }

    /// The API base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The OneRoster version spoken.
    pub fn version(&self) -> OneRosterVersion {
        self.version
    }

    /// The OAuth 2 scopes a token is asked for (empty but for 1.2 client
    /// credentials); fine to log, unlike the credentials.
    pub fn scopes(&self) -> &[&'static str] {
        match self.auth {
            Auth::ClientCredentials { .. } => &self.scopes,
            _ => &[],
        }
    }

    /// Options in force.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Requests sent and retries made so far.
    pub fn counters(&self) -> (u64, u64) {
        (self.requests.load(Relaxed), self.retries.load(Relaxed))
    }

    /// Fetches one page, with retries: 429, 5xx and network faults are retried
    /// by [`retry_policy`] (or after `Retry-After`) while attempts and the
    /// `deadline` allow.
    pub async fn page(
        &self,
        collection: &str,
        offset: usize,
        filter: Option<&str>,
        deadline: Instant,
    ) -> Result<Page, ClientError> {
        let request = PageRequest::new(
            &self.base,
            version::base_path(self.version),
            collection,
            offset,
            filter,
            self.options.page_size,
        );
        let attempts = AtomicU32::new(0);
        let out_of_time = AtomicBool::new(false);
        let last_said: std::sync::Mutex<Option<String>> = Default::default();
        let result = (|| {
            attempts.fetch_add(1, Relaxed);
            self.attempt(&request, deadline)
        })
        .retry(retry_policy(
            self.options.backoff_base,
            self.options.max_attempts,
        ))
        .sleep(tokio::time::sleep)
        .when(|e| matches!(e, AttemptError::Transient { .. }))
        .adjust(|e, step| {
            // `step` is `None` when no attempt is left.
            let wait = wait_before_retry(e, step?);
            let fits = Instant::now() + wait < deadline;
            out_of_time.store(!fits, Relaxed);
            fits.then_some(wait)
        })
        .notify(|e, _| {
            self.retries.fetch_add(1, Relaxed);
            if let AttemptError::Transient { said: Some(s), .. } = e {
                *last_said.lock().unwrap_or_else(|p| p.into_inner()) = Some(s.clone());
            }
        })
        .await;
        match result {
            Ok(page) => Ok(page),
            Err(AttemptError::Final(error)) => Err(error),
            Err(AttemptError::Transient { .. }) if out_of_time.load(Relaxed) => {
                Err(request.out_of_time())
            }
            Err(AttemptError::Transient { said, .. }) => {
                let said = said.or_else(|| last_said.into_inner().ok().flatten());
                let last = said.map(|s| format!("; the server said: {s}"));
                Err(request.failed(format!(
                    "gave up after {} attempts (throttled, server errors or network faults){}",
                    attempts.load(Relaxed),
                    last.unwrap_or_default()
                )))
            }
        }
    }

    /// One attempt at a page: authorise, send, read the answer.
    async fn attempt(
        &self,
        request: &PageRequest<'_>,
        deadline: Instant,
    ) -> Result<Page, AttemptError> {
        if Instant::now() >= deadline {
            return Err(AttemptError::Final(request.out_of_time()));
        }
        let authorization = self
            .authorization(request)
            .await
            .map_err(AttemptError::Final)?;
        self.requests.fetch_add(1, Relaxed);
        let sent = self
            .http
            .get(request.full_url())
            .header("Authorization", authorization)
            .header("Accept", "application/json")
            .send()
            .await;
        match sent {
            Ok(response) => request.answer(response).await,
            Err(error) => Err(request.fault(error)),
        }
    }

    /// The `Authorization` header of one request.
    async fn authorization(&self, request: &PageRequest<'_>) -> Result<String, ClientError> {
        match &self.auth {
            Auth::OAuth1 { key, secret } => {
                let timestamp = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let nonce = nonce();
                let params = oauth1::OAuthParams {
                    consumer_key: key,
                    nonce: &nonce,
                    timestamp,
                };
                Ok(oauth1::authorization(
                    "GET",
                    &request.url,
                    &request.query,
                    &params,
                    secret,
                ))
            }
            Auth::Bearer { token } => Ok(format!("Bearer {token}")),
            Auth::ClientCredentials {
                token_url,
                client_id,
                client_secret,
            } => {
                let credentials = Credentials {
                    token_url,
                    client_id,
                    client_secret,
                    scopes: &self.scopes,
                };
                let token = self
                    .token
                    .bearer(&self.http, credentials, request.collection)
                    .await?;
                Ok(format!("Bearer {token}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder;

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
        let steps: Vec<Duration> = retry_policy(Duration::from_millis(500), 30)
            .build()
            .collect();
        assert_eq!(steps.len(), 29, "30 attempts: 29 waits");
        for step in steps {
            assert!(full_jitter(step) <= Duration::from_secs(60));
        }
    }
}
