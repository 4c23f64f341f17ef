//! Where a request comes from, for throttling and logs: the TCP peer, or, when
//! the peer is a trusted proxy (the router, a load balancer), the client that
//! proxy names in `X-Forwarded-For`.

use std::{net::IpAddr, sync::Arc};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{HeaderMap, Request},
};

/// The client's address, put into every request's extensions by [`layer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddress(pub IpAddr);

impl std::fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The client behind `peer`. `X-Forwarded-For` is read right to left (each
/// proxy appends the address it saw) and only while the hop is trusted, so a
/// client cannot choose its own address by sending the header itself.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let mut client = peer;
    if !trusted.contains(&peer) {
        return client;
    }
    let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','));
    let hops: Vec<&str> = hops.collect();
    for hop in hops.into_iter().rev() {
        let Ok(address) = hop.trim().parse::<IpAddr>() else { break };
        client = address;
        if !trusted.contains(&address) {
            break;
        }
    }
    client
}

/// Adds [`ClientAddress`] to each request (needs the server to run with
/// `into_make_service_with_connect_info::<SocketAddr>`, as [`crate::server::serve`] does).
pub fn layer(
    trusted: Arc<[IpAddr]>,
) -> tower::util::MapRequestLayer<impl FnMut(Request<Body>) -> Request<Body> + Clone + Send + Sync + 'static> {
    tower::util::MapRequestLayer::new(move |mut request: Request<Body>| {
        let peer = request.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip());
        if let Some(peer) = peer {
            let address = client_address(peer, request.headers(), &trusted);
            request.extensions_mut().insert(ClientAddress(address));
        }
        request
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", xff.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        let trusted = [proxy];
        assert_eq!(client_address(stranger, &headers("198.51.100.1"), &trusted), stranger);
        assert_eq!(
            client_address(proxy, &headers("198.51.100.1"), &trusted),
            "198.51.100.1".parse::<IpAddr>().unwrap()
        );
        // A client that forges a left-most entry gets the address the proxy saw.
        assert_eq!(
            client_address(proxy, &headers("10.9.9.9, 198.51.100.1"), &trusted),
            "198.51.100.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_address(proxy, &headers("garbage"), &trusted), proxy);
        assert_eq!(client_address(proxy, &HeaderMap::new(), &trusted), proxy);
    }
}
