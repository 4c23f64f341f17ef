//! The facts reads are authorized by, kept where the check-ins are: each
//! event's organizer (beside its counter row) and its check-in staff.

use common::db::{Pool, StorageError};
use std::collections::{HashMap, HashSet};

use common::db::statement as stmt;
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use crate::domain::records::{EventRole, ListBy};

/// Of `events`, those `user` runs: organizes, or works at as check-in staff.
/// One statement for any number of events.
/// The same rule as the lists' (`sees_all_sql`), without the ADMIN shortcut.
async fn events_run_by(db: &Pool, user: Uuid, events: &[Uuid]) -> Result<HashSet<Uuid>, StorageError> {
    let runs = super::lists::sees_all_sql(ListBy::Event, "false", "$2");
    let sql = format!("SELECT o.owner AS id FROM unnest($1::uuid[]) AS o(owner) WHERE {runs}");
    let rows = db.query_all_raw(stmt(&sql, [events.to_vec().into(), user.into()])).await?;
    Ok(rows.iter().map(|row| row.try_get("", "id")).collect::<Result<_, DbErr>>()?)
}

/// The check-in staff of each of `events`, oldest grant first, as far as the
/// reader may see them: everyone's for `everything`, else only at the events
/// `organizer` organizes.
pub async fn staff_of(
    db: &Pool,
    events: &[Uuid],
    everything: bool,
    organizer: Option<Uuid>,
) -> Result<HashMap<Uuid, Vec<Uuid>>, StorageError> {
    let sql = "SELECT s.event_id, s.user_id FROM check_in_staff s
               LEFT JOIN event_checkins c ON c.event_id = s.event_id
               WHERE s.event_id = ANY($1) AND ($2::bool OR c.organizer_id = $3::uuid)
               ORDER BY s.added_at, s.user_id";
    let rows = db.query_all_raw(stmt(sql, [events.to_vec().into(), everything.into(), organizer.into()])).await?;
    let mut staff: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for row in rows {
        staff.entry(row.try_get("", "event_id")?).or_default().push(row.try_get("", "user_id")?);
    }
    Ok(staff)
}

/// The events each of `users` is check-in staff of, most recently named
/// first, at most `limit` each (one statement).
pub async fn events_staffed_by(
    db: &Pool,
    users: &[Uuid],
    limit: u64,
) -> Result<HashMap<Uuid, Vec<Uuid>>, StorageError> {
    let sql = "SELECT u.user_id, s.event_id FROM unnest($1::uuid[]) AS u(user_id)
               CROSS JOIN LATERAL (
                   SELECT event_id FROM check_in_staff WHERE user_id = u.user_id
                   ORDER BY added_at DESC, event_id LIMIT $2
               ) s";
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = db.query_all_raw(stmt(sql, [users.to_vec().into(), limit.into()])).await?;
    let mut events: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for row in rows {
        events.entry(row.try_get("", "user_id")?).or_default().push(row.try_get("", "event_id")?);
    }
    Ok(events)
}

/// Whether `user` runs `event` (organizes it or works at it as check-in
/// staff): one event of [`events_run_by`].
pub async fn runs_event(db: &Pool, user: Uuid, event: Uuid) -> Result<bool, StorageError> {
    Ok(events_run_by(db, user, &[event]).await?.contains(&event))
}

/// Names `user` check-in staff of `event` (again is fine), and records the
/// event's organizer beside its counter row, so reads can tell who runs it.
pub async fn add_staff(
    db: &Pool,
    event: Uuid,
    organizer: Option<Uuid>,
    user: Uuid,
    added_by: Uuid,
) -> Result<(), StorageError> {
    let sql = "WITH counter AS (
                   INSERT INTO event_checkins AS c (event_id, checked_in, organizer_id) VALUES ($1, 0, $2)
                   ON CONFLICT (event_id) DO UPDATE SET organizer_id = coalesce(c.organizer_id, excluded.organizer_id)
               )
               INSERT INTO check_in_staff (event_id, user_id, added_by) VALUES ($1, $3, $4)
               ON CONFLICT (event_id, user_id) DO NOTHING";
    db.execute_raw(stmt(sql, [event.into(), organizer.into(), user.into(), added_by.into()])).await?;
    Ok(())
}

/// Whether `user` was check-in staff of `event` (and is no longer). The
/// event's rights version moves on in the same statement, and its live
/// subscribers hear of it (`<event> staff`).
pub async fn remove_staff(db: &Pool, event: Uuid, user: Uuid) -> Result<bool, StorageError> {
    let sql = "WITH removed AS (DELETE FROM check_in_staff WHERE event_id = $1 AND user_id = $2 RETURNING event_id),
               bumped AS (
                   UPDATE event_checkins c SET rights_version = c.rights_version + 1
                   FROM removed r WHERE c.event_id = r.event_id
               )
               SELECT pg_notify('attendance_updates', event_id::text || ' staff') FROM removed";
    Ok(!db.query_all_raw(stmt(sql, [event.into(), user.into()])).await?.is_empty())
}

/// How many times a right at `event` was taken away (0 for an event without
/// a counter row). A live update read after this carries a version at least
/// as new as it.
pub async fn rights_version(db: &Pool, event: Uuid) -> Result<i64, StorageError> {
    let sql = "SELECT coalesce((SELECT rights_version FROM event_checkins WHERE event_id = $1), 0) AS version";
    let row = db.query_one_raw(stmt(sql, [event.into()])).await?;
    Ok(row.map(|row| row.try_get("", "version")).transpose()?.unwrap_or(0))
}

/// How `user` works at each of `events` they run (organizer or check-in
/// staff; absent: neither). One statement.
pub async fn roles_at(db: &Pool, user: Uuid, events: &[Uuid]) -> Result<HashMap<Uuid, EventRole>, StorageError> {
    let runs = super::lists::sees_all_sql(ListBy::Event, "false", "$2");
    let sql = format!(
        "SELECT o.owner AS id,
                EXISTS (SELECT 1 FROM event_checkins c WHERE c.event_id = o.owner AND c.organizer_id = $2) AS organizes
         FROM unnest($1::uuid[]) AS o(owner) WHERE {runs}"
    );
    let mut roles = HashMap::new();
    for row in db.query_all_raw(stmt(&sql, [events.to_vec().into(), user.into()])).await? {
        let role = if row.try_get("", "organizes")? { EventRole::Organizer } else { EventRole::Staff };
        roles.insert(row.try_get("", "id")?, role);
    }
    Ok(roles)
}

/// Of `users`, those registered themselves (in any status but declined) for
/// an event that `organizer` organizes: the people whose profile (email,
/// role) the organizer may see. Consent, not a scan: checking someone in by
/// id grants nothing. One statement, answered as one array rather than a
/// row per person (a door list asks about a thousand at once).
///
/// The people asked about are looked up first, fenced off as a materialized
/// CTE: their registrations are few, while an organizer's events may hold a
/// million. Left to choose, the planner's generic plan walked the organizer's
/// events instead (78 ms a call with a million registrations, against 5 to 8).
pub async fn profiles_visible_to(db: &Pool, organizer: Uuid, users: &[Uuid]) -> Result<Vec<Uuid>, StorageError> {
    let sql = "WITH asked AS MATERIALIZED (
                   SELECT user_id, event_id FROM registrations WHERE user_id = ANY($2) AND status <> 'DECLINED'
               )
               SELECT coalesce(array_agg(DISTINCT a.user_id), '{}') AS users
               FROM asked a JOIN event_checkins c ON c.event_id = a.event_id
               WHERE c.organizer_id = $1";
    let row = db.query_one_raw(stmt(sql, [organizer.into(), users.to_vec().into()])).await?;
    Ok(row.map(|row| row.try_get("", "users")).transpose()?.unwrap_or_default())
}
