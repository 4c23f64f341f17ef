//! Pages and counts of check-ins, per event or per person, for any number of
//! owners in one statement, with the reader's rights read in the same statement.

use std::collections::HashMap;

use common::{
    db::{statement as stmt, Pool, StorageError},
    page::Cursor,
};
use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter};
use uuid::Uuid;

use super::attendances::{self, Model as AttendanceRow};
use crate::domain::records::{Attendance, ListBy, Viewer};

const COLUMNS: &str = "id, event_id, user_id, check_in_time, recorded_by, created_at";

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

/// Any number of check-ins by id, in one statement.
pub async fn find_many(db: &Pool, ids: &[Uuid]) -> Result<Vec<Attendance>, StorageError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = attendances::Entity::find()
        .filter(sea_orm::sea_query::Expr::cust_with_values("id = ANY($1)", [ids.to_vec()]))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Attendance::from).collect())
}

pub(crate) fn owner_column(by: ListBy) -> &'static str {
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
pub(crate) fn sees_all_sql(by: ListBy, everything: &str, user: &str) -> String {
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
    db: &Pool,
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
    let rows = db.query_all_raw(stmt(&sql, page_values(owners, after, limit, viewer))).await?;
    for row in rows {
        let attendance: Attendance = AttendanceRow::from_query_result(&row, "")?.into();
        pages.entry(by.owner(attendance.event_id, attendance.user_id)).or_default().push(attendance);
    }
    Ok(pages)
}

/// The parameters every page of a list takes: `$1` the owners, `$2` and
/// `$3` the cursor, `$4` the limit, `$5` and `$6` the viewer.
pub(crate) fn page_values(owners: &[Uuid], after: Option<Cursor>, limit: u64, viewer: Viewer) -> Vec<sea_orm::Value> {
    let (at, id) = Cursor::parts(after);
    vec![
        owners.to_vec().into(),
        at.into(),
        id.into(),
        (limit as i64).into(),
        viewer.everything.into(),
        viewer.user.into(),
    ]
}

/// How many check-ins of each owner `viewer` may read, in one statement.
pub async fn counts(
    db: &Pool,
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
