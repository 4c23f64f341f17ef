//! The attendance service's domain: its types and the one error enum here,
//! the use cases GraphQL and REST both call in `service`. Its public shapes
//! are in `wire`.

mod service;

pub use service::{AttendanceService, CheckInRequest, Rules};

use common::{
    auth::{Caller, TokenRequired},
    db::StorageError,
    time::Timestamp,
};
use uuid::Uuid;

use crate::clients::Unavailable;

/// One person checked in to one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Attendance {
    pub id: Uuid,
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub check_in_time: Timestamp,
    /// Who recorded the check-in (the organizer or admin who scanned it); none if anonymous.
    pub recorded_by: Option<Uuid>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IntervalCount {
    pub start: Timestamp,
    pub count: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttendanceStats {
    pub event_id: Uuid,
    pub total_attendees: i32,
    pub first_check_in: Option<Timestamp>,
    pub last_check_in: Option<Timestamp>,
    pub on_time: i32,
    pub late: i32,
    pub by_interval: Vec<IntervalCount>,
}

impl AttendanceStats {
    pub fn empty(event_id: Uuid) -> Self {
        AttendanceStats {
            event_id,
            total_attendees: 0,
            first_check_in: None,
            last_check_in: None,
            on_time: 0,
            late: 0,
            by_interval: Vec::new(),
        }
    }
}

/// Who reads check-ins, as far as their rights go: ADMINs (and the guide's
/// anonymous REST list in development) see `everything`; a signed-in `user`
/// sees all check-ins of the events they organize or staff, their own
/// check-ins, and those of people at events they organize; nobody else sees any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Viewer {
    pub everything: bool,
    pub user: Option<Uuid>,
}

impl Viewer {
    pub fn of(caller: &Caller) -> Self {
        Viewer { everything: caller.is_admin(), user: caller.user_id() }
    }

    pub fn is_nobody(&self) -> bool {
        !self.everything && self.user.is_none()
    }
}

/// A record the reader asked for, or the fact that they may not see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Visible<T> {
    Shown(T),
    Hidden,
}

/// Whose check-ins a list is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListBy {
    Event,
    User,
}

#[derive(Debug, thiserror::Error)]
pub enum AttendanceError {
    #[error("{0}")]
    Invalid(String),
    #[error("event not found")]
    EventNotFound,
    #[error("user not found")]
    UserNotFound,
    #[error("attendance not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    /// A record the caller may not read; anonymous callers are told to sign in.
    #[error("only the person, the event's organizer or check-in staff, or an ADMIN may see this check-in")]
    Hidden { anonymous: bool },
    #[error(transparent)]
    TokenRequired(#[from] TokenRequired),
    #[error("this person is already checked in to this event")]
    AlreadyCheckedIn(Box<Attendance>),
    #[error("the event is full")]
    EventFull,
    #[error("the event is cancelled")]
    EventCancelled,
    #[error(
        "check-in is closed: it opens {opens_before_minutes} minutes before the event starts and closes when it ends"
    )]
    CheckinClosed { opens_before_minutes: u64 },
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    /// Shared: a failed batch of check-ins fails each check-in in it.
    #[error(transparent)]
    Database(#[from] StorageError),
}
