//! The original guide's REST endpoints, over the same domain functions as GraphQL.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use common::{
    auth::bearer_token,
    rest::{ApiJson, ApiPath},
    ApiError,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{AuthPayload, AuthService, TokenValidation, User};

pub fn router(service: AuthService) -> Router {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/validate", post(validate))
        .route("/.well-known/jwks.json", get(jwks))
        // For other services (e.g. attendance checking that a user exists).
        .route("/internal/users/{id}", get(user_by_id))
        .with_state(service)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    email: String,
    password: String,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
}

async fn register(
    State(service): State<AuthService>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<(StatusCode, Json<AuthPayload>), ApiError> {
    let payload = service.register(&body.email, body.password, body.name).await?;
    Ok((StatusCode::CREATED, Json(payload)))
}

async fn login(
    State(service): State<AuthService>,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Json<AuthPayload>, ApiError> {
    Ok(Json(service.login(&body.email, &body.password).await?))
}

/// 200 `{ valid: true, user, expiresAt }` or 401 `{ valid: false, error }`.
async fn validate(State(service): State<AuthService>, headers: HeaderMap) -> Result<Response, ApiError> {
    let validation = match bearer_token(&headers) {
        Ok(Some(token)) => service.validation(token).await?,
        Ok(None) => TokenValidation {
            valid: false,
            user: None,
            expires_at: None,
            error: Some("missing `Authorization: Bearer <token>` header".into()),
        },
        Err(e) => TokenValidation { valid: false, user: None, expires_at: None, error: Some(e.to_string()) },
    };
    let status = if validation.valid { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
    Ok((status, Json(validation)).into_response())
}

async fn jwks(State(service): State<AuthService>) -> impl IntoResponse {
    ([(axum::http::header::CACHE_CONTROL, "public, max-age=300")], Json(service.jwks()))
}

async fn user_by_id(State(service): State<AuthService>, ApiPath(id): ApiPath<Uuid>) -> Result<Json<User>, ApiError> {
    service.user(id).await?.map(Json).ok_or_else(|| ApiError::not_found("user not found"))
}
