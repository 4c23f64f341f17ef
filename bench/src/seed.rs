//! Seed data, written in SQL straight into each service's schema (as the
//! admin): 10,000 users, 200 live events, 1,000 attendees on the first one.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use uuid::Uuid;

pub const PASSWORD: &str = "benchpass";

pub struct Seed {
    pub users: Vec<(Uuid, String)>,
    /// By title order: `events[0]` has `big_attendees` check-ins.
    pub events: Vec<Uuid>,
}

pub async fn seed(
    admin: &DatabaseConnection,
    users: usize,
    events: usize,
    big_attendees: usize,
) -> anyhow::Result<Seed> {
    let hash = tokio::task::spawn_blocking(|| crate::reference::hash(PASSWORD)).await?;
    admin
        .execute_unprepared(&format!(
            "INSERT INTO auth_schema.users (id, email, password_hash, name)
             SELECT gen_random_uuid(), 'bench' || i || '@example.com', '{hash}', 'Bench ' || i FROM generate_series(1, {users}) i;
             INSERT INTO event_schema.events (id, title, start_time, end_time, organizer_id)
             SELECT gen_random_uuid(), 'Event ' || lpad(i::text, 4, '0'), now() - interval '30 minutes', now() + interval '10 hours',
                    (SELECT id FROM auth_schema.users WHERE email = 'bench' || i || '@example.com')
             FROM generate_series(1, {events}) i;"
        ))
        .await?;
    let rows = admin
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT id, email FROM auth_schema.users ORDER BY email",
        ))
        .await?;
    let users: Vec<(Uuid, String)> = rows
        .iter()
        .map(|r| Ok((r.try_get("", "id")?, r.try_get("", "email")?)))
        .collect::<Result<_, sea_orm::DbErr>>()?;
    let rows = admin
        .query_all_raw(Statement::from_string(DbBackend::Postgres, "SELECT id FROM event_schema.events ORDER BY title"))
        .await?;
    let events: Vec<Uuid> = rows.iter().map(|r| r.try_get("", "id")).collect::<Result<_, _>>()?;
    // The big event's attendees, and a few on every other event (for the stats page).
    admin
        .execute_unprepared(&format!(
            "INSERT INTO attendance_schema.attendances (id, event_id, user_id, check_in_time)
             SELECT gen_random_uuid(), '{big}', u.id, now() - interval '40 minutes' + random() * interval '30 minutes'
             FROM (SELECT id FROM auth_schema.users ORDER BY email LIMIT {big_attendees}) u;
             INSERT INTO attendance_schema.attendances (id, event_id, user_id, check_in_time)
             SELECT gen_random_uuid(), e.id, u.id, now() - interval '20 minutes'
             FROM event_schema.events e CROSS JOIN LATERAL (SELECT id FROM auth_schema.users ORDER BY email DESC LIMIT 5) u
             WHERE e.id <> '{big}';
             INSERT INTO attendance_schema.scans (id, event_id, user_id, direction, scanned_at, status)
             SELECT id, event_id, user_id, 'ENTRY', check_in_time, 'OK' FROM attendance_schema.attendances;
             INSERT INTO attendance_schema.event_checkins (event_id, checked_in, inside_now, entries, organizer_id)
             SELECT a.event_id, count(*), count(*), count(*), e.organizer_id FROM attendance_schema.attendances a
             JOIN event_schema.events e ON e.id = a.event_id GROUP BY a.event_id, e.organizer_id;
             -- Everyone checked in registered first (the organizer sees their emails).
             INSERT INTO attendance_schema.registrations (id, event_id, user_id, status)
             SELECT gen_random_uuid(), event_id, user_id, 'CONFIRMED' FROM attendance_schema.attendances;
             INSERT INTO attendance_schema.event_registrations (event_id, confirmed)
             SELECT event_id, count(*) FROM attendance_schema.registrations GROUP BY event_id;
             -- Planned on statistics, as autovacuum keeps them in a running database.
             ANALYZE auth_schema.users, event_schema.events, attendance_schema.attendances, attendance_schema.scans,
                     attendance_schema.event_checkins, attendance_schema.registrations, attendance_schema.event_registrations;",
            big = events[0]
        ))
        .await?;
    Ok(Seed { users, events })
}
