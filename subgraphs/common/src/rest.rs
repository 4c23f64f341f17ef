//! Extractors for the REST shim whose rejections are the contract's JSON
//! errors (instead of axum's plain-text ones).

use axum::{
    extract::{
        rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection},
        FromRequest, FromRequestParts, Request,
    },
    http::{request::Parts, StatusCode},
};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// `Json<T>`: 415 without a JSON content type, 413 when too large, 400 for
/// broken JSON or anything but an object, 422 for an object of the wrong
/// shape (missing fields, wrong types, unknown fields).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(req.headers()) {
            return Err(ApiError::bad_input("expected `Content-Type: application/json`")
                .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(body_rejection)?;
        // serde also reads a struct from a JSON array (`[]` would be an empty
        // PATCH); a body is an object or it is refused.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::bad_input("the request body must be a JSON object"));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// A body that could not be read: 413 when over the limit, else axum's status
/// and reason. Shared with the GraphQL endpoint.
pub(crate) fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::bad_input("the request body is too large").with_status(StatusCode::PAYLOAD_TOO_LARGE)
    } else {
        ApiError::bad_input(rejection.body_text()).with_status(rejection.status())
    }
}

pub(crate) fn has_json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(content_type) = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => ApiError::invalid_field(e.body_text()),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_input(format!("malformed JSON: {}", e.body_text())),
        other => ApiError::bad_input(other.body_text()).with_status(other.status()),
    }
}

/// `Path<T>`: 400 when a path segment does not parse (e.g. a malformed UUID).
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|e: PathRejection| ApiError::bad_input(format!("invalid path parameter: {}", e.body_text())))
    }
}

/// `Query<T>`: 400 for unknown values or wrong types in the query string.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|e: QueryRejection| ApiError::bad_input(format!("invalid query string: {}", e.body_text())))
    }
}

/// Fallback for unknown routes: the contract's JSON error instead of an empty 404.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}
