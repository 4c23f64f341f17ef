//! Scenario 10: reads as the scans table grows. One event's crowd grows
//! from 10,000 to 1,000,000 people (each a user, a confirmed registration,
//! a check-in and its entry scan, over eight hours of door), seeded with
//! `generate_series` rather than through the API; the event starts on a
//! whole minute, as events do. At each size: 10a/10b the
//! page of scenario 5 (`events(first: 100)` with `attendanceStats`, the crowd's
//! event first) through the router, compared by PostgreSQL's CPU per request;
//! 10c/10d `attendanceStats` of the crowd's event at the attendance subgraph
//! (2 clients: a latency target);
//! 10e/10f the crowd's door list of 1,000 with emails through the router.

use common::ServiceKind;
use serde_json::json;
use uuid::Uuid;

use crate::{
    bench::{Bench, Measured},
    Scenario,
};

const STATS_PAGE: &str =
    "query($n: Int) { events(first: $n) { nodes { id title attendanceStats { totalAttendees onTime late byInterval { start count } firstCheckIn lastCheckIn insideNow } } } }";
const ONE_EVENT_STATS: &str =
    "query($e: ID!) { attendanceStats(eventId: $e) { totalAttendees onTime late byInterval { start count } firstCheckIn lastCheckIn insideNow entries exits } }";
const DOOR_LIST: &str = "query($id: ID!) { event(id: $id) { attendance(first: 1000) { nodes { user { email } } } } }";

/// What one size measured.
struct AtSize {
    page: Measured,
    stats: Measured,
    door: Measured,
}

impl Bench {
    /// 10a to 10f.
    pub(crate) async fn scale(&self) -> anyhow::Result<Vec<Scenario>> {
        let (small, large) = if self.config.smoke { (1_000, 5_000) } else { (10_000, 1_000_000) };
        // Two hours ago: first by start time, so in scenario 5's page.
        let event = self.seed_event("A crowd", None, 120).await?;
        self.grow_crowd(event, 0, small).await?;
        let at_small = self.measure_at(event).await?;
        self.grow_crowd(event, small, large).await?;
        let at_large = self.measure_at(event).await?;
        let postgres = |m: &Measured| m.cpu_ms_per_request.of("postgres");
        let page_ratio = postgres(&at_large.page) / postgres(&at_small.page).max(f64::EPSILON);
        let page_reference =
            format!("{} scans: PostgreSQL {:.2} ms CPU/request", thousands(small), postgres(&at_small.page));
        let door_ratio = at_large.door.load.p50_ms / at_small.door.load.p50_ms.max(f64::EPSILON);
        let door_reference = format!("{} scans: p50 {:.2} ms", thousands(small), at_small.door.load.p50_ms);
        let door_met = door_ratio <= 1.5 && at_large.door.sql_per_request <= 4.0;
        let (s, l) = (thousands(small), thousands(large));
        Ok(vec![
            row(format!("10a. events(first: 100) with attendanceStats, {s} scans (router)"), at_small.page),
            row(format!("10b. the same, {l} scans (router)"), at_large.page).judged(
                page_reference,
                page_ratio,
                "PostgreSQL CPU/request ≤ 1.2× at 100× the scans",
                page_ratio <= 1.2,
            ),
            stats_row(format!("10c. attendanceStats, {s} scans (attendance subgraph, 2 clients)"), at_small.stats),
            stats_row(format!("10d. attendanceStats, {l} scans (attendance subgraph, 2 clients)"), at_large.stats),
            row(format!("10e. door list of 1,000 with emails, {s} scans (router)"), at_small.door),
            row(format!("10f. the same, {l} scans (router)"), at_large.door).judged(
                door_reference,
                door_ratio,
                "p50 ≤ 1.5× at 100× the scans; ≤ 4 SQL/request",
                door_met,
            ),
        ])
    }

    async fn measure_at(&self, event: Uuid) -> anyhow::Result<AtSize> {
        let clients = self.config.clients(8);
        let page = json!({"query": STATS_PAGE, "variables": {"n": 100}});
        let page = self.repeat(&self.http, &self.router, clients, page).await?;
        let attendance = format!("{}/graphql", self.stack.service_url(ServiceKind::Attendance));
        // A latency target: one client per core, so that p50 is the read's
        // own time rather than a queue's.
        let stats = json!({"query": ONE_EVENT_STATS, "variables": {"e": event}});
        let stats = self.repeat(&self.http, &attendance, self.config.clients(2), stats).await?;
        let door = json!({"query": DOOR_LIST, "variables": {"id": event}});
        let door = self.repeat(&self.organizer, &self.router, clients, door).await?;
        // Where PostgreSQL's time for the door list went, statement by statement.
        for (query, calls, mean_ms) in self.top_statements(4).await? {
            eprintln!("door list: {calls} × {mean_ms:.3} ms: {query}");
        }
        Ok(AtSize { page, stats, door })
    }

    /// People `from + 1` to `to` of the crowd: users, confirmed registrations,
    /// check-ins spread over eight hours from half an hour before the start,
    /// their entry scans; the event's counters follow.
    async fn grow_crowd(&self, event: Uuid, from: usize, to: usize) -> anyhow::Result<()> {
        self.sql(&format!(
            "CREATE TEMPORARY TABLE crowd AS
                 SELECT gen_random_uuid() AS user_id, i,
                        (SELECT start_time FROM event_schema.events WHERE id = '{event}') - interval '30 minutes'
                            + (i % 480) * interval '1 minute' + (i % 59) * interval '1 second' AS at
                 FROM generate_series({from} + 1, {to}) i;
             INSERT INTO auth_schema.users (id, email, password_hash, name)
             SELECT user_id, 'crowd' || i || '@example.com', 'not-a-hash', 'Crowd ' || i FROM crowd;
             INSERT INTO attendance_schema.registrations (id, event_id, user_id, status)
             SELECT gen_random_uuid(), '{event}', user_id, 'CONFIRMED' FROM crowd;
             INSERT INTO attendance_schema.attendances (id, event_id, user_id, check_in_time)
             SELECT user_id, '{event}', user_id, at FROM crowd;
             INSERT INTO attendance_schema.scans (id, event_id, user_id, direction, scanned_at, status)
             SELECT user_id, '{event}', user_id, 'ENTRY', at, 'OK' FROM crowd;
             INSERT INTO attendance_schema.event_registrations AS r (event_id, confirmed)
             VALUES ('{event}', {to}) ON CONFLICT (event_id) DO UPDATE SET confirmed = {to};
             INSERT INTO attendance_schema.event_checkins AS c (event_id, checked_in, inside_now, entries, organizer_id)
             SELECT '{event}', {to}, {to}, {to}, organizer_id FROM event_schema.events WHERE id = '{event}'
             ON CONFLICT (event_id) DO UPDATE SET checked_in = {to}, inside_now = {to}, entries = {to};
             DROP TABLE crowd;"
        ))
        .await?;
        // Vacuumed and checkpointed now (one statement each: VACUUM runs
        // outside a transaction), so that neither autovacuum nor the
        // checkpointer works on the seeding during the measurement.
        self.sql(
            "VACUUM (ANALYZE) auth_schema.users, attendance_schema.registrations, attendance_schema.attendances,
                     attendance_schema.scans, attendance_schema.checkin_minutes, attendance_schema.event_checkins",
        )
        .await?;
        self.sql("CHECKPOINT").await
    }
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn row(name: String, measured: Measured) -> Scenario {
    Scenario { name, measured, reference: "-".into(), ratio: None, target: "-".into(), met: None }
}

fn stats_row(name: String, measured: Measured) -> Scenario {
    let met = measured.load.p50_ms <= 2.0;
    Scenario { target: "p50 ≤ 2 ms".into(), met: Some(met), ..row(name, measured) }
}

impl Scenario {
    fn judged(self, reference: String, ratio: f64, target: &str, met: bool) -> Scenario {
        Scenario { reference, ratio: Some(ratio), target: target.into(), met: Some(met), ..self }
    }
}
