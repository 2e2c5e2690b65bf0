//! `tenants check`'s test request: one org with the district's credentials,
//! at the tenant's OneRoster version; when that path is not served (404),
//! the other version's, so that the check says which version the district's
//! server answers.

use super::check::ApiFinding;
use oneroster_rest::client::{Auth, Client, ClientError, ClientOptions};
use oneroster_rest::version::{self, OneRosterVersion};
use roster::ApiSettings;
use std::time::{Duration, Instant};

/// Asks the district's API for its first org, at the tenant's version, then
/// (on a 404) at the other one.
pub(super) async fn probe(api: &ApiSettings, auth: Auth) -> ApiFinding {
    let configured = match version::resolve(&api.url, api.oneroster_version) {
        Ok(v) => v,
        Err(conflict) => return ApiFinding::RequestFailed(conflict.to_string()),
    };
    let error = match first_org(&api.url, configured, auth.clone()).await {
        Ok(url) => {
            return ApiFinding::Answered {
                url,
                version: configured,
            }
        }
        Err(e) => e,
    };
    if !error.not_found {
        return ApiFinding::RequestFailed(error.message);
    }
    let other = match configured {
        OneRosterVersion::V1p1 => OneRosterVersion::V1p2,
        OneRosterVersion::V1p2 => OneRosterVersion::V1p1,
    };
    match first_org(version::server_root(&api.url), other, auth).await {
        Ok(url) => ApiFinding::OtherVersion {
            url,
            answers: other,
            configured,
        },
        Err(_) => ApiFinding::RequestFailed(error.message),
    }
}

/// Why a probe got no org.
struct Probe {
    /// The path is not served (HTTP 404).
    not_found: bool,
    /// What went wrong (never a credential).
    message: String,
}

impl From<ClientError> for Probe {
    fn from(e: ClientError) -> Probe {
        Probe {
            not_found: matches!(e, ClientError::NotFound { .. }),
            message: e.to_string(),
        }
    }
}

/// One page of one org at `url` in `version`: the base URL that answered.
async fn first_org(url: &str, version: OneRosterVersion, auth: Auth) -> Result<String, Probe> {
    let options = ClientOptions {
        page_size: 1,
        max_in_flight: 1,
        request_timeout: Duration::from_secs(15),
        max_attempts: 2,
        backoff_base: Duration::from_millis(200),
        addresses: oneroster_rest::address::AddressPolicy::from_env(),
        version: Some(version),
        ..ClientOptions::default()
    };
    let client = Client::new(url, auth, options).map_err(|e| Probe {
        not_found: false,
        message: e.to_string(),
    })?;
    client
        .page("orgs", 0, None, Instant::now() + Duration::from_secs(40))
        .await?;
    Ok(client.base().to_string())
}
