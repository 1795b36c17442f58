//! The destination guard of docs/api.md §6: deliveries only reach public addresses unless the
//! deployment allows more. Names are resolved by `GuardedResolver`, which hands the
//! HTTP client only checked addresses, so the connection goes to what was checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use crate::config::{IpNet, Settings};

pub const NOT_ALLOWED: &str = "destination not allowed";

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> IpNet {
    IpNet { addr: IpAddr::V4(Ipv4Addr::new(a, b, c, d)), prefix }
}

const fn v6(s: [u16; 8], prefix: u8) -> IpNet {
    IpNet { addr: IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])), prefix }
}

/// Every block a deployed Hookline refuses to deliver to: all entries of the IANA IPv4 and
/// IPv6 Special-Purpose Address Registries
/// (<https://www.iana.org/assignments/iana-ipv4-special-registry/>,
/// <https://www.iana.org/assignments/iana-ipv6-special-registry/>), also those marked
/// globally reachable (anycast services are no receiver's address), plus multicast and the
/// deprecated site-local, IPv4-compatible and IPv4-translated forms. Addresses that embed an
/// IPv4 address (NAT64, 6to4, Teredo) are refused outright, not judged by that address;
/// only IPv4-mapped addresses (`::ffff:0:0/96`) are, in [`is_public`].
#[rustfmt::skip]
pub const NOT_PUBLIC: &[IpNet] = &[
    v4(0, 0, 0, 0, 8),          // 0.0.0.0/8        "this network"
    v4(10, 0, 0, 0, 8),         // 10.0.0.0/8       private use
    v4(100, 64, 0, 0, 10),      // 100.64.0.0/10    shared address space (carrier-grade NAT)
    v4(127, 0, 0, 0, 8),        // 127.0.0.0/8      loopback
    v4(169, 254, 0, 0, 16),     // 169.254.0.0/16   link local (cloud metadata services)
    v4(172, 16, 0, 0, 12),      // 172.16.0.0/12    private use
    v4(192, 0, 0, 0, 24),       // 192.0.0.0/24     IETF protocol assignments (DS-Lite, PCP, TURN, NAT64 discovery)
    v4(192, 0, 2, 0, 24),       // 192.0.2.0/24     documentation (TEST-NET-1)
    v4(192, 31, 196, 0, 24),    // 192.31.196.0/24  AS112-v4
    v4(192, 52, 193, 0, 24),    // 192.52.193.0/24  AMT
    v4(192, 88, 99, 0, 24),     // 192.88.99.0/24   deprecated 6to4 relay anycast
    v4(192, 168, 0, 0, 16),     // 192.168.0.0/16   private use
    v4(192, 175, 48, 0, 24),    // 192.175.48.0/24  direct delegation AS112 service
    v4(198, 18, 0, 0, 15),      // 198.18.0.0/15    benchmarking
    v4(198, 51, 100, 0, 24),    // 198.51.100.0/24  documentation (TEST-NET-2)
    v4(203, 0, 113, 0, 24),     // 203.0.113.0/24   documentation (TEST-NET-3)
    v4(224, 0, 0, 0, 4),        // 224.0.0.0/4      multicast
    v4(240, 0, 0, 0, 4),        // 240.0.0.0/4      reserved, limited broadcast 255.255.255.255 included
    v6([0, 0, 0, 0, 0, 0, 0, 0], 96),              // ::/96            unspecified, loopback, IPv4-compatible
    v6([0, 0, 0, 0, 0xffff, 0, 0, 0], 96),         // ::ffff:0:0:0/96  IPv4-translated
    v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96),      // 64:ff9b::/96     NAT64 well-known prefix
    v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),      // 64:ff9b:1::/48   NAT64 local-use prefix
    v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64),          // 100::/64         discard-only
    v6([0x100, 0, 0, 1, 0, 0, 0, 0], 64),          // 100:0:0:1::/64   dummy prefix
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),         // 2001::/23        IETF protocol assignments (Teredo, …)
    v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),     // 2001:db8::/32    documentation
    v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16),         // 2002::/16        6to4
    v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0], 48), // 2620:4f:8000::/48 direct delegation AS112 service
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),         // 3fff::/20        documentation
    v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16),         // 5f00::/16        segment routing (SRv6) SIDs
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),          // fc00::/7         unique local
    v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),         // fe80::/10        link local
    v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),         // fec0::/10        site local (deprecated)
    v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8),          // ff00::/8         multicast
];

/// Whether `ip` may be a delivery destination without an exception in the settings.
pub fn is_public(ip: IpAddr) -> bool {
    // An IPv4-mapped IPv6 address reaches that IPv4 address: judge it as one.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    };
    !NOT_PUBLIC.iter().any(|net| net.contains(ip))
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
    fn refuses_every_special_purpose_block() {
        for a in [
            "0.0.0.0",
            "0.255.255.255",
            "10.0.0.0",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",   // DS-Lite (192.0.0.0/29)
            "192.0.0.8",   // dummy address
            "192.0.0.9",   // PCP anycast
            "192.0.0.10",  // TURN anycast
            "192.0.0.170", // NAT64/DNS64 discovery
            "192.0.0.171",
            "192.0.0.255",
            "192.0.2.1",
            "192.31.196.1",
            "192.52.193.1",
            "192.88.99.1",
            "192.168.1.1",
            "192.175.48.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.1",
            "203.0.113.1",
            "224.0.0.1",
            "239.255.255.255",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::8.8.8.8", // IPv4-compatible
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::ffff:0:8.8.8.8", // IPv4-translated, even of a public address
            "::ffff:0:7f00:1",
            "64:ff9b::808:808", // NAT64 is refused whatever address it embeds
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::808:808",
            "64:ff9b:1:ffff::1",
            "100::1",
            "100::ffff:ffff:ffff:ffff",
            "100:0:0:1::1",
            "2001::1",                              // Teredo
            "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo, embedding a public address
            "2001:1::1",                            // PCP anycast
            "2001:2::1",                            // benchmarking
            "2001:3::1",                            // AMT
            "2001:4:112::1",                        // AS112-v6
            "2001:20::1",                           // ORCHIDv2
            "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:db8::1",
            "2001:db8:ffff::1",
            "2002:808:808::1", // 6to4, embedding a public address
            "2620:4f:8000::1",
            "3fff::1",
            "3fff:fff:ffff::1",
            "5f00::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "feff::1",
            "ff02::1",
            "ff0e::1",
        ] {
            assert!(!is_public(ip(a)), "{a} should be refused");
            assert!(!DestinationPolicy::default().allows(ip(a)), "{a} should be refused");
        }
    }

    #[test]
    fn allows_public_addresses_next_to_refused_blocks() {
        for a in [
            "93.184.216.34",
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.0",
            "192.0.3.0",
            "192.31.195.255",
            "192.31.197.0",
            "192.52.192.255",
            "192.52.194.0",
            "192.88.98.255",
            "192.88.100.0",
            "192.167.255.255",
            "192.169.0.0",
            "192.175.47.255",
            "192.175.49.0",
            "198.17.255.255",
            "198.20.0.0",
            "198.51.99.255",
            "198.51.101.0",
            "203.0.112.255",
            "203.0.114.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "::ffff:1.1.1.1",
            "2001:200::1",
            "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:db9::1",
            "2003::1",
            "2620:4f:7fff:ffff::1",
            "2620:4f:8001::1",
            "3fff:1000::1",
        ] {
            assert!(is_public(ip(a)), "{a} should be allowed");
        }
    }

    #[test]
    fn every_ip_spelling_in_a_url_is_judged_by_its_address() {
        let refused = [
            ("http://2130706433/", "127.0.0.1"),
            ("http://0177.0.0.1/", "127.0.0.1"),
            ("http://0x7f.0.0.1/", "127.0.0.1"),
            ("http://0x7f000001/", "127.0.0.1"),
            ("http://017700000001/", "127.0.0.1"),
            ("http://127.1/", "127.0.0.1"),
            ("http://127.000.000.001/", "127.0.0.1"),
            ("http://0/", "0.0.0.0"),
            ("http://10.1/", "10.0.0.1"),
            ("http://0xA9FEA9FE/", "169.254.169.254"),
            ("http://169.254.169.254./latest/meta-data/", "169.254.169.254"),
            ("https://[::1]/x", "::1"),
            ("http://[0:0:0:0:0:0:0:1]/", "::1"),
            ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
            ("http://[0:0:0:0:0:ffff:7f00:1]/", "::ffff:127.0.0.1"),
            ("http://[::ffff:7f00:1]/", "::ffff:127.0.0.1"),
            ("http://[0000:0000:0000:0000:0000:ffff:7f00:0001]/", "::ffff:127.0.0.1"),
            ("http://[::FFFF:A9FE:A9FE]:8080/", "::ffff:169.254.169.254"),
            ("http://[::127.0.0.1]/", "::7f00:1"),
            ("http://[64:ff9b::127.0.0.1]/", "64:ff9b::7f00:1"),
        ];
        for (url, addr) in refused {
            let found = literal_ip(&url::Url::parse(url).unwrap());
            assert_eq!(found, Some(ip(addr)), "{url}");
            assert!(!DestinationPolicy::default().allows(ip(addr)), "{url} should be refused");
        }
        let allowed = [
            ("http://93.184.216.34/", "93.184.216.34"),
            ("http://16843009/", "1.1.1.1"),
            ("http://[2606:4700:4700::1111]/", "2606:4700:4700::1111"),
            ("http://[::ffff:8.8.8.8]/", "::ffff:8.8.8.8"),
        ];
        for (url, addr) in allowed {
            let found = literal_ip(&url::Url::parse(url).unwrap());
            assert_eq!(found, Some(ip(addr)), "{url}");
            assert!(DestinationPolicy::default().allows(ip(addr)), "{url} should be allowed");
        }
        assert_eq!(literal_ip(&url::Url::parse("https://example.com/x").unwrap()), None);
    }

    #[test]
    fn policy_exceptions() {
        let p = DestinationPolicy { allow_all: false, allowed_networks: vec![IpNet::parse("10.0.0.0/8").unwrap()] };
        assert!(p.allows(ip("10.9.9.9")));
        assert!(!p.allows(ip("192.168.0.1")));
        assert!(DestinationPolicy { allow_all: true, ..Default::default() }.allows(ip("127.0.0.1")));
    }
}
