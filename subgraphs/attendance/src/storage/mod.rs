//! Persistence of check-ins, scans and registrations in `attendance_schema`,
//! one file per kind of data: `scans` (recording, the log, annulments),
//! `lists` (pages and counts of check-ins), `stats`, `policy`, `access` (who
//! runs an event, whose profile an organizer sees), `registrations` (places,
//! tickets and their lists). Lists and statistics for many events (or users)
//! are computed in one statement each, in SQL; the door's and the
//! registration desk's rules are SQL functions under `migration/sql/attendance/`.

mod access;
mod attendances;
mod lists;
pub mod live;
mod policy;
pub mod registrations;
mod scans;
mod stats;
mod writer;

pub use access::{
    add_staff, events_staffed_by, profiles_visible_to, remove_staff, rights_version, roles_at, runs_event, staff_of,
};
pub use lists::{counts, find_many, pages};
pub use policy::{apply_due_exits, policies, set_policy};
pub use scans::{annul_scan, find_scan, note_event_change, record_scans, scan_logs, NewScan, Recorded, TicketScan};
pub use stats::stats;
pub use writer::GroupWriter;

use common::db::StorageError;
use sea_orm::{DbErr, QueryResult};

/// Scans at the door, written in groups.
pub type ScanWriter = GroupWriter<scans::Scans>;
/// Requests to register, written in groups.
pub type RegistrationWriter = GroupWriter<registrations::Registrations>;

/// A time as a batch function's JSON argument takes it: microseconds,
/// PostgreSQL's precision, so it is stored as given.
fn micros(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The answers of a batch function, which answers each of `len` items by its
/// `ordinal` (1-based), put back in the batch's order; `what` names the
/// function in errors.
fn by_ordinal<T>(
    what: &str,
    len: usize,
    rows: Vec<QueryResult>,
    answer: impl Fn(&QueryResult) -> Result<T, StorageError>,
) -> Result<Vec<T>, StorageError> {
    let mut answers: Vec<Option<T>> = (0..len).map(|_| None).collect();
    for row in rows {
        let ordinal: i64 = row.try_get("", "ordinal")?;
        let slot = usize::try_from(ordinal - 1)
            .ok()
            .and_then(|i| answers.get_mut(i))
            .ok_or_else(|| DbErr::Custom(format!("{what} returned the ordinal {ordinal}")))?;
        *slot = Some(answer(&row)?);
    }
    Ok(answers
        .into_iter()
        .map(|a| a.ok_or_else(|| DbErr::Custom(format!("{what} left an item without an answer"))))
        .collect::<Result<_, DbErr>>()?)
}
