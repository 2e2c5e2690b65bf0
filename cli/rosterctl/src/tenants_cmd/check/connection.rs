//! The tenant itself, its SFTP user, its OneRoster API.

use super::{Facts, Line, Status};

/// What was found of the district's Transfer Family user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SftpFinding {
    /// No server id was given: not looked up.
    NotChecked,
    /// The server has no user named after the tenant.
    Missing,
    /// The user exists; `problems` lists what is wrong with it (none: ready).
    Found {
        /// Settings that differ from what the district needs.
        problems: Vec<String>,
    },
    /// Transfer Family could not be asked.
    Error(String),
}

/// What was found of the district's OneRoster API connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiFinding {
    /// The tenant has no API settings.
    NoSettings,
    /// The credentials secret does not exist or cannot be read.
    NoCredentials(String),
    /// A test request (one org) failed.
    RequestFailed(String),
    /// A test request succeeded.
    Answered {
        /// The API URL.
        url: String,
        /// The OneRoster version that answered (the tenant's).
        version: oneroster::OneRosterVersion,
    },
    /// The tenant's version's path is not served, the other version's is.
    OtherVersion {
        /// The base URL that answered.
        url: String,
        /// The version that answered.
        answers: oneroster::OneRosterVersion,
        /// The version the tenant is set to.
        configured: oneroster::OneRosterVersion,
    },
}

/// Whether the tenant is enabled.
pub(super) fn tenant_line(f: &Facts) -> Line {
    let t = &f.config.tenant;
    if f.config.enabled {
        Line::new(
            "tenant",
            Status::Ok,
            format!("{t} ({}) is enabled", f.config.display_name),
        )
    } else {
        Line::new(
            "tenant",
            Status::Fail,
            format!("{t} is disabled: no delivery is synced"),
        )
        .then(format!(
            "re-enable it: rosterctl tenants update {t} --enabled true"
        ))
    }
}

/// The district's SFTP user, as found.
pub(super) fn sftp_line(t: &str, sftp: &SftpFinding) -> Line {
    match sftp {
        SftpFinding::NotChecked => Line::new(
            "sftp user",
            Status::Warn,
            "not checked: no Transfer Family server id",
        )
        .then("pass --sftp-server-id (the stack's SftpServerId output) or set ROSTER_SFTP_SERVER_ID"),
        SftpFinding::Missing => Line::new(
            "sftp user",
            Status::Fail,
            format!("the SFTP server has no user `{t}`: ClassLink's Roster Server cannot upload"),
        )
        .then(format!("create it with the command `rosterctl tenants show {t}` and `tenants add` print (sftp_user), with the district's Roster Server public key")),
        SftpFinding::Found { problems } if problems.is_empty() => Line::new(
            "sftp user",
            Status::Ok,
            format!("user `{t}` exists, confined to inbound/{t}, with a public key"),
        ),
        SftpFinding::Found { problems } => Line::new(
            "sftp user",
            Status::Fail,
            format!("user `{t}` exists but {}", problems.join("; ")),
        )
        .then("fix the user as `tenants add` prints it (sftp_user): LOGICAL home mapped to inbound/<tenant>, and the district's public key"),
        SftpFinding::Error(e) => Line::new(
            "sftp user",
            Status::Fail,
            format!("Transfer Family could not be asked: {e}"),
        )
        .then("check the AWS credentials, the region and the server id"),
    }
}

/// The district's OneRoster API: settings, credentials, a test request.
pub(super) fn api_line(t: &str, api: &ApiFinding) -> Line {
    match api {
        ApiFinding::NoSettings => Line::new("api connection", Status::Fail, "the tenant uses the API but has no API URL")
            .then(format!("rosterctl tenants update {t} --api-url URL --api-key KEY --api-secret SECRET (ClassLink's OneRoster API Application Key, Secret and URL)")),
        ApiFinding::NoCredentials(e) => Line::new(
            "api connection",
            Status::Fail,
            format!("no usable credentials: {e}"),
        )
        .then(format!("store them: rosterctl tenants update {t} --api-key KEY --api-secret SECRET (OneRoster 1.1: the Application Key and Secret from the district's OneRoster API connection in ClassLink), or --api-token-url URL --api-client-id ID --api-secret SECRET (OneRoster 1.2: OAuth 2 client credentials)")),
        ApiFinding::RequestFailed(e) => Line::new(
            "api connection",
            Status::Fail,
            format!("a test request failed: {e}"),
        )
        .then("check the API URL and the credentials (the Application Key and Secret, or the OAuth 2 token URL, client id and secret) in the district's OneRoster API settings; the district must have shared its roster with the app"),
        ApiFinding::Answered { url, version } => Line::new(
            "api connection",
            Status::Ok,
            format!(
                "credentials present; a test request to {url} succeeded: the server answers OneRoster {}",
                version.as_str()
            ),
        ),
        ApiFinding::OtherVersion {
            url,
            answers,
            configured,
        } => Line::new(
            "api connection",
            Status::Fail,
            format!(
                "the server answers OneRoster {} at {url}; this tenant is set to {}",
                answers.as_str(),
                configured.as_str()
            ),
        )
        .then(format!(
            "rosterctl tenants update {t} --oneroster-version {} (and an API URL without the other version's path)",
            answers.as_str()
        )),
    }
}
