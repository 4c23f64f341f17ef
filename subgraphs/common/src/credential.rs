//! The service credential: the one secret the router and the services show
//! each other, in [`HEADER`]. The router sends it on every subgraph request
//! (its `headers` config) and the services on their calls to each other;
//! nothing else may use `/internal/*`, nor, in production, `/graphql` (where
//! it would otherwise let anyone send `_entities` with forged `@requires`
//! fields straight past the router).

use std::sync::Arc;

use axum::{
    body::Body,
    http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

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

    /// Whether a request carries this credential. Compares digests, so the
    /// time taken says nothing about how much of a guess was right.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(given) = headers.get(HEADER) else {
            return false;
        };
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        given.iter().zip(self.digest.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    pub(crate) fn header_value(&self) -> HeaderValue {
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
}
