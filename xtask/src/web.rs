//! The web app (`web/`), built from its lockfile and served from its own
//! origin by `cargo xtask dev`, as any static file server would.

use std::{net::SocketAddr, path::Path};

use anyhow::Context;
use tower_http::services::{ServeDir, ServeFile};

/// The web app's port in development; override with `WEB_PORT`.
const WEB_PORT: u16 = 5173;

/// Builds `web/` (npm ci when its lockfile changed, then `npm run build`)
/// and serves `web/dist` on loopback until the runtime stops. Its address.
pub(crate) async fn serve(root: &Path) -> anyhow::Result<String> {
    let dir = root.join("web");
    test_support::npm::ready(&dir, true).context("the web app could not be built")?;
    let dist = dir.join("dist");
    // Any unknown path is the app (its screens live in the address's hash).
    let files = ServeDir::new(&dist).fallback(ServeFile::new(dist.join("index.html")));
    let port = std::env::var("WEB_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(WEB_PORT);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .with_context(|| format!("port {port} is taken: set WEB_PORT"))?;
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback_service(files)).await });
    Ok(format!("http://localhost:{port}/"))
}
