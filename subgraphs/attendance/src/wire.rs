//! The attendance service's public shapes, declared once for both edges: each
//! output type is the GraphQL object and the REST body, each input the GraphQL
//! input and the REST request body. Fields only REST shows are marked
//! `#[graphql(skip)]`. The mapping to and from the domain, and of its errors
//! to the public error model, is here, once.

use async_graphql::{Enum, InputObject, MaybeUndefined, SimpleObject, ID};
use common::{graphql::PageInfo, page::parse_id, time::Timestamp, ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{self, AttendanceError, CheckInRequest, Direction, Nonce, ScanRequest};

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
    /// People inside now (exact: entries minus exits, counted as they happen).
    pub inside_now: i32,
    /// Accepted entry scans, re-entries included.
    pub entries: i32,
    /// Accepted exit scans.
    pub exits: i32,
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
            inside_now: s.inside_now,
            entries: s.entries,
            exits: s.exits,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Enum, Serialize, Deserialize)]
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
#[derive(Debug, InputObject, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScanInput {
    /// Unique per scan on the device: uploading it again changes nothing.
    pub nonce: String,
    pub user_id: ID,
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
            user_id: Uuid::parse_str(&input.user_id).ok(),
            direction: input.direction.unwrap_or_default().into(),
            scanned_at: input.scanned_at,
        }
    }
}

/// The body of `POST /attendance/scans`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncScansBody {
    pub event_id: ID,
    pub scans: Vec<ScanInput>,
}

/// The answer to one scan of an upload.
#[derive(Debug, Clone, SimpleObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanResult {
    pub nonce: String,
    /// `OK`, or the error code `checkIn` would answer.
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
#[derive(Debug, Serialize)]
pub struct SyncScansAnswer {
    pub results: Vec<ScanResult>,
}

/// One scan attempt at the door, accepted or refused.
#[derive(Debug, Clone, SimpleObject, Serialize)]
#[graphql(complex)]
#[serde(rename_all = "camelCase")]
pub struct Scan {
    pub id: ID,
    pub event_id: ID,
    pub user_id: ID,
    pub direction: ScanDirection,
    /// When the scanner saw the person.
    pub scanned_at: Timestamp,
    /// When the scan reached the service.
    pub received_at: Timestamp,
    /// `OK`, or the error code the scan was refused with.
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
#[derive(Debug, Default, InputObject, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScanFilterInput {
    /// `OK` or an error code.
    pub status: Option<String>,
    pub direction: Option<ScanDirection>,
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

/// How an event's door works.
#[derive(Debug, Clone, SimpleObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckInPolicy {
    /// Entry after an exit (default true).
    pub allow_reentry: bool,
    /// Entry while already inside (default false).
    pub allow_multiple_entries: bool,
    /// Everyone still inside is marked out at this time, once.
    pub exit_all_at: Option<Timestamp>,
}

impl From<domain::CheckInPolicy> for CheckInPolicy {
    fn from(p: domain::CheckInPolicy) -> Self {
        CheckInPolicy {
            allow_reentry: p.allow_reentry,
            allow_multiple_entries: p.allow_multiple_entries,
            exit_all_at: p.exit_all_at,
        }
    }
}

/// A change to a check-in policy: absent fields stay as they are;
/// `exitAllAt: null` clears it.
#[derive(Debug, Default, InputObject, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckInPolicyInput {
    pub allow_reentry: Option<bool>,
    pub allow_multiple_entries: Option<bool>,
    #[serde(default)]
    pub exit_all_at: MaybeUndefined<Timestamp>,
}

impl From<CheckInPolicyInput> for domain::CheckInPolicyPatch {
    fn from(input: CheckInPolicyInput) -> Self {
        domain::CheckInPolicyPatch {
            allow_reentry: input.allow_reentry,
            allow_multiple_entries: input.allow_multiple_entries,
            exit_all_at: match input.exit_all_at {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(t) => Some(Some(t)),
            },
        }
    }
}

impl TryFrom<CheckInInput> for CheckInRequest {
    type Error = ApiError;

    fn try_from(input: CheckInInput) -> Result<Self, ApiError> {
        Ok(CheckInRequest {
            event_id: parse_id("eventId", &input.event_id)?,
            user_id: input.user_id.as_deref().map(|id| parse_id("userId", id)).transpose()?,
            check_in_time: input.check_in_time,
            direction: input.direction.unwrap_or_default().into(),
            nonce: input.nonce.as_deref().map(Nonce::parse).transpose()?,
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
            AttendanceError::Forbidden(_) | AttendanceError::OrganizerOnly(_) => ApiError::forbidden(message),
            AttendanceError::ScanNotFound => ApiError::not_found(message),
            AttendanceError::TooManySubscriptions(_) => ApiError::new(ErrorCode::TooManyRequests, message),
            AttendanceError::TooManySelfScans { retry_after, .. } => ApiError::too_many_requests(message, retry_after),
            AttendanceError::NonceReused => ApiError::invalid_field(message),
            AttendanceError::NotInside => ApiError::new(ErrorCode::NotInside, message),
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

/// One live update (`GET /attendance/live/{eventId}`'s `data:` lines, and the
/// subscription's payload): the event's statistics and the scan that
/// changed them (null in the first message, the current state).
#[derive(Debug, Clone, SimpleObject, Serialize)]
pub struct AttendanceUpdate {
    pub stats: AttendanceStats,
    pub scan: Option<Scan>,
}

impl From<&domain::live::LiveUpdate> for AttendanceUpdate {
    fn from(u: &domain::live::LiveUpdate) -> Self {
        AttendanceUpdate { stats: u.stats.clone().into(), scan: u.scan.clone().map(Scan::from) }
    }
}
