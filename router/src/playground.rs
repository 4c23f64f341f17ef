//! `titiktemu.playground`: GraphiQL for browsers in development, served by
//! the router itself from local files (`playground/dist`, built from npm
//! through a committed lockfile), so the page needs no internet: the Apollo
//! Sandbox it replaces loads its script from a CDN. A browser opening `/`
//! (`GET`, `Accept: text/html`, no `query`) gets the page too: the client
//! edge sends that request to `/playground/` (where the router serves no
//! playground, the router answers it as before); every other request to `/`
//! stays GraphQL. A native plugin's web endpoints are free in the
//! open-source router. `router.prod.yaml` has no such block,
//! so production serves no playground.

use std::{collections::HashMap, path::PathBuf, sync::Arc};

use apollo_router::{
    plugin::{Plugin, PluginInit},
    register_plugin,
    services::router,
    Endpoint, ListenAddr,
};
use http::{header, Method, StatusCode};
use multimap::MultiMap;
use schemars::JsonSchema;
use serde::Deserialize;
use tower::{BoxError, ServiceExt};

/// Where the page lives; browsers opening `/` get it too.
pub(crate) const PATH: &str = "/playground/";

/// The files `playground/build.mjs` writes, and their media types.
const FILES: [(&str, &str); 6] = [
    ("index.html", "text/html; charset=utf-8"),
    ("playground.js", "text/javascript; charset=utf-8"),
    ("graphiql.min.js", "text/javascript; charset=utf-8"),
    ("graphiql.min.css", "text/css; charset=utf-8"),
    ("react.production.min.js", "text/javascript; charset=utf-8"),
    ("react-dom.production.min.js", "text/javascript; charset=utf-8"),
];

const NOT_BUILT: &str = "<!doctype html><title>Playground not built</title>\
<p>The playground's files are missing. Build them with <code>npm ci &amp;&amp; npm run build</code> in \
<code>playground/</code> (<code>cargo xtask dev</code> does it), then restart the router.";

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The address browsers reach, the same as `supergraph.listen`.
    listen: ListenAddr,
    /// The built files (`playground/dist`).
    assets: PathBuf,
}

/// A file held in memory: bytes and media type.
type Asset = (bytes::Bytes, &'static str);

struct Playground {
    listen: ListenAddr,
    /// By file name; empty when the files are missing (the page says how to build them).
    assets: Arc<HashMap<&'static str, Asset>>,
}

#[async_trait::async_trait]
impl Plugin for Playground {
    type Config = Config;

    async fn new(init: PluginInit<Self::Config>) -> Result<Self, BoxError> {
        let Config { listen, assets: dir } = init.config;
        let mut assets = HashMap::new();
        for (name, media_type) in FILES {
            match tokio::fs::read(dir.join(name)).await {
                Ok(bytes) => {
                    assets.insert(name, (bytes::Bytes::from(bytes), media_type));
                }
                Err(e) => {
                    tracing::warn!(file = %dir.join(name).display(), error = %e, "playground: files missing");
                    assets.clear();
                    break;
                }
            }
        }
        Ok(Playground { listen, assets: Arc::new(assets) })
    }

    fn web_endpoints(&self) -> MultiMap<ListenAddr, Endpoint> {
        let mut endpoints = MultiMap::new();
        let page =
            |path: String, file: &'static str| Endpoint::from_router_service(path, serve(self.assets.clone(), file));
        endpoints.insert(self.listen.clone(), page("/playground".to_owned(), "index.html"));
        for (name, _) in FILES {
            let path = if name == "index.html" { PATH.to_owned() } else { format!("{PATH}{name}") };
            endpoints.insert(self.listen.clone(), page(path, name));
        }
        endpoints
    }
}

/// A browser navigating to `/`: a GraphQL request over GET carries `query`
/// (and clients ask for JSON), so it is left alone.
pub(crate) fn wants_the_page(request: &http::request::Parts) -> bool {
    let accepts_html = request
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let asks_a_query = request.uri.query().is_some_and(|q| q.split('&').any(|pair| pair.starts_with("query=")));
    request.method == Method::GET && request.uri.path() == "/" && accepts_html && !asks_a_query
}

/// Answers GET and HEAD with one file (or the page saying how to build them).
fn serve(assets: Arc<HashMap<&'static str, Asset>>, file: &'static str) -> router::BoxService {
    tower::service_fn(move |request: router::Request| {
        let assets = assets.clone();
        async move {
            let method = request.router_request.method().clone();
            let builder = http::Response::builder().header(header::CACHE_CONTROL, "no-cache");
            let response = if method != Method::GET && method != Method::HEAD {
                builder
                    .status(StatusCode::METHOD_NOT_ALLOWED)
                    .header(header::ALLOW, "GET, HEAD")
                    .body(router::body::from_bytes(""))?
            } else {
                let (bytes, media_type) = match assets.get(file) {
                    Some((bytes, media_type)) => (bytes.clone(), *media_type),
                    None if file == "index.html" => (bytes::Bytes::from_static(NOT_BUILT.as_bytes()), FILES[0].1),
                    None => (bytes::Bytes::new(), "text/plain"),
                };
                let status = if bytes.is_empty() { StatusCode::NOT_FOUND } else { StatusCode::OK };
                let body = if method == Method::HEAD { bytes::Bytes::new() } else { bytes };
                builder.status(status).header(header::CONTENT_TYPE, media_type).body(router::body::from_bytes(body))?
            };
            router::Response::http_response_builder().response(response).context(request.context).build()
        }
    })
    .boxed()
}

register_plugin!("titiktemu", "playground", Playground);

#[cfg(test)]
mod tests {
    use super::wants_the_page;

    fn request(uri: &str, accept: &str) -> http::request::Parts {
        http::Request::get(uri).header("accept", accept).body(()).unwrap().into_parts().0
    }

    #[test]
    fn production_serves_no_playground() {
        let production = include_str!("../router.prod.yaml");
        assert!(!production.contains("titiktemu.playground"));
        assert!(production.contains("sandbox:\n  enabled: false"));
        let development = include_str!("../router.yaml");
        assert!(development.contains("titiktemu.playground:") && development.contains("sandbox:\n  enabled: false"));
    }

    #[test]
    fn only_a_browser_opening_the_root_is_sent_to_the_page() {
        assert!(wants_the_page(&request("/", "text/html,application/xhtml+xml,*/*;q=0.8")));
        assert!(!wants_the_page(&request("/", "application/json")));
        assert!(!wants_the_page(&request("/?query=%7B__typename%7D", "text/html")));
        assert!(!wants_the_page(&request("/graphql", "text/html")));
    }
}
