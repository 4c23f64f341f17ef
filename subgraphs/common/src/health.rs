//! `GET /health/live` (the process is up) and `GET /health/ready` (the
//! database answers and migrations are applied): 200, or 503 with a reason.

use std::sync::Arc;

use axum::{extract::State, http::StatusCode, Json, Router};
use futures::future::BoxFuture;
use serde::Serialize;
use utoipa::ToSchema;

use crate::openapi::{routes, OpenApiRouter};

/// Answers `Ok(())` when the service can serve, else the reason it cannot.
pub type ReadinessProbe = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

pub fn router(probe: ReadinessProbe) -> Router {
    routes().with_state(probe).split_for_parts().0
}

/// The two probes, as routes with their OpenAPI operations.
pub(crate) fn routes() -> OpenApiRouter<ReadinessProbe> {
    OpenApiRouter::new().routes(routes!(live)).routes(routes!(ready))
}

/// A probe's answer: `ok`/`ready`, or `unavailable` with the reason.
#[derive(Serialize, ToSchema)]
struct Health {
    #[schema(example = "ready")]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, body = Health)))]
async fn live() -> Json<Health> {
    Json(Health { status: "ok", reason: None })
}

/// The database answers and the migrations are applied.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    responses((status = 200, body = Health), (status = 503, description = "not ready, with the reason", body = Health))
)]
async fn ready(State(probe): State<ReadinessProbe>) -> (StatusCode, Json<Health>) {
    let checked = tokio::time::timeout(std::time::Duration::from_secs(3), probe()).await;
    let reason = match checked {
        Ok(Ok(())) => return (StatusCode::OK, Json(Health { status: "ready", reason: None })),
        Ok(Err(reason)) => reason,
        Err(_) => "readiness check timed out".to_owned(),
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "unavailable", reason: Some(reason) }))
}
