//! Each HTTP request: its span (continuing the caller's trace, carrying
//! the request id and, when traced, the trace id for the logs) and its
//! count and latency by route.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use opentelemetry::trace::TraceContextExt;
use tower_http::request_id::RequestId;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The span a request runs in: method, route, request id; the parent is
/// the caller's `traceparent`, and `trace_id` is filled when traced.
///
/// Only the router and the services (callers showing the service credential)
/// may continue a trace: anyone else's `traceparent` is ignored, so that no
/// client can make the service trace (and keep) every request it sends.
pub fn request_span<B>(request: &http::Request<B>, credential: &crate::internal::ServiceCredential) -> tracing::Span {
    let request_id = request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok());
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    // Probes every few seconds would bury the traces that matter: no span for them.
    if route.starts_with("/health/") {
        return tracing::Span::none();
    }
    // The route, not the path: paths carry ids, query strings and headers may carry tokens.
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{} {route}", request.method()),
        otel.kind = "server",
        method = %request.method(),
        route,
        request_id = request_id.unwrap_or("-"),
        trace_id = tracing::field::Empty,
    );
    let continues = request.headers().contains_key("traceparent") && credential.admits(request.headers());
    let parent = match continues {
        true => super::propagation::extract(request.headers()),
        false => opentelemetry::Context::new(),
    };
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    let context = span.context();
    let trace = context.span().span_context().clone();
    if trace.is_sampled() {
        span.record("trace_id", tracing::field::display(trace.trace_id()));
    }
    span
}

/// Counts the request and its latency by route, method and status.
pub async fn record(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    // The standard methods only: any other word a client sends would be a new series.
    let method: &'static str = match request.method().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    ::metrics::histogram!(super::metrics::HTTP_REQUEST_SECONDS, "route" => route, "method" => method, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider};
    use tracing_subscriber::{fmt::MakeWriter, layer::SubscriberExt};

    /// What the log layer wrote.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lines").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;

        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    #[test]
    fn a_traced_requests_log_lines_carry_the_routers_trace_id_and_only_the_routers() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let lines = Lines::default();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
            .with(tracing_subscriber::fmt::layer().with_writer(lines.clone()).with_ansi(false));
        tracing::subscriber::with_default(subscriber, || {
            let credential = crate::internal::ServiceCredential::new("a-service-credential-for-this-test-only");
            let traced = |with_credential: bool| {
                let mut request = http::Request::builder()
                    .uri("/graphql")
                    .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
                if with_credential {
                    request = request.header(crate::credential::HEADER, credential.header_value());
                }
                let request = request.body(()).expect("a request");
                super::request_span(&request, &credential).in_scope(|| tracing::info!(with_credential, "answered"));
            };
            traced(true);
            traced(false);
        });
        let text = String::from_utf8(lines.0.lock().expect("lines").clone()).expect("text");
        let line =
            |with: bool| text.lines().find(|l| l.contains(&format!("with_credential={with}"))).unwrap_or_default();
        assert!(line(true).contains("trace_id=4bf92f3577b34da6a3ce929d0e0e4736"), "{text}");
        // A caller without the credential cannot choose the trace.
        assert!(!line(false).contains("4bf92f3577b34da6a3ce929d0e0e4736"), "{text}");
    }
}
