//! The event service's public shapes, declared once for both edges: each
//! output type is the GraphQL object and the REST body, each input the GraphQL
//! input and the REST request body. A field only one edge shows says so
//! (`#[graphql(skip)]` for REST-only ones). The mapping to and from the domain,
//! and of its errors to the public error model, is here, once.

use async_graphql::{ComplexObject, Enum, InputObject, MaybeUndefined, SimpleObject, ID};
use common::{time::Timestamp, ApiError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{self, EventError, Patch};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventStatus {
    Scheduled,
    Cancelled,
}

impl From<domain::EventStatus> for EventStatus {
    fn from(status: domain::EventStatus) -> Self {
        match status {
            domain::EventStatus::Scheduled => EventStatus::Scheduled,
            domain::EventStatus::Cancelled => EventStatus::Cancelled,
        }
    }
}

impl From<EventStatus> for domain::EventStatus {
    fn from(status: EventStatus) -> Self {
        match status {
            EventStatus::Scheduled => domain::EventStatus::Scheduled,
            EventStatus::Cancelled => domain::EventStatus::Cancelled,
        }
    }
}

// An event: the GraphQL `Event` entity, and the REST body (which the
// attendance service reads from `GET /events/{id}`). Descriptions (`///`)
// become the SDL's, so plain comments say what the type is for.
#[derive(Debug, Clone, SimpleObject, Serialize, utoipa::ToSchema)]
#[graphql(complex)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[schema(value_type = Uuid)]
    pub id: ID,
    // What its organizer wrote, the fields `createEvent` takes: flattened, so
    // a `///` here would reach no SDL.
    #[graphql(flatten)]
    #[serde(flatten)]
    pub details: EventDetails,
    pub status: EventStatus,
    /// REST only: GraphQL clients follow `organizer` instead.
    #[graphql(skip)]
    pub organizer_id: Option<Uuid>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[ComplexObject]
impl Event {
    /// The organizer, resolved by the router from the auth subgraph; null for
    /// events created anonymously in development.
    async fn organizer(&self) -> Option<User> {
        self.organizer_id.map(|id| User { id: ID(id.to_string()) })
    }
}

impl From<domain::Event> for Event {
    fn from(e: domain::Event) -> Self {
        Event {
            id: ID(e.id.to_string()),
            details: e.fields.into(),
            status: e.status.into(),
            organizer_id: e.organizer_id,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

// A reference to the auth subgraph's entity (kept undocumented: descriptions
// belong to the owner).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(unresolvable)]
pub struct User {
    pub id: ID,
}

// An event's own fields, declared once: `createEvent`'s input
// (`CreateEventInput`), the body of `POST /events`, and flattened into `Event`
// (GraphQL and REST alike). The output type of its own never reaches the SDL:
// nothing refers to it.
#[derive(Debug, Clone, SimpleObject, InputObject, Serialize, Deserialize, utoipa::ToSchema)]
#[graphql(name = "EventDetails", input_name = "CreateEventInput")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({
    "title": "Rust Jakarta meetup", "description": "Talks and snacks", "startTime": "2026-12-31T11:00:00Z",
    "endTime": "2026-12-31T14:00:00Z", "location": "Jakarta", "timezone": "Asia/Jakarta", "capacity": 120
}))]
pub struct EventDetails {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    #[schema(max_length = 500)]
    pub location: Option<String>,
    /// The IANA time zone the event happens in, e.g. `Asia/Jakarta`, for
    /// showing local times; `startTime` and `endTime` are instants either way.
    pub timezone: Option<String>,
    #[schema(minimum = 1)]
    pub capacity: Option<i32>,
}

impl From<domain::EventFields> for EventDetails {
    fn from(fields: domain::EventFields) -> Self {
        let domain::EventFields { title, description, start_time, end_time, location, timezone, capacity } = fields;
        EventDetails { title, description, start_time, end_time, location, timezone, capacity }
    }
}

impl From<EventDetails> for domain::EventFields {
    fn from(details: EventDetails) -> Self {
        let EventDetails { title, description, start_time, end_time, location, timezone, capacity } = details;
        domain::EventFields { title, description, start_time, end_time, location, timezone, capacity }
    }
}

// `updateEvent`'s input and the body of `PATCH /events/{id}`.
/// Only the fields given change; `null` clears an optional field.
#[derive(Debug, InputObject, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"location": "Bandung", "capacity": null}))]
pub struct UpdateEventInput {
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    pub title: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub description: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Timestamp)]
    pub start_time: MaybeUndefined<Timestamp>,
    #[serde(default)]
    #[schema(value_type = Timestamp)]
    pub end_time: MaybeUndefined<Timestamp>,
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub location: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub timezone: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<i32>, minimum = 1)]
    pub capacity: MaybeUndefined<i32>,
}

fn patch<T>(value: MaybeUndefined<T>) -> Patch<T> {
    match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(v) => Patch::Set(v),
    }
}

impl From<UpdateEventInput> for domain::EventPatch {
    fn from(input: UpdateEventInput) -> Self {
        domain::EventPatch {
            title: patch(input.title),
            description: patch(input.description),
            start_time: patch(input.start_time),
            end_time: patch(input.end_time),
            location: patch(input.location),
            timezone: patch(input.timezone),
            capacity: patch(input.capacity),
        }
    }
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
