//! The client edge: the router's public listener. The open-source router keeps
//! the TCP peer to itself (plugins never see it) and forwards a client's
//! `X-Forwarded-For` as sent, so a client could choose the address auth
//! throttles logins by. The edge accepts the clients' connections, decides the
//! client address from the real peer (believing `X-Forwarded-For` only from
//! `ROUTER_TRUSTED_PROXIES`), replaces the header with that one address and
//! hands the request to the router on a private Unix socket, which only this
//! process's user can open.

use std::{
    convert::Infallible,
    future::Future,
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use anyhow::Context as _;
use client_address::{client_address, TrustedNetwork, FORWARDED_FOR};
use http::{header, HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri, Version};
use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::{
    client::legacy::Client,
    rt::{TokioExecutor, TokioIo, TokioTimer},
};
use tokio::net::UnixStream;

/// The variable the router's `supergraph.listen` reads: the edge sets it to
/// its private socket before the router starts.
pub(crate) const UPSTREAM_SOCKET_VAR: &str = "TITIKTEMU_ROUTER_SOCKET";

/// A client that sends no complete request head within this long is cut off.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

type Body = Either<Incoming, Full<Bytes>>;

pub(crate) struct Settings {
    /// Where clients connect (`ROUTER_LISTEN`, default 127.0.0.1:4000).
    pub listen: SocketAddr,
    /// Load balancers whose `X-Forwarded-For` is believed
    /// (`ROUTER_TRUSTED_PROXIES`, addresses or networks; default none: the
    /// TCP peer is the client).
    pub trusted: Vec<TrustedNetwork>,
    /// The router's own listener.
    pub upstream: PathBuf,
}

impl Settings {
    pub(crate) fn from_env(upstream: PathBuf) -> anyhow::Result<Self> {
        let listen = match std::env::var("ROUTER_LISTEN") {
            Ok(text) => text.parse().with_context(|| format!("ROUTER_LISTEN: `{text}` is not an address:port"))?,
            Err(_) => SocketAddr::from(([127, 0, 0, 1], 4000)),
        };
        let trusted = match std::env::var("ROUTER_TRUSTED_PROXIES").as_deref() {
            Err(_) | Ok("" | "none") => Vec::new(),
            Ok(list) => list
                .split(',')
                .map(|item| item.trim().parse().map_err(|e| anyhow::anyhow!("ROUTER_TRUSTED_PROXIES: `{item}`: {e}")))
                .collect::<anyhow::Result<_>>()?,
        };
        Ok(Settings { listen, trusted, upstream })
    }
}

/// A directory only this user may enter, for the router's socket.
pub(crate) fn private_socket_dir() -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    const PREFIX: &str = "titiktemu-router-";
    let dir = std::env::temp_dir().join(format!("{PREFIX}{}", std::process::id()));
    // A directory left by an earlier process that had this id.
    let _ = std::fs::remove_dir_all(&dir);
    // And those of routers that were killed (SIGKILL leaves them): their
    // process is gone. Only where /proc tells which processes live.
    if Path::new("/proc/self").exists() {
        let entries = std::fs::read_dir(std::env::temp_dir()).into_iter().flatten().flatten();
        for entry in entries {
            let name = entry.file_name();
            let pid = name.to_str().and_then(|n| n.strip_prefix(PREFIX)).and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    std::fs::DirBuilder::new().mode(0o700).create(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Binds the public listener now (so a taken port fails at once) and serves
/// it on a thread and runtime of its own, beside the router's.
pub(crate) fn start(settings: Settings) -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind(settings.listen)
        .with_context(|| format!("cannot listen on {} (ROUTER_LISTEN)", settings.listen))?;
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("client-edge")
        .enable_all()
        .build()?;
    eprintln!(
        "titiktemu-router: clients connect at http://{} (client addresses from the TCP peer{})",
        settings.listen,
        if settings.trusted.is_empty() {
            String::new()
        } else {
            ", or X-Forwarded-For from ROUTER_TRUSTED_PROXIES".to_owned()
        }
    );
    std::thread::Builder::new().name("client-edge".to_owned()).spawn(move || {
        runtime.block_on(async move {
            match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => serve(listener, Edge::new(settings)).await,
                Err(error) => tracing::error!(%error, "the client edge cannot listen"),
            }
        })
    })?;
    Ok(())
}

async fn serve(listener: tokio::net::TcpListener, edge: Edge) {
    let edge = Arc::new(edge);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait, do not spin.
                tracing::warn!(%error, "the client edge cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let edge = edge.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let edge = edge.clone();
                async move { Ok::<_, Infallible>(edge.forward(request, peer.ip()).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                tracing::debug!(%error, "client connection ended");
            }
        });
    }
}

struct Edge {
    trusted: Vec<TrustedNetwork>,
    router: Client<UnixConnector, Incoming>,
}

impl Edge {
    fn new(settings: Settings) -> Self {
        let router = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(UnixConnector(Arc::new(settings.upstream)));
        Edge { trusted: settings.trusted, router }
    }

    async fn forward(&self, request: Request<Incoming>, peer: IpAddr) -> Response<Body> {
        let (mut parts, body) = request.into_parts();
        let client = client_address(peer, &parts.headers, &self.trusted);
        strip_hop_by_hop(&mut parts.headers);
        for name in ["forwarded", "x-real-ip"] {
            parts.headers.remove(name);
        }
        let client = HeaderValue::from_str(&client.to_string()).expect("an address is a valid header value");
        parts.headers.insert(HeaderName::from_static(FORWARDED_FOR), client);
        // A browser opening `/` gets the playground's page where the router
        // serves one (development); the router's CSRF check, which runs before
        // any plugin, would refuse the navigation as a GraphQL request.
        let path = match crate::playground::wants_the_page(&parts) {
            true => crate::playground::PATH,
            false => parts.uri.path_and_query().map_or("/", |p| p.as_str()),
        };
        parts.uri = match Uri::builder().scheme("http").authority("router").path_and_query(path).build() {
            Ok(uri) => uri,
            Err(_) => return refusal(StatusCode::BAD_REQUEST, "BAD_REQUEST", "the request target is not a path"),
        };
        parts.version = Version::HTTP_11;
        match self.router.request(Request::from_parts(parts, body)).await {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, Either::Left(body))
            }
            Err(error) => {
                tracing::warn!(%error, "the router did not answer the client edge");
                refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                    "the router is not answering; try again",
                )
            }
        }
    }
}

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
}

/// An answer in the shape every GraphQL client reads.
fn refusal(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = format!(r#"{{"errors":[{{"message":"{message}","extensions":{{"code":"{code}"}}}}]}}"#);
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(body))));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Connects the pooled HTTP client to the router's Unix socket, whatever the URI.
#[derive(Clone)]
struct UnixConnector(Arc<PathBuf>);

impl tower::Service<Uri> for UnixConnector {
    type Response = TokioIo<UnixStream>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let path = self.0.clone();
        Box::pin(async move { UnixStream::connect(Path::new(path.as_path())).await.map(TokioIo::new) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, x-secret-hop"));
        headers.insert("x-secret-hop", HeaderValue::from_static("1"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1, "{headers:?}");
        assert!(headers.contains_key(header::AUTHORIZATION));
    }
}
