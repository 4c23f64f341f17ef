//! Check-ins, statistics, policies and live updates: the shapes of what the
//! door produces.

use async_graphql::{InputObject, MaybeUndefined, SimpleObject, ID};
use common::time::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Scan;
use crate::domain;

// One person checked in to one event (undocumented in the SDL, as before).
#[derive(Debug, Clone, SimpleObject, Serialize, utoipa::ToSchema)]
#[graphql(complex)]
#[serde(rename_all = "camelCase")]
pub struct Attendance {
    #[schema(value_type = Uuid)]
    pub id: ID,
    #[schema(value_type = Uuid)]
    pub event_id: ID,
    #[schema(value_type = Uuid)]
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

#[derive(Debug, Clone, SimpleObject, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntervalCount {
    pub start: Timestamp,
    pub count: i32,
}

#[derive(Debug, Clone, SimpleObject, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttendanceStats {
    #[schema(value_type = Uuid)]
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

/// How an event's door works.
#[derive(Debug, Clone, SimpleObject, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Default, InputObject, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"allowReentry": false, "exitAllAt": "2026-12-31T23:00:00Z"}))]
pub struct CheckInPolicyInput {
    pub allow_reentry: Option<bool>,
    pub allow_multiple_entries: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Timestamp>)]
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

/// One live update (`GET /attendance/live/{eventId}`'s `data:` lines, and the
/// subscription's payload): the event's statistics and the scan that
/// changed them (null in the first message, the current state).
#[derive(Debug, Clone, SimpleObject, Serialize, utoipa::ToSchema)]
pub struct AttendanceUpdate {
    pub stats: AttendanceStats,
    pub scan: Option<Scan>,
}

impl From<&domain::live::LiveUpdate> for AttendanceUpdate {
    fn from(u: &domain::live::LiveUpdate) -> Self {
        AttendanceUpdate { stats: u.stats.clone().into(), scan: u.scan.clone().map(Scan::from) }
    }
}
