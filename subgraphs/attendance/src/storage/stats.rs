//! Attendance statistics, aggregated by PostgreSQL.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use common::{
    db::{statement as stmt, Pool, StorageError},
    time::Timestamp,
};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use uuid::Uuid;

use crate::domain::records::{AttendanceStats, IntervalCount};

#[derive(FromQueryResult)]
struct StatsRow {
    event_id: Uuid,
    total_attendees: i32,
    first_check_in: Option<DateTime<Utc>>,
    last_check_in: Option<DateTime<Utc>>,
    on_time: i32,
    late: i32,
    by_interval: serde_json::Value,
    inside_now: i32,
    entries: i32,
    exits: i32,
}

#[derive(serde::Deserialize)]
struct BucketRow {
    start: f64,
    count: i32,
}

/// Statistics of many events (each with its start time) in one statement,
/// aggregated by PostgreSQL rather than by loading check-ins.
pub async fn stats(
    db: &Pool,
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
        SELECT w.event_id, t.*,
               CASE WHEN k.due THEN 0 ELSE coalesce(k.inside_now, 0) END AS inside_now,
               coalesce(k.entries, 0) AS entries,
               coalesce(k.exits, 0) + CASE WHEN k.due THEN k.inside_now ELSE 0 END AS exits
        FROM unnest($1::uuid[], $2::timestamptz[]) AS w(event_id, start_time)
        LEFT JOIN (
            SELECT *, (exit_all_at <= now() AND NOT exit_all_done) AS due FROM event_checkins
        ) k ON k.event_id = w.event_id
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
                inside_now: row.inside_now,
                entries: row.entries,
                exits: row.exits,
            },
        );
    }
    Ok(stats)
}
