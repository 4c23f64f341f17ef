//! Calls between TitikTemu's services, to each other's `/internal/*` and
//! REST endpoints: each with a timeout and the service credential, and a
//! bound on the calls in flight.

use std::{sync::Arc, time::Duration};

use axum::http::StatusCode;
use serde::{de::DeserializeOwned, Serialize};
use tokio::sync::Semaphore;

pub use crate::credential::{only_services, refusal, ServiceCredential, DEVELOPMENT_SECRET, HEADER, MIN_SECRET_LEN};
use crate::error::ApiError;

/// The other service could not answer (down, slow, or erroring).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the {service} service is unavailable")]
pub struct Unavailable {
    pub service: &'static str,
}

impl From<Unavailable> for ApiError {
    fn from(err: Unavailable) -> Self {
        ApiError::unavailable(err.to_string())
    }
}

const MAX_IN_FLIGHT: usize = 64;

/// A client of another service's REST API: each call has a timeout and
/// carries the service credential, and the number of calls in flight is
/// bounded so a hung service cannot pile up requests here.
#[derive(Clone)]
pub struct ServiceClient {
    http: reqwest::Client,
    base_url: String,
    service: &'static str,
    timeout: Duration,
    credential: ServiceCredential,
    in_flight: Arc<Semaphore>,
}

impl ServiceClient {
    pub fn new(base_url: &str, service: &'static str, timeout: Duration, credential: ServiceCredential) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(1)))
            .build()
            .expect("a reqwest client with only timeouts set always builds");
        ServiceClient {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            service,
            timeout,
            credential,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }

    /// How long one call may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The name of the service called, for errors.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// `GET base_url + path`: `Ok(None)` on 404.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Unavailable> {
        self.send(path, self.http.get(format!("{}{path}", self.base_url))).await
    }

    /// `POST base_url + path` with a JSON body: `Ok(None)` on 404.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Option<T>, Unavailable> {
        self.send(path, self.http.post(format!("{}{path}", self.base_url)).json(body)).await
    }

    /// One call, in a span of its own whose trace context the request
    /// carries on (`traceparent`), so that the service called continues it.
    async fn send<T: DeserializeOwned>(
        &self,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Option<T>, Unavailable> {
        // The path's shape, not its ids: `/internal/events/{id}/changed`.
        let route: String = path
            .split('/')
            .map(|part| if uuid::Uuid::parse_str(part).is_ok() { "{id}" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        let span = tracing::info_span!("call", otel.name = %format_args!("{} {route}", self.service), otel.kind = "client", service = self.service);
        tracing::Instrument::instrument(self.send_in_span(request), span).await
    }

    async fn send_in_span<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<Option<T>, Unavailable> {
        let unavailable = Unavailable { service: self.service };
        // At most MAX_IN_FLIGHT calls at once; the rest wait no longer than a
        // call may take, so a stuck service cannot pile requests up here.
        let _permit = tokio::time::timeout(self.timeout, self.in_flight.acquire())
            .await
            .map_err(|_| unavailable.clone())?
            .map_err(|_| unavailable.clone())?;
        let mut trace = http::HeaderMap::new();
        crate::telemetry::inject_trace_context(&mut trace);
        let response =
            request.header(HEADER, self.credential.header_value()).headers(trace).send().await.map_err(|e| {
                tracing::warn!(service = self.service, error = %e, "call failed");
                unavailable.clone()
            })?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => response.json::<T>().await.map(Some).map_err(|e| {
                tracing::warn!(service = self.service, error = %e, "unexpected response");
                unavailable
            }),
            status => {
                tracing::warn!(service = self.service, %status, "call refused");
                Err(unavailable)
            }
        }
    }
}
