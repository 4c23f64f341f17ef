//! The attendance service's domain: its types and the one error enum here,
//! the use cases GraphQL and REST both call in `service`. Its public shapes
//! are in `wire`.

pub mod live;
mod service;

pub use service::{AttendanceService, CheckInRequest, Rules, ScanRequest, SyncResult, MAX_SYNC_SCANS};

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

/// Which way a scan goes through the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    #[default]
    Entry,
    Exit,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Entry => "ENTRY",
            Direction::Exit => "EXIT",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ENTRY" => Some(Direction::Entry),
            "EXIT" => Some(Direction::Exit),
            _ => None,
        }
    }
}

/// What became of a scan: accepted, or refused with the contract's code
/// (the scan log's `status`, stored as that code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanStatus {
    Ok,
    AlreadyCheckedIn,
    EventFull,
    NotInside,
    EventCancelled,
    CheckinClosed,
    /// The person does not exist.
    UnknownPerson,
    /// The scan itself is malformed (e.g. a time in the future).
    Invalid,
}

impl ScanStatus {
    pub fn code(self) -> &'static str {
        match self {
            ScanStatus::Ok => "OK",
            ScanStatus::AlreadyCheckedIn => "ALREADY_CHECKED_IN",
            ScanStatus::EventFull => "EVENT_FULL",
            ScanStatus::NotInside => "NOT_INSIDE",
            ScanStatus::EventCancelled => "EVENT_CANCELLED",
            ScanStatus::CheckinClosed => "CHECKIN_CLOSED",
            ScanStatus::UnknownPerson => "NOT_FOUND",
            ScanStatus::Invalid => "BAD_USER_INPUT",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [
            ScanStatus::Ok,
            ScanStatus::AlreadyCheckedIn,
            ScanStatus::EventFull,
            ScanStatus::NotInside,
            ScanStatus::EventCancelled,
            ScanStatus::CheckinClosed,
            ScanStatus::UnknownPerson,
            ScanStatus::Invalid,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// One scan attempt at the door, accepted or refused; kept for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub id: Uuid,
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub direction: Direction,
    /// When the scanner saw the person (offline scanners upload later).
    pub scanned_at: Timestamp,
    /// When the scan reached the service.
    pub received_at: Timestamp,
    pub status: ScanStatus,
    pub scanned_by: Option<Uuid>,
    pub annulment: Option<Annulment>,
}

impl Scan {
    /// The scan seen as an attendance record (when the person has none left).
    pub fn as_attendance(&self) -> Attendance {
        Attendance {
            id: self.id,
            event_id: self.event_id,
            user_id: self.user_id,
            check_in_time: self.scanned_at,
            recorded_by: self.scanned_by,
            created_at: self.received_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Annulment {
    pub at: Timestamp,
    pub by: Option<Uuid>,
    pub reason: Option<String>,
}

/// A scan as recorded (or found again by its nonce), with the person's
/// attendance at the event as it stands after it.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    pub scan: Scan,
    /// Whether the scan was already known by its nonce: nothing was written.
    pub replayed: bool,
    pub attendance: Option<Attendance>,
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

/// Which scans of the log to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ScanFilter {
    pub status: Option<String>,
    pub direction: Option<Direction>,
    pub user_id: Option<Uuid>,
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
    #[error("only the event's organizer or an admin may {0}")]
    OrganizerOnly(&'static str),
    /// A record the caller may not read; anonymous callers are told to sign in.
    #[error("only the person, the event's organizer or check-in staff, or an ADMIN may see this check-in")]
    Hidden { anonymous: bool },
    #[error(transparent)]
    TokenRequired(#[from] TokenRequired),
    #[error("this person is already checked in to this event")]
    AlreadyCheckedIn(Box<Attendance>),
    #[error("this person is not inside: an exit needs an entry first")]
    NotInside,
    #[error("scan not found")]
    ScanNotFound,
    #[error("at most {0} live subscriptions per person")]
    TooManySubscriptions(usize),
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
