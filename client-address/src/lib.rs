//! Where a request comes from, for throttling and logs: the TCP peer, or, when
//! the peer is a trusted proxy (the router's client edge, a load balancer), the
//! client that proxy names in `X-Forwarded-For`.
//!
//! One rule for the router (which replaces the header with what it decided)
//! and for the services (which believe the router), so they cannot disagree.

use std::{
    fmt,
    net::{IpAddr, Ipv6Addr},
    str::FromStr,
};

use http::HeaderMap;

/// The header every hop appends the address it saw to.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// An address or a network (`10.0.0.7`, `10.0.0.0/8`, `fd00::/8`) whose
/// `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedNetwork {
    address: IpAddr,
    prefix: u8,
}

impl TrustedNetwork {
    pub fn contains(&self, candidate: IpAddr) -> bool {
        match (self.address, canonical(candidate)) {
            (IpAddr::V4(network), IpAddr::V4(candidate)) => {
                prefix_matches(u32::from(network).into(), u32::from(candidate).into(), self.prefix, 32)
            }
            (IpAddr::V6(network), IpAddr::V6(candidate)) => {
                prefix_matches(u128::from(network), u128::from(candidate), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn prefix_matches(network: u128, candidate: u128, prefix: u8, width: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = u32::from(width - prefix);
    network >> shift == candidate >> shift
}

impl From<IpAddr> for TrustedNetwork {
    fn from(address: IpAddr) -> Self {
        let address = canonical(address);
        TrustedNetwork { address, prefix: if address.is_ipv4() { 32 } else { 128 } }
    }
}

impl FromStr for TrustedNetwork {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.trim().parse().map_err(|e| format!("{e}"))?;
        let network = TrustedNetwork::from(address);
        let Some(prefix) = prefix else { return Ok(network) };
        let width = if network.address.is_ipv4() { 32 } else { 128 };
        match prefix.trim().parse::<u8>() {
            Ok(prefix) if prefix <= width => Ok(TrustedNetwork { prefix, ..network }),
            _ => Err(format!("`/{prefix}` is not a prefix length from 0 to {width}")),
        }
    }
}

impl fmt::Display for TrustedNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// Loopback, where the router runs beside the services in development.
pub fn loopback() -> Vec<TrustedNetwork> {
    vec!["127.0.0.0/8".parse().expect("a network"), TrustedNetwork::from(IpAddr::V6(Ipv6Addr::LOCALHOST))]
}

/// IPv4 clients of a dual-stack listener arrive as `::ffff:a.b.c.d`: the same client.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The client behind `peer`. `X-Forwarded-For` is read right to left (each
/// proxy appends the address it saw) and only while the hop is trusted, so a
/// client cannot choose its own address by sending the header itself.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[TrustedNetwork]) -> IpAddr {
    let is_trusted = |address: IpAddr| trusted.iter().any(|network| network.contains(address));
    let mut client = canonical(peer);
    if !is_trusted(client) {
        return client;
    }
    let hops: Vec<&str> =
        headers.get_all(FORWARDED_FOR).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).collect();
    for hop in hops.into_iter().rev() {
        let Ok(address) = hop.trim().parse::<IpAddr>() else { break };
        client = canonical(address);
        if !is_trusted(client) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(FORWARDED_FOR, xff.parse().unwrap());
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxy = ip("127.0.0.1");
        let stranger = ip("203.0.113.9");
        let trusted = [TrustedNetwork::from(proxy)];
        assert_eq!(client_address(stranger, &headers("198.51.100.1"), &trusted), stranger);
        assert_eq!(client_address(proxy, &headers("198.51.100.1"), &trusted), ip("198.51.100.1"));
        // A client that forges a left-most entry gets the address the proxy saw.
        assert_eq!(client_address(proxy, &headers("10.9.9.9, 198.51.100.1"), &trusted), ip("198.51.100.1"));
        assert_eq!(client_address(proxy, &headers("garbage"), &trusted), proxy);
        assert_eq!(client_address(proxy, &HeaderMap::new(), &trusted), proxy);
    }

    #[test]
    fn networks_hold_their_addresses_only() {
        let network: TrustedNetwork = "10.1.0.0/16".parse().unwrap();
        assert!(network.contains(ip("10.1.200.3")));
        assert!(!network.contains(ip("10.2.0.1")));
        assert!(network.contains(ip("::ffff:10.1.0.9")), "IPv4-mapped IPv6 is the same client");
        let v6: TrustedNetwork = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")) && !v6.contains(ip("10.1.0.1")));
        assert!("0.0.0.0/0".parse::<TrustedNetwork>().unwrap().contains(ip("192.0.2.1")));
        assert!("10.0.0.0/33".parse::<TrustedNetwork>().is_err());
        assert!("ten".parse::<TrustedNetwork>().is_err());
        assert!(loopback().iter().any(|n| n.contains(ip("127.0.0.2"))));
    }

    #[test]
    fn a_chain_of_trusted_proxies_is_walked_to_the_first_stranger() {
        let trusted: Vec<TrustedNetwork> = vec!["10.0.0.0/8".parse().unwrap(), ip("127.0.0.1").into()];
        let chain = headers("6.6.6.6, 198.51.100.7, 10.0.0.5");
        assert_eq!(client_address(ip("127.0.0.1"), &chain, &trusted), ip("198.51.100.7"));
    }
}
