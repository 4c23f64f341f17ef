//! The attendance service's public shapes, declared once for both edges: each
//! output type is the GraphQL object and the REST body, each input the GraphQL
//! input and the REST request body. Fields only REST shows are marked
//! `#[graphql(skip)]`. The mapping to and from the domain, and of its errors
//! to the public error model, is here, once.

use async_graphql::{ComplexObject, InputObject, SimpleObject, ID};
use common::{page::parse_id, time::Timestamp, ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    domain::{self, AttendanceError, CheckInRequest},
    graphql::{EventRef, UserRef},
};

// One person checked in to one event (undocumented in the SDL, as before).
#[derive(Debug, Clone, SimpleObject, Serialize)]
#[graphql(complex)]
#[serde(rename_all = "camelCase")]
pub struct Attendance {
    pub id: ID,
    pub event_id: ID,
    pub user_id: ID,
    pub check_in_time: Timestamp,
    /// REST only: who recorded the check-in (the organizer, staff or admin
    /// who scanned it); none if anonymous.
    #[graphql(skip)]
    pub recorded_by: Option<Uuid>,
    /// REST only.
    #[graphql(skip)]
    pub created_at: Timestamp,
}

#[ComplexObject]
impl Attendance {
    // The ids were written from UUIDs (`From<domain::Attendance>`), so they parse.

    /// Resolved by the router through the event subgraph.
    async fn event(&self) -> Option<EventRef> {
        Uuid::parse_str(&self.event_id).ok().map(|id| EventRef::new(id, None))
    }

    /// Resolved by the router through the auth subgraph.
    async fn user(&self) -> Option<UserRef> {
        Uuid::parse_str(&self.user_id).ok().map(UserRef::new)
    }
}

impl From<domain::Attendance> for Attendance {
    fn from(a: domain::Attendance) -> Self {
        Attendance {
            id: ID(a.id.to_string()),
            event_id: ID(a.event_id.to_string()),
            user_id: ID(a.user_id.to_string()),
            check_in_time: a.check_in_time,
            recorded_by: a.recorded_by,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Clone, SimpleObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntervalCount {
    pub start: Timestamp,
    pub count: i32,
}

#[derive(Debug, Clone, SimpleObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttendanceStats {
    pub event_id: ID,
    /// Distinct users checked in.
    pub total_attendees: i32,
    pub first_check_in: Option<Timestamp>,
    pub last_check_in: Option<Timestamp>,
    /// Checked in at or before the event's start time.
    pub on_time: i32,
    /// Checked in after the event's start time.
    pub late: i32,
    /// Check-ins per 15-minute bucket, oldest first.
    pub by_interval: Vec<IntervalCount>,
}

impl From<domain::AttendanceStats> for AttendanceStats {
    fn from(s: domain::AttendanceStats) -> Self {
        AttendanceStats {
            event_id: ID(s.event_id.to_string()),
            total_attendees: s.total_attendees,
            first_check_in: s.first_check_in,
            last_check_in: s.last_check_in,
            on_time: s.on_time,
            late: s.late,
            by_interval: s.by_interval.into_iter().map(|b| IntervalCount { start: b.start, count: b.count }).collect(),
        }
    }
}

// `checkIn`'s input and the body of `POST /attendance`.
#[derive(Debug, InputObject, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckInInput {
    pub event_id: ID,
    /// Defaults to the caller; someone else needs the organizer or an ADMIN.
    pub user_id: Option<ID>,
    /// Defaults to now; must not be in the future and must fall in the event's check-in window.
    pub check_in_time: Option<Timestamp>,
}

impl TryFrom<CheckInInput> for CheckInRequest {
    type Error = ApiError;

    fn try_from(input: CheckInInput) -> Result<Self, ApiError> {
        Ok(CheckInRequest {
            event_id: parse_id("eventId", &input.event_id)?,
            user_id: input.user_id.as_deref().map(|id| parse_id("userId", id)).transpose()?,
            check_in_time: input.check_in_time,
        })
    }
}

/// The one mapping from attendance errors to the public error model.
impl From<AttendanceError> for ApiError {
    fn from(err: AttendanceError) -> Self {
        let message = err.to_string();
        match err {
            AttendanceError::Invalid(message) => ApiError::invalid_field(message),
            AttendanceError::EventNotFound | AttendanceError::UserNotFound | AttendanceError::NotFound => {
                ApiError::not_found(message)
            }
            AttendanceError::Forbidden(_) => ApiError::forbidden(message),
            AttendanceError::Hidden { anonymous: true } => ApiError::unauthenticated(format!("sign in: {message}")),
            AttendanceError::Hidden { anonymous: false } => ApiError::forbidden(message),
            AttendanceError::TokenRequired(e) => e.into(),
            AttendanceError::AlreadyCheckedIn(original) => ApiError::new(ErrorCode::AlreadyCheckedIn, message)
                .with_details(serde_json::json!({ "attendance": Attendance::from(*original) })),
            AttendanceError::EventFull => ApiError::new(ErrorCode::EventFull, message),
            AttendanceError::EventCancelled => ApiError::new(ErrorCode::EventCancelled, message),
            AttendanceError::CheckinClosed { .. } => ApiError::new(ErrorCode::CheckinClosed, message),
            AttendanceError::Unavailable(e) => ApiError::unavailable(e.to_string()),
            AttendanceError::Database(e) => e.into(),
        }
    }
}
