//! The original guide's REST endpoints, and the ones that followed it, over
//! the same domain functions as GraphQL (registrations in `registrations`).

mod registrations;

use std::sync::Arc;

use axum::{
    extract::State,
    http::HeaderMap,
    http::StatusCode,
    response::sse::{Event, KeepAlive, Sse},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use common::{
    auth::{Caller, TokenVerifier},
    internal::ServiceCredential,
    openapi::{routes, ErrorBody, OpenApiRouter},
    page::{rest_limit, Cursor},
    rest::{ApiJson, ApiPath, ApiQuery},
    time::Timestamp,
    ApiError,
};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{
    domain::AttendanceService,
    domain::Viewer,
    wire::{
        Attendance, AttendanceStats, AttendanceUpdate, CheckInInput, CheckInPolicy, CheckInPolicyInput, Scan,
        ScanDirection, ScanFilterInput, ScanResult, ScanStatusCode, SyncScansAnswer, SyncScansBody,
    },
};

pub const MAX_LIMIT: u64 = 1_000;

type RestState = common::auth::RestState<AttendanceService>;

pub fn router(service: AttendanceService, verifier: TokenVerifier, credential: ServiceCredential) -> Router {
    let state = Arc::new(RestState { service, verifier });
    // For the other services only: the auth service asks which people an
    // organizer may see in full.
    // The event service tells of every change to an event.
    let internal = Router::new()
        .route("/internal/visible-profiles", post(visible_profiles))
        .route("/internal/events/{event_id}/changed", post(event_changed));
    let internal = common::internal::only_services(internal, credential);
    routes().split_for_parts().0.merge(internal).with_state(state)
}

/// What the attendance service's REST API is, for its OpenAPI document.
const DESCRIPTION: &str = "The door: check-ins and exits (by person or by ticket), offline scanners' uploads, \
the scan log, check-in policies, statistics and a live stream; registrations and their signed tickets. \
Errors are `{ \"error\": { \"code\", \"message\" } }`.";

/// The public routes, each with its OpenAPI operation.
fn routes() -> OpenApiRouter<Arc<RestState>> {
    OpenApiRouter::new()
        .routes(routes!(check_in))
        .routes(routes!(event_attendance))
        .routes(routes!(stats))
        .routes(routes!(sync_scans))
        .routes(routes!(scan_log))
        .routes(routes!(policy, set_policy))
        .routes(routes!(live))
        .merge(registrations::routes())
}

/// The OpenAPI document of the public routes (`GET /openapi.json`, `print-openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    common::openapi::document("attendance", DESCRIPTION, routes().into_openapi())
}

/// The event's id, in the path.
#[derive(IntoParams)]
#[into_params(names("event_id"), parameter_in = Path)]
#[allow(dead_code)] // a description of `ApiPath<Uuid>`
pub(crate) struct EventId(Uuid);

/// The header that pages a list: the `after` of the next page, empty on the last.
pub(crate) const NEXT_CURSOR: &str = "x-next-cursor";

/// A scan (by default an entry: the guide's check-in). The nonce may come as
/// the `Idempotency-Key` header instead of the body's `nonce`.
#[utoipa::path(
    post,
    path = "/attendance",
    tag = "door",
    request_body = CheckInInput,
    params(("idempotency-key" = Option<String>, Header, description = "the scan's nonce (instead of `nonce`)")),
    security((), ("bearer" = [])),
    responses(
        (status = 201, description = "the scan was accepted", body = Attendance),
        (status = 403, description = "`FORBIDDEN`: not the organizer, check-in staff or an ADMIN", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such event", body = ErrorBody),
        (status = 409, description = "refused at the door: `ALREADY_CHECKED_IN`, `NOT_INSIDE`, `EVENT_FULL`, \
`EVENT_CANCELLED`, `TICKET_REVOKED`, `TICKET_WRONG_EVENT`, `NOT_REGISTERED`", body = ErrorBody),
    )
)]
async fn check_in(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(mut body): ApiJson<CheckInInput>,
) -> Result<(StatusCode, Json<Attendance>), ApiError> {
    if let Some(key) = headers.get("idempotency-key") {
        let key = key.to_str().map_err(|_| ApiError::bad_input("`Idempotency-Key` must be visible ASCII"))?;
        match &body.nonce {
            Some(nonce) if nonce != key => {
                return Err(ApiError::invalid_field("`nonce` and `Idempotency-Key` differ"));
            }
            _ => body.nonce = Some(key.to_owned()),
        }
    }
    let attendance = state.service.check_in(&caller, body.try_into()?).await?;
    Ok((StatusCode::CREATED, Json(attendance.into())))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// How many (1 to 1,000; 1,000 without).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u64>,
    /// The `X-Next-Cursor` header of the previous page.
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
#[utoipa::path(
    get,
    path = "/attendance/event/{event_id}",
    tag = "door",
    params(EventId, ListQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "the check-ins; without a token (development only, the guide's call) each holds \
`id`, `eventId`, `userId` and `checkInTime` alone",
            body = Vec<Attendance>, headers(("x-next-cursor" = String, description = "the `after` of the next page; empty on the last"))),
        (status = 404, description = "`NOT_FOUND`: no such event", body = ErrorBody),
    )
)]
async fn event_attendance(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(event_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let limit = rest_limit(query.limit, MAX_LIMIT, MAX_LIMIT)?;
    let after = query.after.as_deref().map(Cursor::decode).transpose()?;
    let viewer = state.service.guide_list_viewer(&caller)?;
    let page = state.service.event_attendance(viewer, event_id, limit, after).await?;
    let next = page.next_cursor(|last| Cursor { at: last.check_in_time.0, id: last.id });
    let headers = [(NEXT_CURSOR, next)];
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

/// `POST /attendance/scans {eventId, scans}`: an offline scanner's upload;
/// 200 with one result per scan, whatever each one's fate.
#[utoipa::path(
    post,
    path = "/attendance/scans",
    tag = "door",
    request_body = SyncScansBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "one result per scan", body = SyncScansAnswer),
        (status = 403, description = "`FORBIDDEN`: not the organizer, check-in staff or an ADMIN", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such event", body = ErrorBody),
    )
)]
async fn sync_scans(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiJson(body): ApiJson<SyncScansBody>,
) -> Result<Json<SyncScansAnswer>, ApiError> {
    let event_id = common::page::parse_id("eventId", &body.event_id)?;
    let scans = body.scans.into_iter().map(Into::into).collect();
    let results = state.service.sync_scans(&caller, event_id, scans).await?;
    Ok(Json(SyncScansAnswer { results: results.into_iter().map(ScanResult::from).collect() }))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ScanLogQuery {
    /// How many (1 to 1,000; 50 without).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u64>,
    /// The `X-Next-Cursor` header of the previous page.
    after: Option<String>,
    /// `OK` or an error code.
    #[param(value_type = Option<ScanStatusCode>)]
    status: Option<String>,
    direction: Option<ScanDirection>,
    #[param(value_type = Option<Uuid>)]
    user_id: Option<String>,
}

/// An event's scan log, newest first (`limit` up to 1,000; `after`: the
/// `X-Next-Cursor` header of the previous page; `status`, `direction` and
/// `userId` filter): all scans for the organizer and ADMINs, their own for
/// check-in staff, none for anyone else. A token is required.
#[utoipa::path(
    get,
    path = "/attendance/event/{event_id}/scans",
    tag = "door",
    params(EventId, ScanLogQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the scans the caller may read", body = Vec<Scan>,
            headers(("x-next-cursor" = String, description = "the `after` of the next page; empty on the last"))),
        (status = 404, description = "`NOT_FOUND`: no such event", body = ErrorBody),
    )
)]
async fn scan_log(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(event_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ScanLogQuery>,
) -> Result<Response, ApiError> {
    let viewer = Viewer::signed_in(&caller)?;
    let limit = rest_limit(query.limit, 50, MAX_LIMIT)?;
    let after = query.after.as_deref().map(Cursor::decode).transpose()?;
    let filter =
        ScanFilterInput { status: query.status, direction: query.direction, user_id: query.user_id.map(Into::into) };
    // A value the query string cannot hold is the query's fault (400), as elsewhere.
    let filter = filter.try_into().map_err(|e: ApiError| e.with_status(StatusCode::BAD_REQUEST))?;
    let page = state.service.event_scan_log(viewer, event_id, &filter, limit, after).await?;
    let next = page.next_cursor(|last| Cursor { at: last.received_at.0, id: last.id });
    let scans: Vec<Scan> = page.items.into_iter().map(Scan::from).collect();
    Ok(([(NEXT_CURSOR, next)], Json(scans)).into_response())
}

/// `GET /attendance/live/{eventId}` (`Authorization` header; the organizer,
/// check-in staff, ADMINs): Server-Sent Events, one `data:` JSON line per
/// update, the current state first. It ends when the token expires or the
/// right is taken away; a comment line every 15 s keeps proxies from closing it.
#[utoipa::path(
    get,
    path = "/attendance/live/{event_id}",
    tag = "door",
    params(EventId),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`data:` lines, each an update", content_type = "text/event-stream", body = AttendanceUpdate),
        (status = 403, description = "`FORBIDDEN`: not the organizer, check-in staff or an ADMIN", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such event", body = ErrorBody),
    )
)]
async fn live(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(event_id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let subscription = state.service.live().subscribe(&caller, event_id).await?;
    let events = futures::stream::unfold(subscription, |mut subscription| async move {
        let update = subscription.next().await?;
        Some((Ok::<_, std::convert::Infallible>(Event::default().data(rendered(&update))), subscription))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15))).into_response())
}

/// An update as JSON, made once for all the streams that send it (the last
/// one rendered is kept: every subscriber of an event sends the same).
fn rendered(update: &Arc<crate::domain::live::LiveUpdate>) -> Arc<str> {
    use std::sync::Mutex;
    static LAST: Mutex<Option<(std::sync::Weak<crate::domain::live::LiveUpdate>, Arc<str>)>> = Mutex::new(None);
    let mut last = LAST.lock().expect("rendered lock");
    if let Some((of, json)) = last.as_ref() {
        if std::ptr::eq(of.as_ptr(), Arc::as_ptr(update)) {
            return json.clone();
        }
    }
    let json: Arc<str> = serde_json::to_string(&AttendanceUpdate::from(update.as_ref())).unwrap_or_default().into();
    *last = Some((Arc::downgrade(update), json.clone()));
    json
}

/// How the event's door works (the defaults for an event never set).
#[utoipa::path(
    get,
    path = "/attendance/event/{event_id}/policy",
    tag = "door",
    params(EventId),
    responses((status = 200, description = "the policy", body = CheckInPolicy))
)]
async fn policy(
    State(state): State<Arc<RestState>>,
    ApiPath(event_id): ApiPath<Uuid>,
) -> Result<Json<CheckInPolicy>, ApiError> {
    let mut policies = state.service.policies(&[event_id]).await?;
    Ok(Json(policies.remove(&event_id).unwrap_or_default().into()))
}

/// Changes the fields given: the organizer or an ADMIN.
#[utoipa::path(
    patch,
    path = "/attendance/event/{event_id}/policy",
    tag = "door",
    params(EventId),
    request_body = CheckInPolicyInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the policy as it now is", body = CheckInPolicy),
        (status = 403, description = "`FORBIDDEN`: not its organizer", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such event", body = ErrorBody),
    )
)]
async fn set_policy(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(event_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CheckInPolicyInput>,
) -> Result<Json<CheckInPolicy>, ApiError> {
    Ok(Json(state.service.set_policy(&caller, event_id, body.into()).await?.into()))
}

/// The most people one `visible-profiles` call may ask about (the auth
/// service's loader batches are at most this large).
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
/// `users` registered (any status but declined) for an event `viewer` organizes.
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EventChange {
    updated_at: Timestamp,
}

/// `POST /internal/events/{id}/changed {updatedAt}` → 200 `{}`.
async fn event_changed(
    State(state): State<Arc<RestState>>,
    ApiPath(event_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<EventChange>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.service.event_changed(event_id, body.updated_at).await?;
    Ok(Json(serde_json::json!({})))
}

/// The event's statistics; anyone may read them.
#[utoipa::path(
    get,
    path = "/attendance/stats/{event_id}",
    tag = "door",
    params(EventId),
    responses((status = 200, description = "the statistics", body = AttendanceStats), (status = 404, description = "`NOT_FOUND`: no such event", body = ErrorBody))
)]
async fn stats(
    State(state): State<Arc<RestState>>,
    ApiPath(event_id): ApiPath<Uuid>,
) -> Result<Json<AttendanceStats>, ApiError> {
    Ok(Json(state.service.event_stats(event_id).await?.into()))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::domain::MAX_REGISTRATION_CAPACITY;

    /// The document's bounds are literals (utoipa's attributes take no
    /// constants): each must be the limit the code enforces.
    #[test]
    fn the_documents_bounds_are_the_codes() {
        let api = serde_json::to_value(super::openapi()).expect("a document");
        let capacity = "/components/schemas/RegistrationPolicyInput/properties/capacity/maximum";
        assert_eq!(api.pointer(capacity).and_then(Value::as_u64), Some(MAX_REGISTRATION_CAPACITY as u64));
        let mut lists = 0;
        for (path, item) in api["paths"].as_object().expect("paths") {
            let parameters = item["get"]["parameters"].as_array().into_iter().flatten();
            for limit in parameters.filter(|p| p["name"] == "limit") {
                assert_eq!(limit["schema"]["maximum"].as_u64(), Some(super::MAX_LIMIT), "{path}");
                lists += 1;
            }
        }
        assert_eq!(lists, 3, "the check-ins, the scan log and the registrations");
    }
}
