//! The function's settings, read from the environment once at start-up.
//! Every URL is configurable so that tests and local development can point
//! at a local OpenID provider; the defaults are ClassLink's production URLs.

use cloud::env::{parsed_or, required, ConfigError};
use std::time::Duration;
use url::Url;

/// ClassLink's issuer (its discovery document lives under it).
pub const CLASSLINK_ISSUER: &str = "https://launchpad.classlink.com";
/// ClassLink's user info endpoint.
pub const CLASSLINK_USERINFO: &str = "https://nodeapi.classlink.com/v2/my/info";
/// The path of the callback route; the configured redirect URL must end with it.
pub const CALLBACK_PATH: &str = "/sso/classlink/callback";

/// The path of the start route.
/// The scopes asked of ClassLink unless `CLASSLINK_SCOPES` says otherwise: `email`
/// as well, which the fallback match by email needs.
pub const DEFAULT_SCOPES: &str = "openid profile email";

pub const START_PATH: &str = "/sso/classlink/start";

/// Settings of the sso-callback function.
#[derive(Debug, Clone)]
pub struct SsoConfig {
    /// OpenID issuer (`CLASSLINK_ISSUER`); endpoints and keys come from its discovery document.
    pub issuer: String,
    /// ClassLink's user info URL (`CLASSLINK_USERINFO_URL`).
    pub userinfo_url: Url,
    /// Our OAuth client id at ClassLink (`CLASSLINK_CLIENT_ID`).
    pub client_id: String,
    /// Secrets Manager id of the client secret (`CLASSLINK_CLIENT_SECRET_ID`).
    pub client_secret_id: String,
    /// The exact redirect URI registered at ClassLink (`SSO_REDIRECT_URL`).
    pub redirect_url: Url,
    /// Where signed-in teachers go (`TEACHER_APP_URL`), with `?ticket=`.
    pub teacher_app_url: Url,
    /// The admin portal (`ADMIN_PORTAL_URL`): linked for administrators, and
    /// their destination when a tenant enables admin SSO.
    pub admin_portal_url: Url,
    /// Further allowed post-login destinations (`SSO_ALLOWED_DESTINATIONS`,
    /// comma-separated exact URLs); the teacher app and admin portal always are.
    pub allowed_destinations: Vec<Url>,
    /// Secrets Manager id of the teacher app's redeem secret (`REDEEM_SECRET_ID`).
    pub redeem_secret_id: String,
    /// Scopes requested (`CLASSLINK_SCOPES`, space-separated; default `openid profile`).
    pub scopes: Vec<String>,
    /// Timeout of each call to ClassLink (`CLASSLINK_HTTP_TIMEOUT_SECONDS`, default 5).
    pub http_timeout: Duration,
    /// How long a login transaction waits for its callback (`SSO_LOGIN_TTL_SECONDS`, default 600).
    pub login_ttl: Duration,
    /// How long sign-in audit records are kept (`SSO_AUDIT_RETENTION_DAYS`, default 90).
    pub audit_retention_days: i64,
    /// Clock leeway for ID token times (`SSO_CLOCK_LEEWAY_SECONDS`, default 60).
    pub clock_leeway: Duration,
}

/// The variable's text (trimmed), or `default` when unset or empty.
fn text_var(name: &'static str, default: Option<&str>) -> Result<String, ConfigError> {
    match default {
        Some(d) => Ok(std::env::var(name)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| d.to_string())),
        None => required(name).map(|v| v.trim().to_string()),
    }
}

/// `value` of variable `name` as an absolute http(s) URL.
fn parse_url(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    Url::parse(value)
        .ok()
        .filter(|url| matches!(url.scheme(), "https" | "http"))
        .ok_or_else(|| ConfigError::Invalid {
            name,
            value: value.to_string(),
            expected: "an absolute http(s) URL",
        })
}

fn url_var(name: &'static str, default: Option<&str>) -> Result<Url, ConfigError> {
    parse_url(name, &text_var(name, default)?)
}

impl SsoConfig {
    /// Reads and checks the settings; the error names the variable.
    pub fn from_env() -> Result<SsoConfig, ConfigError> {
        Self::read(None)
    }

    /// The settings of a local server whose secrets are given directly
    /// (`rosterctl sso serve`): no Secrets Manager ids are read, and
    /// `SSO_REDIRECT_URL` defaults to `default_redirect`.
    pub fn from_env_local(default_redirect: &str) -> Result<SsoConfig, ConfigError> {
        Self::read(Some(default_redirect))
    }

    fn read(local: Option<&str>) -> Result<SsoConfig, ConfigError> {
        let secret_id = |name: &'static str| match local {
            Some(_) => Ok(format!("(given locally, not {name})")),
            None => required(name),
        };
        // Checked as a URL but kept as written: discovery compares it literally.
        let issuer = text_var("CLASSLINK_ISSUER", Some(CLASSLINK_ISSUER))?;
        parse_url("CLASSLINK_ISSUER", &issuer)?;
        let redirect_url = url_var("SSO_REDIRECT_URL", local)?;
        if redirect_url.path() != CALLBACK_PATH || redirect_url.query().is_some() {
            return Err(ConfigError::Invalid {
                name: "SSO_REDIRECT_URL",
                value: redirect_url.to_string(),
                expected: "https://<sso domain>/sso/classlink/callback (no query)",
            });
        }
        let mut allowed_destinations = Vec::new();
        if let Ok(list) = std::env::var("SSO_ALLOWED_DESTINATIONS") {
            for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let url = Url::parse(part).map_err(|_| ConfigError::Invalid {
                    name: "SSO_ALLOWED_DESTINATIONS",
                    value: part.to_string(),
                    expected: "comma-separated absolute URLs",
                })?;
                allowed_destinations.push(url);
            }
        }
        let scopes = std::env::var("CLASSLINK_SCOPES")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_SCOPES.into())
            .split_whitespace()
            .map(String::from)
            .collect();
        Ok(SsoConfig {
            issuer,
            userinfo_url: url_var("CLASSLINK_USERINFO_URL", Some(CLASSLINK_USERINFO))?,
            client_id: required("CLASSLINK_CLIENT_ID")?,
            client_secret_id: secret_id("CLASSLINK_CLIENT_SECRET_ID")?,
            redirect_url,
            teacher_app_url: url_var("TEACHER_APP_URL", None)?,
            admin_portal_url: url_var("ADMIN_PORTAL_URL", None)?,
            allowed_destinations,
            redeem_secret_id: secret_id("REDEEM_SECRET_ID")?,
            scopes,
            http_timeout: Duration::from_secs(parsed_or(
                "CLASSLINK_HTTP_TIMEOUT_SECONDS",
                5,
                "a whole number of seconds",
            )?),
            login_ttl: Duration::from_secs(parsed_or(
                "SSO_LOGIN_TTL_SECONDS",
                600,
                "a whole number of seconds",
            )?),
            audit_retention_days: parsed_or("SSO_AUDIT_RETENTION_DAYS", 90, "a number of days")?,
            clock_leeway: Duration::from_secs(parsed_or(
                "SSO_CLOCK_LEEWAY_SECONDS",
                60,
                "a whole number of seconds",
            )?),
        })
    }

    /// Whether `url` is an allowed post-login destination (exact match).
    pub fn is_allowed_destination(&self, url: &Url) -> bool {
        url == &self.teacher_app_url
            || url == &self.admin_portal_url
            || self.allowed_destinations.iter().any(|d| d == url)
    }
}
