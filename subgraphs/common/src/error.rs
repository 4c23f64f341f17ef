//! The public error model: one code list (the API contract's), one value that
//! renders both as a GraphQL error (`extensions.code`) and as the REST body
//! `{ "error": { "code", "message" } }`. Each service maps its own domain
//! error enum into [`ApiError`] exactly once.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

/// What went wrong, for programs: the API contract's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    BadUserInput,
    NotFound,
    EmailTaken,
    AlreadyCheckedIn,
    EventFull,
    EventCancelled,
    CheckinClosed,
    /// An exit scan of someone who is not inside.
    NotInside,
    /// A scanned ticket that is not ours: forged, altered, malformed, signed
    /// by a retired key, or expired.
    TicketInvalid,
    /// A ticket of a cancelled (or reissued) registration.
    TicketRevoked,
    TicketWrongEvent,
    /// Scanned by id at an event that admits only registered people.
    NotRegistered,
    RegistrationClosed,
    TooManyRequests,
    QueryTooComplex,
    ServiceUnavailable,
    InternalServerError,
}

impl ErrorCode {
    /// Every code, as the contract lists them.
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::BadUserInput,
        ErrorCode::NotFound,
        ErrorCode::EmailTaken,
        ErrorCode::AlreadyCheckedIn,
        ErrorCode::EventFull,
        ErrorCode::EventCancelled,
        ErrorCode::CheckinClosed,
        ErrorCode::NotInside,
        ErrorCode::TicketInvalid,
        ErrorCode::TicketRevoked,
        ErrorCode::TicketWrongEvent,
        ErrorCode::NotRegistered,
        ErrorCode::RegistrationClosed,
        ErrorCode::TooManyRequests,
        ErrorCode::QueryTooComplex,
        ErrorCode::ServiceUnavailable,
        ErrorCode::InternalServerError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::EmailTaken => "EMAIL_TAKEN",
            ErrorCode::AlreadyCheckedIn => "ALREADY_CHECKED_IN",
            ErrorCode::EventFull => "EVENT_FULL",
            ErrorCode::EventCancelled => "EVENT_CANCELLED",
            ErrorCode::CheckinClosed => "CHECKIN_CLOSED",
            ErrorCode::NotInside => "NOT_INSIDE",
            ErrorCode::TicketInvalid => "TICKET_INVALID",
            ErrorCode::TicketRevoked => "TICKET_REVOKED",
            ErrorCode::TicketWrongEvent => "TICKET_WRONG_EVENT",
            ErrorCode::NotRegistered => "NOT_REGISTERED",
            ErrorCode::RegistrationClosed => "REGISTRATION_CLOSED",
            ErrorCode::TooManyRequests => "TOO_MANY_REQUESTS",
            ErrorCode::QueryTooComplex => "QUERY_TOO_COMPLEX",
            ErrorCode::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            ErrorCode::InternalServerError => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The REST status a code maps to unless a caller picks a more precise one
    /// (e.g. 413 or 415 for `BAD_USER_INPUT`).
    pub fn default_status(self) -> StatusCode {
        match self {
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::BadUserInput | ErrorCode::QueryTooComplex => StatusCode::BAD_REQUEST,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::EmailTaken
            | ErrorCode::AlreadyCheckedIn
            | ErrorCode::EventFull
            | ErrorCode::EventCancelled
            | ErrorCode::NotInside
            | ErrorCode::TicketRevoked
            | ErrorCode::TicketWrongEvent
            | ErrorCode::NotRegistered
            | ErrorCode::RegistrationClosed => StatusCode::CONFLICT,
            ErrorCode::CheckinClosed | ErrorCode::TicketInvalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error as clients see it. Deliberately not `Display`, so `?` in a
/// resolver never silently falls back to async-graphql's code-less conversion.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub status: StatusCode,
    pub message: String,
    /// Extra machine-readable data (e.g. the original record on a duplicate).
    pub details: Option<serde_json::Value>,
    /// When the client may try again (`Retry-After` in REST, `retryAfterSeconds` in GraphQL).
    pub retry_after: Option<std::time::Duration>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, status: code.default_status(), message: message.into(), details: None, retry_after: None }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadUserInput, message)
    }

    /// A field that parsed but is not acceptable (REST 422).
    pub fn invalid_field(message: impl Into<String>) -> Self {
        Self::bad_input(message).with_status(StatusCode::UNPROCESSABLE_ENTITY)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ServiceUnavailable, message)
    }

    /// `TOO_MANY_REQUESTS` (REST 429 with `Retry-After`).
    pub fn too_many_requests(message: impl Into<String>, retry_after: std::time::Duration) -> Self {
        ApiError { retry_after: Some(retry_after), ..Self::new(ErrorCode::TooManyRequests, message) }
    }

    /// Whole seconds to wait, rounded up so that a client never retries early.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        self.retry_after.map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
    }

    /// Logs the cause and returns a message that reveals nothing about it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::InternalServerError, "internal server error")
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Every REST error answer: `{ "error": { "code", "message", "details"? } }`.
// What `ApiError` renders and the OpenAPI documents describe: one type.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ErrorDetail {
    code: ErrorCode,
    /// For people: what went wrong, in words.
    message: String,
    /// Machine-readable extras of some codes (e.g. the scan that was already made).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    details: Option<serde_json::Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after_seconds();
        let body = ErrorBody { error: ErrorDetail { code: self.code, message: self.message, details: self.details } };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        use async_graphql::ErrorExtensions;
        let retry_after = err.retry_after_seconds();
        let mut gql = async_graphql::Error::new(err.message);
        let code = err.code.as_str();
        let details = err.details.and_then(|d| async_graphql::Value::from_json(d).ok());
        gql = gql.extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(details) = details {
                ext.set("details", details);
            }
            if let Some(seconds) = retry_after {
                ext.set("retryAfterSeconds", seconds);
            }
        });
        gql
    }
}

/// `Result` for GraphQL resolvers and REST handlers alike.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The production router passes on only the codes its configuration
    /// lists: every code of the contract, and nothing else.
    #[test]
    fn the_production_router_passes_every_code_on() {
        let config = include_str!("../../../router/router.prod.yaml");
        let listed: Vec<&str> = config
            .lines()
            .skip_while(|line| line.trim() != "codes:")
            .skip(1)
            .map_while(|line| line.trim().strip_prefix("- "))
            .collect();
        let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, all, "router/router.prod.yaml's `titiktemu.errors.codes`");
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).expect("a code"), json!(code.as_str()));
        }
    }
}
