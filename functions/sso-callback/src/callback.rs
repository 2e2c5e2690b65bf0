//! The OpenID Connect callback: ClassLink sends the teacher back with a code;
//! the login transaction is consumed, the code exchanged, the ID token
//! checked, and the sign-in decided. Every way a callback can end short of a
//! ticket is a [`Refusal`] with its outcome code and page, so the steps read
//! top to bottom with `?`, and every attempt is logged and audited once.

use crate::config::START_PATH;
use crate::decide::{decide, provisional_content, Decision, UserInfo};
use crate::login::{self, LoginTransaction, LOGIN_COOKIE};
use crate::oidc::{ClassLinkError, SignedIn};
use crate::pages::{
    classlink_outcome, classlink_page, incomplete_page, see_other, unavailable_page, with_cookie,
    Page,
};
use crate::secrets::SecretError;
use crate::state::{RequestId, Shared, SsoStore};
use crate::tickets;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use chrono::Utc;
use roster::{SignInAudit, StoreError};
use std::collections::HashMap;
use url::Url;

/// Why a callback ends without a ticket.
#[derive(Debug)]
pub enum Refusal {
    /// No state or no code in the callback.
    Incomplete,
    /// The login transaction is unknown: expired, or used already.
    LoginExpiredOrUsed,
    /// The browser that came back is not the one that started.
    BrowserMismatch,
    /// ClassLink ended the login with an `error` parameter.
    ProviderDenied,
    /// The authorization response names another issuer (RFC 9207).
    IssuerMismatch,
    /// The code exchange, the ID token or user info failed.
    ClassLink(ClassLinkError),
    /// Our own store or secrets failed: `what` was being read or written.
    Unavailable {
        /// What failed (for the log).
        what: &'static str,
        /// The error (for the log; never shown).
        error: String,
    },
}

impl From<ClassLinkError> for Refusal {
    fn from(e: ClassLinkError) -> Refusal {
        Refusal::ClassLink(e)
    }
}

impl From<SecretError> for Refusal {
    fn from(e: SecretError) -> Refusal {
        Refusal::Unavailable {
            what: "cannot read the ClassLink client secret",
            error: e.to_string(),
        }
    }
}

impl Refusal {
    /// The store failed while doing `what`.
    fn store(what: &'static str) -> impl FnOnce(StoreError) -> Refusal {
        move |e| Refusal::Unavailable {
            what,
            error: cloud::failure::chain(&e),
        }
    }

    /// The stable outcome code of the audit record.
    pub fn outcome(&self) -> &'static str {
        match self {
            Refusal::Incomplete => "incomplete",
            Refusal::LoginExpiredOrUsed => UNKNOWN_STATE,
            Refusal::BrowserMismatch => "browser_mismatch",
            Refusal::ProviderDenied => "provider_denied",
            Refusal::IssuerMismatch => "issuer_mismatch",
            Refusal::ClassLink(e) => classlink_outcome(e),
            Refusal::Unavailable { .. } => "unavailable",
        }
    }

    /// Logs the refusal (ids and kinds only) and returns its page.
    fn page(&self, request_id: &str) -> Page {
        match self {
            Refusal::Incomplete => incomplete_page(),
            Refusal::LoginExpiredOrUsed => Page::new(
                StatusCode::BAD_REQUEST,
                "This sign-in has expired",
                &["This sign-in link has expired or has already been used. Please start again."],
            )
            .with_start_again(),
            Refusal::BrowserMismatch => Page::new(
                StatusCode::BAD_REQUEST,
                "Please sign in again",
                &["This sign-in was started in a different browser or window, or your browser blocked our cookie. Please start again in this browser."],
            )
            .with_start_again(),
            Refusal::ProviderDenied => Page::new(
                StatusCode::FORBIDDEN,
                "ClassLink did not sign you in",
                &["ClassLink ended the sign-in without signing you in. Please start again from your ClassLink LaunchPad."],
            ),
            Refusal::IssuerMismatch => classlink_page(&ClassLinkError::InvalidIdToken(
                "authorization response from another issuer".into(),
            )),
            Refusal::ClassLink(e) => {
                tracing::warn!(request_id, error = %e, "ClassLink sign-in failed");
                classlink_page(e)
            }
            Refusal::Unavailable { what, error } => {
                tracing::error!(request_id, error = %error, "{what}");
                unavailable_page()
            }
        }
    }
}

/// The outcome of a callback whose state the store does not hold.
const UNKNOWN_STATE: &str = "login_expired_or_used";

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
                matched_by: None,
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
            matched_by = a.matched_by.as_deref().unwrap_or("-"),
            status = response.status().as_u16(),
            "sign-in attempt"
        );
        // The dashboard's sign-ins by outcome (EMF, in Lambda only: `rosterctl sso
        // serve` runs this router too, and its stdout is a person's terminal).
        if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
            cloud::metrics::emit(
                &[
                    ("Function", "sso-callback"),
                    ("Outcome", a.outcome.as_str()),
                ],
                &[cloud::metrics::Metric::count("SignIns", 1)],
                &[],
            );
        }
        // A state the store does not hold (never issued, used or expired) is
        // logged and counted, never stored: anyone can send random states,
        // and each would otherwise be a 90-day record in the audit table.
        if outcome != UNKNOWN_STATE {
            if let Err(e) = store.put_sign_in_audit(a).await {
                tracing::error!(request_id = a.request_id, error = %e, "cannot store the sign-in audit record");
            }
        }
        with_cookie(response, &login::clear_cookie())
    }
}

/// The callback route.
pub async fn callback<S: SsoStore>(
    State(app): State<Shared<S>>,
    Extension(RequestId(id)): Extension<RequestId>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let params = CallbackQuery::read(&query);
    if params.unsolicited() {
        // ClassLink-initiated: a code without our state is never exchanged.
        tracing::info!(
            request_id = id,
            "callback without state; starting a fresh login"
        );
        return see_other(START_PATH);
    }
    let mut attempt = Attempt::new(&id, app.config.audit_retention_days);
    let (outcome, response) = match sign_in(&app, &id, &params, &headers, &mut attempt).await {
        Ok(done) => done,
        Err(refusal) => (refusal.outcome(), refusal.page(&id).respond(&id)),
    };
    attempt.finish(&app.store, outcome, response).await
}

/// Issues the ticket and sends the browser on: administrators to the admin
/// portal, teachers to where the login started (when allowed) or the teacher app.
async fn ticket_redirect<S: SsoStore>(
    app: &Shared<S>,
    transaction: &LoginTransaction,
    tenant: &str,
    sourced_id: &str,
    role: &str,
) -> Result<Response, Refusal> {
    let mut destination = if role == "administrator" {
        app.config.admin_portal_url.clone()
    } else {
        Url::parse(&transaction.destination)
            .ok()
            .filter(|d| app.config.is_allowed_destination(d))
            .unwrap_or_else(|| app.config.teacher_app_url.clone())
    };
    let ticket = tickets::issue(
        &app.store,
        tenant,
        sourced_id,
        transaction.app_state.as_deref(),
        Utc::now(),
    )
    .await
    .map_err(Refusal::store("cannot issue a login ticket"))?;
    destination.query_pairs_mut().append_pair("ticket", &ticket);
    Ok(see_other(destination.as_str()))
}

/// The parameters of a callback's query that the sign-in reads, each when
/// present and not empty (an empty value is no value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallbackQuery<'q> {
    /// Our login transaction's state.
    pub state: Option<&'q str>,
    /// The authorization code.
    pub code: Option<&'q str>,
    /// ClassLink's error, when it ended the login without signing in.
    pub error: Option<&'q str>,
    /// The issuer of the authorization response (RFC 9207).
    pub iss: Option<&'q str>,
}

impl<'q> CallbackQuery<'q> {
    /// The parameters of `query`, as axum's `Query` decodes it.
    pub fn read(query: &'q HashMap<String, String>) -> CallbackQuery<'q> {
        let param = |name: &str| {
            query
                .get(name)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        CallbackQuery {
            state: param("state"),
            code: param("code"),
            error: param("error"),
            iss: param("iss"),
        }
    }

    /// A code without our state (a ClassLink-initiated login): never
    /// exchanged; a fresh login starts instead.
    pub fn unsolicited(&self) -> bool {
        self.state.is_none() && self.code.is_some()
    }

    /// ClassLink's error as it may be logged: its ASCII letters, digits and
    /// `_`, at most 64 (the value is the browser's to set).
    pub fn logged_error(&self) -> Option<String> {
        self.error.map(|error| {
            error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect()
        })
    }
}

/// The callback's steps, in order; the first refusal ends it.
async fn sign_in<S: SsoStore>(
    app: &Shared<S>,
    id: &str,
    params: &CallbackQuery<'_>,
    headers: &HeaderMap,
    attempt: &mut Attempt,
) -> Result<(&'static str, Response), Refusal> {
    let transaction = returning_transaction(app, id, params, headers).await?;
    let code = params.code.ok_or(Refusal::Incomplete)?;
    let secret = app.client_secret.value().await?;
    let signed_in = app
        .classlink
        .finish(
            code,
            &transaction.pkce_verifier,
            &transaction.nonce,
            &secret,
        )
        .await?;
    attempt.audit.classlink_tenant_id = signed_in.info.tenant();
    attempt.audit.classlink_user_id = signed_in.info.user();
    let (decision, info) = decide_signed_in(app, signed_in, attempt).await?;
    let decision = provision(app, id, &info, decision).await?;
    attempt.audit.tenant = decision.tenant().map(String::from);
    let outcome = decision.outcome();
    let response = respond(app, id, &transaction, &decision, attempt).await?;
    Ok((outcome, response))
}

/// The login transaction the browser returns with (its `state`), checked:
/// this browser's, not an error from ClassLink, and from ClassLink's issuer.
async fn returning_transaction<S: SsoStore>(
    app: &Shared<S>,
    id: &str,
    params: &CallbackQuery<'_>,
    headers: &HeaderMap,
) -> Result<LoginTransaction, Refusal> {
    let state = params.state.ok_or(Refusal::Incomplete)?;
    let transaction: LoginTransaction = login::consume(&app.store, state, Utc::now())
        .await
        .map_err(Refusal::store("cannot read the login transaction"))?
        .ok_or(Refusal::LoginExpiredOrUsed)?;
    if !login::browser_matches(
        &transaction,
        login::cookie(headers, LOGIN_COOKIE).as_deref(),
    ) {
        return Err(Refusal::BrowserMismatch);
    }
    if let Some(error) = params.logged_error() {
        tracing::info!(request_id = id, provider_error = %error, "ClassLink returned an error");
        return Err(Refusal::ProviderDenied);
    }
    if params
        .iss
        .is_some_and(|iss| !app.classlink.issuer_matches(iss))
    {
        return Err(Refusal::IssuerMismatch);
    }
    Ok(transaction)
}

/// The decision on a signed-in user, and the user's information it was
/// made on (ClassLink's user info, read when the ID token lacks a LoginId
/// the roster needs).
async fn decide_signed_in<S: SsoStore>(
    app: &Shared<S>,
    signed_in: SignedIn,
    attempt: &mut Attempt,
) -> Result<(Decision, UserInfo), Refusal> {
    let store = &app.store;
    let mut info = signed_in.info;
    let mut decision = decide(store, &info)
        .await
        .map_err(Refusal::store("cannot read the roster"))?;
    if matches!(
        decision,
        Decision::NotInRoster {
            needs_login_id: true,
            ..
        }
    ) {
        // The ID token has no LoginId: ClassLink's user info does, for the
        // match by username, and before any provisional record (the roster
        // may know them by username). Read only on such a miss; `user_info`
        // refuses the info of another user or district than the token's.
        attempt.audit.tenant = decision.tenant().map(String::from);
        info = app
            .classlink
            .user_info(&signed_in.access_token, &signed_in.subject)
            .await?;
        decision = decide(store, &info)
            .await
            .map_err(Refusal::store("cannot read the roster"))?;
    }
    Ok((decision, info))
}

/// A decision to provision: the provisional teacher stored, or (made
/// meanwhile) the decision made again on what is stored now. Any other
/// decision stands.
async fn provision<S: SsoStore>(
    app: &Shared<S>,
    id: &str,
    info: &UserInfo,
    decision: Decision,
) -> Result<Decision, Refusal> {
    let Decision::Provision { tenant, sourced_id } = &decision else {
        return Ok(decision);
    };
    let store = &app.store;
    let content = provisional_content(sourced_id, info);
    let created = store
        .provision_user(
            tenant,
            sourced_id,
            &content,
            Utc::now(),
            &format!("sso:{id}"),
        )
        .await
        .map_err(Refusal::store("cannot store the provisional teacher"))?;
    if created {
        tracing::info!(request_id = id, tenant = %tenant, sourced_id = %sourced_id, "provisional teacher created");
        return Ok(decision);
    }
    // Someone made the record meanwhile (the same teacher signing in
    // twice, or a sync): decide again on what is stored now.
    decide(store, info)
        .await
        .map_err(Refusal::store("cannot read the roster"))
}

/// Where a decision sends the browser: a ticket and on, for a sign-in;
/// else a page that says why not.
async fn respond<S: SsoStore>(
    app: &Shared<S>,
    id: &str,
    transaction: &LoginTransaction,
    decision: &Decision,
    attempt: &mut Attempt,
) -> Result<Response, Refusal> {
    Ok(match decision {
        Decision::SignIn {
            tenant,
            sourced_id,
            role,
            matched_by,
            ..
        } => {
            attempt.audit.sourced_id = Some(sourced_id.clone());
            attempt.audit.matched_by = Some(matched_by.as_str().to_string());
            ticket_redirect(app, transaction, tenant, sourced_id, role).await?
        }
        Decision::Provision { tenant, sourced_id } => {
            attempt.audit.sourced_id = Some(sourced_id.clone());
            ticket_redirect(app, transaction, tenant, sourced_id, "teacher").await?
        }
        Decision::NotSetUp => Page::new(
            StatusCode::FORBIDDEN,
            "Your district is not set up for sign-in yet",
            &["Your school district has not been set up to sign in to Sonday System Digital through ClassLink. Please ask your district's ClassLink administrator or your Customer Success Manager."],
        )
        .respond(id),
        Decision::Misconfigured { tenants } => misconfigured_page(id, tenants, attempt),
        Decision::Student { .. } => Page::new(
            StatusCode::FORBIDDEN,
            "Students do not sign in here",
            &["Sonday System Digital is used by teachers; students do not sign in to it. If you are a teacher, ask your district to check your role in ClassLink."],
        )
        .respond(id),
        Decision::Parent { .. } => Page::new(
            StatusCode::FORBIDDEN,
            "Parents do not sign in here",
            &["Sonday System Digital is used by teachers; parents and guardians do not sign in to it through ClassLink."],
        )
        .respond(id),
        Decision::AdminPortal { .. } => Page::new(
            StatusCode::FORBIDDEN,
            "Administrators use the admin portal",
            &["District administrators sign in through the admin portal, not through the ClassLink LaunchPad."],
        )
        .with_link(app.config.admin_portal_url.as_str(), "Go to the admin portal")
        .respond(id),
        Decision::NotInRoster { .. } => Page::new(
            StatusCode::FORBIDDEN,
            "We have not received your roster yet",
            &["We could not find you as an active teacher in your district's roster. Rosters arrive from your district's student information system through ClassLink; if you were added recently, please try again after the next roster sync, or ask your district to check your record."],
        )
        .respond(id),
    })
}

/// The page of a ClassLink TenantId that more than one tenant claims (logged
/// as an error: support must give it to one of them).
fn misconfigured_page(id: &str, tenants: &[String], attempt: &Attempt) -> Response {
    tracing::error!(
        request_id = id,
        classlink_tenant_id = attempt.audit.classlink_tenant_id.as_deref().unwrap_or("-"),
        tenants = tenants.join(","),
        "sign-in refused: more than one tenant claims this ClassLink TenantId; \
         run `rosterctl tenants list` and give the id to one of them"
    );
    Page::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sign-in is not set up correctly for your district",
        &["Your district's sign-in settings need attention from our support team, so we cannot sign you in right now. We have been alerted; please try again later or contact your Customer Success Manager, quoting the reference below."],
    )
    .respond(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_query_is_read_without_empty_values() {
        let query: HashMap<String, String> =
            [("state", ""), ("code", "c1"), ("error", "x y\u{1b}z")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let params = CallbackQuery::read(&query);
        assert_eq!(
            (params.state, params.code, params.iss),
            (None, Some("c1"), None)
        );
        assert!(params.unsolicited(), "a code without a state");
        assert_eq!(params.logged_error().as_deref(), Some("xyz"));
    }
}
