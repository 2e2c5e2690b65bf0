//! sso-callback: ClassLink single sign-on for teachers.
//!
//! A teacher clicks the app on the ClassLink LaunchPad; this function runs
//! the OpenID Connect login with ClassLink (`oidc`, `login`), decides whether
//! that person may sign in (`decide`), and hands the teacher app a one-time
//! login ticket (`tickets`) that it redeems for the teacher's identity. The
//! routes are an axum router (`app`), served by `lambda_http` in Lambda and
//! on a local port for development.

pub mod app;
pub mod callback;
pub mod config;
pub mod decide;
pub mod login;
pub mod oidc;
pub mod pages;
pub mod secrets;
pub mod state;
pub mod tickets;

/// SHA-256 of `text`, as lowercase hex: what is stored in place of secrets
/// (login states, browser cookies, tickets).
pub(crate) fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
