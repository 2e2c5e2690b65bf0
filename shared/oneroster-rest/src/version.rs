//! Which OneRoster version a district's API speaks: its base path, how the
//! version is told from the API URL or the tenant's setting, and the OAuth 2
//! scopes a 1.2 client asks for (1EdTech OneRoster 1.2 Rostering Service
//! REST binding, §"Security Framework").

pub use oneroster::v1p2::OneRosterVersion;

/// The REST binding's base path of OneRoster 1.1.
pub const PATH_V1P1: &str = "/ims/oneroster/v1p1";

/// The REST binding's base path of the OneRoster 1.2 Rostering Service.
pub const PATH_V1P2: &str = "/ims/oneroster/rostering/v1p2";

/// 1.2: read access to the core rostering collections (orgs, academic
/// sessions, courses, classes, users, enrollments), without demographics.
pub const SCOPE_ROSTER_CORE: &str =
    "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly";

/// 1.2: read access to the rostering service.
pub const SCOPE_ROSTER: &str = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly";

/// 1.2: read access to demographics.
pub const SCOPE_DEMOGRAPHICS: &str =
    "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly";

/// The base path of `version`.
pub fn base_path(version: OneRosterVersion) -> &'static str {
    match version {
        OneRosterVersion::V1p1 => PATH_V1P1,
        OneRosterVersion::V1p2 => PATH_V1P2,
    }
}

/// The version whose base path `url` ends in, if it ends in one.
pub fn detect(url: &str) -> Option<OneRosterVersion> {
    let trimmed = url.trim_end_matches('/');
    [OneRosterVersion::V1p1, OneRosterVersion::V1p2]
        .into_iter()
        .find(|v| trimmed.ends_with(base_path(*v)))
}

/// An API URL ending in one version's path for a tenant set to the other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the API URL {url} ends in the OneRoster {in_url} path ({path}) but the tenant is set to OneRoster {configured}; give the URL without the path, or set --oneroster-version {in_url}", in_url = .in_url.as_str(), configured = .configured.as_str(), path = base_path(*.in_url))]
pub struct VersionConflict {
    /// The URL as given.
    pub url: String,
    /// The version its path names.
    pub in_url: OneRosterVersion,
    /// The version configured.
    pub configured: OneRosterVersion,
}

/// The version to speak to `url`: the configured one, else the one the URL's
/// path names, else 1.1. A URL naming the other version than the configured
/// one is a conflict.
pub fn resolve(
    url: &str,
    configured: Option<OneRosterVersion>,
) -> Result<OneRosterVersion, VersionConflict> {
    match (detect(url), configured) {
        (Some(in_url), Some(configured)) if in_url != configured => Err(VersionConflict {
            url: url.to_string(),
            in_url,
            configured,
        }),
        (_, Some(configured)) => Ok(configured),
        (Some(in_url), None) => Ok(in_url),
        (None, None) => Ok(OneRosterVersion::V1p1),
    }
}

/// The API's base URL for `version`: `url` with the version's path appended
/// when it does not end in it already. `url` must not end in another
/// version's path ([`resolve`] checks that).
pub fn base_url(url: &str, version: OneRosterVersion) -> String {
    let trimmed = url.trim_end_matches('/');
    let path = base_path(version);
    if trimmed.ends_with(path) {
        trimmed.to_string()
    } else {
        format!("{trimmed}{path}")
    }
}

/// `url` without any version's base path: the server's root, from which
/// either version's base URL is made.
pub fn server_root(url: &str) -> &str {
    let trimmed = url.trim_end_matches('/');
    [PATH_V1P1, PATH_V1P2]
        .into_iter()
        .find_map(|p| trimmed.strip_suffix(p))
        .unwrap_or(trimmed)
}

/// The OAuth 2 scopes a client credentials token is asked for: none in 1.1
/// (as before); in 1.2 the core and rostering read scopes, and the
/// demographics scope only when the tenant imports demographics.
pub fn scopes(version: OneRosterVersion, demographics: bool) -> Vec<&'static str> {
    match version {
        OneRosterVersion::V1p1 => Vec::new(),
        OneRosterVersion::V1p2 if demographics => {
            vec![SCOPE_ROSTER_CORE, SCOPE_ROSTER, SCOPE_DEMOGRAPHICS]
        }
        OneRosterVersion::V1p2 => vec![SCOPE_ROSTER_CORE, SCOPE_ROSTER],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OneRosterVersion::{V1p1, V1p2};

    #[test]
    fn the_version_is_told_by_the_url_path_else_configured_else_1p1() {
        assert_eq!(detect("https://h/ims/oneroster/v1p1/"), Some(V1p1));
        assert_eq!(detect("https://h/ims/oneroster/rostering/v1p2"), Some(V1p2));
        assert_eq!(detect("https://h/ims/oneroster"), None);
        assert_eq!(resolve("https://h/", None), Ok(V1p1));
        assert_eq!(resolve("https://h/", Some(V1p2)), Ok(V1p2));
        assert_eq!(
            resolve("https://h/ims/oneroster/rostering/v1p2/", None),
            Ok(V1p2)
        );
        assert_eq!(
            resolve("https://h/ims/oneroster/v1p1", Some(V1p1)),
            Ok(V1p1)
        );
        assert_eq!(
            base_url("https://h/", V1p2),
            "https://h/ims/oneroster/rostering/v1p2"
        );
        assert_eq!(
            base_url("https://h/ims/oneroster/v1p1/", V1p1),
            "https://h/ims/oneroster/v1p1"
        );
        assert_eq!(
            server_root("https://h/x/ims/oneroster/rostering/v1p2/"),
            "https://h/x"
        );
        assert_eq!(server_root("https://h/x/"), "https://h/x");
    }

    #[test]
    fn a_url_naming_the_other_version_is_a_clear_error() {
        let e = resolve("https://h/ims/oneroster/rostering/v1p2", Some(V1p1)).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("ends in the OneRoster 1.2 path (/ims/oneroster/rostering/v1p2)")
                && text.contains("the tenant is set to OneRoster 1.1")
                && text.contains("--oneroster-version 1.2"),
            "{text}"
        );
        assert!(resolve("https://h/ims/oneroster/v1p1", Some(V1p2)).is_err());
    }

    #[test]
    fn scopes_are_sent_in_1p2_only_and_demographics_only_when_imported() {
        assert!(scopes(V1p1, true).is_empty());
        assert_eq!(scopes(V1p2, false), vec![SCOPE_ROSTER_CORE, SCOPE_ROSTER]);
        assert_eq!(
            scopes(V1p2, true),
            vec![SCOPE_ROSTER_CORE, SCOPE_ROSTER, SCOPE_DEMOGRAPHICS]
        );
    }
}
