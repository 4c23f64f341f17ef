//! Registrations and tickets over REST, on the same domain functions as GraphQL.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use common::{
    auth::Caller,
    keys::Jwks,
    openapi::{routes, ErrorBody, OpenApiRouter},
    page::{rest_limit, Cursor},
    rest::{ApiJson, ApiPath, ApiQuery},
    ApiError,
};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{EventId, RestState, MAX_LIMIT, NEXT_CURSOR};
use crate::{
    domain::{registration::RegistrationStatus as Status, AttendanceError, Viewer},
    wire::{
        Registration, RegistrationListQuery, RegistrationPolicy, RegistrationPolicyInput, RegistrationSummary,
        RevokedTicket,
    },
};

pub(super) fn routes() -> OpenApiRouter<Arc<RestState>> {
    OpenApiRouter::new()
        .routes(routes!(register, list))
        .routes(routes!(policy, set_policy))
        .routes(routes!(summary))
        .routes(routes!(revoked))
        .routes(routes!(one, cancel))
        .routes(routes!(approve))
        .routes(routes!(decline))
        .routes(routes!(ticket_svg))
        .routes(routes!(ticket_keys))
}

/// The registration's id, in the path.
#[derive(IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
#[allow(dead_code)] // a description of `ApiPath<Uuid>`
struct RegistrationId(Uuid);

/// Registers the caller (no body): confirmed, waitlisted or pending, as the
/// event's registration policy decides.
#[utoipa::path(
    post,
    path = "/attendance/event/{event_id}/registrations",
    tag = "registrations",
    params(EventId),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "the registration", body = Registration),
        (status = 404, description = "`NOT_FOUND`: no such event", body = ErrorBody),
        (status = 409, description = "`REGISTRATION_CLOSED`, `EVENT_FULL` or `EVENT_CANCELLED`", body = ErrorBody),
    )
)]
async fn register(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(event_id): ApiPath<Uuid>,
) -> Result<(StatusCode, Json<Registration>), ApiError> {
    let registration = state.service.register(&caller, event_id).await?;
    Ok((StatusCode::CREATED, Json(registration.into())))
}

/// The event's registrations, oldest first (`limit` up to 1,000; `after`:
/// the `X-Next-Cursor` header of the previous page; `status` filters): for
/// its organizer and ADMINs with tickets, for check-in staff without; an
/// empty list for anyone else. A token is required.
#[utoipa::path(
    get,
    path = "/attendance/event/{event_id}/registrations",
    tag = "registrations",
    params(EventId, RegistrationListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the registrations the caller may read", body = Vec<Registration>,
            headers(("x-next-cursor" = String, description = "the `after` of the next page; empty on the last"))),
        (status = 404, description = "`NOT_FOUND`: no such event", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(event_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<RegistrationListQuery>,
) -> Result<Response, ApiError> {
    let viewer = Viewer::signed_in(&caller)?;
    let limit = rest_limit(query.limit, 50, MAX_LIMIT)?;
    let after = query.after.as_deref().map(Cursor::decode).transpose()?;
    let status: Option<Status> = query.status.map(Into::into);
    let page = state.service.event_registrations(viewer, event_id, status, limit, after).await?;
    let next = page.next_cursor(|last| Cursor { at: last.registration.created_at.0, id: last.registration.id });
    let items: Vec<Registration> = page.items.into_iter().map(Registration::from).collect();
    Ok(([(NEXT_CURSOR, next)], Json(items)).into_response())
}

/// One registration: for the person registered, the event's organizer, its check-in staff and ADMINs.
#[utoipa::path(
    get,
    path = "/attendance/registrations/{id}",
    tag = "registrations",
    params(RegistrationId),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "the registration", body = Registration),
        (status = 404, description = "`NOT_FOUND`: none the caller may read", body = ErrorBody),
    )
)]
async fn one(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Registration>, ApiError> {
    Ok(Json(state.service.readable_registration(Viewer::of(&caller), id).await?.into()))
}

/// Cancels a registration (its ticket is revoked): the person registered, the organizer or an ADMIN.
#[utoipa::path(
    delete,
    path = "/attendance/registrations/{id}",
    tag = "registrations",
    params(RegistrationId),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the cancelled registration", body = Registration),
        (status = 403, description = "`FORBIDDEN`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
    )
)]
async fn cancel(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Registration>, ApiError> {
    Ok(Json(state.service.cancel_registration(&caller, id).await?.into()))
}

/// Approves a pending request: the organizer or an ADMIN.
#[utoipa::path(
    post,
    path = "/attendance/registrations/{id}/approve",
    tag = "registrations",
    params(RegistrationId),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the registration, confirmed or waitlisted", body = Registration),
        (status = 403, description = "`FORBIDDEN`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
        (status = 409, description = "`EVENT_FULL`: no place left and no waitlist", body = ErrorBody),
        (status = 422, description = "`BAD_USER_INPUT`: the registration is neither pending nor already so", body = ErrorBody),
    )
)]
async fn approve(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Registration>, ApiError> {
    Ok(Json(state.service.decide_registration(&caller, id, true).await?.into()))
}

/// Declines a pending request: the organizer or an ADMIN.
#[utoipa::path(
    post,
    path = "/attendance/registrations/{id}/decline",
    tag = "registrations",
    params(RegistrationId),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the declined registration", body = Registration),
        (status = 403, description = "`FORBIDDEN`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
        (status = 422, description = "`BAD_USER_INPUT`: the registration is neither pending nor already so", body = ErrorBody),
    )
)]
async fn decline(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Registration>, ApiError> {
    Ok(Json(state.service.decide_registration(&caller, id, false).await?.into()))
}

/// Who may register and how (the defaults for an event never set).
#[utoipa::path(
    get,
    path = "/attendance/event/{event_id}/registration-policy",
    tag = "registrations",
    params(EventId),
    responses((status = 200, description = "the policy", body = RegistrationPolicy))
)]
async fn policy(
    State(state): State<Arc<RestState>>,
    ApiPath(event_id): ApiPath<Uuid>,
) -> Result<Json<RegistrationPolicy>, ApiError> {
    let mut policies = state.service.registration_policies(&[event_id]).await?;
    Ok(Json(policies.remove(&event_id).unwrap_or_default().into()))
}

/// Changes the fields given (`capacity: null` clears it): the organizer or an ADMIN.
#[utoipa::path(
    patch,
    path = "/attendance/event/{event_id}/registration-policy",
    tag = "registrations",
    params(EventId),
    request_body = RegistrationPolicyInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the policy as it now is", body = RegistrationPolicy),
        (status = 403, description = "`FORBIDDEN`: not its organizer", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such event", body = ErrorBody),
    )
)]
async fn set_policy(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(event_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RegistrationPolicyInput>,
) -> Result<Json<RegistrationPolicy>, ApiError> {
    Ok(Json(state.service.set_registration_policy(&caller, event_id, body.into()).await?.into()))
}

/// How many are confirmed, waitlisted and pending, and the places left; anyone may read it.
#[utoipa::path(
    get,
    path = "/attendance/event/{event_id}/registration-summary",
    tag = "registrations",
    params(EventId),
    responses(
        (status = 200, description = "the summary", body = RegistrationSummary),
        (status = 404, description = "`NOT_FOUND`: no such event", body = ErrorBody),
    )
)]
async fn summary(
    State(state): State<Arc<RestState>>,
    ApiPath(event_id): ApiPath<Uuid>,
) -> Result<Json<RegistrationSummary>, ApiError> {
    let mut summaries = state.service.registration_summaries(&[(event_id, None)]).await?;
    let summary = summaries.remove(&event_id).ok_or(AttendanceError::EventNotFound)?;
    Ok(Json(summary.into()))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RevokedQuery {
    /// Only those revoked after this instant (RFC 3339).
    since: Option<DateTime<Utc>>,
}

/// The event's tickets revoked after `since` (RFC 3339; all without), for
/// its organizer, check-in staff and ADMINs (empty for anyone else). A
/// token is required.
#[utoipa::path(
    get,
    path = "/attendance/event/{event_id}/revoked-tickets",
    tag = "registrations",
    params(EventId, RevokedQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "the revoked tickets, oldest first", body = Vec<RevokedTicket>))
)]
async fn revoked(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(event_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<RevokedQuery>,
) -> Result<Json<Vec<RevokedTicket>>, ApiError> {
    let viewer = Viewer::signed_in(&caller)?;
    let mut revoked = state.service.revoked_tickets(viewer, &[event_id], query.since).await?;
    Ok(Json(revoked.remove(&event_id).unwrap_or_default().into_iter().map(Into::into).collect()))
}

/// The ticket's QR code, as SVG: for the person registered, the event's
/// organizer and ADMINs, while the registration is confirmed.
#[utoipa::path(
    get,
    path = "/attendance/registrations/{id}/ticket.svg",
    tag = "registrations",
    params(RegistrationId),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "the QR code", content_type = "image/svg+xml", body = String),
        (status = 403, description = "`FORBIDDEN`: not the person registered, its organizer or an ADMIN", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: none the caller may read, or not confirmed", body = ErrorBody),
    )
)]
async fn ticket_svg(
    State(state): State<Arc<RestState>>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let view = state.service.readable_registration(Viewer::of(&caller), id).await?;
    let Some(ticket) = view.ticket else {
        return Err(if view.registration.status == Status::Confirmed {
            ApiError::forbidden("only the person registered, the event's organizer or an admin may see its ticket")
        } else {
            ApiError::not_found("this registration holds no ticket: it is not confirmed")
        });
    };
    let svg = qr_svg(&ticket.secret)?;
    let headers = [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "private, no-store")];
    Ok((headers, svg).into_response())
}

/// A QR code of `text` at error correction M (a phone's cracked screen or
/// glare still scans), as SVG.
fn qr_svg(text: &str) -> Result<String, ApiError> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| ApiError::internal(format!("a QR code: {e}")))?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(320, 320).build())
}

/// `GET /.well-known/ticket-keys.json`: the public keys tickets are signed
/// with (JWKS; `kid` is the ticket's key id), for scanners that check
/// tickets offline. The signing key first; retired keys are gone. Public
/// keys: any origin may read them (the web app's door keeps them).
#[utoipa::path(
    get,
    path = "/.well-known/ticket-keys.json",
    tag = "registrations",
    responses((status = 200, description = "the keys", body = Jwks,
        headers(("cache-control" = String, description = "`public, max-age=300`"))))
)]
async fn ticket_keys(State(state): State<Arc<RestState>>) -> impl IntoResponse {
    let jwks = common::keys::jwk_set(state.service.ticket_keys().into_iter().map(|(kid, key)| (kid.to_string(), key)));
    ([(header::CACHE_CONTROL, "public, max-age=300"), (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], Json(jwks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tickets::{TicketClaims, TicketKeys};

    #[test]
    fn a_ticket_fits_a_small_qr_code() {
        let keys = TicketKeys::new(vec![ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng)]).expect("a key");
        let claims = TicketClaims {
            ticket_id: Uuid::now_v7(),
            event_id: Uuid::now_v7(),
            valid_until: Utc::now(),
            key_id: keys.signing_key_id(),
        };
        let secret = keys.secret(&claims).expect("signed");
        let code = qrcode::QrCode::with_error_correction_level(&secret, qrcode::EcLevel::M).expect("a code");
        match code.version() {
            qrcode::Version::Normal(n) => assert!(n <= 10, "version {n}"),
            other => panic!("{other:?}"),
        }
        assert!(qr_svg(&secret).expect("svg").starts_with("<?xml"));
    }
}
