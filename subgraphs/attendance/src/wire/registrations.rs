//! Registrations, tickets and how an event takes registrations.

use async_graphql::{Enum, InputObject, MaybeUndefined, SimpleObject, ID};
use common::time::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{self, registration as records};

/// Where a registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RegistrationStatus {
    /// Holds a place and a ticket.
    Confirmed,
    /// Waits for a place; given one, in arrival order, as places free up.
    Waitlisted,
    /// Waits for the organizer's approval.
    PendingApproval,
    Declined,
    Cancelled,
}

impl From<records::RegistrationStatus> for RegistrationStatus {
    fn from(s: records::RegistrationStatus) -> Self {
        match s {
            records::RegistrationStatus::Confirmed => RegistrationStatus::Confirmed,
            records::RegistrationStatus::Waitlisted => RegistrationStatus::Waitlisted,
            records::RegistrationStatus::PendingApproval => RegistrationStatus::PendingApproval,
            records::RegistrationStatus::Declined => RegistrationStatus::Declined,
            records::RegistrationStatus::Cancelled => RegistrationStatus::Cancelled,
        }
    }
}

impl From<RegistrationStatus> for records::RegistrationStatus {
    fn from(s: RegistrationStatus) -> Self {
        match s {
            RegistrationStatus::Confirmed => records::RegistrationStatus::Confirmed,
            RegistrationStatus::Waitlisted => records::RegistrationStatus::Waitlisted,
            RegistrationStatus::PendingApproval => records::RegistrationStatus::PendingApproval,
            RegistrationStatus::Declined => records::RegistrationStatus::Declined,
            RegistrationStatus::Cancelled => records::RegistrationStatus::Cancelled,
        }
    }
}

/// How an event takes registrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RegistrationMode {
    /// Anyone signed in registers; places go in arrival order.
    Open,
    /// Each request waits for the organizer's approval.
    Approval,
    Closed,
}

impl From<records::RegistrationMode> for RegistrationMode {
    fn from(m: records::RegistrationMode) -> Self {
        match m {
            records::RegistrationMode::Open => RegistrationMode::Open,
            records::RegistrationMode::Approval => RegistrationMode::Approval,
            records::RegistrationMode::Closed => RegistrationMode::Closed,
        }
    }
}

impl From<RegistrationMode> for records::RegistrationMode {
    fn from(m: RegistrationMode) -> Self {
        match m {
            RegistrationMode::Open => records::RegistrationMode::Open,
            RegistrationMode::Approval => records::RegistrationMode::Approval,
            RegistrationMode::Closed => records::RegistrationMode::Closed,
        }
    }
}

/// A confirmed registration's ticket: its `secret` is what the QR code
/// holds, signed by the attendance service (public keys at
/// `/.well-known/ticket-keys.json`), so that scanners can check it offline.
#[derive(Debug, Clone, SimpleObject, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    #[schema(value_type = Uuid)]
    pub id: ID,
    pub secret: String,
    /// The `kid` of the key that signed it.
    pub key_id: String,
    pub issued_at: Timestamp,
}

/// A person's registration for an event.
#[derive(Debug, Clone, SimpleObject, Serialize, utoipa::ToSchema)]
#[graphql(complex)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    #[schema(value_type = Uuid)]
    pub id: ID,
    #[schema(value_type = Uuid)]
    pub event_id: ID,
    #[schema(value_type = Uuid)]
    pub user_id: ID,
    pub status: RegistrationStatus,
    pub created_at: Timestamp,
    /// While waitlisted: 1 is next.
    pub waitlist_position: Option<i32>,
    /// While confirmed: the ticket's id (not its secret), for everyone who
    /// sees the registration, so that a scanner checking tickets offline
    /// can name the holder of a ticket it verified.
    #[schema(value_type = Option<Uuid>)]
    pub ticket_id: Option<ID>,
    /// While confirmed; for the person registered, the event's organizer and
    /// ADMINs only.
    pub ticket: Option<Ticket>,
}

impl From<domain::RegistrationView> for Registration {
    fn from(view: domain::RegistrationView) -> Self {
        let r = view.registration;
        Registration {
            id: ID(r.id.to_string()),
            event_id: ID(r.event_id.to_string()),
            user_id: ID(r.user_id.to_string()),
            status: r.status.into(),
            created_at: r.created_at,
            waitlist_position: r.waitlist_position,
            // The ticket shown, if one is (it may have just been reissued), else the stored one.
            ticket_id: view
                .ticket
                .as_ref()
                .map(|t| t.id)
                .or(r.ticket.as_ref().map(|t| t.id))
                .map(|id| ID(id.to_string())),
            ticket: view.ticket.map(|t| Ticket {
                id: ID(t.id.to_string()),
                secret: t.secret,
                key_id: t.key_id.to_string(),
                issued_at: t.issued_at,
            }),
        }
    }
}

/// How an event takes registrations (the defaults until its organizer sets
/// it: open, the event's capacity, no waitlist, no ticket required).
#[derive(Debug, Clone, SimpleObject, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationPolicy {
    pub mode: RegistrationMode,
    /// Places to give; null: the event's capacity.
    pub capacity: Option<i32>,
    /// Whether people beyond the capacity wait for a place.
    pub waitlist: bool,
    /// Whether the door admits only ticket holders (and, scanned by id,
    /// people with a confirmed registration).
    pub require_ticket: bool,
}

impl From<records::RegistrationPolicy> for RegistrationPolicy {
    fn from(p: records::RegistrationPolicy) -> Self {
        RegistrationPolicy {
            mode: p.mode.into(),
            capacity: p.capacity,
            waitlist: p.waitlist,
            require_ticket: p.require_ticket,
        }
    }
}

/// A change to a registration policy: absent fields stay as they are;
/// `capacity: null` follows the event's capacity again.
#[derive(Debug, Default, InputObject, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"mode": "APPROVAL", "capacity": 100, "waitlist": true}))]
pub struct RegistrationPolicyInput {
    pub mode: Option<RegistrationMode>,
    #[serde(default)]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 1000000)]
    pub capacity: MaybeUndefined<i32>,
    pub waitlist: Option<bool>,
    pub require_ticket: Option<bool>,
}

impl From<RegistrationPolicyInput> for records::RegistrationPolicyPatch {
    fn from(input: RegistrationPolicyInput) -> Self {
        records::RegistrationPolicyPatch {
            mode: input.mode.map(Into::into),
            capacity: match input.capacity {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(c) => Some(Some(c)),
            },
            waitlist: input.waitlist,
            require_ticket: input.require_ticket,
        }
    }
}

/// An event's registrations, counted (public).
#[derive(Debug, Clone, SimpleObject, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationSummary {
    pub confirmed: i32,
    pub waitlisted: i32,
    pub pending: i32,
    /// Places to give; null: no limit.
    pub capacity: Option<i32>,
    /// Places still free; null without a limit.
    pub remaining: Option<i32>,
}

impl From<records::RegistrationSummary> for RegistrationSummary {
    fn from(s: records::RegistrationSummary) -> Self {
        RegistrationSummary {
            confirmed: s.confirmed,
            waitlisted: s.waitlisted,
            pending: s.pending,
            capacity: s.capacity,
            remaining: s.remaining,
        }
    }
}

/// A ticket that no longer admits anyone (its registration was cancelled,
/// or a new ticket was issued): scanners that check tickets offline keep
/// this list.
#[derive(Debug, Clone, SimpleObject, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevokedTicket {
    #[schema(value_type = Uuid)]
    pub ticket_id: ID,
    pub revoked_at: Timestamp,
}

impl From<records::RevokedTicket> for RevokedTicket {
    fn from(r: records::RevokedTicket) -> Self {
        RevokedTicket { ticket_id: ID(r.ticket_id.to_string()), revoked_at: r.revoked_at }
    }
}

/// The query of `GET /attendance/event/{eventId}/registrations`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RegistrationListQuery {
    /// How many (1 to 1,000; 50 without).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
    /// The `X-Next-Cursor` header of the previous page.
    pub after: Option<String>,
    pub status: Option<RegistrationStatus>,
}

impl Registration {
    /// The ids, written from UUIDs above, parse back.
    pub fn event_uuid(&self) -> Option<Uuid> {
        Uuid::parse_str(&self.event_id).ok()
    }

    pub fn user_uuid(&self) -> Option<Uuid> {
        Uuid::parse_str(&self.user_id).ok()
    }
}
