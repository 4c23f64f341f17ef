//! The auth service's public shapes, declared once for both edges: each
//! output type is the GraphQL object and the REST body, each input the GraphQL
//! input and the REST request body. The mapping from the domain, and of its
//! errors to the public error model, is here, once.

use async_graphql::{InputObject, Object, SimpleObject, ID};
use common::{auth::Role, time::Timestamp, ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{self, AuthError};

/// A person. Anyone may read `id` and `name`. `email`, `role` and
/// `createdAt` are for the person, ADMINs, and the organizers of events the
/// person checked in to; for anyone else they are null, with a `FORBIDDEN`
/// error at their path (`UNAUTHENTICATED` without a token).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    id: Uuid,
    email: String,
    name: Option<String>,
    role: Role,
    created_at: Timestamp,
    // REST shows only the caller's own user, always in full.
    #[serde(skip)]
    personal: Personal,
}

/// Whether the caller may read a user's personal fields, decided when the
/// user is loaded. The answer does not depend on how the reference got here
/// (an organizer, a door list, `user(id)`, `_entities`): auth owns these fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personal {
    Shown,
    NeedsSignIn,
    Hidden,
    /// Who may see them cannot be told right now (the attendance service is down).
    Unknown,
}

impl User {
    /// A user as a viewer may see them.
    pub fn seen(user: domain::User, personal: Personal) -> Self {
        let domain::User { id, email, name, role, created_at } = user;
        User { id, email, name, role, created_at, personal }
    }

    /// The user behind the tokens of this very answer (register, login,
    /// refresh, validateToken): theirs to read in full.
    pub fn own(user: domain::User) -> Self {
        User::seen(user, Personal::Shown)
    }

    fn personal_fields(&self) -> Result<(), ApiError> {
        match self.personal {
            Personal::Shown => Ok(()),
            Personal::NeedsSignIn => Err(AuthError::ProfileNeedsSignIn.into()),
            Personal::Hidden => Err(AuthError::ProfileHidden.into()),
            Personal::Unknown => {
                Err(AuthError::Unavailable(common::internal::Unavailable { service: "attendance" }).into())
            }
        }
    }
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    async fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    async fn email(&self) -> Result<Option<&str>, ApiError> {
        self.personal_fields()?;
        Ok(Some(&self.email))
    }

    async fn role(&self) -> Result<Option<Role>, ApiError> {
        self.personal_fields()?;
        Ok(Some(self.role))
    }

    async fn created_at(&self) -> Result<Option<Timestamp>, ApiError> {
        self.personal_fields()?;
        Ok(Some(self.created_at))
    }
}

#[derive(Debug, SimpleObject, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthPayload {
    /// The access token: `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: Timestamp,
    pub user: User,
    /// Single use: trade it at `refreshToken` for new tokens before it expires.
    pub refresh_token: String,
    pub refresh_expires_at: Timestamp,
}

impl From<domain::AuthPayload> for AuthPayload {
    fn from(p: domain::AuthPayload) -> Self {
        AuthPayload {
            token: p.token,
            expires_at: p.expires_at,
            user: User::own(p.user),
            refresh_token: p.refresh_token,
            refresh_expires_at: p.refresh_expires_at,
        }
    }
}

// REST leaves out what is absent: `{valid: true, user, expiresAt}` or `{valid: false, error}`.
#[derive(Debug, SimpleObject, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenValidation {
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<domain::TokenValidation> for TokenValidation {
    fn from(v: domain::TokenValidation) -> Self {
        TokenValidation { valid: v.valid, user: v.user.map(User::own), expires_at: v.expires_at, error: v.error }
    }
}

// `register`'s input and the body of `POST /auth/register`.
#[derive(Debug, InputObject, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com", "password": "correct horse battery", "name": "Ada"}))]
pub struct RegisterInput {
    #[schema(format = Email)]
    pub email: String,
    /// At least 8 characters, at most 1,024 bytes.
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    pub name: Option<String>,
}

// `login`'s input and the body of `POST /auth/login`.
#[derive(Debug, InputObject, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com", "password": "correct horse battery"}))]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

/// The one mapping from auth errors to the public error model.
impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::InvalidInput(message) => ApiError::invalid_field(message),
            AuthError::EmailTaken => ApiError::new(ErrorCode::EmailTaken, err.to_string()),
            AuthError::InvalidCredentials => ApiError::unauthenticated(err.to_string()),
            AuthError::InvalidToken(e) => e.into(),
            AuthError::UserNotFound => ApiError::not_found(err.to_string()),
            AuthError::ProfileHidden => ApiError::forbidden(err.to_string()),
            AuthError::ProfileNeedsSignIn => ApiError::unauthenticated(err.to_string()),
            AuthError::Unavailable(e) => e.into(),
            AuthError::Hashing(_) | AuthError::Signing(_) => ApiError::internal(err),
            AuthError::Busy => ApiError::unavailable(err.to_string()),
            AuthError::Throttled(wait) | AuthError::RegistrationsThrottled(wait) => {
                ApiError::too_many_requests(err.to_string(), wait)
            }
            AuthError::RegistrationsBusy => ApiError::unavailable(err.to_string()),
            AuthError::InvalidRefreshToken | AuthError::RefreshTokenReused => {
                ApiError::unauthenticated(err.to_string())
            }
            AuthError::Database(e) => e.into(),
        }
    }
}
