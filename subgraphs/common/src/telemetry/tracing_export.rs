//! `tracing` spans to OpenTelemetry, exported over OTLP/HTTP by a batch
//! processor on a thread of its own (never on the async runtime).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::{
    propagation::TraceContextPropagator,
    trace::{Sampler, SdkTracerProvider},
    Resource,
};

pub(super) type OtelLayer =
    tracing_opentelemetry::OpenTelemetryLayer<tracing_subscriber::Registry, opentelemetry_sdk::trace::Tracer>;

/// The span pipeline while it runs.
pub(super) struct Tracer {
    provider: SdkTracerProvider,
}

impl Tracer {
    /// Exports to the collector at `endpoint` (its base address, or the full
    /// `/v1/traces` one), keeping `ratio` of the traces that start here and
    /// every trace a caller sampled.
    pub(super) fn start(endpoint: &str, service: &str, ratio: f64) -> Result<Self, String> {
        let endpoint = endpoint.trim_end_matches('/');
        let url = if endpoint.ends_with("/v1/traces") { endpoint.to_owned() } else { format!("{endpoint}/v1/traces") };
        let exporter = SpanExporter::builder().with_http().with_endpoint(url).build().map_err(|e| e.to_string())?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio))))
            .with_resource(Resource::builder().with_service_name(service.to_owned()).build())
            .build();
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        opentelemetry::global::set_tracer_provider(provider.clone());
        Ok(Tracer { provider })
    }

    pub(super) fn layer(&self) -> OtelLayer {
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer("titiktemu"))
    }

    /// Sends what is still buffered.
    pub(super) fn shutdown(self) {
        let _ = self.provider.shutdown();
    }
}
