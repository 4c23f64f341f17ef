//! The attendance domain's one error enum, mapped to the public error model
//! once (`wire`).

use common::{auth::TokenRequired, db::StorageError};

use super::{records::Attendance, tickets::TicketRefusal};
use crate::clients::Unavailable;

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
    #[error("only the person, the event's organizer or check-in staff, or an ADMIN may see this {what}")]
    Hidden { what: &'static str, anonymous: bool },
    #[error(transparent)]
    TokenRequired(#[from] TokenRequired),
    #[error("this person is already checked in to this event")]
    AlreadyCheckedIn(Box<Attendance>),
    #[error("this person is not inside: an exit needs an entry first")]
    NotInside,
    #[error("scan not found")]
    ScanNotFound,
    #[error("registration not found")]
    RegistrationNotFound,
    #[error("registration for this event is closed")]
    RegistrationClosed,
    #[error("this is not a valid ticket: {0}")]
    TicketInvalid(TicketRefusal),
    #[error("this ticket was revoked (its registration was cancelled, or a new ticket was issued)")]
    TicketRevoked,
    #[error("this ticket is for another event")]
    TicketWrongEvent,
    #[error("this event admits registered people only: this person has no confirmed registration")]
    NotRegistered,
    /// The nonce was used by the same scanner for another scan (another
    /// person or direction): nothing was recorded.
    #[error("this nonce was already used for another scan: send a new nonce for a new scan")]
    NonceReused,
    #[error("at most {0} live subscriptions per person")]
    TooManySubscriptions(usize),
    /// A person scanning themself in and out faster than the documented rate.
    #[error("at most {per_minute} self check-ins per minute at one event")]
    TooManySelfScans { per_minute: u32, retry_after: std::time::Duration },
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
