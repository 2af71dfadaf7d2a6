//! The SSRF guard: which addresses a webhook (and its proxy) may reach, and a DNS resolver
//! for reqwest that only ever hands out checked addresses — the address checked is the
//! address dialled, so a second lookup (DNS rebinding) cannot slip a private address in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The ranges a webhook may not reach unless allow-listed.
#[derive(Debug, Clone, Default)]
pub struct TargetPolicy {
    allow: Vec<IpNet>,
}

/// A target (or proxy) refused by the guard.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "refused {role} {host}: {ip} is a {class} address (allow it with UNIFORM_WEBHOOK_ALLOW_CIDRS)"
)]
pub struct Refused {
    /// What was to be dialled: `target` (the webhook URL's host) or `proxy`.
    pub role: &'static str,
    pub host: String,
    pub ip: IpAddr,
    pub class: &'static str,
}

impl Refused {
    /// The same refusal, about the webhook's proxy.
    pub fn of_proxy(self) -> Self {
        Self {
            role: "proxy",
            ..self
        }
    }
}

impl TargetPolicy {
    /// A policy exempting `allow`.
    pub fn new(allow: Vec<IpNet>) -> Self {
        Self { allow }
    }

    /// Ok when `ip` may be dialled for `host`. An IPv4-mapped IPv6 address is allowed when
    /// the IPv4 address it carries is (it reaches that very address).
    pub fn check(&self, host: &str, ip: IpAddr) -> Result<(), Refused> {
        let mapped = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        if self
            .allow
            .iter()
            .any(|net| net.contains(&ip) || mapped.is_some_and(|v4| net.contains(&v4)))
        {
            return Ok(());
        }
        match classify(ip) {
            None => Ok(()),
            Some(class) => Err(Refused {
                role: "target",
                host: host.to_string(),
                ip,
                class,
            }),
        }
    }
}

/// The kind of non-public address `ip` is, or `None` for a public one.
pub fn classify(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (CGNAT)")
    } else if a == 198 && (b & 0xfe) == 18 {
        Some("benchmarking")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() || a >= 240 || (a == 192 && b == 0 && ip.octets()[2] == 0) {
        Some("reserved")
    } else {
        None
    }
}

fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    // Addresses that carry an IPv4 address: judge the IPv4 address; IPv4-mapped ones
    // (::ffff:0:0/96) are never a public IPv6 destination, so refused in any case.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4).or(Some("IPv4-mapped"));
    }
    if segments[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_unspecified() && !ip.is_loopback() {
        let v4 = Ipv4Addr::new(
            (segments[6] >> 8) as u8,
            segments[6] as u8,
            (segments[7] >> 8) as u8,
            segments[7] as u8,
        );
        return classify_v4(v4).or(Some("reserved"));
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let v4 = Ipv4Addr::new(
            (segments[6] >> 8) as u8,
            segments[6] as u8,
            (segments[7] >> 8) as u8,
            segments[7] as u8,
        );
        return classify_v4(v4);
    }
    if segments[0] == 0x2002 {
        let v4 = Ipv4Addr::new(
            (segments[1] >> 8) as u8,
            segments[1] as u8,
            (segments[2] >> 8) as u8,
            segments[2] as u8,
        );
        return classify_v4(v4);
    }
    if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if segments[..3] == [0x64, 0xff9b, 1] {
        // 64:ff9b:1::/48, local-use IPv4/IPv6 translation (RFC 8215)
        Some("local-use NAT64")
    } else if segments[..2] == [0x2001, 0] {
        // 2001::/32: Teredo tunnels (RFC 4380)
        Some("Teredo")
    } else if (segments[0] & 0xfe00) == 0xfc00 {
        Some("unique-local")
    } else if (segments[0] & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else if (segments[0] & 0xffc0) == 0xfec0 {
        Some("site-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else {
        None
    }
}

/// A reqwest resolver that resolves with the system and returns only addresses the policy
/// allows; when none is allowed, the lookup fails with [`Refused`].
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub policy: Arc<TargetPolicy>,
    /// Resolves for a proxy (a client with a proxy dials nothing else): refusals say so.
    pub for_proxy: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let for_proxy = self.for_proxy;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut allowed = Vec::new();
            let mut first_refusal = None;
            for addr in addrs {
                match policy.check(&host, addr.ip()) {
                    Ok(()) => allowed.push(addr),
                    Err(refused) => {
                        first_refusal.get_or_insert(refused);
                    }
                }
            }
            if allowed.is_empty() {
                if let Some(mut refused) = first_refusal {
                    if for_proxy {
                        refused = refused.of_proxy();
                    }
                    return Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>);
                }
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> Option<&'static str> {
        classify(ip.parse().unwrap())
    }

    #[test]
    fn every_non_public_range_is_refused() {
        for (ip, class) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "shared (CGNAT)"),
            ("100.127.255.254", "shared (CGNAT)"),
            ("224.0.0.1", "multicast"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("255.255.255.255", "reserved"),
            ("240.0.0.1", "reserved"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fc00::1", "unique-local"),
            ("fd12:3456::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::ffff:10.0.0.1", "private"),
            ("::127.0.0.1", "loopback"),
            ("64:ff9b::a9fe:a9fe", "link-local"),
            ("2002:7f00:0001::1", "loopback"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.255", "benchmarking"),
            ("::ffff:8.8.8.8", "IPv4-mapped"),
            ("::ffff:198.18.0.1", "benchmarking"),
            ("64:ff9b:1::1", "local-use NAT64"),
            ("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "local-use NAT64"),
            ("fec0::1", "site-local"),
            ("feff:ffff::1", "site-local"),
            ("2001::1", "Teredo"),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
        ] {
            assert_eq!(refused(ip), Some(class), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "198.17.255.255",
            "198.20.0.1",
            "64:ff9b::808:808",
            "64:ff9b:2::1",
            "2001:1::1",
            "2001:4860:4860::8888",
        ] {
            assert_eq!(refused(ip), None, "{ip}");
        }
    }

    #[test]
    fn the_allow_list_exempts_ranges() {
        let policy = TargetPolicy::new(vec!["127.0.0.1/32".parse().unwrap()]);
        assert!(policy.check("h", "127.0.0.1".parse().unwrap()).is_ok());
        let refusal = policy.check("h", "127.0.0.2".parse().unwrap()).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "refused target h: 127.0.0.2 is a loopback address (allow it with UNIFORM_WEBHOOK_ALLOW_CIDRS)"
        );
    }

    #[test]
    fn an_allowed_ipv4_address_is_allowed_in_its_mapped_form_only() {
        let policy = TargetPolicy::new(vec!["127.0.0.2/32".parse().unwrap()]);
        assert!(policy
            .check("h", "::ffff:127.0.0.2".parse().unwrap())
            .is_ok());
        let refusal = policy
            .check("h", "::ffff:127.0.0.1".parse().unwrap())
            .unwrap_err();
        assert_eq!(refusal.class, "loopback");
        let nat64 = TargetPolicy::new(vec!["64:ff9b:1::/48".parse().unwrap()]);
        assert!(nat64.check("h", "64:ff9b:1::5".parse().unwrap()).is_ok());
        assert!(nat64.check("h", "2001::5".parse().unwrap()).is_err());
    }

    #[test]
    fn a_refused_proxy_is_named_as_the_proxy() {
        let refusal = TargetPolicy::default()
            .check("127.0.0.1", "127.0.0.1".parse().unwrap())
            .unwrap_err()
            .of_proxy();
        assert_eq!(
            refusal.to_string(),
            "refused proxy 127.0.0.1: 127.0.0.1 is a loopback address (allow it with UNIFORM_WEBHOOK_ALLOW_CIDRS)"
        );
    }

    #[test]
    fn numeric_host_tricks_are_normalised_by_url_parsing() {
        for url in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
        ] {
            let parsed = url::Url::parse(url).unwrap();
            let Some(url::Host::Ipv4(ip)) = parsed.host() else {
                panic!("{url} is not an IPv4 host")
            };
            assert_eq!(classify(IpAddr::V4(ip)), Some("loopback"), "{url}");
        }
    }
}
