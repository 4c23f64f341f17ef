//! Registrations for events and the tickets they hold: the records (no use
//! case here, so storage can name them without reaching back into one).

use chrono::{DateTime, Utc};
use common::time::Timestamp;
use uuid::Uuid;

use super::tickets::KeyId;

/// How an event takes registrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RegistrationMode {
    /// Anyone signed in may register; places are given in arrival order.
    #[default]
    Open,
    /// Requests wait for the organizer's approval.
    Approval,
    Closed,
}

impl RegistrationMode {
    pub const ALL: [RegistrationMode; 3] =
        [RegistrationMode::Open, RegistrationMode::Approval, RegistrationMode::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationMode::Open => "OPEN",
            RegistrationMode::Approval => "APPROVAL",
            RegistrationMode::Closed => "CLOSED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Where a registration stands. SQL spells these in the `registrations`
/// table's check and in `registration_verdict`; a test holds the spellings
/// together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistrationStatus {
    Confirmed,
    Waitlisted,
    PendingApproval,
    Declined,
    Cancelled,
}

impl RegistrationStatus {
    pub const ALL: [RegistrationStatus; 5] = [
        RegistrationStatus::Confirmed,
        RegistrationStatus::Waitlisted,
        RegistrationStatus::PendingApproval,
        RegistrationStatus::Declined,
        RegistrationStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationStatus::Confirmed => "CONFIRMED",
            RegistrationStatus::Waitlisted => "WAITLISTED",
            RegistrationStatus::PendingApproval => "PENDING_APPROVAL",
            RegistrationStatus::Declined => "DECLINED",
            RegistrationStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// How an event's registration works; set by its organizer or an ADMIN.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistrationPolicy {
    pub mode: RegistrationMode,
    /// Places to give; `None` follows the event's capacity.
    pub capacity: Option<i32>,
    /// Whether people beyond the capacity wait for a place.
    pub waitlist: bool,
    /// Whether the door admits only ticket holders (and, scanned by id,
    /// people with a confirmed registration).
    pub require_ticket: bool,
}

impl RegistrationPolicy {
    /// The places given, with the event's capacity as the default.
    pub fn capacity_or(&self, event_capacity: Option<i32>) -> Option<i32> {
        self.capacity.or(event_capacity)
    }
}

/// A change to a registration policy: `None` leaves a field; `capacity:
/// Some(None)` makes it follow the event's capacity again.
#[derive(Debug, Clone, Default)]
pub struct RegistrationPolicyPatch {
    pub mode: Option<RegistrationMode>,
    pub capacity: Option<Option<i32>>,
    pub waitlist: Option<bool>,
    pub require_ticket: Option<bool>,
}

/// A ticket, as stored: the facts its secret is signed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFacts {
    pub id: Uuid,
    pub key_id: KeyId,
    pub valid_until: DateTime<Utc>,
    pub issued_at: Timestamp,
}

/// A person's registration for an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub id: Uuid,
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub status: RegistrationStatus,
    pub created_at: Timestamp,
    /// While waitlisted: 1 is next.
    pub waitlist_position: Option<i32>,
    /// While confirmed.
    pub ticket: Option<TicketFacts>,
}

/// A ticket with its secret, as its holder (or the organizer) sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: Uuid,
    pub secret: String,
    pub key_id: KeyId,
    pub issued_at: Timestamp,
}

/// An event's registrations, counted (public).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationSummary {
    pub confirmed: i32,
    pub waitlisted: i32,
    pub pending: i32,
    /// `None`: no limit.
    pub capacity: Option<i32>,
    /// Places still free; `None` without a limit.
    pub remaining: Option<i32>,
}

/// A revoked ticket, for scanners that check tickets offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedTicket {
    pub ticket_id: Uuid,
    pub revoked_at: Timestamp,
}

/// What became of a request to register (or of an approval).
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// Placed (confirmed, waitlisted or pending), or the person's existing
    /// registration answered as it is.
    Placed(Registration),
    EventFull,
    EventCancelled,
    RegistrationClosed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_mode_parses_back() {
        for status in RegistrationStatus::ALL {
            assert_eq!(RegistrationStatus::parse(status.as_str()), Some(status));
        }
        for mode in RegistrationMode::ALL {
            assert_eq!(RegistrationMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(RegistrationStatus::parse("OK"), None);
    }
}
