//! Where the API client may connect: a district's API and token URLs must be
//! `https`, to public addresses, checked after name resolution (so a name
//! that resolves to a loopback, link-local or private address is refused, and
//! the address checked is the address connected to). Local development and
//! tests set [`AddressPolicy::LocalDevelopment`] (`ONEROSTER_API_LOCAL_DEVELOPMENT=true`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// The environment variable that switches [`AddressPolicy::LocalDevelopment`] on.
pub const LOCAL_DEVELOPMENT_ENV: &str = "ONEROSTER_API_LOCAL_DEVELOPMENT";

/// Which URLs the client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddressPolicy {
    /// `https` only, and only public addresses (the default, and production's).
    #[default]
    PublicHttps,
    /// Any scheme and address: a local emulator or a test server.
    LocalDevelopment,
}

impl AddressPolicy {
    /// [`AddressPolicy::LocalDevelopment`] when `ONEROSTER_API_LOCAL_DEVELOPMENT`
    /// is `true` or `1`, else the default.
    pub fn from_env() -> AddressPolicy {
        match std::env::var(LOCAL_DEVELOPMENT_ENV).as_deref() {
            Ok("true") | Ok("1") => AddressPolicy::LocalDevelopment,
            _ => AddressPolicy::PublicHttps,
        }
    }

    /// Checks a URL's scheme and, when its host is an address, the address.
    pub fn check_url(self, what: &str, url: &str) -> Result<(), AddressRefused> {
        if self == AddressPolicy::LocalDevelopment {
            return Ok(());
        }
        let parsed = url::Url::parse(url).map_err(|e| AddressRefused {
            message: format!("the {what} is not a URL ({e})"),
        })?;
        if parsed.scheme() != "https" {
            return Err(AddressRefused {
                message: format!(
                    "the {what} must be https, not {}; for a local emulator set {LOCAL_DEVELOPMENT_ENV}=true",
                    parsed.scheme()
                ),
            });
        }
        let ip = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        match ip {
            Some(ip) if !is_public(ip) => Err(refused(what, ip)),
            _ => Ok(()),
        }
    }
}

/// A URL or address the policy refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AddressRefused {
    /// What was refused and why.
    pub message: String,
}

fn refused(what: &str, ip: IpAddr) -> AddressRefused {
    AddressRefused {
        message: format!(
            "the {what} resolves to {ip}, which is not a public address (loopback, private, link-local or reserved); for a local emulator set {LOCAL_DEVELOPMENT_ENV}=true"
        ),
    }
}

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || (first == 0x0064 && ip.segments()[1] == 0xff9b)) // NAT64 (maps to IPv4)
}

/// A resolver that refuses names resolving to any non-public address.
#[derive(Debug, Clone, Default)]
pub(crate) struct PublicResolver;

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                return Err(Box::new(refused(&format!("host {host}"), bad.ip()))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The resolver the policy needs (`None`: the system's).
pub(crate) fn resolver(policy: AddressPolicy) -> Option<Arc<PublicResolver>> {
    (policy == AddressPolicy::PublicHttps).then(|| Arc::new(PublicResolver))
}

/// The policy's refusal inside a request error, if that is what it was.
pub(crate) fn refusal_in(error: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<AddressRefused>() {
            return Some(refused.message.clone());
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_addresses_are_public() {
        for public in [
            "8.8.8.8",
            "52.94.236.248",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
    }

    #[test]
    fn urls_must_be_https_to_public_hosts_unless_local_development() {
        let p = AddressPolicy::PublicHttps;
        assert_eq!(
            p.check_url("API URL", "https://roster.example.org/x"),
            Ok(())
        );
        let http = p
            .check_url("API URL", "http://roster.example.org/")
            .unwrap_err();
        assert!(http.message.contains("must be https, not http"), "{http}");
        assert!(http.message.contains(LOCAL_DEVELOPMENT_ENV));
        let metadata = p
            .check_url("token URL", "https://169.254.169.254/latest")
            .unwrap_err();
        assert!(metadata.message.contains("169.254.169.254"), "{metadata}");
        assert!(p.check_url("API URL", "https://[::1]:8443/").is_err());
        let local = AddressPolicy::LocalDevelopment;
        assert_eq!(local.check_url("API URL", "http://127.0.0.1:9/"), Ok(()));
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let error = PublicResolver.resolve(name).await.err().expect("refused");
        assert!(
            error.to_string().contains("not a public address"),
            "{error}"
        );
    }
}
