//! The attendance service's domain: its types, the one error enum, and the
//! use cases GraphQL and REST both call, one file per group of them (separate
//! `impl AttendanceService` blocks): `scanning` (check-ins, uploads, annul),
//! `reading` (lists and single records), `stats`, `policy`, `staff`,
//! `live`, `registering` (the registration desk) and `registration_views`
//! (registrations and tickets as each reader sees them); `tickets` signs
//! and checks ticket secrets. Its public shapes are in `wire`.
//!
//! # Where each door rule lives
//!
//! A scan's verdict is decided in one place, the SQL function `scan_verdict`
//! (`migration/sql/attendance/scan_verdict/`), which `record_scans` asks for
//! every scan it records, under the event's row lock. The service gathers the
//! facts it is given and decides only what must be settled before a scan may
//! be recorded at all:
//!
//! | rule | where | why |
//! |---|---|---|
//! | who may scan whom (self, organizer, staff, ADMIN) | Rust, `scanning` | a refusal is not a scan: nothing is logged for a caller without the right |
//! | well-formed input (ids, nonce, a time not in the future for a single check-in) | Rust, at the edge (`wire`, [`Nonce`]) | parsed into types once; a malformed scan of an upload is logged as `BAD_USER_INPUT` |
//! | self-scans per person and event (`SELF_SCANS_PER_MINUTE`) | Rust, `scanning` | a flood is refused before it reaches the log, the counts or any subscriber |
//! | a ticket's secret: form, signature, key, validity | Rust, `tickets` | checked before any SQL, as an offline scanner checks it; a secret that fails is logged as `TICKET_INVALID` without its ids |
//! | whether the person exists | fact from the auth service | another service's data |
//! | the event: cancelled, check-in window, capacity, version | fact from the event service (`EventInfo`) | another service's data; a stale copy is answered `STALE` and checked again |
//! | a ticket's holder, event and revocation; registered or not (events that require tickets); cancelled, window, unknown person, inside or not, re-entry, multiple entries, capacity | SQL, `scan_verdict` | decided with the ticket's row, the person's attendance and the exact counts, in the transaction that writes the scan |
//! | nonce replays | SQL, `record_scans` | the nonce index is the truth, and concurrent copies of one scan race there |
//!
//! A registration's place is decided likewise by one SQL function,
//! `registration_verdict`, under the event's registration row lock (see
//! `registering`); who may register, cancel or decide is Rust's.

mod error;
pub mod live;
mod policy;
mod reading;
pub mod records;
mod registering;
pub mod registration;
mod registration_views;
pub mod scan;
mod scanning;
mod self_scans;
mod staff;
mod stats;
pub mod tickets;

pub use error::AttendanceError;
pub use records::{
    Attendance, AttendanceStats, CheckInPolicy, CheckInPolicyPatch, EventRole, IntervalCount, ListBy, Viewer, Visible,
};
pub use registering::MAX_REGISTRATION_CAPACITY;
pub use registration_views::{RegistrationView, MAX_REVOKED_TICKETS};
pub use scan::{Annulment, Direction, Nonce, Scan, ScanFilter, ScanOutcome, ScanStatus};
pub use scanning::{CheckInRequest, Rules, ScanRequest, ScanSubject, SyncResult, MAX_SYNC_SCANS};
pub use staff::{MAX_CHECK_IN_STAFF, MAX_STAFFED_EVENTS};

use std::collections::HashMap;

use common::{auth::Caller, db::Pool};
use uuid::Uuid;

use crate::{
    clients::{EventDirectory, EventInfo, UserDirectory},
    storage::{self, RegistrationWriter, ScanWriter},
};

#[derive(Clone)]
pub struct AttendanceService {
    db: Pool,
    scans: ScanWriter,
    registrations: RegistrationWriter,
    tickets: tickets::TicketKeys,
    live: live::LiveHub,
    events: EventDirectory,
    users: UserDirectory,
    rules: Rules,
    self_scans: self_scans::SelfScanLimiter,
}

/// What the service works with besides its database.
pub struct Parts {
    pub events: EventDirectory,
    pub users: UserDirectory,
    /// The keys tickets are signed with (the first) and checked against.
    pub tickets: tickets::TicketKeys,
}

impl AttendanceService {
    /// Starts the threads that write check-ins and registrations in
    /// batches, up to `writers` at once each, through `writes`, a pool of
    /// their own (`connect_busy`); needs a Tokio runtime for the rest.
    pub fn new(db: Pool, writes: Pool, writers: usize, parts: Parts, rules: Rules) -> std::io::Result<Self> {
        let Parts { events, users, tickets } = parts;
        Ok(AttendanceService {
            scans: ScanWriter::start(writes.clone(), writers)?,
            registrations: RegistrationWriter::start(writes, writers)?,
            tickets,
            live: live::LiveHub::new(db.clone(), events.clone(), rules.live_subscriptions_per_user),
            self_scans: self_scans::SelfScanLimiter::new(rules.self_scans_per_minute),
            db,
            events,
            users,
            rules,
        })
    }

    /// Live updates of events' attendance (see `live`).
    pub fn live(&self) -> &live::LiveHub {
        &self.live
    }

    async fn event(&self, id: Uuid) -> Result<EventInfo, AttendanceError> {
        self.events.get(id).await?.ok_or(AttendanceError::EventNotFound)
    }

    /// Whether the caller scans for this event: an ADMIN, its organizer or its check-in staff.
    async fn is_scanner(&self, caller: &Caller, event: &EventInfo) -> Result<bool, AttendanceError> {
        let Some(user) = caller.user_id() else { return Ok(false) };
        Ok(caller.is_admin() || event.organizer_id == Some(user) || self.runs_event(user, event.id).await?)
    }

    /// Whether `user` organizes the event or works at it as check-in staff.
    async fn runs_event(&self, user: Uuid, event: Uuid) -> Result<bool, AttendanceError> {
        Ok(storage::runs_event(&self.db, user, event).await?)
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

    /// How `viewer` works at each of `events` (one query; none for ADMINs
    /// and anonymous readers, whose rights do not depend on it).
    async fn roles(
        &self,
        viewer: Viewer,
        events: impl Iterator<Item = Uuid>,
    ) -> Result<HashMap<Uuid, EventRole>, AttendanceError> {
        let Some(user) = viewer.user.filter(|_| !viewer.everything) else {
            return Ok(HashMap::new());
        };
        let mut events: Vec<Uuid> = events.collect();
        events.sort_unstable();
        events.dedup();
        if events.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(storage::roles_at(&self.db, user, &events).await?)
    }
}
