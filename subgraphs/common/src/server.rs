//! HTTP server start-up shared by the services: common layers (request ids,
//! request logs, body limits, panic safety) and graceful shutdown.

use std::{future::Future, net::SocketAddr, time::Duration};

use axum::{
    extract::DefaultBodyLimit,
    http::{HeaderName, Request, Response},
    Router,
};
use tokio::net::TcpListener;
use tower_http::{
    catch_panic::CatchPanicLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};
use tracing::Span;

use crate::error::ApiError;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps a service's routes with the layers every service needs.
pub fn with_common_layers(app: Router, settings: &crate::config::CommonSettings) -> Router {
    let body_limit = settings.body_limit;
    let credential = settings.service_credential.clone();
    let trace = TraceLayer::new_for_http()
        .make_span_with(move |req: &Request<_>| crate::telemetry::http::request_span(req, &credential))
        .on_response(|res: &Response<_>, latency: Duration, _span: &Span| {
            tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_secs_f64() * 1e3, "response");
        });
    app.layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(axum::middleware::map_response(json_errors))
        .layer(CatchPanicLayer::custom(|_panic| {
            axum::response::IntoResponse::into_response(ApiError::internal("a handler panicked"))
        }))
        .layer(axum::middleware::from_fn(crate::telemetry::http::record))
        .layer(trace)
        .layer(crate::net::layer(settings.trusted_proxies.clone().into()))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Error responses made below the handlers (a body over the limit, a method
/// a route does not have) come without a body; every error a client sees is
/// the contract's JSON error, so give them one.
async fn json_errors(response: axum::response::Response) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    let status = response.status();
    // JSON of any kind, `application/graphql-response+json` included.
    let is_json = crate::rest::has_json_content_type(response.headers());
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let code = match status {
        StatusCode::UNAUTHORIZED => crate::ErrorCode::Unauthenticated,
        StatusCode::FORBIDDEN => crate::ErrorCode::Forbidden,
        StatusCode::NOT_FOUND => crate::ErrorCode::NotFound,
        StatusCode::TOO_MANY_REQUESTS => crate::ErrorCode::TooManyRequests,
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => crate::ErrorCode::ServiceUnavailable,
        s if s.is_server_error() => crate::ErrorCode::InternalServerError,
        _ => crate::ErrorCode::BadUserInput,
    };
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large".to_owned(),
        other => other.canonical_reason().unwrap_or("request refused").to_lowercase(),
    };
    let (parts, _) = response.into_parts();
    let mut replaced = axum::response::IntoResponse::into_response(ApiError::new(code, message).with_status(status));
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().append(name, value.clone());
        }
    }
    replaced
}

/// Refuses a request at once while the database is known to be down.
async fn fail_fast(
    health: crate::db::DbHealth,
    request: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if health.is_up() {
        return next.run(request).await;
    }
    let error = ApiError::unavailable("the database is unavailable, try again shortly");
    if request.uri().path() == "/graphql" {
        // As a GraphQL error, so that the router passes the code through.
        crate::graphql::error_response(error, axum::http::StatusCode::OK)
    } else {
        axum::response::IntoResponse::into_response(error)
    }
}

pub async fn bind(host: std::net::IpAddr, port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::new(host, port)).await
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// A service ready to serve: bound to its port, routes built, database connected.
pub struct Application {
    listener: TcpListener,
    app: Router,
    pub db: crate::db::Db,
    /// Run when shutting down begins: long-lived responses (live streams)
    /// end, so that the in-flight requests graceful shutdown waits for finish.
    on_shutdown: Vec<Box<dyn FnOnce() + Send>>,
}

impl Application {
    pub async fn bind(host: std::net::IpAddr, port: u16, app: Router, db: crate::db::Db) -> std::io::Result<Self> {
        let listener = bind(host, port).await?;
        Ok(Application { listener, app, db, on_shutdown: Vec::new() })
    }

    /// `hook` runs when shutting down begins.
    pub fn on_shutdown(mut self, hook: impl FnOnce() + Send + 'static) -> Self {
        self.on_shutdown.push(Box::new(hook));
        self
    }

    /// The bound port (useful when asked for port 0, as tests do).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        tracing::info!(port = self.port(), "listening");
        let hooks = self.on_shutdown;
        let shutdown = async move {
            shutdown.await;
            for hook in hooks {
                hook();
            }
        };
        serve(self.listener, self.app, shutdown).await
    }
}

/// Prints a start-up failure as one line and exits: what `main` does with
/// configuration errors, an unreachable database or a port in use.
pub fn exit_with(service: &str, err: impl std::fmt::Display) -> ! {
    eprintln!("{service}: {err}");
    std::process::exit(1)
}

/// A service's database, connected as its own user and migrated when the
/// settings say so, with the readiness question that goes with it (are its
/// migrations applied?): what `migration::connect_service` returns.
pub struct ServiceDb {
    pub db: crate::db::Db,
    pub readiness: crate::health::ReadinessProbe,
}

impl ServiceDb {
    pub fn pool(&self) -> crate::db::Pool {
        self.db.pool()
    }
}

impl Application {
    /// The one start-up path of every service: `/graphql` over its schema
    /// (token verification, limits, the service credential in production),
    /// its REST shim, the health routes, JSON 404s and the common layers,
    /// bound to the configured address.
    pub async fn for_service<Q, M, S>(
        settings: &crate::config::CommonSettings,
        db: ServiceDb,
        schema: async_graphql::Schema<Q, M, S>,
        verifier: crate::auth::TokenVerifier,
        rest: Router,
        api: &utoipa::openapi::OpenApi,
    ) -> anyhow::Result<Self>
    where
        Q: async_graphql::ObjectType + 'static,
        M: async_graphql::ObjectType + 'static,
        S: async_graphql::SubscriptionType + 'static,
    {
        let routes = Router::new()
            .merge(crate::graphql::router(schema, verifier, settings))
            .merge(rest)
            .merge(crate::openapi::router(api, settings.app_env));
        let ServiceDb { db, readiness } = db;
        use anyhow::Context;
        let health = crate::db::DbHealth::watch(&settings.database, Duration::from_secs(1));
        // Ready means served: not while the fail-fast gate is closed.
        let readiness: crate::health::ReadinessProbe = {
            let health = health.clone();
            std::sync::Arc::new(move || {
                let (health, readiness) = (health.clone(), readiness.clone());
                Box::pin(async move {
                    if !health.is_up() {
                        return Err("the database does not answer".to_owned());
                    }
                    readiness().await
                })
            })
        };
        let app = routes
            .layer(axum::middleware::from_fn(
                move |request: Request<axum::body::Body>, next: axum::middleware::Next| {
                    fail_fast(health.clone(), request, next)
                },
            ))
            .merge(crate::health::router(readiness))
            .fallback(crate::rest::not_found);
        let app = with_common_layers(app, settings);
        Application::bind(settings.host, settings.port, app, db)
            .await
            .with_context(|| format!("cannot listen on {}:{}", settings.host, settings.port))
    }
}

/// What every service's `main` does with its command line: `print-schema`
/// prints the federation SDL and `print-openapi` the REST API's OpenAPI
/// document (no database needed for either); `serve` (the default) sets
/// up logging, loads the settings from the environment and the service's
/// `.env`, builds the service and serves until SIGTERM or Ctrl-C. Any start-up
/// failure is one line on stderr and exit status 1.
pub async fn service_main<S>(
    name: &str,
    manifest_dir: &str,
    sdl: fn() -> String,
    openapi: fn() -> utoipa::openapi::OpenApi,
    load: fn(&crate::config::Env) -> Result<S, crate::config::ConfigError>,
    build: impl AsyncFnOnce(&S) -> anyhow::Result<Application>,
) {
    match std::env::args().nth(1).as_deref() {
        Some("print-schema") => return print!("{}", sdl()),
        Some("print-openapi") => return print!("{}", crate::openapi::to_json(&openapi())),
        None | Some("serve") => {}
        Some(other) => exit_with(name, format!("unknown command `{other}` (serve, print-schema, print-openapi)")),
    }
    let env = crate::config::Env::load(Some(std::path::Path::new(manifest_dir)));
    let service = name.trim_end_matches("-service");
    let observed = crate::telemetry::TelemetrySettings::from_env(&env, service).unwrap_or_else(|e| exit_with(name, e));
    let telemetry = crate::telemetry::start(&observed, "info,sqlx=warn");
    if crate::config::AppEnv::is_unset(&env) {
        tracing::warn!("neither APP_ENV nor NODE_ENV is set: running as production (APP_ENV=development allows the guide's anonymous writes)");
    }
    let settings = load(&env).unwrap_or_else(|e| exit_with(name, e));
    let app = build(&settings).await.unwrap_or_else(|e| exit_with(name, format!("{e:#}")));
    if let (Some(metrics), Some(address)) = (&telemetry.metrics, observed.metrics_listen) {
        let listener = TcpListener::bind(address)
            .await
            .unwrap_or_else(|e| exit_with(name, format!("cannot listen on {address} (METRICS_LISTEN): {e}")));
        tracing::info!(%address, "metrics at /metrics");
        metrics.serve(listener, app.db.conn.clone());
    }
    if let Err(e) = app.run_until(shutdown_signal()).await {
        exit_with(name, e);
    }
    drop(telemetry); // sends the spans still buffered
}
