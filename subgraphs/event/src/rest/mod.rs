//! The original guide's REST endpoints (plus PATCH and cancel), over the same
//! domain functions as GraphQL. `GET /events/{id}` is also how the attendance
//! service learns an event's window, status and capacity.

use std::sync::Arc;

use axum::{extract::State, http::StatusCode, Json, Router};
use common::{
    auth::{Caller, TokenVerifier},
    openapi::{routes, ErrorBody, OpenApiRouter},
    rest::{ApiJson, ApiPath, ApiQuery},
    time::Timestamp,
    ApiError,
};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{
    domain::{EventFilter, EventService},
    wire::{Event, EventDetails, EventStatus, UpdateEventInput},
};

pub const MAX_LIMIT: u64 = 100;
pub const MAX_OFFSET: u64 = 100_000;

type RestState = common::auth::RestState<EventService>;

/// What the event service's REST API is, for its OpenAPI document.
const DESCRIPTION: &str = "Events: create (a token is needed in production; in development the guide's \
anonymous call works), list, read, edit and cancel (their organizer or an ADMIN). \
Errors are `{ \"error\": { \"code\", \"message\" } }`.";

pub fn router(service: EventService, verifier: TokenVerifier) -> Router {
    routes().with_state(Arc::new(RestState { service, verifier })).split_for_parts().0
}

/// The routes, each with its OpenAPI operation.
fn routes() -> OpenApiRouter<Arc<RestState>> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(show, update)).routes(routes!(cancel))
}

/// The OpenAPI document (`GET /openapi.json`, `print-openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    common::openapi::document("event", DESCRIPTION, routes().into_openapi())
}

/// The event's id, in the path.
#[derive(IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
#[allow(dead_code)] // a description of `ApiPath<Uuid>`
struct EventId(Uuid);

/// A new event, organized by the caller.
#[utoipa::path(
    post,
    path = "/events",
    tag = "events",
    request_body = EventDetails,
    security((), ("bearer" = [])),
    responses((status = 201, description = "the event", body = Event))
)]
async fn create(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiJson(body): ApiJson<EventDetails>,
) -> Result<(StatusCode, Json<Event>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.service.create(&caller, body.into()).await?.into())))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Events starting at or after this instant.
    from: Option<Timestamp>,
    /// Events starting before this instant.
    to: Option<Timestamp>,
    status: Option<EventStatus>,
    /// How many (1 to 100; 50 without).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    /// How many to skip (at most 100,000).
    #[param(maximum = 100000)]
    offset: Option<u64>,
}

/// Events by start time, filtered and paged by offset.
#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    params(ListQuery),
    responses((status = 200, description = "the events", body = Vec<Event>))
)]
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

/// One event.
#[utoipa::path(
    get,
    path = "/events/{id}",
    tag = "events",
    params(EventId),
    responses((status = 200, description = "the event", body = Event), (status = 404, description = "`NOT_FOUND`", body = ErrorBody))
)]
async fn show(State(state): State<Arc<RestState>>, ApiPath(id): ApiPath<Uuid>) -> Result<Json<Event>, ApiError> {
    state.service.get(id).await?.map(|e| Json(e.into())).ok_or_else(|| ApiError::not_found("event not found"))
}

/// Changes the fields given (`null` clears an optional one): the organizer or an ADMIN.
#[utoipa::path(
    patch,
    path = "/events/{id}",
    tag = "events",
    params(EventId),
    request_body = UpdateEventInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the event as it now is", body = Event),
        (status = 403, description = "`FORBIDDEN`: not its organizer", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
    )
)]
async fn update(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdateEventInput>,
) -> Result<Json<Event>, ApiError> {
    Ok(Json(state.service.update(&caller, id, body.into()).await?.into()))
}

/// Cancels the event: the organizer or an ADMIN. Check-ins then stop.
#[utoipa::path(
    post,
    path = "/events/{id}/cancel",
    tag = "events",
    params(EventId),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the cancelled event", body = Event),
        (status = 403, description = "`FORBIDDEN`: not its organizer", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
    )
)]
async fn cancel(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Event>, ApiError> {
    Ok(Json(state.service.cancel(&caller, id).await?.into()))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::domain::{MAX_DESCRIPTION_CHARS, MAX_LOCATION_CHARS, MAX_TITLE_CHARS};

    /// The document's bounds are literals (utoipa's attributes take no
    /// constants): each must be the limit the code enforces.
    #[test]
    fn the_documents_bounds_are_the_codes() {
        let api = serde_json::to_value(super::openapi()).expect("a document");
        let at = |pointer: &str| api.pointer(pointer).and_then(Value::as_u64).unwrap_or_else(|| panic!("{pointer}"));
        let limits =
            [(MAX_TITLE_CHARS, "title"), (MAX_DESCRIPTION_CHARS, "description"), (MAX_LOCATION_CHARS, "location")];
        for (limit, field) in limits {
            for schema in ["EventDetails", "UpdateEventInput"] {
                assert_eq!(at(&format!("/components/schemas/{schema}/properties/{field}/maxLength")), limit as u64);
            }
        }
        let list = &api["paths"]["/events"]["get"]["parameters"];
        let maximum = |name: &str| {
            let found = list.as_array().into_iter().flatten().find(|p| p["name"] == name);
            found.and_then(|p| p["schema"]["maximum"].as_u64()).unwrap_or_else(|| panic!("{name}"))
        };
        assert_eq!((maximum("limit"), maximum("offset")), (super::MAX_LIMIT, super::MAX_OFFSET));
    }
}
