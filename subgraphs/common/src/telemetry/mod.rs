//! Logs, metrics and traces.
//!
//! - Logs: one line per event, JSON with `LOG_FORMAT=json`, level from
//!   `RUST_LOG`; a request's lines carry its request id and, when traced,
//!   its trace id. Never passwords, tokens or database URLs.
//! - Metrics ([`metrics`]): Prometheus text on a listener of their own
//!   (`METRICS_LISTEN`), never on the public port; off when it is unset.
//! - Traces ([`tracing_export`]): `tracing` spans exported over OTLP/HTTP
//!   (`OTEL_EXPORTER_OTLP_ENDPOINT`), continuing the caller's W3C
//!   `traceparent`, sampled at `OTEL_TRACES_SAMPLER_ARG`; off when unset.

pub mod http;
pub mod metrics;
mod propagation;
mod sql;
mod tracing_export;

use std::net::SocketAddr;

pub use propagation::inject_trace_context;
pub use sql::{record_statement, statement_name};
use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer};

use crate::config::{ConfigError, Env};

/// What a service exports, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetrySettings {
    /// The name spans and metrics carry (`OTEL_SERVICE_NAME`, default the service's).
    pub service_name: String,
    /// Where Prometheus scrapes `/metrics` (`METRICS_LISTEN`, e.g.
    /// `0.0.0.0:9464`); none: no metrics are kept.
    pub metrics_listen: Option<SocketAddr>,
    /// The OTLP/HTTP collector (`OTEL_EXPORTER_OTLP_ENDPOINT`, e.g.
    /// `http://collector:4318`); none: no traces are exported.
    pub otlp_endpoint: Option<String>,
    /// The share of new traces kept (`OTEL_TRACES_SAMPLER_ARG`, 0 to 1,
    /// default 0.01); a trace the caller sampled is always continued.
    pub sampling_ratio: f64,
}

impl TelemetrySettings {
    pub fn from_env(env: &Env, service: &str) -> Result<Self, ConfigError> {
        let sampling_ratio = env.parse_or("OTEL_TRACES_SAMPLER_ARG", 0.01_f64)?;
        if !(0.0..=1.0).contains(&sampling_ratio) {
            return Err(ConfigError::invalid("OTEL_TRACES_SAMPLER_ARG", "a share between 0 and 1"));
        }
        Ok(TelemetrySettings {
            service_name: env.get("OTEL_SERVICE_NAME").unwrap_or(service).to_owned(),
            metrics_listen: env
                .get("METRICS_LISTEN")
                .map(|_| env.parse_or("METRICS_LISTEN", ([0, 0, 0, 0], 0).into()))
                .transpose()?,
            otlp_endpoint: env.get("OTEL_EXPORTER_OTLP_ENDPOINT").filter(|e| !e.trim().is_empty()).map(str::to_owned),
            sampling_ratio,
        })
    }
}

/// What must live as long as the service: the metrics handle and the span
/// exporter (flushed when dropped).
pub struct Telemetry {
    pub metrics: Option<metrics::Metrics>,
    tracer: Option<tracing_export::Tracer>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(tracer) = self.tracer.take() {
            tracer.shutdown();
        }
    }
}

/// Whether this process keeps metrics or exports traces: per-statement work
/// is skipped without either.
static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn exporting() -> bool {
    EXPORTING.load(std::sync::atomic::Ordering::Relaxed)
}

/// Logs, and the metrics and traces `settings` ask for. The global
/// subscriber is installed once; a second call installs nothing.
pub fn start(settings: &TelemetrySettings, default_filter: &str) -> Telemetry {
    let tracer = settings.otlp_endpoint.as_deref().and_then(|endpoint| {
        tracing_export::Tracer::start(endpoint, &settings.service_name, settings.sampling_ratio)
            .map_err(|e| eprintln!("traces are off: {e}"))
            .ok()
    });
    let otel = tracer.as_ref().map(|t| t.layer());
    install(default_filter, otel);
    let metrics = settings.metrics_listen.map(|_| metrics::Metrics::install(&settings.service_name));
    EXPORTING.store(metrics.is_some() || tracer.is_some(), std::sync::atomic::Ordering::Relaxed);
    Telemetry { metrics, tracer }
}

/// Logs only (tests, tools); later calls are no-ops.
pub fn init(default_filter: &str) {
    install(default_filter, None);
}

fn install(default_filter: &str, otel: Option<tracing_export::OtelLayer>) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let fmt = if json { fmt.json().boxed() } else { fmt.compact().boxed() };
    // The OpenTelemetry layer next to the registry (its type names it); the filter applies to every layer.
    let _ = tracing_subscriber::registry().with(otel).with(filter).with(fmt).try_init();
}
