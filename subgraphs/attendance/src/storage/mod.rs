//! Persistence of check-ins in `attendance_schema`. Lists and statistics for
//! many events (or users) are computed in one statement each, in SQL.

mod attendances;
mod writer;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use common::{db::statement as stmt, graphql::Cursor, time::Timestamp};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult};
use uuid::Uuid;

use crate::domain::{Attendance, AttendanceStats, IntervalCount, ListBy};

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
pub async fn check_in_batch(db: &DatabaseConnection, batch: &[NewCheckIn]) -> Result<Vec<CheckInOutcome>, DbErr> {
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
            other => return Err(DbErr::Custom(format!("check_in_batch returned the outcome `{other}`"))),
        };
        let slot = usize::try_from(ordinal - 1)
            .ok()
            .and_then(|i| outcomes.get_mut(i))
            .ok_or_else(|| DbErr::Custom(format!("check_in_batch returned the ordinal {ordinal}")))?;
        *slot = Some(outcome);
    }
    outcomes
        .into_iter()
        .map(|o| o.ok_or_else(|| DbErr::Custom("check_in_batch left a check-in without an outcome".into())))
        .collect()
}

/// Any number of check-ins by id, in one statement.
pub async fn find_many(db: &DatabaseConnection, ids: &[Uuid]) -> Result<Vec<Attendance>, DbErr> {
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

/// The first `limit` check-ins after `after` (by check-in time, then id) of
/// each owner, for any number of owners, in one statement.
pub async fn pages(
    db: &DatabaseConnection,
    by: ListBy,
    owners: &[Uuid],
    after: Option<Cursor>,
    limit: u64,
) -> Result<HashMap<Uuid, Vec<Attendance>>, DbErr> {
    let column = owner_column(by);
    let sql = format!(
        "SELECT a.* FROM unnest($1::uuid[]) AS o(owner)
         CROSS JOIN LATERAL (
             SELECT {COLUMNS} FROM attendances
             WHERE {column} = o.owner
               AND ($2::timestamptz IS NULL OR (check_in_time, id) > ($2::timestamptz, $3::uuid))
             ORDER BY check_in_time, id
             LIMIT $4
         ) a"
    );
    let (at, id) = match after {
        Some(c) => (Some(c.at), Some(c.id)),
        None => (None, None),
    };
    let rows =
        db.query_all_raw(stmt(&sql, [owners.to_vec().into(), at.into(), id.into(), (limit as i64).into()])).await?;
    let mut pages: HashMap<Uuid, Vec<Attendance>> = owners.iter().map(|o| (*o, Vec::new())).collect();
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

/// How many check-ins each owner has, in one statement.
pub async fn counts(db: &DatabaseConnection, by: ListBy, owners: &[Uuid]) -> Result<HashMap<Uuid, i64>, DbErr> {
    let sql = match by {
        // Kept exact by `check_in`, so no scan of the check-ins is needed.
        ListBy::Event => {
            "SELECT event_id AS owner, checked_in::bigint AS n FROM event_checkins WHERE event_id = ANY($1)"
        }
        ListBy::User => {
            "SELECT user_id AS owner, count(*) AS n FROM attendances WHERE user_id = ANY($1) GROUP BY user_id"
        }
    };
    let rows = db.query_all_raw(stmt(sql, [owners.to_vec().into()])).await?;
    let mut counts: HashMap<Uuid, i64> = owners.iter().map(|o| (*o, 0)).collect();
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
) -> Result<HashMap<Uuid, AttendanceStats>, DbErr> {
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
