//! What people see when sign-in cannot continue: plain, accessible HTML
//! pages with a support reference (the request id) and never a stack trace,
//! token or code. Also the security headers every response carries.

use crate::config::START_PATH;
use crate::oidc::ClassLinkError;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
// One HTML escaper for every page the project writes.
use present::report_page::escape;

/// The only style on our pages; the CSP allows exactly this block by hash.
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}h1{font-size:1.5rem}a{color:#0b5394}.ref{color:#555;font-size:.9rem}";

fn style_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE.as_bytes()))
    })
}

/// The Content-Security-Policy of every response: nothing loads, nothing
/// frames us, no forms post anywhere; only our one style block applies.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src 'sha256-{}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        style_hash()
    )
}

/// Adds the security headers every response carries.
pub fn add_security_headers(headers: &mut HeaderMap) {
    let fixed = [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
}

/// A page explaining why sign-in stopped.
#[derive(Debug, Clone)]
pub struct Page {
    /// HTTP status.
    pub status: StatusCode,
    /// Heading (also the title).
    pub title: &'static str,
    /// Explanation paragraphs (plain text).
    pub paragraphs: Vec<String>,
    /// An optional link: (href, label).
    pub link: Option<(String, &'static str)>,
}

impl Page {
    /// A page with a heading and paragraphs.
    pub fn new(status: StatusCode, title: &'static str, paragraphs: &[&str]) -> Page {
        Page {
            status,
            title,
            paragraphs: paragraphs.iter().map(|p| p.to_string()).collect(),
            link: None,
        }
    }

    /// Adds a link.
    pub fn with_link(mut self, href: impl Into<String>, label: &'static str) -> Page {
        self.link = Some((href.into(), label));
        self
    }

    /// The HTML, with the support reference.
    pub fn html(&self, request_id: &str) -> String {
        let mut body = String::new();
        for p in &self.paragraphs {
            body.push_str(&format!("<p>{}</p>\n", escape(p)));
        }
        if let Some((href, label)) = &self.link {
            body.push_str(&format!(
                "<p><a href=\"{}\">{}</a></p>\n",
                escape(href),
                escape(label)
            ));
        }
        format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title} | Sonday System Digital</title>\n<style>{STYLE}</style>\n</head>\n\
             <body>\n<main>\n<h1>{title}</h1>\n{body}\
             <p class=\"ref\">If you contact support, please quote this reference: \
             <strong>{reference}</strong></p>\n</main>\n</body>\n</html>\n",
            title = escape(self.title),
            reference = escape(request_id),
        )
    }

    /// The response for this page.
    pub fn respond(&self, request_id: &str) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            self.html(request_id),
        )
            .into_response()
    }
}

/// A 303 redirect to `location`.
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The response with a `Set-Cookie` header added.
pub fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

impl Page {
    /// Adds the link that starts a fresh login.
    pub fn with_start_again(self) -> Page {
        self.with_link(START_PATH, "Sign in again")
    }
}

/// A callback without its parameters.
pub fn incomplete_page() -> Page {
    Page::new(
        StatusCode::BAD_REQUEST,
        "This sign-in link is incomplete",
        &["Open the app from your ClassLink LaunchPad to sign in."],
    )
}

/// Our side failed (store, secrets).
pub fn unavailable_page() -> Page {
    Page::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sign-in is temporarily unavailable",
        &["We could not complete your sign-in because of a problem on our side. Please try again in a few minutes."],
    )
}

/// ClassLink failed or refused.
pub fn classlink_page(error: &ClassLinkError) -> Page {
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
        ClassLinkError::InvalidIdToken(_) | ClassLinkError::UserInfoMismatch { .. } => Page::new(
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

/// The audit outcome code of a ClassLink failure.
pub fn classlink_outcome(error: &ClassLinkError) -> &'static str {
    match error {
        ClassLinkError::Unreachable(_) => "provider_unreachable",
        ClassLinkError::BadResponse(_) => "provider_error",
        ClassLinkError::Refused(_) => "code_refused",
        ClassLinkError::InvalidIdToken(_) | ClassLinkError::UserInfoMismatch { .. } => {
            "invalid_token"
        }
        ClassLinkError::Misconfigured(_) => "misconfigured",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_text_and_carry_the_reference() {
        let page = Page::new(StatusCode::FORBIDDEN, "Not here", &["a <b> & \"c\""])
            .with_link("https://x.example/?a=1&b=2", "Go");
        let html = page.html("req-<1>");
        assert!(html.contains("a &lt;b&gt; &amp; &quot;c&quot;"));
        assert!(html.contains("href=\"https://x.example/?a=1&amp;b=2\""));
        assert!(html.contains("req-&lt;1&gt;"));
        assert!(html.contains("<html lang=\"en\">"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn the_csp_allows_exactly_our_style_block() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"));
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
        assert!(csp.contains(&expected));
        let mut headers = HeaderMap::new();
        add_security_headers(&mut headers);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
        assert!(headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
    }
}
