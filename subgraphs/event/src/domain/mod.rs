//! Use cases of the event service, shared by GraphQL and REST.

mod event;
mod service;

pub use event::{Event, EventFields, EventFilter, EventPatch, EventStatus, Patch};
pub use service::{EventService, Page};

use common::{auth::TokenRequired, ApiError};

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("{0}")]
    Invalid(String),
    #[error("event not found")]
    NotFound,
    #[error("only the event's organizer or an admin may change it")]
    Forbidden,
    #[error(transparent)]
    TokenRequired(#[from] TokenRequired),
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
}

/// The one mapping from event errors to the public error model.
impl From<EventError> for ApiError {
    fn from(err: EventError) -> Self {
        match err {
            EventError::Invalid(message) => ApiError::invalid_field(message),
            EventError::NotFound => ApiError::not_found(err.to_string()),
            EventError::Forbidden => ApiError::forbidden(err.to_string()),
            EventError::TokenRequired(e) => e.into(),
            EventError::Database(e) => e.into(),
        }
    }
}
