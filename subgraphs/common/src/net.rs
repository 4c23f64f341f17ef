//! Where a request comes from, for throttling and logs: the rule is the
//! `client-address` crate's, the same the router's client edge applies.

use std::sync::Arc;

use axum::{body::Body, extract::ConnectInfo, http::Request};
pub use client_address::{client_address, TrustedNetwork};

/// The client's address, put into every request's extensions by [`layer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddress(pub std::net::IpAddr);

impl std::fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Adds [`ClientAddress`] to each request (needs the server to run with
/// `into_make_service_with_connect_info::<SocketAddr>`, as [`crate::server::serve`] does).
pub fn layer(
    trusted: Arc<[TrustedNetwork]>,
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
