//! The event service's domain: its types and the one error enum here, the
//! use cases GraphQL and REST both call in `service`. No HTTP, GraphQL, serde
//! or SeaORM types cross this boundary.

mod service;

pub use service::EventService;

use common::{auth::TokenRequired, db::StorageError, text::display_text, time::Timestamp};
use uuid::Uuid;

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
pub const MAX_LOCATION_CHARS: usize = 500;
pub const MAX_SEARCH_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventStatus {
    Scheduled,
    Cancelled,
}

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Scheduled => "SCHEDULED",
            EventStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "SCHEDULED" => Some(EventStatus::Scheduled),
            "CANCELLED" => Some(EventStatus::Cancelled),
            _ => None,
        }
    }
}

/// An event: what its organizer wrote, and what the service keeps about it
/// (its public shapes are in `wire`).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub fields: EventFields,
    pub status: EventStatus,
    /// The organizer's user id (it lives in the auth service); none for
    /// events created anonymously in development.
    pub organizer_id: Option<Uuid>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The writable fields of an event, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFields {
    pub title: String,
    pub description: Option<String>,
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    pub location: Option<String>,
    /// An IANA zone name (`Asia/Jakarta`), checked against the tz database.
    pub timezone: Option<String>,
    pub capacity: Option<i32>,
}

impl EventFields {
    /// Trims text, turns blank optional text into none, and checks every rule.
    pub fn validate(self) -> Result<Self, EventError> {
        let invalid = |m: &str| Err(EventError::Invalid(m.to_owned()));
        let Some(title) = display_text("title", &self.title, MAX_TITLE_CHARS).map_err(EventError::Invalid)? else {
            return invalid("`title` must not be empty");
        };
        // The limit is on what was sent, as for the other texts.
        if self.description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
            return Err(EventError::Invalid(format!(
                "`description` must be at most {MAX_DESCRIPTION_CHARS} characters"
            )));
        }
        let description = self.description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
        let location = match self.location {
            Some(location) => display_text("location", &location, MAX_LOCATION_CHARS).map_err(EventError::Invalid)?,
            None => None,
        };
        let timezone = self.timezone.map(|zone| zone.trim().to_owned()).filter(|zone| !zone.is_empty());
        if timezone.as_deref().is_some_and(|zone| zone.parse::<chrono_tz::Tz>().is_err()) {
            return invalid("`timezone` must be an IANA time zone name, e.g. Asia/Jakarta");
        }
        if self.end_time <= self.start_time {
            return invalid("`endTime` must be after `startTime`");
        }
        if self.capacity.is_some_and(|c| c <= 0) {
            return invalid("`capacity` must be greater than 0");
        }
        Ok(EventFields { title, description, location, timezone, ..self })
    }
}

/// One field of a partial update.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Clear => None,
            Patch::Set(value) => Some(value),
        }
    }

    fn apply_required(self, field: &str, current: T) -> Result<T, EventError> {
        match self {
            Patch::Keep => Ok(current),
            Patch::Clear => Err(EventError::Invalid(format!("`{field}` cannot be null"))),
            Patch::Set(value) => Ok(value),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventPatch {
    pub title: Patch<String>,
    pub description: Patch<String>,
    pub start_time: Patch<Timestamp>,
    pub end_time: Patch<Timestamp>,
    pub location: Patch<String>,
    pub timezone: Patch<String>,
    pub capacity: Patch<i32>,
}

impl EventPatch {
    /// `current` after this patch, validated as a whole (so that, e.g.,
    /// moving only the start still keeps it before the end).
    pub fn apply_to(self, current: EventFields) -> Result<EventFields, EventError> {
        EventFields {
            title: self.title.apply_required("title", current.title)?,
            description: self.description.apply(current.description),
            start_time: self.start_time.apply_required("startTime", current.start_time)?,
            end_time: self.end_time.apply_required("endTime", current.end_time)?,
            location: self.location.apply(current.location),
            timezone: self.timezone.apply(current.timezone),
            capacity: self.capacity.apply(current.capacity),
        }
        .validate()
    }
}

/// Which events to list. `from`/`to` select events overlapping that window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub status: Option<EventStatus>,
    pub organizer_id: Option<Uuid>,
    pub search: Option<String>,
}

impl EventFilter {
    pub fn validate(mut self) -> Result<Self, EventError> {
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if to <= from {
                return Err(EventError::Invalid("`to` must be after `from`".into()));
            }
        }
        self.search = self.search.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        if self.search.as_ref().is_some_and(|s| s.chars().count() > MAX_SEARCH_CHARS) {
            return Err(EventError::Invalid(format!("`search` must be at most {MAX_SEARCH_CHARS} characters")));
        }
        Ok(self)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("{0}")]
    Invalid(String),
    #[error("event not found")]
    NotFound,
    #[error("only the event's organizer or an admin may change it")]
    Forbidden,
    #[error(transparent)]
    TokenRequired(#[from] TokenRequired),
    #[error(transparent)]
    Database(#[from] StorageError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> EventFields {
        EventFields {
            title: " Tech Conference ".into(),
            description: Some("  ".into()),
            start_time: Timestamp::parse("2024-01-15T09:00:00Z").unwrap(),
            end_time: Timestamp::parse("2024-01-15T17:00:00Z").unwrap(),
            location: None,
            timezone: Some("Asia/Jakarta".into()),
            capacity: Some(10),
        }
    }

    #[test]
    fn validation_trims_and_checks() {
        let valid = fields().validate().unwrap();
        assert_eq!(valid.title, "Tech Conference");
        assert_eq!(valid.description, None);
        for broken in [
            EventFields { title: "   ".into(), ..fields() },
            EventFields { title: "x".repeat(201), ..fields() },
            EventFields { end_time: fields().start_time, ..fields() },
            EventFields { capacity: Some(0), ..fields() },
            EventFields { capacity: Some(-5), ..fields() },
            EventFields { description: Some("d".repeat(10_001)), ..fields() },
            EventFields { timezone: Some("Mars/Olympus_Mons".into()), ..fields() },
        ] {
            assert!(broken.validate().is_err());
        }
        assert!(EventFields { title: "x".repeat(200), ..fields() }.validate().is_ok());
    }
}
