//! The original guide's REST endpoints, over the same domain functions as GraphQL.

use axum::{
    extract::{Extension, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use common::{
    auth::bearer_token,
    net::ClientAddress,
    rest::{ApiJson, ApiPath},
    ApiError,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    domain::{self, AuthService},
    wire::{AuthPayload, LoginInput, RegisterInput, TokenValidation},
};

pub fn router(service: AuthService, credential: common::internal::ServiceCredential) -> Router {
    // For other services only (the attendance service checking that a person exists).
    let internal = common::internal::only_services(
        Router::new()
            .route("/internal/users/{id}", get(user_by_id))
            .route("/internal/users/existing", post(existing_users)),
        credential,
    );
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/validate", post(validate))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/.well-known/jwks.json", get(jwks))
        .merge(internal)
        .with_state(service)
}

async fn register(
    State(service): State<AuthService>,
    client: Option<Extension<ClientAddress>>,
    ApiJson(body): ApiJson<RegisterInput>,
) -> Result<(StatusCode, Json<AuthPayload>), ApiError> {
    let client = client.map(|Extension(ClientAddress(address))| address);
    let payload = service.register(&body.email, body.password, body.name, client).await?;
    Ok((StatusCode::CREATED, Json(payload.into())))
}

async fn login(
    State(service): State<AuthService>,
    client: Option<Extension<ClientAddress>>,
    ApiJson(body): ApiJson<LoginInput>,
) -> Result<Json<AuthPayload>, ApiError> {
    let client = client.map(|Extension(ClientAddress(address))| address);
    Ok(Json(service.login(&body.email, &body.password, client).await?.into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RefreshBody {
    refresh_token: String,
}

async fn refresh(
    State(service): State<AuthService>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<Json<AuthPayload>, ApiError> {
    Ok(Json(service.refresh(&body.refresh_token).await?.into()))
}

/// 204 whether or not the token was known: logging out twice is fine.
async fn logout(
    State(service): State<AuthService>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<StatusCode, ApiError> {
    service.logout(&body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 200 `{ valid: true, user, expiresAt }` or 401 `{ valid: false, error }`.
async fn validate(State(service): State<AuthService>, headers: HeaderMap) -> Result<Response, ApiError> {
    let validation: TokenValidation = match bearer_token(&headers) {
        Ok(Some(token)) => service.validation(token).await?.into(),
        Ok(None) => domain::TokenValidation::invalid("missing `Authorization: Bearer <token>` header".into()).into(),
        Err(e) => domain::TokenValidation::invalid(e.to_string()).into(),
    };
    let status = if validation.valid { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
    Ok((status, Json(validation)).into_response())
}

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
