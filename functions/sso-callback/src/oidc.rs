//! The OpenID Connect side: ClassLink's discovery document and keys (cached,
//! keys refreshed when a token names an unknown `kid`), the authorization
//! URL with state, nonce and PKCE S256, the code exchange (client secret in
//! the form body), ID token validation (RS256 only, `iss`, `aud`, `exp`/`iat`
//! with a small leeway, `nonce`), and ClassLink's user info.
//!
//! The HTTP client follows no redirects and has timeouts, so a slow or
//! misbehaving provider gives a clear error page rather than a hung request.

use crate::config::SsoConfig;
use crate::decide::{id_text, UserInfo};
use base64::Engine as _;
use chrono::Utc;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenVerifier, CoreJsonWebKeySet,
    CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AccessToken, AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RequestTokenError, Scope, SignatureVerificationError, TokenResponse,
};
use std::time::{Duration, Instant};
use tokio::sync::RwLock;
use url::Url;

/// How long the discovery document (and keys) are reused.
pub const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// Keys are fetched again on an unknown `kid` at most this often.
pub const JWKS_REFRESH_MIN_INTERVAL: Duration = Duration::from_secs(30);
/// An ID token issued longer ago than this is refused.
pub const ID_TOKEN_MAX_AGE: chrono::Duration = chrono::Duration::minutes(10);

/// What went wrong talking to ClassLink. Messages never contain codes or tokens.
#[derive(Debug, thiserror::Error)]
pub enum ClassLinkError {
    /// No answer (connection refused, timeout, DNS).
    #[error("ClassLink could not be reached: {0}")]
    Unreachable(String),
    /// An answer we cannot use (a 5xx, a redirect, a malformed document).
    #[error("ClassLink answered unexpectedly: {0}")]
    BadResponse(String),
    /// The token endpoint refused the code (`invalid_grant`, ...).
    #[error("ClassLink refused the authorization code: {0}")]
    Refused(String),
    /// The ID token failed validation.
    #[error("the ID token is not valid: {0}")]
    InvalidIdToken(String),
    /// Our own settings are wrong (for example the issuer is not a URL).
    #[error("sign-in is misconfigured: {0}")]
    Misconfigured(String),
    /// User info names another user or district than the verified ID token.
    /// Ids only (ClassLink UserIds and TenantIds; `-` for none).
    #[error(
        "the user info is not of the ID token's user: it names UserId {info_user}, \
         TenantId {info_tenant}; the ID token names UserId {token_user}, TenantId {token_tenant}"
    )]
    UserInfoMismatch {
        /// The ID token's `sub`.
        token_user: String,
        /// The ID token's `classLink_tenant_id`.
        token_tenant: String,
        /// User info's `UserId`.
        info_user: String,
        /// User info's `TenantId`.
        info_tenant: String,
    },
}

/// What the start of a login needs to remember (stored server-side).
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The URL to send the browser to.
    pub url: Url,
    /// `state` sent.
    pub state: String,
    /// `nonce` sent.
    pub nonce: String,
    /// The PKCE verifier whose S256 challenge was sent.
    pub pkce_verifier: String,
}

/// Whom a verified ID token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSubject {
    /// The token's `sub`: ClassLink's UserId.
    pub user_id: String,
    /// The token's `classLink_tenant_id`, when it carries one.
    pub tenant_id: Option<String>,
}

/// The longest id a refusal quotes (user info is not ours to trust).
const MAX_QUOTED_ID: usize = 64;

impl TokenSubject {
    /// Whether `info` is of this user (`UserId` is the token's `sub`) and,
    /// when the token names the district, of this district (same `TenantId`).
    fn owns(&self, info: &UserInfo) -> Result<(), ClassLinkError> {
        let (info_user, info_tenant) = (info.user(), info.tenant());
        let same_user = info_user.as_deref() == Some(self.user_id.as_str());
        let same_tenant = self.tenant_id.is_none() || info_tenant == self.tenant_id;
        if same_user && same_tenant {
            return Ok(());
        }
        let quote = |id: Option<&str>| match id {
            Some(id) => id.chars().take(MAX_QUOTED_ID).collect(),
            None => "-".to_string(),
        };
        Err(ClassLinkError::UserInfoMismatch {
            token_user: quote(Some(&self.user_id)),
            token_tenant: quote(self.tenant_id.as_deref()),
            info_user: quote(info_user.as_deref()),
            info_tenant: quote(info_tenant.as_deref()),
        })
    }
}

/// What a successful exchange proves.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// ClassLink's details of the user: its claims in the verified ID token,
    /// or else user info read with the access token.
    pub info: UserInfo,
    /// Whom the ID token names (what user info read later must match).
    pub subject: TokenSubject,
    /// The access token, to read user info later if the ID token's claims do
    /// not suffice (its `Debug` is redacted; never logged or stored).
    pub access_token: AccessToken,
}

/// ClassLink's own claims in the ID token (its discovery document lists them).
#[derive(Debug, Default, serde::Deserialize)]
struct ClassLinkClaims {
    #[serde(rename = "classLink_sourcedId", default)]
    sourced_id: Option<String>,
    #[serde(rename = "classLink_tenant_id", default)]
    tenant_id: Option<serde_json::Value>,
    #[serde(rename = "classLink_role", default)]
    role: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
}

impl ClassLinkClaims {
    /// The claims of a token whose signature and claims were verified: its
    /// payload, read again for the fields the standard claims type leaves out.
    fn of_verified(id_token: &str) -> ClassLinkClaims {
        id_token
            .split('.')
            .nth(1)
            .and_then(|payload| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(payload)
                    .ok()
            })
            .and_then(|json| serde_json::from_slice(&json).ok())
            .unwrap_or_default()
    }

    /// The user's details, when the token carries the district and the role
    /// (what the decision cannot do without).
    fn user_info(self, subject: &str) -> Option<UserInfo> {
        let tenant = self.tenant_id.filter(|t| !t.is_null())?;
        let role = self.role.filter(|r| !r.trim().is_empty())?;
        Some(UserInfo {
            user_id: Some(serde_json::Value::String(subject.to_string())),
            tenant_id: Some(tenant),
            sourced_id: self.sourced_id.filter(|s| !s.is_empty()),
            role: Some(role),
            email: self.email,
            login_id: None,
            first_name: self.given_name,
            last_name: self.family_name,
            login_id_unknown: true,
        })
    }
}

/// Whom a verified ID token names (`user_id`, its verified `sub`) and, when
/// its payload carries ClassLink's district and role claims, the user's
/// details from them, which are always of that subject. The payload is read
/// again for the claims the standard type leaves out; a payload that does
/// not decode gives no tenant and no details.
pub fn verified_subject(id_token: &str, user_id: String) -> (TokenSubject, Option<UserInfo>) {
    let claims = ClassLinkClaims::of_verified(id_token);
    let subject = TokenSubject {
        tenant_id: id_text(&claims.tenant_id),
        user_id,
    };
    let info = claims.user_info(&subject.user_id);
    (subject, info)
}

struct Discovered {
    metadata: CoreProviderMetadata,
    fetched_at: Instant,
    /// When keys were last fetched because a token named an unknown `kid`.
    keys_refreshed_at: Option<Instant>,
}

/// ClassLink as an OpenID provider, with cached discovery.
pub struct ClassLink {
    config: SsoConfig,
    http: reqwest::Client,
    discovered: RwLock<Option<Discovered>>,
}

/// What is wrong with an ID token, in words that carry none of its claim
/// values (the errors' own text quotes the audience, the issuer, the times).
fn claims_error(e: &ClaimsVerificationError) -> &'static str {
    match e {
        ClaimsVerificationError::Expired(_) => "the ID token has expired",
        ClaimsVerificationError::InvalidAudience(_) => "the ID token is for another audience",
        ClaimsVerificationError::InvalidAuthContext(_) => {
            "the ID token's authentication context is not accepted"
        }
        ClaimsVerificationError::InvalidAuthTime(_) => {
            "the ID token's authentication time is not valid"
        }
        ClaimsVerificationError::InvalidIssuer(_) => "the ID token is from another issuer",
        ClaimsVerificationError::InvalidNonce(_) => "the ID token's nonce is not this sign-in's",
        ClaimsVerificationError::InvalidSubject(_) => "the ID token's subject is not valid",
        ClaimsVerificationError::SignatureVerification(_) => {
            "the ID token's signature does not verify"
        }
        ClaimsVerificationError::Unsupported(_) => "the ID token uses something not supported",
        _ => "the ID token could not be verified",
    }
}

fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// User info from its JSON. A decoding error names where and what kind, never
/// the text: serde's message quotes the value it met (a name, an email).
fn parse_user_info(body: &[u8]) -> Result<UserInfo, ClassLinkError> {
    serde_json::from_slice(body).map_err(|e| {
        ClassLinkError::BadResponse(format!(
            "user info is not the JSON expected ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

fn http_error(e: &openidconnect::HttpClientError<reqwest::Error>) -> ClassLinkError {
    match e {
        openidconnect::HttpClientError::Reqwest(inner)
            if inner.is_timeout() || inner.is_connect() || inner.is_request() =>
        {
            ClassLinkError::Unreachable(describe(e))
        }
        _ => ClassLinkError::BadResponse(describe(e)),
    }
}

fn discovery_error(
    e: openidconnect::DiscoveryError<openidconnect::HttpClientError<reqwest::Error>>,
) -> ClassLinkError {
    match &e {
        openidconnect::DiscoveryError::Request(inner) => http_error(inner),
        _ => ClassLinkError::BadResponse(describe(&e)),
    }
}

impl ClassLink {
    /// A client for the configured issuer. Builds the HTTP client (no
    /// redirects, connect and total timeouts).
    pub fn new(config: SsoConfig) -> Result<ClassLink, ClassLinkError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.http_timeout.min(Duration::from_secs(3)))
            .timeout(config.http_timeout)
            .user_agent("sonday-roster-bridge-sso/1")
            .build()
            .map_err(|e| ClassLinkError::Misconfigured(describe(&e)))?;
        Ok(ClassLink {
            config,
            http,
            discovered: RwLock::new(None),
        })
    }

    /// The discovery document with keys: cached for [`DISCOVERY_TTL`].
    async fn metadata(&self) -> Result<CoreProviderMetadata, ClassLinkError> {
        if let Some(d) = self.discovered.read().await.as_ref() {
            if d.fetched_at.elapsed() < DISCOVERY_TTL {
                return Ok(d.metadata.clone());
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| ClassLinkError::Misconfigured(format!("CLASSLINK_ISSUER: {e}")))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(discovery_error)?;
        *self.discovered.write().await = Some(Discovered {
            metadata: metadata.clone(),
            fetched_at: Instant::now(),
            keys_refreshed_at: None,
        });
        Ok(metadata)
    }

    /// Fetches the keys again (a token named a `kid` we do not have), unless
    /// such a refresh happened moments ago (so forged `kid`s cannot make us
    /// hammer ClassLink). Returns whether the keys changed.
    async fn refresh_keys(&self) -> Result<bool, ClassLinkError> {
        let mut guard = self.discovered.write().await;
        let Some(d) = guard.as_mut() else {
            return Ok(false);
        };
        if d.keys_refreshed_at
            .is_some_and(|at| at.elapsed() < JWKS_REFRESH_MIN_INTERVAL)
        {
            return Ok(false);
        }
        let keys = CoreJsonWebKeySet::fetch_async(d.metadata.jwks_uri(), &self.http)
            .await
            .map_err(discovery_error)?;
        d.keys_refreshed_at = Some(Instant::now());
        let changed = &keys != d.metadata.jwks();
        d.metadata = d.metadata.clone().set_jwks(keys);
        Ok(changed)
    }

    fn redirect_url(&self) -> Result<RedirectUrl, ClassLinkError> {
        RedirectUrl::new(self.config.redirect_url.to_string())
            .map_err(|e| ClassLinkError::Misconfigured(format!("SSO_REDIRECT_URL: {e}")))
    }

    /// The authorization URL for a new login, with fresh state, nonce and PKCE S256.
    pub async fn authorization_request(&self) -> Result<AuthorizationRequest, ClassLinkError> {
        let metadata = self.metadata().await?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            None,
        )
        .set_redirect_uri(self.redirect_url()?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in self.config.scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(AuthorizationRequest {
            url,
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Whether an `iss` authorization response parameter (RFC 9207) names our issuer.
    pub fn issuer_matches(&self, iss: &str) -> bool {
        iss == self.config.issuer
    }

    /// Exchanges the code, validates the ID token against `nonce`, and takes
    /// the user's details from ClassLink's claims in it, or (when it carries
    /// none) from ClassLink's user info with the access token.
    pub async fn finish(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
        client_secret: &str,
    ) -> Result<SignedIn, ClassLinkError> {
        let metadata = self.metadata().await?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(client_secret.to_string())),
        )
        .set_redirect_uri(self.redirect_url()?)
        .set_auth_type(AuthType::RequestBody);
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| ClassLinkError::BadResponse(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| match &e {
                RequestTokenError::ServerResponse(r) => {
                    ClassLinkError::Refused(r.error().to_string())
                }
                RequestTokenError::Request(inner) => http_error(inner),
                // Where the response failed to parse, not the parser's words:
                // they quote the offending value (a claim of the ID token).
                RequestTokenError::Parse(parse, _) => ClassLinkError::BadResponse(format!(
                    "token endpoint: the response does not parse at `{}` ({:?} error, line {}, column {})",
                    parse.path(),
                    parse.inner().classify(),
                    parse.inner().line(),
                    parse.inner().column()
                )),
                RequestTokenError::Other(_) => {
                    ClassLinkError::BadResponse(format!("token endpoint: {}", describe(&e)))
                }
            })?;
        let id_token = token.id_token().ok_or_else(|| {
            ClassLinkError::InvalidIdToken("the token response has no ID token".into())
        })?;
        let nonce = Nonce::new(nonce.to_string());
        let mut refreshed = false;
        let user_id = loop {
            // The keys as cached now (a refresh below replaces them).
            let keys = self.metadata().await?.jwks().clone();
            match id_token.claims(&self.verifier(keys)?, &nonce) {
                Ok(claims) => break claims.subject().to_string(),
                Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                )) if !refreshed => {
                    refreshed = true;
                    if !self.refresh_keys().await? {
                        return Err(ClassLinkError::InvalidIdToken(
                            "no key matches the token's key id".into(),
                        ));
                    }
                }
                Err(e) => return Err(ClassLinkError::InvalidIdToken(claims_error(&e).into())),
            }
        };
        let access_token = token.access_token().clone();
        let (subject, info) = verified_subject(&id_token.to_string(), user_id);
        let info = match info {
            Some(info) => info,
            None => self.user_info(&access_token, &subject).await?,
        };
        Ok(SignedIn {
            info,
            subject,
            access_token,
        })
    }

    /// The ID token checks: our client id as audience, our issuer, RS256 with
    /// `keys` only, `exp` with the leeway, `iat` neither future nor stale.
    fn verifier(
        &self,
        keys: CoreJsonWebKeySet,
    ) -> Result<CoreIdTokenVerifier<'static>, ClassLinkError> {
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| ClassLinkError::Misconfigured(format!("CLASSLINK_ISSUER: {e}")))?;
        let leeway = chrono::Duration::from_std(self.config.clock_leeway)
            .unwrap_or(chrono::Duration::seconds(60));
        Ok(CoreIdTokenVerifier::new_public_client(
            ClientId::new(self.config.client_id.clone()),
            issuer,
            keys,
        )
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256])
        // `exp` may have passed by at most the leeway (clock skew).
        .set_time_fn(move || Utc::now() - leeway)
        .set_issue_time_verifier_fn(move |iat| {
            let now = Utc::now();
            if iat > now + leeway {
                Err(format!("issued in the future ({iat})"))
            } else if iat < now - ID_TOKEN_MAX_AGE - leeway {
                Err(format!("issued too long ago ({iat})"))
            } else {
                Ok(())
            }
        }))
    }

    /// ClassLink's `/v2/my/info` for an access token, refused unless it is of
    /// the user the verified ID token names (`UserId` equal to its `sub`) and,
    /// when the token names the district, of that district (same `TenantId`).
    /// The only place user info is read, so no caller can skip the check.
    pub async fn user_info(
        &self,
        access_token: &AccessToken,
        subject: &TokenSubject,
    ) -> Result<UserInfo, ClassLinkError> {
        let response = self
            .http
            .get(self.config.userinfo_url.clone())
            .bearer_auth(access_token.secret())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() || e.is_connect() || e.is_request() {
                    ClassLinkError::Unreachable(format!("user info: {}", describe(&e)))
                } else {
                    ClassLinkError::BadResponse(format!("user info: {}", describe(&e)))
                }
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(ClassLinkError::BadResponse(format!(
                "user info answered HTTP {status}"
            )));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| ClassLinkError::BadResponse(format!("user info: {}", describe(&e))))?;
        let info = parse_user_info(&body)?;
        subject.owns(&info)?;
        Ok(info)
    }
}

#[cfg(test)]
mod tests;
