//! Scans: a single check-in's input, offline scanners' uploads, the scan log.

use async_graphql::{Enum, InputObject, SimpleObject, ID};
use common::{graphql::PageInfo, page::parse_id, time::Timestamp, ApiError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{self, CheckInRequest, Direction, Nonce, ScanRequest, ScanSubject};

// `checkIn`'s input and the body of `POST /attendance`.
#[derive(Debug, InputObject, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({
    "eventId": "01935f4e-8a00-7000-8000-000000000001", "direction": "ENTRY",
    "ticket": "TT1AEAAAAAB...", "nonce": "door-1-0042"
}))]
pub struct CheckInInput {
    #[schema(value_type = Uuid)]
    pub event_id: ID,
    /// Defaults to the caller; someone else needs the organizer, check-in
    /// staff or an ADMIN. Not with `ticket`.
    #[schema(value_type = Option<Uuid>)]
    pub user_id: Option<ID>,
    /// A ticket's secret, as scanned from its QR code (instead of `userId`;
    /// the organizer, check-in staff or an ADMIN scan tickets).
    pub ticket: Option<String>,
    /// Defaults to now; must not be in the future and must fall in the event's
    /// check-in window. Only scanners (the organizer, check-in staff, ADMINs)
    /// may send a past time: a person checking themself in is stamped now.
    pub check_in_time: Option<Timestamp>,
    /// An entry (the default) or an exit; an exit needs the person inside.
    /// `null` counts as the default, as the contract's nullable type says.
    #[graphql(default_with = "Some(ScanDirection::Entry)")]
    #[serde(default)]
    pub direction: Option<ScanDirection>,
    /// Makes the scan safe to send again: the same nonce from the same
    /// caller for the same event answers the original result and writes
    /// nothing. REST also takes it as the `Idempotency-Key` header.
    pub nonce: Option<String>,
}

/// Which way a scan goes through the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Enum, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScanDirection {
    #[default]
    Entry,
    Exit,
}

impl From<ScanDirection> for Direction {
    fn from(d: ScanDirection) -> Self {
        match d {
            ScanDirection::Entry => Direction::Entry,
            ScanDirection::Exit => Direction::Exit,
        }
    }
}

impl From<Direction> for ScanDirection {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Entry => ScanDirection::Entry,
            Direction::Exit => ScanDirection::Exit,
        }
    }
}

/// One scan of an offline scanner's upload.
#[derive(Debug, InputObject, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScanInput {
    /// Unique per scan on the device: uploading it again changes nothing.
    pub nonce: String,
    /// The person scanned by id; or send `ticket`.
    #[schema(value_type = Option<String>)]
    pub user_id: Option<ID>,
    /// A ticket's secret, as scanned (instead of `userId`).
    pub ticket: Option<String>,
    /// `null` counts as the default, as the contract's nullable type says.
    #[graphql(default_with = "Some(ScanDirection::Entry)")]
    #[serde(default)]
    pub direction: Option<ScanDirection>,
    /// When the device scanned: a past time inside the event's check-in window.
    pub scanned_at: Timestamp,
}

impl From<ScanInput> for ScanRequest {
    fn from(input: ScanInput) -> Self {
        ScanRequest {
            // A malformed nonce or id fails its own scan only.
            nonce: Nonce::parse(&input.nonce).ok(),
            sent_nonce: input.nonce,
            subject: match (input.user_id, input.ticket) {
                (Some(id), None) => Uuid::parse_str(&id).ok().map(ScanSubject::Person),
                (None, Some(ticket)) if ticket.len() <= MAX_TICKET_CHARS => Some(ScanSubject::Ticket(ticket)),
                _ => None,
            },
            direction: input.direction.unwrap_or_default().into(),
            scanned_at: input.scanned_at,
        }
    }
}

/// A scan's status as REST shows it and its scan log filters on, for OpenAPI
/// documents: `OK` or a refusal's code, from [`domain::ScanStatus::ALL`].
pub struct ScanStatusCode;

impl utoipa::PartialSchema for ScanStatusCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(domain::ScanStatus::ALL.map(domain::ScanStatus::code)))
            .into()
    }
}

impl utoipa::ToSchema for ScanStatusCode {
    fn name() -> std::borrow::Cow<'static, str> {
        "ScanStatus".into()
    }
}

/// The body of `POST /attendance/scans`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({
    "eventId": "01935f4e-8a00-7000-8000-000000000001",
    "scans": [{"nonce": "door-1-0043", "ticket": "TT1AEAAAAAB...", "direction": "ENTRY", "scannedAt": "2026-12-31T19:05:00Z"}]
}))]
pub struct SyncScansBody {
    #[schema(value_type = Uuid)]
    pub event_id: ID,
    pub scans: Vec<ScanInput>,
}

/// The answer to one scan of an upload.
#[derive(Debug, Clone, SimpleObject, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanResult {
    pub nonce: String,
    /// `OK`, or the error code `checkIn` would answer.
    #[schema(value_type = ScanStatusCode)]
    pub status: String,
    /// The scan as recorded (or as first recorded, for a nonce sent before);
    /// absent when the scan was too malformed to log.
    pub scan: Option<Scan>,
}

impl From<domain::SyncResult> for ScanResult {
    fn from(r: domain::SyncResult) -> Self {
        ScanResult { nonce: r.nonce, status: r.status.code().to_owned(), scan: r.scan.map(Scan::from) }
    }
}

/// The body of `POST /attendance/scans`' answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncScansAnswer {
    pub results: Vec<ScanResult>,
}

/// One scan attempt at the door, accepted or refused.
#[derive(Debug, Clone, SimpleObject, Serialize, utoipa::ToSchema)]
#[graphql(complex)]
#[serde(rename_all = "camelCase")]
pub struct Scan {
    #[schema(value_type = Uuid)]
    pub id: ID,
    #[schema(value_type = Uuid)]
    pub event_id: ID,
    #[schema(value_type = Uuid)]
    pub user_id: ID,
    pub direction: ScanDirection,
    /// When the scanner saw the person.
    pub scanned_at: Timestamp,
    /// When the scan reached the service.
    pub received_at: Timestamp,
    /// `OK`, or the error code the scan was refused with.
    #[schema(value_type = ScanStatusCode)]
    pub status: String,
    pub annulled: bool,
    /// When the scan was annulled, and why.
    pub annulled_at: Option<Timestamp>,
    /// REST only: who annulled it (GraphQL clients ask the log's organizer).
    #[graphql(skip)]
    pub annulled_by: Option<Uuid>,
    pub annul_reason: Option<String>,
    /// REST: who scanned, by id (GraphQL: `scannedBy`, the User).
    #[graphql(skip)]
    #[serde(rename = "scannedBy")]
    pub scanned_by_id: Option<Uuid>,
}

impl From<domain::Scan> for Scan {
    fn from(s: domain::Scan) -> Self {
        let annulment = s.annulment;
        Scan {
            id: ID(s.id.to_string()),
            event_id: ID(s.event_id.to_string()),
            user_id: ID(s.user_id.to_string()),
            direction: s.direction.into(),
            scanned_at: s.scanned_at,
            received_at: s.received_at,
            status: s.status.code().to_owned(),
            annulled: annulment.is_some(),
            annulled_at: annulment.as_ref().map(|a| a.at),
            annulled_by: annulment.as_ref().and_then(|a| a.by),
            annul_reason: annulment.and_then(|a| a.reason),
            scanned_by_id: s.scanned_by,
        }
    }
}

/// A page of a scan log, newest first (REST answers its `nodes`, with the
/// next page's cursor in `X-Next-Cursor`).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "ScanConnection")]
pub struct ScanPage {
    pub nodes: Vec<Scan>,
    pub page_info: PageInfo,
}

impl ScanPage {
    pub fn new(page: common::page::Page<domain::Scan>) -> Self {
        let page_info = PageInfo {
            has_next_page: page.has_next,
            end_cursor: page.end_cursor(|s| common::page::Cursor { at: s.received_at.0, id: s.id }),
        };
        ScanPage { nodes: page.items.into_iter().map(Scan::from).collect(), page_info }
    }
}

/// Which scans of a log to list (all by default).
#[derive(Debug, Default, InputObject, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScanFilterInput {
    /// `OK` or an error code.
    pub status: Option<String>,
    pub direction: Option<ScanDirection>,
    #[schema(value_type = Option<Uuid>)]
    pub user_id: Option<ID>,
}

impl TryFrom<ScanFilterInput> for domain::ScanFilter {
    type Error = ApiError;

    fn try_from(input: ScanFilterInput) -> Result<Self, ApiError> {
        let status = match input.status {
            Some(code) => match domain::ScanStatus::parse(&code) {
                Some(status) => Some(status),
                None => return Err(ApiError::invalid_field(format!("`status`: `{code}` is not a scan status"))),
            },
            None => None,
        };
        Ok(domain::ScanFilter {
            status,
            direction: input.direction.map(Direction::from),
            user_id: input.user_id.as_deref().map(|id| parse_id("userId", id)).transpose()?,
        })
    }
}

/// The longest ticket secret taken: ours are 171 characters; anything much
/// longer is not a ticket, and is not carried further.
const MAX_TICKET_CHARS: usize = 512;

impl TryFrom<CheckInInput> for CheckInRequest {
    type Error = ApiError;

    fn try_from(input: CheckInInput) -> Result<Self, ApiError> {
        let subject = match (input.user_id, input.ticket) {
            (Some(_), Some(_)) => return Err(ApiError::invalid_field("send `userId` or `ticket`, not both")),
            (Some(id), None) => Some(ScanSubject::Person(parse_id("userId", &id)?)),
            (None, Some(ticket)) if ticket.len() > MAX_TICKET_CHARS => {
                return Err(ApiError::invalid_field(format!("`ticket` must be at most {MAX_TICKET_CHARS} characters")))
            }
            (None, Some(ticket)) => Some(ScanSubject::Ticket(ticket)),
            (None, None) => None,
        };
        Ok(CheckInRequest {
            event_id: parse_id("eventId", &input.event_id)?,
            subject,
            check_in_time: input.check_in_time,
            direction: input.direction.unwrap_or_default().into(),
            nonce: input.nonce.as_deref().map(Nonce::parse).transpose()?,
        })
    }
}
