//! Persistence of check-ins in `attendance_schema`. Lists and statistics for
//! many events (or users) are computed in one statement each, in SQL.

mod access;
mod attendances;
mod writer;

use common::db::StorageError;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use common::{db::statement as stmt, page::Cursor, time::Timestamp};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult};
use uuid::Uuid;

use crate::domain::{Attendance, AttendanceStats, IntervalCount, ListBy, Viewer};

pub use access::{add_staff, events_run_by, profiles_visible_to, remove_staff, staff_of};

pub use attendances::Model as AttendanceRow;
pub use writer::CheckInWriter;

impl From<AttendanceRow> for Attendance {
    fn from(row: AttendanceRow) -> Self {
        Attendance {
            id: row.id,
            event_id: row.event_id,
            user_id: row.user_id,
            check_in_time: row.check_in_time.into(),
            recorded_by: row.recorded_by,
            created_at: row.created_at.into(),
        }
    }
}

pub struct NewCheckIn {
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub check_in_time: DateTime<Utc>,
    pub recorded_by: Option<Uuid>,
    pub capacity: Option<i32>,
    /// The event's organizer, kept beside its counter row for reads' rights.
    pub organizer_id: Option<Uuid>,
}

pub enum CheckInOutcome {
    Recorded(Attendance),
    /// The person was already checked in: the original record.
    Duplicate(Attendance),
    Full,
}

const COLUMNS: &str = "id, event_id, user_id, check_in_time, recorded_by, created_at";

/// Records check-ins, each exactly once per person and never beyond capacity,
/// in one statement: a call of the `check_in_batch` function (see its
/// migration). The outcomes come back in the order of `batch`.
///
/// Each event's counter row is incremented first, and its row lock
/// serialises check-ins to that event until the statement commits, which
/// makes the capacity check exact under concurrency. A duplicate gives its
/// increment back.
pub async fn check_in_batch(
    db: &DatabaseConnection,
    batch: &[NewCheckIn],
) -> Result<Vec<CheckInOutcome>, StorageError> {
    let check_ins: Vec<serde_json::Value> = batch
        .iter()
        .enumerate()
        .map(|(i, c)| {
            serde_json::json!({
                "ordinal": i + 1,
                "id": Uuid::now_v7(),
                "event_id": c.event_id,
                "user_id": c.user_id,
                // Microseconds, PostgreSQL's precision: stored as given.
                "check_in_time": c.check_in_time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "recorded_by": c.recorded_by,
                "capacity": c.capacity,
                "organizer_id": c.organizer_id,
            })
        })
        .collect();
    let rows = db
        .query_all_raw(stmt("SELECT * FROM check_in_batch($1::jsonb)", [serde_json::Value::Array(check_ins).into()]))
        .await?;
    let mut outcomes: Vec<Option<CheckInOutcome>> = batch.iter().map(|_| None).collect();
    for row in rows {
        let ordinal: i64 = row.try_get("", "ordinal")?;
        let outcome: String = row.try_get("", "outcome")?;
        let outcome = match outcome.as_str() {
            "recorded" => CheckInOutcome::Recorded(AttendanceRow::from_query_result(&row, "")?.into()),
            "duplicate" => CheckInOutcome::Duplicate(AttendanceRow::from_query_result(&row, "")?.into()),
            "full" => CheckInOutcome::Full,
            other => return Err(DbErr::Custom(format!("check_in_batch returned the outcome `{other}`")).into()),
        };
        let slot = usize::try_from(ordinal - 1)
            .ok()
            .and_then(|i| outcomes.get_mut(i))
            .ok_or_else(|| DbErr::Custom(format!("check_in_batch returned the ordinal {ordinal}")))?;
        *slot = Some(outcome);
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.ok_or_else(|| DbErr::Custom("check_in_batch left a check-in without an outcome".into())))
        .collect::<Result<_, DbErr>>()?)
}

/// Any number of check-ins by id, in one statement.
pub async fn find_many(db: &DatabaseConnection, ids: &[Uuid]) -> Result<Vec<Attendance>, StorageError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = attendances::Entity::find()
        .filter(sea_orm::sea_query::Expr::cust_with_values("id = ANY($1)", [ids.to_vec()]))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Attendance::from).collect())
}

use sea_orm::QueryFilter;

fn owner_column(by: ListBy) -> &'static str {
    match by {
        ListBy::Event => "event_id",
        ListBy::User => "user_id",
    }
}

/// Which of an owner's check-ins `viewer` may read, as SQL over the owner
/// `o.owner`, with `$A` the viewer's `everything` and `$B` its user id. Per
/// event: all of them for its organizer and check-in staff, else the viewer's
/// own; per user: all of them for that user, else those at events the viewer
/// organizes. (ADMINs see everything.) Evaluated once per owner.
pub(super) fn sees_all_sql(by: ListBy, everything: &str, user: &str) -> String {
    match by {
        ListBy::Event => format!(
            "{everything}::bool
             OR EXISTS (SELECT 1 FROM event_checkins c WHERE c.event_id = o.owner AND c.organizer_id = {user}::uuid)
             OR EXISTS (SELECT 1 FROM check_in_staff s WHERE s.event_id = o.owner AND s.user_id = {user}::uuid)"
        ),
        ListBy::User => format!("{everything}::bool OR o.owner = {user}::uuid"),
    }
}

/// The rows of an owner the viewer may read when not all of them.
fn own_rows_sql(by: ListBy, user: &str) -> String {
    match by {
        ListBy::Event => format!("user_id = {user}::uuid"),
        ListBy::User => {
            format!("event_id IN (SELECT c.event_id FROM event_checkins c WHERE c.organizer_id = {user}::uuid)")
        }
    }
}

/// The first `limit` check-ins after `after` (by check-in time, then id) of
/// each owner that `viewer` may read, for any number of owners, in one
/// statement: the rights are checked in it, not in another round trip.
pub async fn pages(
    db: &DatabaseConnection,
    by: ListBy,
    owners: &[Uuid],
    viewer: Viewer,
    after: Option<Cursor>,
    limit: u64,
) -> Result<HashMap<Uuid, Vec<Attendance>>, StorageError> {
    let mut pages: HashMap<Uuid, Vec<Attendance>> = owners.iter().map(|o| (*o, Vec::new())).collect();
    if viewer.is_nobody() {
        return Ok(pages);
    }
    let column = owner_column(by);
    let sees_all = sees_all_sql(by, "$5", "$6");
    let own_rows = own_rows_sql(by, "$6");
    let sql = format!(
        "SELECT a.* FROM unnest($1::uuid[]) AS o(owner)
         CROSS JOIN LATERAL (SELECT {sees_all} AS sees_all) v
         CROSS JOIN LATERAL (
             SELECT {COLUMNS} FROM attendances
             WHERE {column} = o.owner
               AND (v.sees_all OR {own_rows})
               AND ($2::timestamptz IS NULL OR (check_in_time, id) > ($2::timestamptz, $3::uuid))
             ORDER BY check_in_time, id
             LIMIT $4
         ) a"
    );
    let (at, id) = match after {
        Some(c) => (Some(c.at), Some(c.id)),
        None => (None, None),
    };
    let values = [
        owners.to_vec().into(),
        at.into(),
        id.into(),
        (limit as i64).into(),
        viewer.everything.into(),
        viewer.user.into(),
    ];
    let rows = db.query_all_raw(stmt(&sql, values)).await?;
    for row in rows {
        let attendance: Attendance = AttendanceRow::from_query_result(&row, "")?.into();
        let owner = match by {
            ListBy::Event => attendance.event_id,
            ListBy::User => attendance.user_id,
        };
        pages.entry(owner).or_default().push(attendance);
    }
    Ok(pages)
}

/// How many check-ins of each owner `viewer` may read, in one statement.
pub async fn counts(
    db: &DatabaseConnection,
    by: ListBy,
    owners: &[Uuid],
    viewer: Viewer,
) -> Result<HashMap<Uuid, i64>, StorageError> {
    let mut counts: HashMap<Uuid, i64> = owners.iter().map(|o| (*o, 0)).collect();
    if viewer.is_nobody() {
        return Ok(counts);
    }
    let sees_all = sees_all_sql(by, "$2", "$3");
    let own_rows = own_rows_sql(by, "$3");
    let sql = match by {
        // All of an event's check-ins are counted by its counter row, kept
        // exact by `check_in`: no scan of the check-ins is needed.
        ListBy::Event => format!(
            "SELECT o.owner, CASE WHEN {sees_all} THEN coalesce(t.checked_in, 0)::bigint
                    ELSE (SELECT count(*) FROM attendances WHERE event_id = o.owner AND {own_rows}) END AS n
             FROM unnest($1::uuid[]) AS o(owner) LEFT JOIN event_checkins t ON t.event_id = o.owner"
        ),
        ListBy::User => format!(
            "SELECT o.owner, (SELECT count(*) FROM attendances
                              WHERE user_id = o.owner AND ({sees_all} OR {own_rows})) AS n
             FROM unnest($1::uuid[]) AS o(owner)"
        ),
    };
    let rows =
        db.query_all_raw(stmt(&sql, [owners.to_vec().into(), viewer.everything.into(), viewer.user.into()])).await?;
    for row in rows {
        counts.insert(row.try_get("", "owner")?, row.try_get("", "n")?);
    }
    Ok(counts)
}

#[derive(FromQueryResult)]
struct StatsRow {
    event_id: Uuid,
    total_attendees: i32,
    first_check_in: Option<DateTime<Utc>>,
    last_check_in: Option<DateTime<Utc>>,
    on_time: i32,
    late: i32,
    by_interval: serde_json::Value,
}

#[derive(serde::Deserialize)]
struct BucketRow {
    start: f64,
    count: i32,
}

/// Statistics of many events (each with its start time) in one statement,
/// aggregated by PostgreSQL rather than by loading check-ins.
pub async fn stats(
    db: &DatabaseConnection,
    events: &[(Uuid, DateTime<Utc>)],
) -> Result<HashMap<Uuid, AttendanceStats>, StorageError> {
    let ids: Vec<Uuid> = events.iter().map(|(id, _)| *id).collect();
    let starts: Vec<DateTime<Utc>> = events.iter().map(|(_, start)| *start).collect();
    // Per event, one index-only scan of (event_id, check_in_time): its check-ins
    // grouped into 15-minute buckets, which add up to the totals. (A join of
    // all the events' check-ins, grouped afterwards, read the whole table and
    // sorted it on disk: 630 ms for 100 events of 1,300 check-ins; this takes
    // 75 ms.) The count is of rows: `UNIQUE (event_id, user_id)` makes each
    // one a distinct attendee.
    let sql = "
        SELECT w.event_id, t.*
        FROM unnest($1::uuid[], $2::timestamptz[]) AS w(event_id, start_time)
        CROSS JOIN LATERAL (
            SELECT coalesce(sum(b.n), 0)::int AS total_attendees,
                   min(b.first) AS first_check_in,
                   max(b.last) AS last_check_in,
                   coalesce(sum(b.on_time), 0)::int AS on_time,
                   coalesce(sum(b.n - b.on_time), 0)::int AS late,
                   coalesce(json_agg(json_build_object('start', b.bucket, 'count', b.n) ORDER BY b.bucket), '[]')
                       AS by_interval
            FROM (
                SELECT floor(extract(epoch FROM a.check_in_time) / 900) * 900 AS bucket,
                       count(*) AS n,
                       min(a.check_in_time) AS first,
                       max(a.check_in_time) AS last,
                       count(*) FILTER (WHERE a.check_in_time <= w.start_time) AS on_time
                FROM attendances a WHERE a.event_id = w.event_id
                GROUP BY 1
            ) b
        ) t";
    let rows = db.query_all_raw(stmt(sql, [ids.into(), starts.into()])).await?;
    let mut stats: HashMap<Uuid, AttendanceStats> =
        events.iter().map(|(id, _)| (*id, AttendanceStats::empty(*id))).collect();
    for row in rows {
        let row = StatsRow::from_query_result(&row, "")?;
        let buckets: Vec<BucketRow> =
            serde_json::from_value(row.by_interval).map_err(|e| DbErr::Custom(format!("bucket rows: {e}")))?;
        let by_interval = buckets
            .into_iter()
            .map(|b| IntervalCount {
                start: Timestamp(DateTime::from_timestamp(b.start as i64, 0).unwrap_or_default()),
                count: b.count,
            })
            .collect();
        stats.insert(
            row.event_id,
            AttendanceStats {
                event_id: row.event_id,
                total_attendees: row.total_attendees,
                first_check_in: row.first_check_in.map(Timestamp),
                last_check_in: row.last_check_in.map(Timestamp),
                on_time: row.on_time,
                late: row.late,
                by_interval,
            },
        );
    }
    Ok(stats)
}
