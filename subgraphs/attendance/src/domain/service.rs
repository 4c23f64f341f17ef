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

use super::{
    Attendance, AttendanceError, AttendanceStats, CheckInPolicy, CheckInPolicyPatch, Direction, ListBy, Scan,
    ScanFilter, ScanOutcome, ScanStatus, Viewer, Visible,
};
use crate::{
    clients::{EventDirectory, EventInfo, UserDirectory},
    storage::{self, NewScan, Recorded, ScanWriter},
};

/// The check-in window and clock tolerance.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub app_env: AppEnv,
    pub opens_before: Duration,
    pub clock_skew: Duration,
    /// Live subscriptions one person may hold on one instance.
    pub live_subscriptions_per_user: usize,
}

#[derive(Debug, Clone, Default)]
pub struct CheckInRequest {
    pub event_id: Uuid,
    /// Defaults to the caller.
    pub user_id: Option<Uuid>,
    /// Defaults to now. Scanners (the organizer, check-in staff, ADMINs) may
    /// send the time they scanned; a person checking themself in is stamped
    /// by the server.
    pub check_in_time: Option<Timestamp>,
    pub direction: Direction,
    /// Makes the scan idempotent: the same nonce from the same caller for
    /// the same event answers the original scan and writes nothing.
    pub nonce: Option<String>,
}

/// One scan of an offline scanner's upload.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    pub nonce: String,
    /// `None` when the id sent was malformed: that scan alone is refused.
    pub user_id: Option<Uuid>,
    pub direction: Direction,
    pub scanned_at: Timestamp,
}

/// The answer to one scan of an upload: `scan` is the recorded (or
/// replayed) scan, absent when the scan was too malformed to log.
#[derive(Debug, Clone)]
pub struct SyncResult {
    pub nonce: String,
    pub status: ScanStatus,
    pub scan: Option<Scan>,
}

/// Scans in one `syncScans` call, at most.
pub const MAX_SYNC_SCANS: usize = 500;
/// How long the staff member who made a scan may annul it.
const ANNUL_WINDOW: chrono::Duration = chrono::Duration::minutes(15);
const MAX_NONCE_CHARS: usize = 200;
/// How often a scan is checked again when the event keeps changing under it.
const STALE_RETRIES: usize = 3;
const MAX_REASON_CHARS: usize = 500;

/// Check-in staff one event may have: bounds `Event.checkInStaff`, an
/// unpaged list (the cost estimate prices it at this many).
pub const MAX_CHECK_IN_STAFF: usize = 50;

#[derive(Clone)]
pub struct AttendanceService {
    db: Pool,
    scans: ScanWriter,
    live: super::live::LiveHub,
    events: EventDirectory,
    users: UserDirectory,
    rules: Rules,
}

impl AttendanceService {
    /// Starts the thread that writes check-ins in batches, up to `writers` at
    /// once, through `writes`, a pool of their own (`connect_busy`); needs a
    /// Tokio runtime for the rest.
    pub fn new(
        db: Pool,
        writes: Pool,
        writers: usize,
        events: EventDirectory,
        users: UserDirectory,
        rules: Rules,
    ) -> std::io::Result<Self> {
        Ok(AttendanceService {
            scans: ScanWriter::start(writes, writers)?,
            live: super::live::LiveHub::new(db.clone(), events.clone(), rules.live_subscriptions_per_user),
            db,
            events,
            users,
            rules,
        })
    }

    /// Live updates of events' attendance (see `live`).
    pub fn live(&self) -> &super::live::LiveHub {
        &self.live
    }

    /// One scan at the door: an entry (the guide's check-in) or an exit.
    /// Accepted or refused, it is logged; refusals come back as errors.
    pub async fn check_in(&self, caller: &Caller, request: CheckInRequest) -> Result<Attendance, AttendanceError> {
        require_writer(caller, self.rules.app_env)?;
        let user_id = request
            .user_id
            .or_else(|| caller.user_id())
            .ok_or_else(|| AttendanceError::Invalid("`userId` is required without a bearer token".into()))?;
        let nonce = request.nonce.map(|n| valid_nonce(&n)).transpose()?;
        let now = Utc::now();
        if request.check_in_time.is_some_and(|t| t.0 > now + self.rules.clock_skew) {
            return Err(AttendanceError::Invalid("`checkInTime` must not be in the future".into()));
        }
        let mut event = self.event(request.event_id).await?;
        let scanner = self.is_scanner(caller, &event).await?;
        let for_someone_else = caller.user_id() != Some(user_id);
        if for_someone_else && caller.claims().is_some() && !scanner {
            return Err(AttendanceError::Forbidden(
                "only the event's organizer, its check-in staff or an admin may check in someone else",
            ));
        }
        // A person checking themself in cannot backdate it; the guide's
        // anonymous development call keeps its documented `checkInTime`.
        let scanned_at = match request.check_in_time {
            Some(t) if scanner || caller.claims().is_none() => t.0,
            _ => now,
        };
        let unknown_person = for_someone_else && !self.users.exists(user_id).await?;
        for _ in 0..STALE_RETRIES {
            let refused = self.refusal(&event, scanned_at).or(unknown_person.then_some(ScanStatus::UnknownPerson));
            let scan = NewScan {
                event_id: event.id,
                user_id,
                direction: request.direction,
                scanned_at,
                scanned_by: caller.user_id(),
                nonce: nonce.clone(),
                capacity: event.capacity,
                organizer_id: event.organizer_id,
                refused,
                event_updated_at: event.updated_at.0,
            };
            match self.scans.record(scan).await? {
                Recorded::Scan(outcome) => return self.answer(*outcome),
                Recorded::StaleEvent => event = self.changed_event(event.id).await?,
            }
        }
        Err(stale_event())
    }

    /// What the event itself says against a scan at `scanned_at`, if anything.
    fn refusal(&self, event: &EventInfo, scanned_at: chrono::DateTime<Utc>) -> Option<ScanStatus> {
        let opens = event.start_time.0 - self.rules.opens_before;
        if event.is_cancelled() {
            Some(ScanStatus::EventCancelled)
        } else if scanned_at < opens || scanned_at > event.end_time.0 {
            Some(ScanStatus::CheckinClosed)
        } else {
            None
        }
    }

    /// A recorded scan as `checkIn` answers it: the person's attendance, or
    /// the refusal as an error.
    fn answer(&self, outcome: ScanOutcome) -> Result<Attendance, AttendanceError> {
        let scan = &outcome.scan;
        let attendance = outcome.attendance.clone().unwrap_or_else(|| scan.as_attendance());
        match scan.status {
            ScanStatus::Ok => {
                if !outcome.replayed {
                    tracing::info!(scan_id = %scan.id, event_id = %scan.event_id, direction = scan.direction.as_str(), "scanned");
                }
                Ok(attendance)
            }
            ScanStatus::AlreadyCheckedIn => Err(AttendanceError::AlreadyCheckedIn(Box::new(attendance))),
            ScanStatus::EventFull => Err(AttendanceError::EventFull),
            ScanStatus::NotInside => Err(AttendanceError::NotInside),
            ScanStatus::EventCancelled => Err(AttendanceError::EventCancelled),
            ScanStatus::CheckinClosed => {
                Err(AttendanceError::CheckinClosed { opens_before_minutes: self.rules.opens_before.as_secs() / 60 })
            }
            ScanStatus::UnknownPerson => Err(AttendanceError::UserNotFound),
            ScanStatus::Invalid => Err(AttendanceError::Invalid("the scan was refused as malformed".into())),
        }
    }

    /// An offline scanner's upload: up to `MAX_SYNC_SCANS` scans of one
    /// event, applied in `scannedAt` order, one result per scan in the order
    /// sent (one bad scan never fails the others). Sending the same upload
    /// again changes nothing. One event lookup, one user lookup and one SQL
    /// statement, whatever the number of scans.
    pub async fn sync_scans(
        &self,
        caller: &Caller,
        event_id: Uuid,
        scans: Vec<ScanRequest>,
    ) -> Result<Vec<SyncResult>, AttendanceError> {
        let scanner = caller.user_id().ok_or(AttendanceError::TokenRequired(common::auth::TokenRequired))?;
        if scans.len() > MAX_SYNC_SCANS {
            return Err(AttendanceError::Invalid(format!("at most {MAX_SYNC_SCANS} scans per call")));
        }
        let mut event = self.event(event_id).await?;
        if !self.is_scanner(caller, &event).await? {
            return Err(AttendanceError::Forbidden(
                "only the event's organizer, its check-in staff or an admin may sync scans",
            ));
        }
        let mut people: Vec<Uuid> = scans.iter().filter_map(|s| s.user_id).collect();
        people.sort_unstable();
        people.dedup();
        let existing = if people.is_empty() { Default::default() } else { self.users.existing(&people).await? };
        let now = Utc::now();
        let mut results: Vec<SyncResult> = Vec::with_capacity(scans.len());
        // Those to record: (their place in `results`, the person, the nonce, the scan).
        let mut to_record = Vec::new();
        for scan in scans {
            match (scan.user_id, valid_nonce(&scan.nonce)) {
                (Some(user_id), Ok(nonce)) => {
                    to_record.push((results.len(), user_id, nonce.clone(), scan));
                    results.push(SyncResult { nonce, status: ScanStatus::Invalid, scan: None });
                }
                _ => results.push(SyncResult { nonce: scan.nonce, status: ScanStatus::Invalid, scan: None }),
            }
        }
        for attempt in 0..=STALE_RETRIES {
            if to_record.is_empty() {
                break;
            }
            if attempt == STALE_RETRIES {
                return Err(stale_event());
            }
            let batch: Vec<NewScan> = to_record
                .iter()
                .map(|(_, user_id, nonce, scan)| {
                    let refused = if scan.scanned_at.0 > now + self.rules.clock_skew {
                        Some(ScanStatus::Invalid)
                    } else if let Some(refused) = self.refusal(&event, scan.scanned_at.0) {
                        Some(refused)
                    } else if !existing.contains(user_id) {
                        Some(ScanStatus::UnknownPerson)
                    } else {
                        None
                    };
                    NewScan {
                        event_id,
                        user_id: *user_id,
                        direction: scan.direction,
                        scanned_at: scan.scanned_at.0,
                        scanned_by: Some(scanner),
                        nonce: Some(nonce.clone()),
                        capacity: event.capacity,
                        organizer_id: event.organizer_id,
                        refused,
                        event_updated_at: event.updated_at.0,
                    }
                })
                .collect();
            let outcomes = storage::record_scans(&self.db, &batch).await?;
            let mut stale = Vec::new();
            for (pending, outcome) in to_record.into_iter().zip(outcomes) {
                match outcome {
                    Recorded::Scan(outcome) => {
                        results[pending.0].status = outcome.scan.status;
                        results[pending.0].scan = Some(outcome.scan);
                    }
                    Recorded::StaleEvent => stale.push(pending),
                }
            }
            to_record = stale;
            if !to_record.is_empty() {
                event = self.changed_event(event_id).await?;
            }
        }
        tracing::info!(%event_id, scans = results.len(), by = %scanner, "scans synced");
        Ok(results)
    }

    /// Undoes a mistaken scan: by the event's organizer, an ADMIN, or the
    /// staff member who made it (while still staff) within 15 minutes. The
    /// scan stays in the log, marked; the person's state and the counts
    /// follow from their other scans, so an annulled entry gives the place
    /// back. Undo goes backwards: only the person's latest accepted scan may
    /// be annulled. Annulling an annulled scan changes nothing.
    pub async fn annul_scan(
        &self,
        caller: &Caller,
        scan_id: Uuid,
        reason: Option<String>,
    ) -> Result<Scan, AttendanceError> {
        let by = caller.user_id().ok_or(AttendanceError::TokenRequired(common::auth::TokenRequired))?;
        if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
            return Err(AttendanceError::Invalid(format!("`reason` is longer than {MAX_REASON_CHARS} characters")));
        }
        let scan = storage::find_scan(&self.db, scan_id).await?.ok_or(AttendanceError::ScanNotFound)?;
        let event = self.event(scan.event_id).await?;
        let own_recent = scan.scanned_by == Some(by)
            && Utc::now() - scan.received_at.0 <= ANNUL_WINDOW
            && self.runs_event(by, event.id).await?;
        if !(caller.is_admin() || event.organizer_id == Some(by) || own_recent) {
            return Err(AttendanceError::Forbidden(
                "only the event's organizer, an admin, or the staff member who made the scan (within 15 minutes) may annul it",
            ));
        }
        if scan.status != ScanStatus::Ok {
            return Err(AttendanceError::Invalid("only an accepted scan can be annulled".into()));
        }
        if scan.annulment.is_some() {
            return Ok(scan);
        }
        let annulled = storage::annul_scan(&self.db, scan_id, by, reason.as_deref())
            .await?
            .ok_or(AttendanceError::ScanNotFound)?;
        if annulled.annulment.is_none() {
            return Err(AttendanceError::Invalid(
                "only the person's latest scan can be annulled: annul the later ones first".into(),
            ));
        }
        tracing::info!(%scan_id, event_id = %annulled.event_id, %by, "scan annulled");
        Ok(annulled)
    }

    /// Scan logs of many events, newest first, as far as `viewer` may read
    /// them: all scans for the organizer and ADMINs, their own for check-in
    /// staff, none for anyone else (one query).
    pub async fn scan_logs(
        &self,
        viewer: Viewer,
        events: &[Uuid],
        filter: &ScanFilter,
        first: u64,
        after: Option<Cursor>,
    ) -> Result<Vec<(Uuid, Page<Scan>)>, AttendanceError> {
        // An exit-all whose time has come shows in the log (scans and the
        // statistics apply it too; no background task is needed).
        storage::apply_due_exits(&self.db, events).await?;
        let logs = storage::scan_logs(&self.db, events, viewer, filter, after, first + 1).await?;
        Ok(Page::per_owner(events, logs, first))
    }

    /// One event's scan log (the event must exist).
    pub async fn event_scan_log(
        &self,
        viewer: Viewer,
        event_id: Uuid,
        filter: &ScanFilter,
        first: u64,
        after: Option<Cursor>,
    ) -> Result<Page<Scan>, AttendanceError> {
        self.event(event_id).await?;
        let mut logs = self.scan_logs(viewer, &[event_id], filter, first, after).await?;
        Ok(logs.pop().map(|(_, page)| page).unwrap_or_else(Page::empty))
    }

    /// The check-in policies of many events; anyone may read them (one query).
    pub async fn policies(
        &self,
        events: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, CheckInPolicy>, AttendanceError> {
        Ok(storage::policies(&self.db, events).await?)
    }

    /// The organizer or an ADMIN changes how the event's door works; scans
    /// after this call follow the new policy.
    pub async fn set_policy(
        &self,
        caller: &Caller,
        event_id: Uuid,
        patch: CheckInPolicyPatch,
    ) -> Result<CheckInPolicy, AttendanceError> {
        let (by, event) = self.authorize_organizer(caller, event_id, "change its check-in policy").await?;
        let policy = storage::set_policy(&self.db, event.id, event.organizer_id, &patch).await?;
        tracing::info!(%event_id, %by, ?policy, "check-in policy set");
        Ok(policy)
    }

    /// The event after a scan found this instance's copy stale.
    async fn changed_event(&self, id: Uuid) -> Result<EventInfo, AttendanceError> {
        self.events.forget(id);
        self.events.get_fresh(id).await?.ok_or(AttendanceError::EventNotFound)
    }

    /// The event service says the event changed at `at`: every instance
    /// checks the scans after this against the event as it is now.
    pub async fn event_changed(&self, id: Uuid, at: Timestamp) -> Result<(), AttendanceError> {
        storage::note_event_change(&self.db, id, at.0).await?;
        self.events.forget(id);
        Ok(())
    }

    /// Whether the caller scans for this event: an ADMIN, its organizer or its check-in staff.
    async fn is_scanner(&self, caller: &Caller, event: &EventInfo) -> Result<bool, AttendanceError> {
        let Some(user) = caller.user_id() else { return Ok(false) };
        Ok(caller.is_admin() || event.organizer_id == Some(user) || self.runs_event(user, event.id).await?)
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
        let rows = storage::pages(&self.db, by, owners, viewer, after, first + 1).await?;
        Ok(Page::per_owner(owners, rows, first))
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
        let (granter, event) = self.authorize_organizer(caller, event_id, "name its check-in staff").await?;
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
        let (granter, event) = self.authorize_organizer(caller, event_id, "name its check-in staff").await?;
        if storage::remove_staff(&self.db, event.id, user).await? {
            tracing::info!(%event_id, staff = %user, by = %granter, "check-in staff removed");
        }
        self.all_staff(event_id).await
    }

    async fn all_staff(&self, event_id: Uuid) -> Result<Vec<Uuid>, AttendanceError> {
        Ok(storage::staff_of(&self.db, &[event_id], true, None).await?.remove(&event_id).unwrap_or_default())
    }

    /// Staff and policies are set by the event's organizer or an ADMIN,
    /// always signed in (in development too: they are people, not anonymous
    /// scripts).
    async fn authorize_organizer(
        &self,
        caller: &Caller,
        event_id: Uuid,
        action: &'static str,
    ) -> Result<(Uuid, EventInfo), AttendanceError> {
        let by = caller.user_id().ok_or(AttendanceError::TokenRequired(common::auth::TokenRequired))?;
        let event = self.event(event_id).await?;
        if !(caller.is_admin() || event.organizer_id == Some(by)) {
            return Err(AttendanceError::OrganizerOnly(action));
        }
        Ok((by, event))
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

/// A nonce as stored: 1 to 200 characters.
fn valid_nonce(nonce: &str) -> Result<String, AttendanceError> {
    let chars = nonce.chars().count();
    if chars == 0 || chars > MAX_NONCE_CHARS {
        return Err(AttendanceError::Invalid(format!("`nonce` must have 1 to {MAX_NONCE_CHARS} characters")));
    }
    Ok(nonce.to_owned())
}

fn stale_event() -> AttendanceError {
    AttendanceError::Unavailable(crate::clients::Unavailable { service: "event" })
}
