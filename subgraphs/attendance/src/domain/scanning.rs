//! Scanning at the door: single check-ins (entries and exits), offline
//! scanners' uploads and annulments. Both kinds of scan become the same
//! [`NewScan`] ([`AttendanceService::door_scan`]) and get their verdict from
//! `scan_verdict` in SQL (see the module docs for which rule lives where).

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{
    auth::{require_writer, Caller, TokenRequired},
    config::AppEnv,
    time::Timestamp,
};
use uuid::Uuid;

use super::{
    tickets::TicketRefusal, Attendance, AttendanceError, AttendanceService, Direction, Nonce, Scan, ScanOutcome,
    ScanStatus,
};
use crate::{
    clients::{EventInfo, EventStatus},
    storage::{self, NewScan, Recorded, TicketScan},
};

/// The check-in window, clock tolerance and the service's other door limits.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub app_env: AppEnv,
    pub opens_before: Duration,
    pub clock_skew: Duration,
    /// Live subscriptions one person may hold on one instance.
    pub live_subscriptions_per_user: usize,
    /// Self check-ins (entries and exits) one person may make at one event
    /// per minute, on one instance (`SELF_SCANS_PER_MINUTE`).
    pub self_scans_per_minute: u32,
}

#[derive(Debug, Clone, Default)]
pub struct CheckInRequest {
    pub event_id: Uuid,
    /// Whom the scan is of: by default the caller.
    pub subject: Option<ScanSubject>,
    /// Defaults to now. Scanners (the organizer, check-in staff, ADMINs) may
    /// send the time they scanned; a person checking themself in is stamped
    /// by the server.
    pub check_in_time: Option<Timestamp>,
    pub direction: Direction,
    /// Makes the scan idempotent: the same nonce from the same caller for
    /// the same event answers the original scan and writes nothing.
    pub nonce: Option<Nonce>,
}

/// Whom a scan is of: a person by id, or a ticket, by the secret scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanSubject {
    Person(Uuid),
    Ticket(String),
}

/// One scan of an offline scanner's upload, as sent.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// The nonce as sent, echoed in the scan's result.
    pub sent_nonce: String,
    /// `None` when the nonce sent was malformed: that scan alone is refused.
    pub nonce: Option<Nonce>,
    /// `None` when the id sent was malformed (or neither or both of an id and
    /// a ticket were sent): that scan alone is refused.
    pub subject: Option<ScanSubject>,
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
/// How often a scan (or a registration) is checked again when the event
/// keeps changing under it.
pub(super) const STALE_RETRIES: usize = 3;
const MAX_REASON_CHARS: usize = 500;

/// A scan before the event's facts are added to it ([`AttendanceService::door_scan`]).
struct Sighting {
    /// The person scanned by id; `None` for a ticket.
    user_id: Option<Uuid>,
    ticket: Option<TicketScan>,
    /// Why the ticket's secret failed its check, if it did.
    refusal: Option<TicketRefusal>,
    direction: Direction,
    scanned_at: DateTime<Utc>,
    nonce: Option<Nonce>,
    person_exists: bool,
    malformed: bool,
}

impl AttendanceService {
    /// One scan at the door: an entry (the guide's check-in) or an exit, of
    /// a person by id or of a ticket. Accepted or refused, it is logged;
    /// refusals come back as errors.
    pub async fn check_in(&self, caller: &Caller, request: CheckInRequest) -> Result<Attendance, AttendanceError> {
        let started = std::time::Instant::now();
        let answer = self.scan_one(caller, request).await;
        let outcome = if answer.is_ok() { "ok" } else { "refused" };
        metrics::histogram!(common::telemetry::metrics::CHECK_IN_SECONDS, "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        answer
    }

    async fn scan_one(&self, caller: &Caller, request: CheckInRequest) -> Result<Attendance, AttendanceError> {
        require_writer(caller, self.rules.app_env)?;
        let now = Utc::now();
        if request.check_in_time.is_some_and(|t| t.0 > now + self.rules.clock_skew) {
            return Err(AttendanceError::Invalid("`checkInTime` must not be in the future".into()));
        }
        let mut event = self.event(request.event_id).await?;
        let scanner = self.is_scanner(caller, &event).await?;
        // A person checking themself in cannot backdate it; the guide's
        // anonymous development call keeps its documented `checkInTime`.
        let scanned_at = match request.check_in_time {
            Some(t) if scanner || caller.claims().is_none() => t.0,
            _ => now,
        };
        let sighting = match request.subject.clone() {
            Some(ScanSubject::Ticket(secret)) => {
                if caller.claims().is_some() && !scanner {
                    return Err(AttendanceError::Forbidden(
                        "only the event's organizer, its check-in staff or an admin may scan tickets",
                    ));
                }
                self.ticket_sighting(&secret, &request, scanned_at)
            }
            Some(ScanSubject::Person(user_id)) => {
                self.person_sighting(caller, scanner, user_id, &request, &event, scanned_at).await?
            }
            None => {
                let user_id = caller.user_id().ok_or_else(|| {
                    AttendanceError::Invalid("`userId` or `ticket` is required without a bearer token".into())
                })?;
                self.person_sighting(caller, scanner, user_id, &request, &event, scanned_at).await?
            }
        };
        for _ in 0..STALE_RETRIES {
            match self.scans.write(self.door_scan(&event, caller.user_id(), &sighting)).await? {
                Recorded::Scan(outcome) => {
                    count_ticket_scan(&sighting, &outcome);
                    return self.answer(*outcome, sighting.refusal);
                }
                Recorded::NonceReused => return Err(AttendanceError::NonceReused),
                Recorded::StaleEvent => event = self.changed_event(event.id).await?,
            }
        }
        Err(stale_event())
    }

    /// A scan of a person by id: someone else only by the event's scanners
    /// (or the guide's anonymous development call); oneself at most
    /// `SELF_SCANS_PER_MINUTE` times a minute.
    async fn person_sighting(
        &self,
        caller: &Caller,
        scanner: bool,
        user_id: Uuid,
        request: &CheckInRequest,
        event: &EventInfo,
        scanned_at: DateTime<Utc>,
    ) -> Result<Sighting, AttendanceError> {
        let for_someone_else = caller.user_id() != Some(user_id);
        if for_someone_else && caller.claims().is_some() && !scanner {
            return Err(AttendanceError::Forbidden(
                "only the event's organizer, its check-in staff or an admin may check in someone else",
            ));
        }
        if !scanner && !for_someone_else {
            self.self_scans.take(event.id, user_id)?;
        }
        Ok(Sighting {
            user_id: Some(user_id),
            ticket: None,
            refusal: None,
            direction: request.direction,
            scanned_at,
            nonce: request.nonce.clone(),
            person_exists: !for_someone_else || self.users.exists(user_id).await?,
            malformed: false,
        })
    }

    /// A scan of a ticket: its secret checked here (signature, key, form,
    /// validity at the scan's time), the rest in SQL with the ticket's row.
    fn ticket_sighting(&self, secret: &str, request: &CheckInRequest, scanned_at: DateTime<Utc>) -> Sighting {
        let (ticket, refusal) = self.read_ticket(secret, scanned_at);
        Sighting {
            user_id: None,
            ticket: Some(ticket),
            refusal,
            direction: request.direction,
            scanned_at,
            nonce: request.nonce.clone(),
            person_exists: true,
            malformed: false,
        }
    }

    /// What a scanned secret says, as `record_scans` takes it.
    fn read_ticket(&self, secret: &str, at: DateTime<Utc>) -> (TicketScan, Option<TicketRefusal>) {
        match self.tickets.verify(secret, at) {
            Ok(claims) => (TicketScan { ticket_id: claims.ticket_id, event_id: claims.event_id, invalid: false }, None),
            Err(refusal) => (TicketScan::invalid(), Some(refusal)),
        }
    }

    /// The one way a scan is made ready for `record_scans`: the scan itself
    /// and the facts of this copy of its event, which `scan_verdict` judges.
    fn door_scan(&self, event: &EventInfo, scanner: Option<Uuid>, sighting: &Sighting) -> NewScan {
        NewScan {
            event_id: event.id,
            user_id: sighting.user_id,
            ticket: sighting.ticket,
            direction: sighting.direction,
            scanned_at: sighting.scanned_at,
            scanned_by: scanner,
            nonce: sighting.nonce.clone(),
            capacity: event.capacity,
            organizer_id: event.organizer_id,
            event_updated_at: event.updated_at.0,
            event_cancelled: event.status == EventStatus::Cancelled,
            opens_at: event.start_time.0 - self.rules.opens_before,
            closes_at: event.end_time.0,
            person_exists: sighting.person_exists,
            malformed: sighting.malformed,
        }
    }

    /// A recorded scan as `checkIn` answers it: the person's attendance, or
    /// the refusal as an error.
    fn answer(&self, outcome: ScanOutcome, refusal: Option<TicketRefusal>) -> Result<Attendance, AttendanceError> {
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
            // Its secret checked out, but no ticket of ours has its id.
            ScanStatus::TicketInvalid => Err(AttendanceError::TicketInvalid(refusal.unwrap_or(TicketRefusal::Unknown))),
            ScanStatus::TicketRevoked => Err(AttendanceError::TicketRevoked),
            ScanStatus::TicketWrongEvent => Err(AttendanceError::TicketWrongEvent),
            ScanStatus::NotRegistered => Err(AttendanceError::NotRegistered),
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
        let scanner = caller.user_id().ok_or(AttendanceError::TokenRequired(TokenRequired))?;
        if scans.len() > MAX_SYNC_SCANS {
            return Err(AttendanceError::Invalid(format!("at most {MAX_SYNC_SCANS} scans per call")));
        }
        let mut event = self.event(event_id).await?;
        if !self.is_scanner(caller, &event).await? {
            return Err(AttendanceError::Forbidden(
                "only the event's organizer, its check-in staff or an admin may sync scans",
            ));
        }
        let mut people: Vec<Uuid> = scans
            .iter()
            .filter_map(|s| match s.subject {
                Some(ScanSubject::Person(id)) => Some(id),
                _ => None,
            })
            .collect();
        people.sort_unstable();
        people.dedup();
        let existing = if people.is_empty() { Default::default() } else { self.users.existing(&people).await? };
        let latest = Utc::now() + self.rules.clock_skew;
        let mut results: Vec<SyncResult> = Vec::with_capacity(scans.len());
        // Those to record: their place in `results`, and the scan.
        let mut to_record: Vec<(usize, Sighting)> = Vec::new();
        for scan in scans {
            if let (Some(subject), Some(nonce)) = (scan.subject, scan.nonce) {
                let (user_id, (ticket, refusal)) = match subject {
                    ScanSubject::Person(id) => (Some(id), (None, None)),
                    ScanSubject::Ticket(secret) => {
                        let (ticket, refusal) = self.read_ticket(&secret, scan.scanned_at.0);
                        (None, (Some(ticket), refusal))
                    }
                };
                let sighting = Sighting {
                    user_id,
                    ticket,
                    refusal,
                    direction: scan.direction,
                    scanned_at: scan.scanned_at.0,
                    nonce: Some(nonce),
                    person_exists: user_id.is_none_or(|id| existing.contains(&id)),
                    malformed: scan.scanned_at.0 > latest,
                };
                to_record.push((results.len(), sighting));
            }
            results.push(SyncResult { nonce: scan.sent_nonce, status: ScanStatus::Invalid, scan: None });
        }
        for attempt in 0..=STALE_RETRIES {
            if to_record.is_empty() {
                break;
            }
            if attempt == STALE_RETRIES {
                return Err(stale_event());
            }
            let batch: Vec<NewScan> = to_record.iter().map(|(_, s)| self.door_scan(&event, Some(scanner), s)).collect();
            let outcomes = storage::record_scans(&self.db, &batch).await?;
            let mut stale = Vec::new();
            for (pending, outcome) in to_record.into_iter().zip(outcomes) {
                match outcome {
                    Recorded::Scan(outcome) => {
                        count_ticket_scan(&pending.1, &outcome);
                        results[pending.0].status = outcome.scan.status;
                        results[pending.0].scan = Some(outcome.scan);
                    }
                    // Refused as malformed, with nothing logged: the nonce is another scan's.
                    Recorded::NonceReused => {}
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
        let by = caller.user_id().ok_or(AttendanceError::TokenRequired(TokenRequired))?;
        if let Some(reason) = &reason {
            if reason.chars().count() > MAX_REASON_CHARS || reason.contains('\0') {
                return Err(AttendanceError::Invalid(format!(
                    "`reason` must be at most {MAX_REASON_CHARS} characters, without NUL"
                )));
            }
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

    /// The event after a scan found this instance's copy stale.
    pub(super) async fn changed_event(&self, id: Uuid) -> Result<EventInfo, AttendanceError> {
        self.events.forget(id);
        self.events.get_fresh(id).await?.ok_or(AttendanceError::EventNotFound)
    }

    /// The event service says the event changed at `at`: every instance
    /// checks the scans after this against the event as it is now.
    pub async fn event_changed(&self, id: Uuid, at: Timestamp) -> Result<(), AttendanceError> {
        storage::note_event_change(&self.db, id, at.0).await?;
        self.events.forget(id);
        self.promote_after_change(id).await
    }
}

pub(super) fn stale_event() -> AttendanceError {
    AttendanceError::Unavailable(crate::clients::Unavailable { service: "event" })
}

/// A ticket's scan, counted once by its verdict (a replayed nonce is not a new scan).
fn count_ticket_scan(sighting: &Sighting, outcome: &ScanOutcome) {
    if sighting.ticket.is_some() && !outcome.replayed {
        metrics::counter!(common::telemetry::metrics::TICKET_SCANS, "status" => outcome.scan.status.code())
            .increment(1);
    }
}
