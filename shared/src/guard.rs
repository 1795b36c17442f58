//! The destination guard of §6: deliveries only reach public addresses unless the
//! deployment allows more. Names are resolved by `GuardedResolver`, which hands the
//! HTTP client only checked addresses, so the connection goes to what was checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use crate::config::{IpNet, Settings};

pub const NOT_ALLOWED: &str = "destination not allowed";

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xC0) == 64) // 100.64.0.0/10 carrier-grade NAT
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24 IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xFE) == 18) // 198.18.0.0/15 benchmarking
        || o[0] >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) embeds an IPv4 address: judge that address.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xFE00) == 0xFC00 // fc00::/7 unique local
        || (s[0] & 0xFFC0) == 0xFE80 // fe80::/10 link local
        || (s[0] & 0xFFC0) == 0xFEC0 // fec0::/10 site local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible and other ::/96 forms
}

pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// What the guard lets through, taken from the settings once.
#[derive(Debug, Clone, Default)]
pub struct DestinationPolicy {
    pub allow_all: bool,
    pub allowed_networks: Vec<IpNet>,
}

impl DestinationPolicy {
    pub fn from_settings(s: &Settings) -> Self {
        DestinationPolicy { allow_all: s.allow_private_destinations, allowed_networks: s.allowed_networks.clone() }
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow_all || is_public(ip) || self.allowed_networks.iter().any(|n| n.contains(ip))
    }
}

/// The address of a URL whose host is an IP literal (such hosts never reach a resolver).
pub fn literal_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

pub fn is_allowed(ip: IpAddr, settings: &Settings) -> bool {
    DestinationPolicy::from_settings(settings).allows(ip)
}

/// The error a refused destination produces inside the HTTP client.
#[derive(Debug, thiserror::Error)]
#[error("destination not allowed")]
pub struct DestinationNotAllowed;

/// A DNS resolver for the delivery client that drops every address the policy refuses.
pub struct GuardedResolver {
    pub policy: Arc<DestinationPolicy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = resolved.filter(|a| policy.allows(a.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(DestinationNotAllowed) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn refuses_non_public_addresses() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "fd00:ec2::254",
        ] {
            assert!(!is_public(ip(a)), "{a} should be refused");
        }
    }

    #[test]
    fn allows_public_addresses() {
        for a in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(ip(a)), "{a} should be allowed");
        }
    }

    #[test]
    fn finds_ip_literal_hosts() {
        let lit = |u: &str| literal_ip(&url::Url::parse(u).unwrap());
        assert_eq!(lit("http://127.0.0.1:8080/x"), Some(ip("127.0.0.1")));
        assert_eq!(lit("https://[::1]/x"), Some(ip("::1")));
        assert_eq!(lit("https://example.com/x"), None);
    }

    #[test]
    fn policy_exceptions() {
        let p = DestinationPolicy { allow_all: false, allowed_networks: vec![IpNet::parse("10.0.0.0/8").unwrap()] };
        assert!(p.allows(ip("10.9.9.9")));
        assert!(!p.allows(ip("192.168.0.1")));
        assert!(DestinationPolicy { allow_all: true, ..Default::default() }.allows(ip("127.0.0.1")));
    }
}
