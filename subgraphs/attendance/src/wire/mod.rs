//! The attendance service's public shapes, declared once for both edges: each
//! output type is the GraphQL object and the REST body, each input the GraphQL
//! input and the REST request body. Fields only REST shows are marked
//! `#[graphql(skip)]`. The mapping to and from the domain, and of its errors
//! to the public error model, is here, once. One file per group of shapes:
//! `attendance` (check-ins, statistics, policies, live updates), `scans`,
//! `registrations` (registrations, tickets, their policy).

mod attendance;
mod registrations;
mod scans;

pub use attendance::{Attendance, AttendanceStats, AttendanceUpdate, CheckInPolicy, CheckInPolicyInput, IntervalCount};
pub use registrations::{
    Registration, RegistrationListQuery, RegistrationMode, RegistrationPolicy, RegistrationPolicyInput,
    RegistrationStatus, RegistrationSummary, RevokedTicket, Ticket,
};
pub use scans::{
    CheckInInput, Scan, ScanDirection, ScanFilterInput, ScanInput, ScanPage, ScanResult, ScanStatusCode,
    SyncScansAnswer, SyncScansBody,
};

use common::{ApiError, ErrorCode};

use crate::domain::AttendanceError;

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
            AttendanceError::ScanNotFound | AttendanceError::RegistrationNotFound => ApiError::not_found(message),
            AttendanceError::RegistrationClosed => ApiError::new(ErrorCode::RegistrationClosed, message),
            AttendanceError::TicketInvalid(_) => ApiError::new(ErrorCode::TicketInvalid, message),
            AttendanceError::TicketRevoked => ApiError::new(ErrorCode::TicketRevoked, message),
            AttendanceError::TicketWrongEvent => ApiError::new(ErrorCode::TicketWrongEvent, message),
            AttendanceError::NotRegistered => ApiError::new(ErrorCode::NotRegistered, message),
            AttendanceError::TooManySubscriptions(_) => ApiError::new(ErrorCode::TooManyRequests, message),
            AttendanceError::TooManySelfScans { retry_after, .. } => ApiError::too_many_requests(message, retry_after),
            AttendanceError::NonceReused => ApiError::invalid_field(message),
            AttendanceError::NotInside => ApiError::new(ErrorCode::NotInside, message),
            AttendanceError::Hidden { anonymous: true, .. } => ApiError::unauthenticated(format!("sign in: {message}")),
            AttendanceError::Hidden { anonymous: false, .. } => ApiError::forbidden(message),
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
