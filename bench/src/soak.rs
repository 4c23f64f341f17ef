//! The restart soak: check-ins through the router from many clients while
//! the attendance service is restarted midway, gracefully (SIGTERM) or by a
//! crash (SIGKILL). Every check-in the API acknowledged (a `checkIn` with an
//! id) must be in the table afterwards, every event's check-in counter must
//! equal its rows (nothing half written), and the stack must serve normally
//! once the service is back.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::ServiceKind;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::BenchConfig;

/// How the attendance service goes away midway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Fault {
    /// SIGTERM: in-flight requests finish, then it starts again.
    Restart,
    /// SIGKILL: requests in flight are cut off, then it starts again.
    Crash,
}

#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    pub fault: Fault,
    pub clients: usize,
    pub seconds: f64,
    /// Check-ins answered with an id.
    pub acknowledged: usize,
    /// Check-ins refused or failed (expected while the service restarts).
    pub failed: usize,
    /// Acknowledged check-ins missing from the table: must be zero.
    pub lost: usize,
    /// Events whose check-in counter differs from their rows: must be zero.
    pub inconsistent_events: i64,
    /// How long the attendance service was away.
    pub restart_seconds: f64,
    /// Whether a check-in and a read through the router worked after the restart.
    pub serves_after: bool,
}

impl SoakReport {
    pub fn summary(&self) -> String {
        let how = match self.fault {
            Fault::Restart => "restarted (SIGTERM)",
            Fault::Crash => "killed (SIGKILL) and started",
        };
        format!(
            "restart soak: {} clients for {:.0} s, attendance {how} midway (away {:.1} s): \
             {} check-ins acknowledged, {} failed meanwhile, {} acknowledged but lost, \
             {} events with a counter unlike their rows; serves normally afterwards: {}",
            self.clients,
            self.seconds,
            self.restart_seconds,
            self.acknowledged,
            self.failed,
            self.lost,
            self.inconsistent_events,
            self.serves_after
        )
    }
}

const CHECK_IN: &str = "mutation($e: ID!, $u: ID!) { checkIn(input: {eventId: $e, userId: $u}) { id } }";

pub async fn run(config: &BenchConfig, clients: usize, fault: Fault) -> anyhow::Result<SoakReport> {
    let mut stack = crate::start_stack(config).await?;
    let admin = Database::connect(stack.admin_url()).await?;
    // Enough distinct (event, person) pairs for every check-in of the run.
    let seeded = crate::seed::seed(&admin, config.users, config.events, 0).await?;
    // The last five users are seeded as attendees of every event: leave them out.
    let fresh = seeded.users.len().saturating_sub(5);
    let users: Arc<Vec<Uuid>> = Arc::new(seeded.users[..fresh].iter().map(|(id, _)| *id).collect());
    let events = Arc::new(seeded.events);
    let events_for_pick = events.clone();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let router = format!("{}/", stack.router_url());
    let started = Instant::now();
    let pick = move |i: usize| (events_for_pick[(i / users.len()) % events_for_pick.len()], users[i % users.len()]);
    let load = CheckInClients::start(&http, &router, clients, started + config.duration, pick);

    tokio::time::sleep(config.duration / 2).await;
    let away = Instant::now();
    if fault == Fault::Crash {
        stack.crash_service(ServiceKind::Attendance);
    }
    // (Gracefully stopped first when still running.) Then ready again.
    stack.start_service(ServiceKind::Attendance).await?;
    let restart_seconds = away.elapsed().as_secs_f64();
    let seen = load.finish().await?;
    let seconds = started.elapsed().as_secs_f64();

    let acknowledged = seen.acknowledged;
    let lost = lost(&admin, &acknowledged).await?;
    let inconsistent = admin
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM attendance_schema.event_checkins c
             WHERE c.checked_in <> (SELECT count(*) FROM attendance_schema.attendances a WHERE a.event_id = c.event_id)",
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or_default();

    // Normal service afterwards: a fresh check-in and a read of it.
    let after = json!({"query": CHECK_IN, "variables": {"e": events[0], "u": Uuid::new_v4()}});
    let refused_unknown_user: Value = http.post(&router).json(&after).send().await?.json().await?;
    let read = json!({"query": "query($e: ID!) { eventAttendance(eventId: $e, first: 1) { totalCount } }", "variables": {"e": events[0]}});
    // Read as the event's organizer: lists show the anonymous nothing.
    let organizer = crate::bench::organizer_client(&http, &stack).await?;
    let read: Value = organizer.post(&router).json(&read).send().await?.json().await?;
    let serves_after = refused_unknown_user["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        && read["data"]["eventAttendance"]["totalCount"].as_i64().is_some_and(|n| n > 0);

    crate::finish(stack);
    let failed = seen.failed + seen.full;
    Ok(SoakReport {
        fault,
        clients,
        seconds,
        acknowledged: acknowledged.len(),
        failed,
        lost,
        inconsistent_events: inconsistent,
        restart_seconds,
        serves_after,
    })
}

/// The acknowledged check-ins missing from the table.
pub(crate) async fn lost(admin: &sea_orm::DatabaseConnection, acknowledged: &[Uuid]) -> anyhow::Result<usize> {
    let rows = admin
        .query_all_raw(Statement::from_string(DbBackend::Postgres, "SELECT id FROM attendance_schema.attendances"))
        .await?;
    let stored: HashSet<Uuid> = rows.iter().map(|r| r.try_get("", "id")).collect::<Result<_, _>>()?;
    Ok(acknowledged.iter().filter(|id| !stored.contains(id)).count())
}

/// What the check-in clients of a fault run saw.
#[derive(Debug, Default)]
pub(crate) struct CheckInsSeen {
    /// The ids of the check-ins answered with one.
    pub acknowledged: Vec<Uuid>,
    /// Refused because the event was full.
    pub full: usize,
    /// Failed otherwise (refused, cut off, timed out).
    pub failed: usize,
}

/// Clients checking people in through the router until a deadline, the
/// `i`th check-in for `pick(i)` = (event, person).
pub(crate) struct CheckInClients {
    loops: Vec<tokio::task::JoinHandle<()>>,
    seen: Arc<Mutex<CheckInsSeen>>,
}

impl CheckInClients {
    pub(crate) fn start(
        http: &reqwest::Client,
        router: &str,
        clients: usize,
        deadline: Instant,
        pick: impl Fn(usize) -> (Uuid, Uuid) + Send + Sync + 'static,
    ) -> CheckInClients {
        let seen = Arc::new(Mutex::new(CheckInsSeen::default()));
        let (next, pick) = (Arc::new(std::sync::atomic::AtomicUsize::new(0)), Arc::new(pick));
        let loops = (0..clients)
            .map(|_| {
                let (http, router, seen, next, pick) =
                    (http.clone(), router.to_owned(), seen.clone(), next.clone(), pick.clone());
                tokio::spawn(async move {
                    while Instant::now() < deadline {
                        let (event, user) = pick(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
                        let body = json!({"query": CHECK_IN, "variables": {"e": event, "u": user}});
                        let answer: Value = match http.post(&router).json(&body).send().await {
                            Ok(response) => response.json().await.unwrap_or(Value::Null),
                            Err(_) => Value::Null,
                        };
                        let id = answer["data"]["checkIn"]["id"].as_str().and_then(|id| Uuid::parse_str(id).ok());
                        let full = answer["errors"][0]["extensions"]["code"] == "EVENT_FULL";
                        let failed = {
                            let mut seen = seen.lock().expect("lock");
                            match id {
                                Some(id) => seen.acknowledged.push(id),
                                None if full => seen.full += 1,
                                None => seen.failed += 1,
                            }
                            id.is_none() && !full
                        };
                        if failed {
                            // Do not spin while a service is away.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                })
            })
            .collect();
        CheckInClients { loops, seen }
    }

    /// Waits for every client to reach the deadline.
    pub(crate) async fn finish(self) -> anyhow::Result<CheckInsSeen> {
        for task in self.loops {
            task.await?;
        }
        Ok(std::mem::take(&mut *self.seen.lock().expect("lock")))
    }
}
