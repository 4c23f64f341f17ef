//! `GET /health/live` (the process is up) and `GET /health/ready` (the
//! database answers and migrations are applied): 200, or 503 with a reason.

use std::sync::Arc;

use axum::{extract::State, http::StatusCode, response::IntoResponse, routing::get, Json, Router};
use futures::future::BoxFuture;
use serde_json::json;

/// Answers `Ok(())` when the service can serve, else the reason it cannot.
pub type ReadinessProbe = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

pub fn router(probe: ReadinessProbe) -> Router {
    Router::new().route("/health/live", get(live)).route("/health/ready", get(ready)).with_state(probe)
}

async fn live() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(probe): State<ReadinessProbe>) -> impl IntoResponse {
    let checked = tokio::time::timeout(std::time::Duration::from_secs(3), probe()).await;
    match checked {
        Ok(Ok(())) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(Err(reason)) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "reason": reason })))
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": "readiness check timed out" })),
        ),
    }
}
