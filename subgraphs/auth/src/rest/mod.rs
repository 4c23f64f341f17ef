//! The original guide's REST endpoints, over the same domain functions as GraphQL.

use axum::{
    extract::{Extension, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use common::openapi::{routes, OpenApiRouter};
use common::{
    auth::bearer_token,
    keys::Jwks,
    net::ClientAddress,
    openapi::ErrorBody,
    rest::{ApiJson, ApiPath},
    ApiError,
};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    domain::{self, AuthService},
    wire::{AuthPayload, LoginInput, RegisterInput, TokenValidation},
};

/// What the auth service's REST API is, for its OpenAPI document.
const DESCRIPTION: &str = "Accounts and sessions: register, log in, check a token, trade a refresh token, \
log out; the public keys access tokens are signed with. Errors are `{ \"error\": { \"code\", \"message\" } }`.";

pub fn router(service: AuthService, credential: common::internal::ServiceCredential) -> Router {
    // For other services only (the attendance service checking that a person exists).
    let internal = common::internal::only_services(
        Router::new()
            .route("/internal/users/{id}", get(user_by_id))
            .route("/internal/users/existing", post(existing_users)),
        credential,
    );
    routes().split_for_parts().0.merge(internal).with_state(service)
}

/// The public routes, each with its OpenAPI operation.
fn routes() -> OpenApiRouter<AuthService> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(validate))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(jwks))
}

/// The OpenAPI document of the public routes (`GET /openapi.json`, `print-openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    common::openapi::document("auth", DESCRIPTION, routes().into_openapi())
}

/// A new account, and its first session.
#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "auth",
    request_body = RegisterInput,
    responses(
        (status = 201, description = "the account and its tokens", body = AuthPayload),
        (status = 409, description = "`EMAIL_TAKEN`", body = ErrorBody),
        (status = 429, description = "`TOO_MANY_REQUESTS`: too many registrations from this address", body = ErrorBody,
            headers(("retry-after" = u64, description = "seconds to wait"))),
    )
)]
async fn register(
    State(service): State<AuthService>,
    client: Option<Extension<ClientAddress>>,
    ApiJson(body): ApiJson<RegisterInput>,
) -> Result<(StatusCode, Json<AuthPayload>), ApiError> {
    let client = client.map(|Extension(ClientAddress(address))| address);
    let payload = service.register(&body.email, body.password, body.name, client).await?;
    Ok((StatusCode::CREATED, Json(payload.into())))
}

/// A new session for an email and password.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body = LoginInput,
    responses(
        (status = 200, description = "the person and new tokens", body = AuthPayload),
        (status = 401, description = "`UNAUTHENTICATED`: no such email, or the wrong password", body = ErrorBody),
        (status = 429, description = "`TOO_MANY_REQUESTS`: too many failed logins", body = ErrorBody,
            headers(("retry-after" = u64, description = "seconds to wait"))),
    )
)]
async fn login(
    State(service): State<AuthService>,
    client: Option<Extension<ClientAddress>>,
    ApiJson(body): ApiJson<LoginInput>,
) -> Result<Json<AuthPayload>, ApiError> {
    let client = client.map(|Extension(ClientAddress(address))| address);
    Ok(Json(service.login(&body.email, &body.password, client).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RefreshBody {
    /// A refresh token of `register`, `login` or `refresh`: single use.
    refresh_token: String,
}

/// New tokens for a refresh token, which is spent. A token used twice ends its whole session.
#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "new tokens", body = AuthPayload),
        (status = 401, description = "`UNAUTHENTICATED`: unknown, expired or reused", body = ErrorBody),
    )
)]
async fn refresh(
    State(service): State<AuthService>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<Json<AuthPayload>, ApiError> {
    Ok(Json(service.refresh(&body.refresh_token).await?.into()))
}

/// Ends the session of a refresh token: 204 whether or not the token was
/// known (logging out twice is fine).
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    request_body = RefreshBody,
    responses((status = 204, description = "the session is over"))
)]
async fn logout(
    State(service): State<AuthService>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<StatusCode, ApiError> {
    service.logout(&body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether the bearer token is valid: 200 `{ valid: true, user, expiresAt }`
/// or 401 `{ valid: false, error }`.
#[utoipa::path(
    post,
    path = "/auth/validate",
    tag = "auth",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "valid: the person and when the token expires", body = TokenValidation),
        (status = 401, description = "not valid, with the reason", body = TokenValidation),
    )
)]
async fn validate(State(service): State<AuthService>, headers: HeaderMap) -> Result<Response, ApiError> {
    let validation: TokenValidation = match bearer_token(&headers) {
        Ok(Some(token)) => service.validation(token).await?.into(),
        Ok(None) => domain::TokenValidation::invalid("missing `Authorization: Bearer <token>` header".into()).into(),
        Err(e) => domain::TokenValidation::invalid(e.to_string()).into(),
    };
    let status = if validation.valid { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
    Ok((status, Json(validation)).into_response())
}

/// The public keys access tokens are signed with (JWKS), for verifying them offline.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "auth",
    responses((status = 200, description = "the keys", body = Jwks,
        headers(("cache-control" = String, description = "`public, max-age=300`"))))
)]
async fn jwks(State(service): State<AuthService>) -> impl IntoResponse {
    ([(axum::http::header::CACHE_CONTROL, "public, max-age=300")], Json(service.jwks()))
}

/// A person who exists, by id: `{ "id" }` and nothing personal.
#[derive(serde::Serialize)]
struct KnownUser {
    id: Uuid,
}

/// `{ "ids": [...] }`, both ways: of the ids asked about, those of existing
/// people (one query, for the attendance service's offline sync).
#[derive(Debug, serde::Deserialize, serde::Serialize)]
struct UserIds {
    ids: Vec<Uuid>,
}

/// More ids than one offline sync holds are refused.
const MAX_EXISTING_ASKED: usize = 1_000;

async fn existing_users(
    State(service): State<AuthService>,
    ApiJson(body): ApiJson<UserIds>,
) -> Result<Json<UserIds>, ApiError> {
    if body.ids.len() > MAX_EXISTING_ASKED {
        return Err(ApiError::invalid_field(format!("at most {MAX_EXISTING_ASKED} ids")));
    }
    let users = service.users(&body.ids).await?;
    Ok(Json(UserIds { ids: users.into_iter().map(|u| u.id).collect() }))
}

async fn user_by_id(
    State(service): State<AuthService>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<KnownUser>, ApiError> {
    let user = service.user(id).await?.ok_or_else(|| ApiError::not_found("user not found"))?;
    Ok(Json(KnownUser { id: user.id }))
}
