//! The original guide's REST endpoints, over the same domain functions as GraphQL.

use std::sync::Arc;

use axum::{
    extract::State,
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use common::{
    auth::{Caller, HasVerifier, TokenVerifier},
    graphql::Cursor,
    rest::{ApiJson, ApiPath, ApiQuery},
    time::Timestamp,
    ApiError,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{Attendance, AttendanceService, AttendanceStats, CheckInRequest};

pub const MAX_LIMIT: u64 = 1_000;

struct RestState {
    service: AttendanceService,
    verifier: TokenVerifier,
}

impl HasVerifier for RestState {
    fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }
}

pub fn router(service: AttendanceService, verifier: TokenVerifier) -> Router {
    Router::new()
        .route("/attendance", post(check_in))
        .route("/attendance/event/{event_id}", get(event_attendance))
        .route("/attendance/stats/{event_id}", get(stats))
        .with_state(Arc::new(RestState { service, verifier }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckInBody {
    event_id: String,
    user_id: Option<String>,
    check_in_time: Option<Timestamp>,
}

fn uuid_field(field: &str, raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::bad_input(format!("`{field}` must be a UUID")))
}

async fn check_in(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiJson(body): ApiJson<CheckInBody>,
) -> Result<(StatusCode, Json<Attendance>), ApiError> {
    let request = CheckInRequest {
        event_id: uuid_field("eventId", &body.event_id)?,
        user_id: body.user_id.as_deref().map(|id| uuid_field("userId", id)).transpose()?,
        check_in_time: body.check_in_time,
    };
    Ok((StatusCode::CREATED, Json(state.service.check_in(&caller, request).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<u64>,
    after: Option<String>,
}

/// Check-ins of an event, oldest first (`limit` up to 1,000; `after`: the
/// `X-Next-Cursor` header of the previous page).
async fn event_attendance(
    State(state): State<Arc<RestState>>,
    ApiPath(event_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<([(&'static str, String); 1], Json<Vec<Attendance>>), ApiError> {
    let limit = query.limit.unwrap_or(MAX_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_input(format!("`limit` must be between 1 and {MAX_LIMIT}")));
    }
    let after = query.after.as_deref().map(Cursor::decode).transpose()?;
    let page = state.service.event_attendance(event_id, limit, after).await?;
    let next = match (page.has_next, page.items.last()) {
        (true, Some(last)) => Cursor { at: last.check_in_time.0, id: last.id }.encode(),
        _ => String::new(),
    };
    Ok(([("x-next-cursor", next)], Json(page.items)))
}

async fn stats(
    State(state): State<Arc<RestState>>,
    ApiPath(event_id): ApiPath<Uuid>,
) -> Result<Json<AttendanceStats>, ApiError> {
    Ok(Json(state.service.event_stats(event_id).await?))
}
