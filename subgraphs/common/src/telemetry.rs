//! Logging: one line per event, JSON with `LOG_FORMAT=json`, level from
//! `RUST_LOG` (default `info`). Never log passwords, tokens or database URLs.

use tracing_subscriber::{fmt, EnvFilter};

/// Installs the global subscriber once; later calls (e.g. from tests) are no-ops.
pub fn init(default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    let _ = if json { builder.json().try_init() } else { builder.compact().try_init() };
}
