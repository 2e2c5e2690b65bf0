//! The routes, as an axum router: served by `lambda_http` in Lambda and on a
//! local port for development (see `main.rs`).
//!
//! - `GET /sso/classlink/launch` — the LaunchPad tile: always a fresh login;
//!   a code arriving here is never exchanged.
//! - `GET /sso/classlink/start` — creates a login transaction and sends the
//!   browser to ClassLink. Takes `destination` (an allowed URL) and the
//!   teacher app's opaque `app_state`, which is bound to the ticket and
//!   returned on redeem.
//! - `GET /sso/classlink/callback` — finishes it: one transaction, one
//!   browser, one code exchange, a validated ID token, ClassLink's user info,
//!   the decision, and a one-time ticket for the teacher app.
//! - `POST /sso/tickets/redeem` — the teacher app swaps a ticket for the
//!   teacher's identity (authenticated by a shared secret).
//! - `GET /healthz`.
//!
//! Every response carries the security headers of [`pages::add_security_headers`]
//! and an `x-request-id`, which error pages show as the support reference.

use crate::callback::callback;
use crate::config::CALLBACK_PATH;
pub use crate::config::START_PATH;
use crate::login::{self, LoginTransaction};
use crate::pages::{self, classlink_page, see_other, unavailable_page, with_cookie, Page};
pub use crate::state::{App, RequestId, Shared, SsoStore};
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
use serde::Deserialize;
use std::collections::HashMap;
use subtle::ConstantTimeEq;
use url::Url;

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

/// Starts a login: a transaction stored server-side, a cookie binding it to
/// this browser, and a redirect to ClassLink.
async fn begin_login<S: SsoStore>(
    app: &App<S>,
    id: &str,
    destination: &Url,
    app_state: Option<String>,
) -> Response {
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
        app_state,
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
    begin_login(&app, &id, &app.config.teacher_app_url, None).await
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
    let app_state = match query.get("app_state") {
        None => None,
        Some(value) => match login::check_app_state(value) {
            Ok(()) => Some(value.clone()),
            Err(e) => {
                tracing::info!(request_id = id, error = %e, "start refused an app_state");
                return Page::new(
                    StatusCode::BAD_REQUEST,
                    "This sign-in link is not valid",
                    &[
                        "The app that sent you here passed a value we cannot accept, so the sign-in was not started. Open the app from your ClassLink LaunchPad instead.",
                        &format!("For the app's developers: {e}."),
                    ],
                )
                .respond(&id);
            }
        },
    };
    begin_login(&app, &id, &destination, app_state).await
}

/// The teacher app's redeem request body.
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
