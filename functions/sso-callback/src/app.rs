//! The routes, as an axum router: served by `lambda_http` in Lambda and on a
//! local port for development (see `main.rs`).
//!
//! - `GET /sso/classlink/launch` — the LaunchPad tile: always a fresh login;
//!   a code arriving here is never exchanged.
//! - `GET /sso/classlink/start` — creates a login transaction and sends the
//!   browser to ClassLink.
//! - `GET /sso/classlink/callback` — finishes it: one transaction, one
//!   browser, one code exchange, a validated ID token, ClassLink's user info,
//!   the decision, and a one-time ticket for the teacher app.
//! - `POST /sso/tickets/redeem` — the teacher app swaps a ticket for the
//!   teacher's identity (authenticated by a shared secret).
//! - `GET /healthz`.
//!
//! Every response carries the security headers of [`pages::add_security_headers`]
//! and an `x-request-id`, which error pages show as the support reference.

use crate::config::{SsoConfig, CALLBACK_PATH};
use crate::decide::{decide, Decision};
use crate::login::{self, LoginTransaction, LOGIN_COOKIE};
use crate::oidc::{ClassLink, ClassLinkError};
use crate::pages::{self, Page};
use crate::secrets::CachedSecret;
use crate::{sha256_hex, tickets};
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::Utc;
use rand::RngCore;
use roster::{OneTimeRecords, Records, SignInAudit, SignInAudits, Tenants};

/// What the SSO function needs of the roster store: tenants and records to
/// find the teacher, one-time records for logins and tickets, and the audit
/// trail. No runs, leases, claims or writes of roster data.
pub trait SsoStore: Tenants + Records + OneTimeRecords + SignInAudits + 'static {}

impl<T: Tenants + Records + OneTimeRecords + SignInAudits + 'static> SsoStore for T {}
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use url::Url;

/// The path of the start route.
pub const START_PATH: &str = "/sso/classlink/start";

/// Everything the routes need.
pub struct App<S> {
    /// The roster store (tenants, users, login transactions, tickets, audit).
    pub store: S,
    /// Settings.
    pub config: SsoConfig,
    /// ClassLink as an OpenID provider.
    pub classlink: ClassLink,
    /// Our client secret at ClassLink.
    pub client_secret: CachedSecret,
    /// The teacher app's secret for redeeming tickets.
    pub redeem_secret: CachedSecret,
}

/// The request id: the Lambda request id, or a random one locally.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

type Shared<S> = Arc<App<S>>;

/// The router with every route and the response envelope.
pub fn router<S: SsoStore>(app: Shared<S>) -> Router {
    Router::new()
        .route("/sso/classlink/launch", get(launch::<S>))
        .route(START_PATH, get(start::<S>))
        .route(CALLBACK_PATH, get(callback::<S>))
        .route("/sso/tickets/redeem", post(redeem::<S>))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .layer(middleware::from_fn(envelope))
        .with_state(app)
}

fn random_id() -> String {
    let mut bytes = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Gives every request an id and every response the security headers.
async fn envelope(mut request: Request, next: Next) -> Response {
    let id = request
        .extensions()
        .get::<lambda_http::Context>()
        .map(|c| c.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(random_id);
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    pages::add_security_headers(headers);
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert("x-request-id", value);
    }
    response
}

async fn healthz() -> Response {
    Json(serde_json::json!({"status": "ok"})).into_response()
}

async fn not_found(Extension(RequestId(id)): Extension<RequestId>) -> Response {
    Page::new(
        StatusCode::NOT_FOUND,
        "Page not found",
        &["There is nothing at this address. To sign in, open the app from your ClassLink LaunchPad."],
    )
    .respond(&id)
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

impl Page {
    /// Adds the link that starts a fresh login.
    fn with_start_again(self) -> Page {
        self.with_link(START_PATH, "Sign in again")
    }
}

fn incomplete_page() -> Page {
    Page::new(
        StatusCode::BAD_REQUEST,
        "This sign-in link is incomplete",
        &["Open the app from your ClassLink LaunchPad to sign in."],
    )
}

fn unavailable_page() -> Page {
    Page::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sign-in is temporarily unavailable",
        &["We could not complete your sign-in because of a problem on our side. Please try again in a few minutes."],
    )
}

fn classlink_page(error: &ClassLinkError) -> Page {
    match error {
        ClassLinkError::Unreachable(_) | ClassLinkError::BadResponse(_) => Page::new(
            StatusCode::BAD_GATEWAY,
            "ClassLink is not responding",
            &["We could not reach ClassLink to complete your sign-in. Please try again in a few minutes."],
        ),
        ClassLinkError::Refused(_) => Page::new(
            StatusCode::BAD_REQUEST,
            "This sign-in has expired",
            &["ClassLink did not accept this sign-in, usually because it took too long or the page was reloaded. Please start again."],
        )
        .with_start_again(),
        ClassLinkError::InvalidIdToken(_) => Page::new(
            StatusCode::UNAUTHORIZED,
            "We could not verify your sign-in",
            &["The sign-in information from ClassLink could not be verified, so you have not been signed in. Please start again from your ClassLink LaunchPad."],
        ),
        ClassLinkError::Misconfigured(_) => Page::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in is not available",
            &["Sign-in with ClassLink is not configured correctly on our side. Please contact support."],
        ),
    }
}

fn classlink_outcome(error: &ClassLinkError) -> &'static str {
    match error {
        ClassLinkError::Unreachable(_) => "provider_unreachable",
        ClassLinkError::BadResponse(_) => "provider_error",
        ClassLinkError::Refused(_) => "code_refused",
        ClassLinkError::InvalidIdToken(_) => "invalid_token",
        ClassLinkError::Misconfigured(_) => "misconfigured",
    }
}

/// Starts a login: a transaction stored server-side, a cookie binding it to
/// this browser, and a redirect to ClassLink.
async fn begin_login<S: SsoStore>(app: &App<S>, id: &str, destination: &Url) -> Response {
    let request = match app.classlink.authorization_request().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(request_id = id, error = %e, "cannot start a ClassLink login");
            return classlink_page(&e).respond(id);
        }
    };
    let (cookie, binding) = login::new_browser_binding();
    let transaction = LoginTransaction {
        nonce: request.nonce,
        pkce_verifier: request.pkce_verifier,
        browser_binding: binding,
        destination: destination.to_string(),
        started_at: Utc::now(),
    };
    if let Err(e) = login::remember(
        &app.store,
        &request.state,
        &transaction,
        app.config.login_ttl,
    )
    .await
    {
        tracing::error!(request_id = id, error = %e, "cannot store the login transaction");
        return unavailable_page().respond(id);
    }
    with_cookie(
        see_other(request.url.as_str()),
        &login::set_cookie(&cookie, app.config.login_ttl),
    )
}

async fn launch<S: SsoStore>(
    State(app): State<Shared<S>>,
    Extension(RequestId(id)): Extension<RequestId>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if query.contains_key("code") {
        // A code we did not ask for is never exchanged: start afresh.
        tracing::info!(
            request_id = id,
            "launch carried an unsolicited code; starting a fresh login"
        );
    }
    begin_login(&app, &id, &app.config.teacher_app_url).await
}

async fn start<S: SsoStore>(
    State(app): State<Shared<S>>,
    Extension(RequestId(id)): Extension<RequestId>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let destination = match query.get("destination") {
        None => app.config.teacher_app_url.clone(),
        Some(text) => match Url::parse(text) {
            Ok(url) if app.config.is_allowed_destination(&url) => url,
            _ => {
                return Page::new(
                    StatusCode::BAD_REQUEST,
                    "That destination is not allowed",
                    &["This sign-in link asks to send you somewhere we do not send people after sign-in. Open the app from your ClassLink LaunchPad instead."],
                )
                .respond(&id)
            }
        },
    };
    begin_login(&app, &id, &destination).await
}

/// One sign-in attempt's audit record, filled in as the callback proceeds.
struct Attempt {
    audit: SignInAudit,
}

impl Attempt {
    fn new(id: &str, retention_days: i64) -> Attempt {
        let now = Utc::now();
        Attempt {
            audit: SignInAudit {
                at: now,
                request_id: id.to_string(),
                tenant: None,
                classlink_tenant_id: None,
                classlink_user_id: None,
                sourced_id: None,
                outcome: String::new(),
                expires_at: now + chrono::Duration::days(retention_days.max(1)),
            },
        }
    }

    /// Logs and stores the attempt; returns the response with the login cookie cleared.
    async fn finish<S: SsoStore>(
        mut self,
        store: &S,
        outcome: &str,
        response: Response,
    ) -> Response {
        self.audit.outcome = outcome.to_string();
        self.audit.at = Utc::now();
        let a = &self.audit;
        tracing::info!(
            request_id = a.request_id,
            outcome = a.outcome,
            tenant = a.tenant.as_deref().unwrap_or("-"),
            classlink_tenant_id = a.classlink_tenant_id.as_deref().unwrap_or("-"),
            classlink_user_id = a.classlink_user_id.as_deref().unwrap_or("-"),
            status = response.status().as_u16(),
            "sign-in attempt"
        );
        if let Err(e) = store.put_sign_in_audit(a).await {
            tracing::error!(request_id = a.request_id, error = %e, "cannot store the sign-in audit record");
        }
        with_cookie(response, &login::clear_cookie())
    }
}

async fn callback<S: SsoStore>(
    State(app): State<Shared<S>>,
    Extension(RequestId(id)): Extension<RequestId>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let param = |name: &str| {
        query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let mut attempt = Attempt::new(&id, app.config.audit_retention_days);
    let store = &app.store;
    let Some(state) = param("state") else {
        if param("code").is_some() {
            // ClassLink-initiated: a code without our state is never exchanged.
            tracing::info!(
                request_id = id,
                "callback without state; starting a fresh login"
            );
            return see_other(START_PATH);
        }
        return attempt
            .finish(store, "incomplete", incomplete_page().respond(&id))
            .await;
    };
    let transaction = match login::consume(store, state, Utc::now()).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            let page = Page::new(
                StatusCode::BAD_REQUEST,
                "This sign-in has expired",
                &["This sign-in link has expired or has already been used. Please start again."],
            )
            .with_start_again();
            return attempt
                .finish(store, "login_expired_or_used", page.respond(&id))
                .await;
        }
        Err(e) => {
            tracing::error!(request_id = id, error = %e, "cannot read the login transaction");
            return attempt
                .finish(store, "unavailable", unavailable_page().respond(&id))
                .await;
        }
    };
    if !login::browser_matches(
        &transaction,
        login::cookie(&headers, LOGIN_COOKIE).as_deref(),
    ) {
        let page = Page::new(
            StatusCode::BAD_REQUEST,
            "Please sign in again",
            &["This sign-in was started in a different browser or window, or your browser blocked our cookie. Please start again in this browser."],
        )
        .with_start_again();
        return attempt
            .finish(store, "browser_mismatch", page.respond(&id))
            .await;
    }
    if let Some(error) = param("error") {
        tracing::info!(request_id = id, provider_error = %error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect::<String>(), "ClassLink returned an error");
        let page = Page::new(
            StatusCode::FORBIDDEN,
            "ClassLink did not sign you in",
            &["ClassLink ended the sign-in without signing you in. Please start again from your ClassLink LaunchPad."],
        );
        return attempt
            .finish(store, "provider_denied", page.respond(&id))
            .await;
    }
    if let Some(iss) = param("iss") {
        if !app.classlink.issuer_matches(iss) {
            let page = classlink_page(&ClassLinkError::InvalidIdToken(
                "authorization response from another issuer".into(),
            ));
            return attempt
                .finish(store, "issuer_mismatch", page.respond(&id))
                .await;
        }
    }
    let Some(code) = param("code") else {
        return attempt
            .finish(store, "incomplete", incomplete_page().respond(&id))
            .await;
    };
    let secret = match app.client_secret.value().await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(request_id = id, error = %e, "cannot read the ClassLink client secret");
            return attempt
                .finish(store, "unavailable", unavailable_page().respond(&id))
                .await;
        }
    };
    let signed_in = match app
        .classlink
        .finish(
            code,
            &transaction.pkce_verifier,
            &transaction.nonce,
            &secret,
        )
        .await
    {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(request_id = id, error = %e, "ClassLink sign-in failed");
            let outcome = classlink_outcome(&e);
            return attempt
                .finish(store, outcome, classlink_page(&e).respond(&id))
                .await;
        }
    };
    attempt.audit.classlink_tenant_id = signed_in.info.tenant();
    attempt.audit.classlink_user_id = signed_in.info.user();
    let decision = match decide(store, &signed_in.info).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(request_id = id, error = %e, "cannot read the roster");
            return attempt
                .finish(store, "unavailable", unavailable_page().respond(&id))
                .await;
        }
    };
    attempt.audit.tenant = decision.tenant().map(String::from);
    let outcome = decision.outcome();
    let response = match &decision {
        Decision::SignIn {
            tenant,
            sourced_id,
            role,
        } => {
            attempt.audit.sourced_id = Some(sourced_id.clone());
            let destination = if role == "administrator" {
                app.config.admin_portal_url.clone()
            } else {
                Url::parse(&transaction.destination)
                    .ok()
                    .filter(|d| app.config.is_allowed_destination(d))
                    .unwrap_or_else(|| app.config.teacher_app_url.clone())
            };
            match tickets::issue(store, tenant, sourced_id, Utc::now()).await {
                Ok(ticket) => {
                    let mut url = destination;
                    url.query_pairs_mut().append_pair("ticket", &ticket);
                    see_other(url.as_str())
                }
                Err(e) => {
                    tracing::error!(request_id = id, error = %e, "cannot issue a login ticket");
                    return attempt
                        .finish(store, "unavailable", unavailable_page().respond(&id))
                        .await;
                }
            }
        }
        Decision::NotSetUp => Page::new(
            StatusCode::FORBIDDEN,
            "Your district is not set up for sign-in yet",
            &["Your school district has not been set up to sign in to Sonday System Digital through ClassLink. Please ask your district's ClassLink administrator or your Customer Success Manager."],
        )
        .respond(&id),
        Decision::Student { .. } => Page::new(
            StatusCode::FORBIDDEN,
            "Students do not sign in here",
            &["Sonday System Digital is used by teachers; students do not sign in to it. If you are a teacher, ask your district to check your role in ClassLink."],
        )
        .respond(&id),
        Decision::AdminPortal { .. } => Page::new(
            StatusCode::FORBIDDEN,
            "Administrators use the admin portal",
            &["District administrators sign in through the admin portal, not through the ClassLink LaunchPad."],
        )
        .with_link(app.config.admin_portal_url.as_str(), "Go to the admin portal")
        .respond(&id),
        Decision::NotInRoster { .. } => Page::new(
            StatusCode::FORBIDDEN,
            "We have not received your roster yet",
            &["We could not find you as an active teacher in your district's roster. Rosters arrive from your district's student information system through ClassLink; if you were added recently, please try again after the next roster sync, or ask your district to check your record."],
        )
        .respond(&id),
    };
    attempt.finish(store, outcome, response).await
}

#[derive(Deserialize)]
struct RedeemRequest {
    ticket: String,
}

fn json_error(status: StatusCode, error: &str, message: &str, id: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": error, "message": message, "request_id": id})),
    )
        .into_response()
}

/// Whether the presented secret equals the expected one (constant time:
/// equal-length digests are compared, so neither content nor length leaks).
fn secret_matches(presented: &str, expected: &str) -> bool {
    let a = sha256_hex(presented);
    let b = sha256_hex(expected);
    !presented.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

async fn redeem<S: SsoStore>(
    State(app): State<Shared<S>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expected = match app.redeem_secret.value().await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(request_id = id, error = %e, "cannot read the redeem secret");
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "try again shortly",
                &id,
            );
        }
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !secret_matches(presented.trim(), &expected) {
        let mut response = json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid `Authorization: Bearer <redeem secret>` header is required",
            &id,
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let Ok(request) = serde_json::from_slice::<RedeemRequest>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "expected a JSON body {\"ticket\": \"...\"}",
            &id,
        );
    };
    match tickets::redeem(&app.store, request.ticket.trim(), Utc::now()).await {
        Ok(Some(identity)) => {
            tracing::info!(
                request_id = id,
                tenant = identity.tenant,
                sourced_id = identity.sourced_id,
                "ticket redeemed"
            );
            Json(identity).into_response()
        }
        Ok(None) => json_error(
            StatusCode::NOT_FOUND,
            "invalid_ticket",
            "the ticket is unknown, expired or already used",
            &id,
        ),
        Err(e) => {
            tracing::error!(request_id = id, error = %e, "cannot redeem a ticket");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "try again shortly",
                &id,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_equal_only_when_equal() {
        assert!(secret_matches("s3cret", "s3cret"));
        assert!(!secret_matches("s3cret", "s3cres"));
        assert!(!secret_matches("", ""));
        assert!(!secret_matches("s3cret-longer", "s3cret"));
    }
}
