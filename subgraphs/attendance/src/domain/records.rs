//! The attendance domain's records: plain values the use cases return and
//! storage reads into (no use case here, so storage can name them without
//! reaching back into the use cases).

use common::{
    auth::{Caller, TokenRequired},
    time::Timestamp,
};
use uuid::Uuid;

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

    /// As [`Viewer::of`], for reads that need a token whatever the mode.
    pub fn signed_in(caller: &Caller) -> Result<Self, TokenRequired> {
        caller.user_id().map(|_| Viewer::of(caller)).ok_or(TokenRequired)
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

/// How a person works at an event they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventRole {
    Organizer,
    /// Check-in staff, named by the organizer.
    Staff,
}

/// Whose check-ins (or registrations) a list is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListBy {
    Event,
    User,
}

impl ListBy {
    /// The owner of a row of an event and a person, in a list of this kind.
    pub fn owner(self, event: Uuid, user: Uuid) -> Uuid {
        match self {
            ListBy::Event => event,
            ListBy::User => user,
        }
    }
}

/// How an event's door works; owned by the attendance service, set by the
/// organizer or an ADMIN.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckInPolicy {
    /// Entry after an exit.
    pub allow_reentry: bool,
    /// Entry while already inside.
    pub allow_multiple_entries: bool,
    /// Everyone still inside is marked out at this time, once.
    pub exit_all_at: Option<Timestamp>,
}

impl Default for CheckInPolicy {
    fn default() -> Self {
        CheckInPolicy { allow_reentry: true, allow_multiple_entries: false, exit_all_at: None }
    }
}

/// A change to a policy: `None` leaves a field as it is; `exit_all_at:
/// Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct CheckInPolicyPatch {
    pub allow_reentry: Option<bool>,
    pub allow_multiple_entries: Option<bool>,
    pub exit_all_at: Option<Option<Timestamp>>,
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
    /// People inside now: exact, from the event's counter row.
    pub inside_now: i32,
    /// Accepted entry scans (re-entries included) and exit scans.
    pub entries: i32,
    pub exits: i32,
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
            inside_now: 0,
            entries: 0,
            exits: 0,
        }
    }
}
