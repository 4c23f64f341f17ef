//! The auth service's domain: its error enum here, the use cases GraphQL and
//! REST both call (so the two can never disagree) in `service`. No HTTP,
//! GraphQL, serde or SeaORM types cross this boundary; the public shapes are
//! in `wire`.

mod credentials;
mod password;
mod service;

pub use credentials::{Email, NewPassword};
pub use password::PasswordHasher;
pub use service::{AuthPayload, AuthService, ProfileViewer, TokenValidation, User};

use common::{auth::TokenError, db::StorageError};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("this email is already registered")]
    EmailTaken,
    /// Deliberately the same for an unknown email and a wrong password.
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error(transparent)]
    InvalidToken(#[from] TokenError),
    #[error("user not found")]
    UserNotFound,
    /// A personal field (email, role, sign-up date) of someone else.
    #[error("only the person, an ADMIN or the organizer of an event they checked in to may see this")]
    ProfileHidden,
    #[error("sign in to see people's email, role and sign-up date")]
    ProfileNeedsSignIn,
    #[error(transparent)]
    Unavailable(#[from] common::internal::Unavailable),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("too many logins at once, try again shortly")]
    Busy,
    #[error("too many failed logins; try again in {} seconds", .0.as_secs().max(1))]
    Throttled(std::time::Duration),
    #[error("too many registrations from this address; try again in {} seconds", .0.as_secs().max(1))]
    RegistrationsThrottled(std::time::Duration),
    #[error("too many registrations at once, try again shortly")]
    RegistrationsBusy,
    #[error("the refresh token is invalid, expired or revoked")]
    InvalidRefreshToken,
    #[error("the refresh token was already used; every session of that login is now revoked")]
    RefreshTokenReused,
    #[error("cannot sign the token: {0}")]
    Signing(String),
    #[error(transparent)]
    Database(#[from] StorageError),
}
