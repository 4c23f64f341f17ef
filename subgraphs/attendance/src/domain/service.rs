use std::time::Duration;

use chrono::Utc;
use common::{
    auth::{require_writer, Caller},
    config::AppEnv,
    graphql::Cursor,
    time::Timestamp,
};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::{Attendance, AttendanceError, AttendanceStats, ListBy};
use crate::{
    clients::{EventDirectory, EventInfo, UserDirectory},
    storage::{self, CheckInOutcome, CheckInWriter, NewCheckIn},
};

/// The check-in window and clock tolerance.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub app_env: AppEnv,
    pub opens_before: Duration,
    pub clock_skew: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct CheckInRequest {
    pub event_id: Uuid,
    /// Defaults to the caller.
    pub user_id: Option<Uuid>,
    /// Defaults to now; offline scanners send the time they scanned.
    pub check_in_time: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
}

impl<T> Page<T> {
    /// From `limit + 1` fetched rows.
    pub fn from_overfetch(mut items: Vec<T>, limit: u64) -> Self {
        let has_next = items.len() as u64 > limit;
        items.truncate(limit as usize);
        Page { items, has_next }
    }
}

#[derive(Clone)]
pub struct AttendanceService {
    db: DatabaseConnection,
    check_ins: CheckInWriter,
    events: EventDirectory,
    users: UserDirectory,
    rules: Rules,
}

impl AttendanceService {
    /// Starts the task that writes check-ins in batches, up to `writers` at
    /// once (needs a Tokio runtime).
    pub fn new(
        db: DatabaseConnection,
        writers: usize,
        events: EventDirectory,
        users: UserDirectory,
        rules: Rules,
    ) -> Self {
        AttendanceService { check_ins: CheckInWriter::start(db.clone(), writers), db, events, users, rules }
    }

    pub async fn check_in(&self, caller: &Caller, request: CheckInRequest) -> Result<Attendance, AttendanceError> {
        require_writer(caller, self.rules.app_env)?;
        let user_id = request
            .user_id
            .or_else(|| caller.user_id())
            .ok_or_else(|| AttendanceError::Invalid("`userId` is required without a bearer token".into()))?;
        let now = Utc::now();
        let check_in_time = request.check_in_time.map(|t| t.0).unwrap_or(now);
        if check_in_time > now + self.rules.clock_skew {
            return Err(AttendanceError::Invalid("`checkInTime` must not be in the future".into()));
        }
        let event = self.event(request.event_id).await?;
        let for_someone_else = caller.user_id() != Some(user_id);
        if for_someone_else {
            if let Some(claims) = caller.claims() {
                let organizer = event.organizer_id == Some(claims.sub);
                if !(organizer || caller.is_admin()) {
                    return Err(AttendanceError::Forbidden);
                }
            }
        }
        if event.is_cancelled() {
            return Err(AttendanceError::EventCancelled);
        }
        let opens = event.start_time.0 - self.rules.opens_before;
        if check_in_time < opens || check_in_time > event.end_time.0 {
            return Err(AttendanceError::CheckinClosed {
                opens_before_minutes: self.rules.opens_before.as_secs() / 60,
            });
        }
        if for_someone_else && !self.users.exists(user_id).await? {
            return Err(AttendanceError::UserNotFound);
        }
        let outcome = self
            .check_ins
            .check_in(NewCheckIn {
                event_id: event.id,
                user_id,
                check_in_time,
                recorded_by: caller.user_id(),
                capacity: event.capacity,
            })
            .await?;
        match outcome {
            CheckInOutcome::Recorded(attendance) => {
                tracing::info!(attendance_id = %attendance.id, event_id = %attendance.event_id, "checked in");
                Ok(attendance)
            }
            CheckInOutcome::Duplicate(original) => Err(AttendanceError::AlreadyCheckedIn(Box::new(original))),
            CheckInOutcome::Full => Err(AttendanceError::EventFull),
        }
    }

    async fn event(&self, id: Uuid) -> Result<EventInfo, AttendanceError> {
        self.events.get(id).await?.ok_or(AttendanceError::EventNotFound)
    }

    pub async fn get_many(&self, ids: &[Uuid]) -> Result<Vec<Attendance>, AttendanceError> {
        Ok(storage::find_many(&self.db, ids).await?)
    }

    /// Check-ins of one event, oldest first. The event must exist.
    pub async fn event_attendance(
        &self,
        event_id: Uuid,
        first: u64,
        after: Option<Cursor>,
    ) -> Result<Page<Attendance>, AttendanceError> {
        self.event(event_id).await?;
        let mut pages = self.pages(ListBy::Event, &[event_id], first, after).await?;
        Ok(pages.pop().map(|(_, page)| page).unwrap_or(Page { items: Vec::new(), has_next: false }))
    }

    /// Pages of check-ins for many events or users at once (one query).
    pub async fn pages(
        &self,
        by: ListBy,
        owners: &[Uuid],
        first: u64,
        after: Option<Cursor>,
    ) -> Result<Vec<(Uuid, Page<Attendance>)>, AttendanceError> {
        let mut rows = storage::pages(&self.db, by, owners, after, first + 1).await?;
        Ok(owners
            .iter()
            .map(|owner| (*owner, Page::from_overfetch(rows.remove(owner).unwrap_or_default(), first)))
            .collect())
    }

    pub async fn counts(
        &self,
        by: ListBy,
        owners: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, i64>, AttendanceError> {
        Ok(storage::counts(&self.db, by, owners).await?)
    }

    /// Statistics of one event; its start time comes from the event service.
    pub async fn event_stats(&self, event_id: Uuid) -> Result<AttendanceStats, AttendanceError> {
        let event = self.event(event_id).await?;
        let mut stats = self.stats(&[(event_id, event.start_time)]).await?;
        Ok(stats.remove(&event_id).unwrap_or_else(|| AttendanceStats::empty(event_id)))
    }

    /// Statistics of many events whose start times are known (one query).
    pub async fn stats(
        &self,
        events: &[(Uuid, Timestamp)],
    ) -> Result<std::collections::HashMap<Uuid, AttendanceStats>, AttendanceError> {
        let events: Vec<_> = events.iter().map(|(id, start)| (*id, start.0)).collect();
        Ok(storage::stats(&self.db, &events).await?)
    }
}
