use std::time::Duration;

use chrono::Utc;
use common::db::Pool;
use common::{
    auth::{require_writer, Caller},
    config::AppEnv,
    page::{Cursor, Page},
    time::Timestamp,
};
use uuid::Uuid;

use super::{Attendance, AttendanceError, AttendanceStats, ListBy, Viewer, Visible};
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

/// Check-in staff one event may have: bounds `Event.checkInStaff`, an
/// unpaged list (the cost estimate prices it at this many).
pub const MAX_CHECK_IN_STAFF: usize = 50;

#[derive(Clone)]
pub struct AttendanceService {
    db: Pool,
    check_ins: CheckInWriter,
    events: EventDirectory,
    users: UserDirectory,
    rules: Rules,
}

impl AttendanceService {
    /// Starts the task that writes check-ins in batches, up to `writers` at
    /// once (needs a Tokio runtime).
    pub fn new(db: Pool, writers: usize, events: EventDirectory, users: UserDirectory, rules: Rules) -> Self {
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
                if !(organizer || caller.is_admin() || self.runs_event(claims.sub, event.id).await?) {
                    return Err(AttendanceError::Forbidden(
                        "only the event's organizer, its check-in staff or an admin may check in someone else",
                    ));
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
                organizer_id: event.organizer_id,
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

    /// Whether `user` organizes the event or works at it as check-in staff.
    async fn runs_event(&self, user: Uuid, event: Uuid) -> Result<bool, AttendanceError> {
        Ok(storage::events_run_by(&self.db, user, &[event]).await?.contains(&event))
    }

    /// Check-ins by id, each shown only to the person, the event's organizer
    /// and check-in staff, and ADMINs (two statements for any number).
    pub async fn attendances_for(
        &self,
        viewer: Viewer,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, Visible<Attendance>)>, AttendanceError> {
        let rows = storage::find_many(&self.db, ids).await?;
        let run_by_viewer = match viewer.user {
            Some(user) if !viewer.everything => {
                let mut events: Vec<Uuid> = rows.iter().filter(|a| a.user_id != user).map(|a| a.event_id).collect();
                events.sort_unstable();
                events.dedup();
                if events.is_empty() {
                    Default::default()
                } else {
                    storage::events_run_by(&self.db, user, &events).await?
                }
            }
            _ => Default::default(),
        };
        Ok(rows
            .into_iter()
            .map(|a| {
                let shown = viewer.everything || viewer.user == Some(a.user_id) || run_by_viewer.contains(&a.event_id);
                (a.id, if shown { Visible::Shown(a) } else { Visible::Hidden })
            })
            .collect())
    }

    /// Who reads the guide's REST list of an event's check-ins: in
    /// development an anonymous caller sees all of them (the guide's curl
    /// call; the REST edge shows ids and times only), in production a token
    /// is required.
    pub fn guide_list_viewer(&self, caller: &Caller) -> Result<Viewer, AttendanceError> {
        match caller {
            Caller::Anonymous if self.rules.app_env.is_production() => {
                Err(AttendanceError::TokenRequired(common::auth::TokenRequired))
            }
            Caller::Anonymous => Ok(Viewer { everything: true, user: None }),
            Caller::User(_) => Ok(Viewer::of(caller)),
        }
    }

    /// Check-ins of one event that `viewer` may read, oldest first. The event must exist.
    pub async fn event_attendance(
        &self,
        viewer: Viewer,
        event_id: Uuid,
        first: u64,
        after: Option<Cursor>,
    ) -> Result<Page<Attendance>, AttendanceError> {
        self.event(event_id).await?;
        let mut pages = self.pages(ListBy::Event, &[event_id], viewer, first, after).await?;
        Ok(pages.pop().map(|(_, page)| page).unwrap_or_else(Page::empty))
    }

    /// Pages of check-ins for many events or users at once, as far as
    /// `viewer` may read them (one query).
    pub async fn pages(
        &self,
        by: ListBy,
        owners: &[Uuid],
        viewer: Viewer,
        first: u64,
        after: Option<Cursor>,
    ) -> Result<Vec<(Uuid, Page<Attendance>)>, AttendanceError> {
        let mut rows = storage::pages(&self.db, by, owners, viewer, after, first + 1).await?;
        Ok(owners
            .iter()
            .map(|owner| (*owner, Page::from_overfetch(rows.remove(owner).unwrap_or_default(), first)))
            .collect())
    }

    /// How many check-ins of each owner `viewer` may read (one query).
    pub async fn counts(
        &self,
        by: ListBy,
        owners: &[Uuid],
        viewer: Viewer,
    ) -> Result<std::collections::HashMap<Uuid, i64>, AttendanceError> {
        Ok(storage::counts(&self.db, by, owners, viewer).await?)
    }

    /// The check-in staff of each event, for its organizer and ADMINs; for
    /// everyone else none (one query).
    pub async fn staff(
        &self,
        viewer: Viewer,
        events: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, Vec<Uuid>>, AttendanceError> {
        if viewer.is_nobody() {
            return Ok(Default::default());
        }
        Ok(storage::staff_of(&self.db, events, viewer.everything, viewer.user).await?)
    }

    /// The organizer or an ADMIN names `user` check-in staff of the event:
    /// they may then check people in there and read its door list (names and
    /// times; emails stay the auth service's to give). Returns the staff.
    pub async fn add_staff(&self, caller: &Caller, event_id: Uuid, user: Uuid) -> Result<Vec<Uuid>, AttendanceError> {
        let (granter, event) = self.authorize_staffing(caller, event_id).await?;
        let staff = self.all_staff(event_id).await?;
        if staff.len() >= MAX_CHECK_IN_STAFF && !staff.contains(&user) {
            return Err(AttendanceError::Invalid(format!(
                "an event may have at most {MAX_CHECK_IN_STAFF} check-in staff"
            )));
        }
        if !self.users.exists(user).await? {
            return Err(AttendanceError::UserNotFound);
        }
        storage::add_staff(&self.db, event.id, event.organizer_id, user, granter).await?;
        tracing::info!(%event_id, staff = %user, by = %granter, "check-in staff added");
        self.all_staff(event_id).await
    }

    /// The organizer or an ADMIN takes `user`'s check-in rights at the event
    /// away, at once for every request after this one. Returns the staff.
    pub async fn remove_staff(
        &self,
        caller: &Caller,
        event_id: Uuid,
        user: Uuid,
    ) -> Result<Vec<Uuid>, AttendanceError> {
        let (granter, event) = self.authorize_staffing(caller, event_id).await?;
        if storage::remove_staff(&self.db, event.id, user).await? {
            tracing::info!(%event_id, staff = %user, by = %granter, "check-in staff removed");
        }
        self.all_staff(event_id).await
    }

    async fn all_staff(&self, event_id: Uuid) -> Result<Vec<Uuid>, AttendanceError> {
        Ok(storage::staff_of(&self.db, &[event_id], true, None).await?.remove(&event_id).unwrap_or_default())
    }

    /// Staff are named by the event's organizer or an ADMIN, always signed
    /// in (in development too: staff are people, not anonymous scripts).
    async fn authorize_staffing(&self, caller: &Caller, event_id: Uuid) -> Result<(Uuid, EventInfo), AttendanceError> {
        let granter = caller.user_id().ok_or(AttendanceError::TokenRequired(common::auth::TokenRequired))?;
        let event = self.event(event_id).await?;
        if !(caller.is_admin() || event.organizer_id == Some(granter)) {
            return Err(AttendanceError::Forbidden(
                "only the event's organizer or an admin may name its check-in staff",
            ));
        }
        Ok((granter, event))
    }

    /// Of `users`, those checked in to an event `organizer` organizes: the
    /// auth service asks this before it shows an organizer people's emails.
    pub async fn profiles_visible_to(&self, organizer: Uuid, users: &[Uuid]) -> Result<Vec<Uuid>, AttendanceError> {
        Ok(storage::profiles_visible_to(&self.db, organizer, users).await?)
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
