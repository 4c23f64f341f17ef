//! Scans: recording them (`record_scans`, which asks `scan_verdict` for each
//! verdict), the log, annulments and the events' change marks.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use common::{
    db::{statement as stmt, Pool, StorageError},
    page::Cursor,
};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use uuid::Uuid;

use crate::domain::{
    records::{Attendance, Viewer},
    scan::{Annulment, Direction, Nonce, Scan, ScanFilter, ScanOutcome, ScanStatus},
};

/// A scan to record, with the facts of its event and person that
/// `scan_verdict` judges it by (see `record_scans`' SQL file for the keys).
pub struct NewScan {
    pub event_id: Uuid,
    /// The person scanned by id; `None` for a ticket, whose row names its holder.
    pub user_id: Option<Uuid>,
    pub ticket: Option<TicketScan>,
    pub direction: Direction,
    pub scanned_at: DateTime<Utc>,
    pub scanned_by: Option<Uuid>,
    pub nonce: Option<Nonce>,
    pub capacity: Option<i32>,
    /// The event's organizer, kept beside its counter row for reads' rights.
    pub organizer_id: Option<Uuid>,
    /// The version of the event the facts below come from.
    pub event_updated_at: DateTime<Utc>,
    pub event_cancelled: bool,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub person_exists: bool,
    /// The service found the scan malformed: it is only logged.
    pub malformed: bool,
}

/// A scanned ticket, as its secret said (checked by the service).
#[derive(Debug, Clone, Copy)]
pub struct TicketScan {
    pub ticket_id: Uuid,
    /// The event the ticket's payload names.
    pub event_id: Uuid,
    /// The secret failed its check (signature, key, form, validity): the
    /// ids above are the nil id, and the scan is refused as `TICKET_INVALID`.
    pub invalid: bool,
}

impl TicketScan {
    pub fn invalid() -> Self {
        TicketScan { ticket_id: Uuid::nil(), event_id: Uuid::nil(), invalid: true }
    }
}

/// What became of a scan sent to `record_scans`.
#[derive(Debug, Clone)]
pub enum Recorded {
    Scan(Box<ScanOutcome>),
    /// The event changed since the copy the scan was checked against:
    /// nothing was written; check it again against the event as it is.
    StaleEvent,
    /// The scanner used the nonce for another scan: nothing was written.
    NonceReused,
}

/// The columns of a scan, as `record_scans`, `annul_scan` and the log return them.
#[derive(FromQueryResult)]
struct ScanRow {
    id: Uuid,
    event_id: Uuid,
    user_id: Uuid,
    direction: String,
    scanned_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    status: String,
    scanned_by: Option<Uuid>,
    annulled_at: Option<DateTime<Utc>>,
    annulled_by: Option<Uuid>,
    annul_reason: Option<String>,
}

impl TryFrom<ScanRow> for Scan {
    type Error = StorageError;

    fn try_from(r: ScanRow) -> Result<Self, StorageError> {
        let invalid =
            |what: &str, value: &str| StorageError::from(DbErr::Custom(format!("a scan with {what} `{value}`")));
        Ok(Scan {
            id: r.id,
            event_id: r.event_id,
            user_id: r.user_id,
            direction: Direction::parse(&r.direction).ok_or_else(|| invalid("direction", &r.direction))?,
            scanned_at: r.scanned_at.into(),
            received_at: r.received_at.into(),
            status: ScanStatus::parse(&r.status).ok_or_else(|| invalid("status", &r.status))?,
            scanned_by: r.scanned_by,
            annulment: r.annulled_at.map(|at| Annulment { at: at.into(), by: r.annulled_by, reason: r.annul_reason }),
        })
    }
}

/// The person's attendance beside a scan (`record_scans`' last columns).
#[derive(FromQueryResult)]
struct AttendanceColumns {
    attendance_id: Option<Uuid>,
    check_in_time: Option<DateTime<Utc>>,
    recorded_by: Option<Uuid>,
    created_at: Option<DateTime<Utc>>,
}

impl AttendanceColumns {
    fn of(self, scan: &Scan) -> Option<Attendance> {
        Some(Attendance {
            id: self.attendance_id?,
            event_id: scan.event_id,
            user_id: scan.user_id,
            check_in_time: self.check_in_time?.into(),
            recorded_by: self.recorded_by,
            created_at: self.created_at?.into(),
        })
    }
}

/// One scan as `record_scans` reads it.
#[derive(serde::Serialize)]
struct ScanArgument<'a> {
    ordinal: usize,
    id: Uuid,
    event_id: Uuid,
    user_id: Option<Uuid>,
    ticket_id: Option<Uuid>,
    ticket_event_id: Option<Uuid>,
    ticket_invalid: bool,
    direction: &'static str,
    /// Microseconds, PostgreSQL's precision: stored as given.
    scanned_at: String,
    scanned_by: Option<Uuid>,
    nonce: Option<&'a str>,
    capacity: Option<i32>,
    organizer_id: Option<Uuid>,
    event_updated_at: String,
    event_cancelled: bool,
    opens_at: String,
    closes_at: String,
    person_exists: bool,
    malformed: bool,
}

impl<'a> ScanArgument<'a> {
    fn new(ordinal: usize, scan: &'a NewScan) -> Self {
        ScanArgument {
            ordinal,
            id: Uuid::now_v7(),
            event_id: scan.event_id,
            user_id: scan.user_id,
            ticket_id: scan.ticket.map(|t| t.ticket_id),
            ticket_event_id: scan.ticket.map(|t| t.event_id),
            ticket_invalid: scan.ticket.is_some_and(|t| t.invalid),
            direction: scan.direction.as_str(),
            scanned_at: super::micros(scan.scanned_at),
            scanned_by: scan.scanned_by,
            nonce: scan.nonce.as_ref().map(Nonce::as_str),
            capacity: scan.capacity,
            organizer_id: scan.organizer_id,
            event_updated_at: super::micros(scan.event_updated_at),
            event_cancelled: scan.event_cancelled,
            opens_at: super::micros(scan.opens_at),
            closes_at: super::micros(scan.closes_at),
            person_exists: scan.person_exists,
            malformed: scan.malformed,
        }
    }
}

/// Records scans, in one statement: a call of the `record_scans` function
/// (`migration/sql/attendance/record_scans/`). The outcomes come back in the
/// order of `batch`.
///
/// Each event's counter row is locked first, which serialises the scans of
/// that event until the statement commits and makes the counts, the capacity
/// check and the nonce check exact under concurrency.
pub async fn record_scans(db: &Pool, batch: &[NewScan]) -> Result<Vec<Recorded>, StorageError> {
    let scans: Vec<ScanArgument> = batch.iter().enumerate().map(|(i, scan)| ScanArgument::new(i + 1, scan)).collect();
    // Sent as text and read as `jsonb` by PostgreSQL: no JSON tree is built here.
    let scans = serde_json::to_string(&scans).map_err(|e| DbErr::Custom(format!("scans as JSON: {e}")))?;
    let rows = db.query_all_raw(stmt("SELECT * FROM record_scans($1::text::jsonb)", [scans.into()])).await?;
    super::by_ordinal("record_scans", batch.len(), rows, |row| {
        Ok(match row.try_get::<String>("", "status")?.as_str() {
            "STALE" => Recorded::StaleEvent,
            "NONCE_REUSED" => Recorded::NonceReused,
            _ => {
                let scan: Scan = ScanRow::from_query_result(row, "")?.try_into()?;
                let attendance = AttendanceColumns::from_query_result(row, "")?.of(&scan);
                Recorded::Scan(Box::new(ScanOutcome { scan, replayed: row.try_get("", "replayed")?, attendance }))
            }
        })
    })
}

/// Scans written in groups ([`super::GroupWriter`]).
pub struct Scans;

impl super::writer::Batch for Scans {
    type Item = NewScan;
    type Outcome = Recorded;
    const NAME: &'static str = "checkin-writer";

    async fn write(db: &Pool, items: &[NewScan]) -> Result<Vec<Recorded>, StorageError> {
        record_scans(db, items).await
    }
}

const SCAN_COLUMNS: &str =
    "id, event_id, user_id, direction, scanned_at, received_at, status, scanned_by, annulled_at, annulled_by, annul_reason";

pub async fn find_scan(db: &Pool, id: Uuid) -> Result<Option<Scan>, StorageError> {
    let sql = format!("SELECT {SCAN_COLUMNS} FROM scans WHERE id = $1");
    let row = db.query_one_raw(stmt(&sql, [id.into()])).await?;
    row.map(|row| ScanRow::from_query_result(&row, "")?.try_into()).transpose()
}

/// Annuls an accepted scan (see `annul_scan`'s SQL file); `None` if there is no such scan.
pub async fn annul_scan(db: &Pool, id: Uuid, by: Uuid, reason: Option<&str>) -> Result<Option<Scan>, StorageError> {
    let sql = format!("SELECT {SCAN_COLUMNS} FROM annul_scan($1, $2, $3)");
    let row = db.query_one_raw(stmt(&sql, [id.into(), by.into(), reason.map(str::to_owned).into()])).await?;
    row.map(|row| ScanRow::from_query_result(&row, "")?.try_into()).transpose()
}

/// The newest scans first (after `after`, by arrival then id) of each of
/// `events`, as far as `viewer` may read them, in one statement: all of them
/// for ADMINs and the event's organizer, their own scans for check-in staff,
/// none for anyone else.
pub async fn scan_logs(
    db: &Pool,
    events: &[Uuid],
    viewer: Viewer,
    filter: &ScanFilter,
    after: Option<Cursor>,
    limit: u64,
) -> Result<HashMap<Uuid, Vec<Scan>>, StorageError> {
    let mut logs: HashMap<Uuid, Vec<Scan>> = events.iter().map(|e| (*e, Vec::new())).collect();
    if viewer.is_nobody() {
        return Ok(logs);
    }
    let sql = format!(
        "SELECT s.* FROM unnest($1::uuid[]) AS o(owner)
         CROSS JOIN LATERAL (
             SELECT $2::bool OR EXISTS (
                 SELECT 1 FROM event_checkins c WHERE c.event_id = o.owner AND c.organizer_id = $3::uuid
             ) AS all_scans,
             EXISTS (SELECT 1 FROM check_in_staff t WHERE t.event_id = o.owner AND t.user_id = $3::uuid) AS staff
         ) v
         CROSS JOIN LATERAL (
             SELECT {SCAN_COLUMNS} FROM scans
             WHERE event_id = o.owner
               AND (v.all_scans OR (v.staff AND scanned_by = $3::uuid))
               AND ($4::text IS NULL OR status = $4::text)
               AND ($5::text IS NULL OR direction = $5::text)
               AND ($6::uuid IS NULL OR user_id = $6::uuid)
               AND ($7::timestamptz IS NULL OR (received_at, id) < ($7::timestamptz, $8::uuid))
             ORDER BY received_at DESC, id DESC
             LIMIT $9
         ) s"
    );
    let (at, id) = Cursor::parts(after);
    let values = [
        events.to_vec().into(),
        viewer.everything.into(),
        viewer.user.into(),
        filter.status.map(|s| s.code().to_owned()).into(),
        filter.direction.map(|d| d.as_str().to_owned()).into(),
        filter.user_id.into(),
        at.into(),
        id.into(),
        (limit as i64).into(),
    ];
    for row in db.query_all_raw(stmt(&sql, values)).await? {
        let scan: Scan = ScanRow::from_query_result(&row, "")?.try_into()?;
        logs.entry(scan.event_id).or_default().push(scan);
    }
    Ok(logs)
}

/// The event service says the event changed at `at` (kept if newer than what is known).
pub async fn note_event_change(db: &Pool, event: Uuid, at: DateTime<Utc>) -> Result<(), StorageError> {
    let sql = "INSERT INTO event_changes AS c (event_id, changed_at) VALUES ($1, $2)
               ON CONFLICT (event_id) DO UPDATE SET changed_at = greatest(c.changed_at, excluded.changed_at)";
    db.execute_raw(stmt(sql, [event.into(), at.into()])).await?;
    Ok(())
}
