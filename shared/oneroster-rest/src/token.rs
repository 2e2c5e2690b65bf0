//! OAuth 2 client credentials (RFC 6749 §4.4) through the `oauth2` crate:
//! the token is fetched with the client's own HTTP client (no redirects, the
//! address policy, a bounded body) and cached until a minute before it expires.
//! A 1.2 client asks for its scopes (`scope`, space-separated); a 1.1 client
//! asks for none, as before.

use crate::address;
use crate::client::{body_up_to, ClientError, MAX_TOKEN_RESPONSE_BYTES};
use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{AuthType, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};
use std::time::{Duration, Instant};

/// Lifetime assumed when the token response has no `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// A token is renewed this long before it expires.
const RENEW_EARLY: Duration = Duration::from_secs(60);

/// OAuth 2 client credentials: where and with what a token is asked for.
#[derive(Clone, Copy)]
pub(crate) struct Credentials<'a> {
    /// Token endpoint.
    pub token_url: &'a str,
    /// Client id.
    pub client_id: &'a str,
    /// Client secret.
    pub client_secret: &'a str,
    /// Scopes asked for (none: no `scope` parameter).
    pub scopes: &'a [&'static str],
}

/// The cached token; locked across a fetch so concurrent pages wait for one token.
#[derive(Default)]
pub(crate) struct TokenCache {
    cached: tokio::sync::Mutex<Option<(String, Instant)>>,
}

/// Why the token endpoint's HTTP exchange failed (before `oauth2` reads the body).
#[derive(Debug, thiserror::Error)]
enum TokenHttpError {
    /// 400, 401 or 403: the client credentials were refused.
    #[error("HTTP {0}")]
    Rejected(u16),
    /// 400 `invalid_scope`: the scopes asked for were refused.
    #[error("HTTP 400 invalid_scope")]
    ScopeRefused,
    /// The request could not be sent, or no response came.
    #[error("token request failed")]
    Send(#[source] reqwest::Error),
    /// The response body could not be read, or is too long.
    #[error("token response unreadable: {0}")]
    Body(String),
    /// The request `oauth2` built could not be sent as is.
    #[error("token request could not be built: {0}")]
    Build(String),
}

impl TokenCache {
    /// A valid access token: the cached one, or a fresh one for `credentials`.
    /// `collection` names the collection being read, for errors.
    pub(crate) async fn bearer(
        &self,
        http: &reqwest::Client,
        credentials: Credentials<'_>,
        collection: &str,
    ) -> Result<String, ClientError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let (token, lifetime) = fetch(http, credentials)
            .await
            .map_err(|e| token_error(e, collection, credentials.scopes))?;
        let until = Instant::now()
            + lifetime
                .saturating_sub(RENEW_EARLY)
                .max(Duration::from_secs(1));
        *cached = Some((token.clone(), until));
        Ok(token)
    }
}

/// One token request: the token and its lifetime.
async fn fetch(
    http: &reqwest::Client,
    credentials: Credentials<'_>,
) -> Result<(String, Duration), RequestTokenError<TokenHttpError, BasicErrorResponse>> {
    let token_url = TokenUrl::new(credentials.token_url.to_string())
        .map_err(|e| RequestTokenError::Other(format!("the token URL is not a URL ({e})")))?;
    let oauth = BasicClient::new(ClientId::new(credentials.client_id.to_string()))
        .set_client_secret(ClientSecret::new(credentials.client_secret.to_string()))
        .set_token_uri(token_url)
        // The credentials in the form body, as before and as the local server checks.
        .set_auth_type(AuthType::RequestBody);
    let send = |request| exchange(http, request);
    let response = oauth
        .exchange_client_credentials()
        .add_scopes(credentials.scopes.iter().map(|s| Scope::new(s.to_string())))
        .request_async(&send)
        .await?;
    let lifetime = response.expires_in().unwrap_or(DEFAULT_LIFETIME);
    Ok((response.access_token().secret().clone(), lifetime))
}

/// Sends the token request `oauth2` built with the client's HTTP client.
async fn exchange(
    http: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, TokenHttpError> {
    let request =
        reqwest::Request::try_from(request).map_err(|e| TokenHttpError::Build(e.to_string()))?;
    let response = http.execute(request).await.map_err(TokenHttpError::Send)?;
    let status = response.status();
    if matches!(status.as_u16(), 400 | 401 | 403) {
        // Only the `error` code of the body is looked at: it may hold nothing secret.
        let body = body_up_to(response, MAX_TOKEN_RESPONSE_BYTES)
            .await
            .unwrap_or_default();
        let code = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| Some(v.get("error")?.as_str()? == "invalid_scope"));
        if status.as_u16() == 400 && code == Some(true) {
            return Err(TokenHttpError::ScopeRefused);
        }
        return Err(TokenHttpError::Rejected(status.as_u16()));
    }
    let headers = response.headers().clone();
    let body = body_up_to(response, MAX_TOKEN_RESPONSE_BYTES)
        .await
        .map_err(TokenHttpError::Body)?;
    let mut answer = oauth2::HttpResponse::new(body);
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    Ok(answer)
}

/// A failed token request as a client error; never quotes the response body
/// (it may hold a token) or the credentials.
fn token_error(
    error: RequestTokenError<TokenHttpError, BasicErrorResponse>,
    collection: &str,
    scopes: &[&str],
) -> ClientError {
    let message = match error {
        RequestTokenError::Request(TokenHttpError::Rejected(status)) => {
            return ClientError::CredentialsRejected {
                status,
                collection: collection.into(),
                detail: None,
            }
        }
        RequestTokenError::Request(TokenHttpError::ScopeRefused) => format!(
            "the token endpoint refused the scopes asked for ({}): the district must grant the app these OneRoster 1.2 scopes",
            scopes.join(" ")
        ),
        RequestTokenError::Request(TokenHttpError::Send(e)) => match address::refusal_in(&e) {
            Some(refused) => format!("token request refused: {refused}"),
            None => format!("token request failed: {}", e.without_url()),
        },
        RequestTokenError::Request(other) => other.to_string(),
        RequestTokenError::ServerResponse(response) => {
            format!(
                "token request failed: the token endpoint answered `{}`",
                response.error()
            )
        }
        RequestTokenError::Parse(e, _body) => {
            let inner = e.inner();
            format!(
                "token response unreadable: not a token response (at `{}`, line {}, column {})",
                e.path(),
                inner.line(),
                inner.column()
            )
        }
        RequestTokenError::Other(message) => format!("token request failed: {message}"),
    };
    ClientError::Request {
        collection: collection.into(),
        offset: 0,
        message,
    }
}
