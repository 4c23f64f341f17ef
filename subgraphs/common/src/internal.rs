//! Calls between TitikTemu's own processes: the router's calls to each
//! subgraph's `/graphql`, and the services' calls to each other's
//! `/internal/*` endpoints. Both carry one shared secret, the service
//! credential, in [`HEADER`]; nothing else may use those doors (in production
//! `/graphql` too, where it would otherwise let anyone send `_entities` with
//! forged `@requires` fields straight past the router).

use std::{sync::Arc, time::Duration};

use axum::{
    body::Body,
    http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::{
    config::{AppEnv, ConfigError, Env},
    error::ApiError,
};

/// The header the router (by its `headers` config) and the services send.
pub const HEADER: HeaderName = HeaderName::from_static("x-service-credential");

/// The credential of development stacks started without `SERVICE_SECRET`.
/// Public on purpose: development binds to loopback, and production refuses
/// to start without a secret of its own.
pub const DEVELOPMENT_SECRET: &str = "titiktemu-development-service-credential";

/// Shortest production secret accepted (32 bytes, e.g. `openssl rand -hex 32`).
pub const MIN_SECRET_LEN: usize = 32;

/// The shared secret of the router and the services (`SERVICE_SECRET`, or a
/// file named by `SERVICE_SECRET_FILE`). Never logged: `Debug` hides it.
#[derive(Clone)]
pub struct ServiceCredential {
    secret: Arc<str>,
    digest: [u8; 32],
}

impl std::fmt::Debug for ServiceCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceCredential(..)")
    }
}

impl ServiceCredential {
    pub fn new(secret: &str) -> Self {
        ServiceCredential { secret: secret.into(), digest: Sha256::digest(secret.as_bytes()).into() }
    }

    /// Required in production, at least [`MIN_SECRET_LEN`] bytes; development
    /// falls back to [`DEVELOPMENT_SECRET`].
    pub fn from_env(env: &Env, app_env: AppEnv) -> Result<Self, ConfigError> {
        match env.secret("SERVICE_SECRET")? {
            Some(secret) if app_env.is_production() && secret.len() < MIN_SECRET_LEN => Err(ConfigError::invalid(
                "SERVICE_SECRET",
                format!("must be at least {MIN_SECRET_LEN} bytes in production (e.g. `openssl rand -hex 32`)"),
            )),
            Some(secret) => Ok(ServiceCredential::new(&secret)),
            None if app_env.is_production() => Err(ConfigError::missing(
                "SERVICE_SECRET",
                "the secret shared by the router and the services (or SERVICE_SECRET_FILE); e.g. `openssl rand -hex 32`",
            )),
            None => Ok(ServiceCredential::new(DEVELOPMENT_SECRET)),
        }
    }

    /// Whether a request carries this credential. Compares digests, so the
    /// time taken says nothing about how much of a guess was right.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(given) = headers.get(HEADER) else {
            return false;
        };
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        given.iter().zip(self.digest.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    fn header_value(&self) -> HeaderValue {
        let mut value = HeaderValue::from_str(&self.secret).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
        value.set_sensitive(true);
        value
    }
}

/// The refusal of a call without the credential: the same answer whatever
/// was wrong with it.
pub fn refusal() -> ApiError {
    ApiError::forbidden("this endpoint answers only TitikTemu's router and services").with_status(StatusCode::FORBIDDEN)
}

/// `routes`, answered only to callers that show the credential (the other
/// services); anyone else gets [`refusal`].
pub fn only_services<S>(routes: axum::Router<S>, credential: ServiceCredential) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes.route_layer(axum::middleware::from_fn(move |request: Request<Body>, next: Next| {
        require(credential.clone(), request, next)
    }))
}

async fn require(credential: ServiceCredential, request: Request<Body>, next: Next) -> Response {
    if credential.admits(request.headers()) {
        next.run(request).await
    } else {
        refusal().into_response()
    }
}

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
        self.send(self.http.get(format!("{}{path}", self.base_url))).await
    }

    /// `POST base_url + path` with a JSON body: `Ok(None)` on 404.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Option<T>, Unavailable> {
        self.send(self.http.post(format!("{}{path}", self.base_url)).json(body)).await
    }

    async fn send<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<Option<T>, Unavailable> {
        let unavailable = Unavailable { service: self.service };
        // At most MAX_IN_FLIGHT calls at once; the rest wait no longer than a
        // call may take, so a stuck service cannot pile requests up here.
        let _permit = tokio::time::timeout(self.timeout, self.in_flight.acquire())
            .await
            .map_err(|_| unavailable.clone())?
            .map_err(|_| unavailable.clone())?;
        let response = request.header(HEADER, self.credential.header_value()).send().await.map_err(|e| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_admits_only_its_own_secret_and_never_prints_it() {
        let credential = ServiceCredential::new("s3cret-s3cret-s3cret-s3cret-s3cret");
        let mut headers = HeaderMap::new();
        assert!(!credential.admits(&headers));
        headers.insert(HEADER, HeaderValue::from_static("s3cret"));
        assert!(!credential.admits(&headers));
        headers.insert(HEADER, HeaderValue::from_static("s3cret-s3cret-s3cret-s3cret-s3cret"));
        assert!(credential.admits(&headers));
        assert!(!format!("{credential:?}").contains("s3cret"));
    }

    #[test]
    fn production_needs_a_long_secret() {
        let production = AppEnv::Production;
        assert!(ServiceCredential::from_env(&Env::from_pairs(None::<(&str, &str)>), production).is_err());
        let short = Env::from_pairs([("SERVICE_SECRET", "short")]);
        assert!(ServiceCredential::from_env(&short, production).unwrap_err().to_string().contains("SERVICE_SECRET"));
        let long = Env::from_pairs([("SERVICE_SECRET", "x".repeat(MIN_SECRET_LEN))]);
        assert!(ServiceCredential::from_env(&long, production).is_ok());
        let development = ServiceCredential::from_env(&Env::from_pairs(None::<(&str, &str)>), AppEnv::Development);
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_static(DEVELOPMENT_SECRET));
        assert!(development.unwrap().admits(&headers));
    }
}
