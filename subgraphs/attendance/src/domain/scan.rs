//! A scan at the door and what became of it.

use common::time::Timestamp;
use uuid::Uuid;

use super::{error::AttendanceError, records::Attendance};

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
/// (the scan log's `status`, stored as that code). SQL spells the codes in
/// `scan_verdict` alone; a test holds the two spellings together.
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
    /// A ticket not ours: forged, altered, unknown key, expired, no such ticket.
    TicketInvalid,
    /// A ticket of a cancelled (or reissued) registration.
    TicketRevoked,
    TicketWrongEvent,
    /// Scanned by id at an event that admits only registered people.
    NotRegistered,
}

impl ScanStatus {
    pub const ALL: [ScanStatus; 12] = [
        ScanStatus::Ok,
        ScanStatus::AlreadyCheckedIn,
        ScanStatus::EventFull,
        ScanStatus::NotInside,
        ScanStatus::EventCancelled,
        ScanStatus::CheckinClosed,
        ScanStatus::UnknownPerson,
        ScanStatus::Invalid,
        ScanStatus::TicketInvalid,
        ScanStatus::TicketRevoked,
        ScanStatus::TicketWrongEvent,
        ScanStatus::NotRegistered,
    ];

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
            ScanStatus::TicketInvalid => "TICKET_INVALID",
            ScanStatus::TicketRevoked => "TICKET_REVOKED",
            ScanStatus::TicketWrongEvent => "TICKET_WRONG_EVENT",
            ScanStatus::NotRegistered => "NOT_REGISTERED",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// A scanner's key for one scan, which makes sending it again safe: 1 to 200
/// characters, none of them a control character (PostgreSQL's text cannot
/// hold NUL, and no scanner means one). Made at the edge, per scan, so one
/// bad nonce refuses its own scan only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Nonce(String);

impl Nonce {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, AttendanceError> {
        let chars = raw.chars().count();
        if chars == 0 || chars > Self::MAX_CHARS {
            return Err(AttendanceError::Invalid(format!("`nonce` must have 1 to {} characters", Self::MAX_CHARS)));
        }
        if raw.chars().any(char::is_control) {
            return Err(AttendanceError::Invalid("`nonce` must not contain control characters".into()));
        }
        Ok(Nonce(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One scan attempt at the door, accepted or refused; kept for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub id: Uuid,
    pub event_id: Uuid,
    /// The person scanned; the nil id for a refused ticket whose holder the
    /// event has no business knowing (not ours, or another event's).
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

/// Which scans of the log to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ScanFilter {
    pub status: Option<ScanStatus>,
    pub direction: Option<Direction>,
    pub user_id: Option<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_printable_and_bounded() {
        assert_eq!(Nonce::parse("door1-0001").unwrap().as_str(), "door1-0001");
        assert!(Nonce::parse(&"é".repeat(200)).is_ok());
        for refused in ["", "a\u{0}b", "tab\there", "new\nline", "\u{7f}"] {
            assert!(Nonce::parse(refused).is_err(), "{refused:?}");
        }
        assert!(Nonce::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn every_status_parses_back_from_its_code() {
        for status in ScanStatus::ALL {
            assert_eq!(ScanStatus::parse(status.code()), Some(status));
        }
        assert_eq!(ScanStatus::parse("STALE"), None);
    }
}
