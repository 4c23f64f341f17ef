//! The original guide's REST endpoints, over the same domain functions as GraphQL.

use std::sync::Arc;

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use common::{
    auth::{Caller, TokenVerifier},
    internal::ServiceCredential,
    page::Cursor,
    rest::{ApiJson, ApiPath, ApiQuery},
    time::Timestamp,
    ApiError,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    domain::AttendanceService,
    wire::{Attendance, AttendanceStats, CheckInInput},
};

pub const MAX_LIMIT: u64 = 1_000;

type RestState = common::auth::RestState<AttendanceService>;

pub fn router(service: AttendanceService, verifier: TokenVerifier, credential: ServiceCredential) -> Router {
    let state = Arc::new(RestState { service, verifier });
    // For the other services only: the auth service asks which people an
    // organizer may see in full.
    let internal = Router::new().route("/internal/visible-profiles", post(visible_profiles));
    let internal = common::internal::only_services(internal, credential);
    Router::new()
        .route("/attendance", post(check_in))
        .route("/attendance/event/{event_id}", get(event_attendance))
        .route("/attendance/stats/{event_id}", get(stats))
        .merge(internal)
        .with_state(state)
}

async fn check_in(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiJson(body): ApiJson<CheckInInput>,
) -> Result<(StatusCode, Json<Attendance>), ApiError> {
    let attendance = state.service.check_in(&caller, body.try_into()?).await?;
    Ok((StatusCode::CREATED, Json(attendance.into())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<u64>,
    after: Option<String>,
}

/// A check-in as the guide's anonymous development call shows it: ids and times.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AnonymousAttendance {
    id: Uuid,
    event_id: Uuid,
    user_id: Uuid,
    check_in_time: Timestamp,
}

/// Check-ins of an event, oldest first (`limit` up to 1,000; `after`: the
/// `X-Next-Cursor` header of the previous page), as far as the caller may
/// read them: all for the organizer, check-in staff and ADMINs, their own
/// for anyone else signed in. Without a token: 401 in production; in
/// development the guide's call works, with ids and times only.
async fn event_attendance(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(event_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let limit = query.limit.unwrap_or(MAX_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_input(format!("`limit` must be between 1 and {MAX_LIMIT}")));
    }
    let after = query.after.as_deref().map(Cursor::decode).transpose()?;
    let viewer = state.service.guide_list_viewer(&caller)?;
    let page = state.service.event_attendance(viewer, event_id, limit, after).await?;
    let next = if page.has_next {
        page.end_cursor(|last| Cursor { at: last.check_in_time.0, id: last.id }).unwrap_or_default()
    } else {
        String::new()
    };
    let headers = [("x-next-cursor", next)];
    Ok(match caller {
        Caller::Anonymous => {
            let items: Vec<AnonymousAttendance> = page
                .items
                .into_iter()
                .map(|a| AnonymousAttendance {
                    id: a.id,
                    event_id: a.event_id,
                    user_id: a.user_id,
                    check_in_time: a.check_in_time,
                })
                .collect();
            (headers, Json(items)).into_response()
        }
        Caller::User(_) => {
            let items: Vec<Attendance> = page.items.into_iter().map(Attendance::from).collect();
            (headers, Json(items)).into_response()
        }
    })
}

/// The most people one `visible-profiles` call may ask about (the auth
/// service's DataLoader batches are at most this large).
const MAX_PROFILES: usize = 5_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VisibleProfilesBody {
    viewer: Uuid,
    users: Vec<Uuid>,
}

#[derive(Serialize)]
struct VisibleProfiles {
    users: Vec<Uuid>,
}

/// `POST /internal/visible-profiles {viewer, users}` → `{users}`: those of
/// `users` checked in to an event `viewer` organizes.
async fn visible_profiles(
    State(state): State<Arc<RestState>>,
    ApiJson(body): ApiJson<VisibleProfilesBody>,
) -> Result<Json<VisibleProfiles>, ApiError> {
    if body.users.len() > MAX_PROFILES {
        return Err(ApiError::invalid_field(format!("at most {MAX_PROFILES} users per call")));
    }
    let users = state.service.profiles_visible_to(body.viewer, &body.users).await?;
    Ok(Json(VisibleProfiles { users }))
}

async fn stats(
    State(state): State<Arc<RestState>>,
    ApiPath(event_id): ApiPath<Uuid>,
) -> Result<Json<AttendanceStats>, ApiError> {
    Ok(Json(state.service.event_stats(event_id).await?.into()))
}
