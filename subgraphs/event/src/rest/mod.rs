//! The original guide's REST endpoints (plus PATCH and cancel), over the same
//! domain functions as GraphQL. `GET /events/{id}` is also how the attendance
//! service learns an event's window, status and capacity.

use std::sync::Arc;

use axum::{
    extract::State,
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use common::{
    auth::{Caller, TokenVerifier},
    rest::{ApiJson, ApiPath, ApiQuery},
    time::Timestamp,
    ApiError,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    domain::{EventFilter, EventService},
    wire::{Event, EventDetails, EventStatus, UpdateEventInput},
};

pub const MAX_LIMIT: u64 = 100;
pub const MAX_OFFSET: u64 = 100_000;

type RestState = common::auth::RestState<EventService>;

pub fn router(service: EventService, verifier: TokenVerifier) -> Router {
    Router::new()
        .route("/events", post(create).get(list))
        .route("/events/{id}", get(show).patch(update))
        .route("/events/{id}/cancel", post(cancel))
        .with_state(Arc::new(RestState { service, verifier }))
}

async fn create(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiJson(body): ApiJson<EventDetails>,
) -> Result<(StatusCode, Json<Event>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.service.create(&caller, body.into()).await?.into())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    status: Option<EventStatus>,
    limit: Option<u64>,
    offset: Option<u64>,
}

async fn list(
    State(state): State<Arc<RestState>>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<Event>>, ApiError> {
    let limit = common::page::rest_limit(query.limit, 50, MAX_LIMIT)?;
    let offset = query.offset.unwrap_or(0);
    if offset > MAX_OFFSET {
        return Err(ApiError::bad_input(format!("`offset` must be at most {MAX_OFFSET}")));
    }
    let status = query.status.map(Into::into);
    let filter = EventFilter { from: query.from, to: query.to, status, ..Default::default() }
        .validate()
        .map_err(|e| ApiError::from(e).with_status(StatusCode::BAD_REQUEST))?;
    Ok(Json(state.service.list_by_offset(&filter, limit, offset).await?.into_iter().map(Event::from).collect()))
}

async fn show(State(state): State<Arc<RestState>>, ApiPath(id): ApiPath<Uuid>) -> Result<Json<Event>, ApiError> {
    state.service.get(id).await?.map(|e| Json(e.into())).ok_or_else(|| ApiError::not_found("event not found"))
}

async fn update(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdateEventInput>,
) -> Result<Json<Event>, ApiError> {
    Ok(Json(state.service.update(&caller, id, body.into()).await?.into()))
}

async fn cancel(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Event>, ApiError> {
    Ok(Json(state.service.cancel(&caller, id).await?.into()))
}
