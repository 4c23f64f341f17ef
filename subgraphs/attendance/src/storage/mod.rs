//! Persistence of check-ins and scans in `attendance_schema`, one file per
//! kind of data: `scans` (recording, the log, annulments), `lists` (pages
//! and counts of check-ins), `stats`, `policy`, `access` (who runs an event).
//! Lists and statistics for many events (or users) are computed in one
//! statement each, in SQL; the door's rules are SQL functions under
//! `migration/sql/attendance/`.

mod access;
mod attendances;
mod lists;
pub mod live;
mod policy;
mod scans;
mod stats;
mod writer;

pub use access::{add_staff, events_run_by, profiles_visible_to, remove_staff, rights_version, staff_of};
pub use lists::{counts, find_many, pages};
pub use policy::{apply_due_exits, policies, set_policy};
pub use scans::{annul_scan, find_scan, note_event_change, record_scans, scan_logs, NewScan, Recorded};
pub use stats::stats;
pub use writer::ScanWriter;
