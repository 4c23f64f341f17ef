//! The replica fault run: two instances of each service and two routers
//! behind HAProxy on loopback, the database through PgBouncer in transaction
//! mode. Check-ins from many clients through HAProxy while one attendance
//! instance and one router are killed (SIGKILL) and started again; then every
//! acknowledged check-in must be in the table, every event's counters must
//! equal its rows, no event may hold more than its capacity, failed logins
//! spread over both auth instances must trip the one throttle, and a new
//! signing key must be picked up by every verifier.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use common::ServiceKind;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{soak::CheckInClients, BenchConfig};

#[derive(Debug, Clone, Serialize)]
pub struct ReplicaReport {
    pub clients: usize,
    pub seconds: f64,
    /// Check-ins answered with an id.
    pub acknowledged: usize,
    /// Refused as full (the capacity held).
    pub refused_full: usize,
    /// Failed otherwise (expected while an instance or a router is away).
    pub failed: usize,
    /// Acknowledged check-ins missing from the table: must be zero.
    pub lost: usize,
    /// Events whose counters differ from their rows: must be zero.
    pub inconsistent_events: i64,
    /// Events holding more check-ins than their capacity: must be zero.
    pub over_capacity: i64,
    /// Failed logins, alternating between the two auth instances, until refused.
    pub logins_until_throttled: Option<u32>,
    /// Verifiers (2 × event, 2 × attendance) accepting a token of the new key.
    pub verifiers_with_new_key: usize,
    pub verifiers_with_old_token: usize,
    /// Verifiers refusing a token with a forged signature (the control: must be 4).
    pub verifiers_refusing_forged: usize,
}

impl ReplicaReport {
    pub fn summary(&self) -> String {
        format!(
            "replica fault run: {} clients for {:.0} s through HAProxy (2 routers, 2 instances of each service, \
             PgBouncer in transaction mode), one attendance instance and one router killed (SIGKILL) and started \
             midway: {} check-ins acknowledged, {} refused as full, {} failed meanwhile, {} acknowledged but lost, \
             {} events with counters unlike their rows, {} over capacity; failed logins over both auth instances \
             throttled after {:?}; new signing key accepted by {}/4 verifiers, old tokens by {}/4, \
             a forged one refused by {}/4",
            self.clients,
            self.seconds,
            self.acknowledged,
            self.refused_full,
            self.failed,
            self.lost,
            self.inconsistent_events,
            self.over_capacity,
            self.logins_until_throttled,
            self.verifiers_with_new_key,
            self.verifiers_with_old_token,
            self.verifiers_refusing_forged,
        )
    }

    pub fn holds(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.acknowledged > 0, "no check-in went through");
        anyhow::ensure!(self.lost == 0, "{} acknowledged check-ins were lost", self.lost);
        anyhow::ensure!(self.inconsistent_events == 0, "{} events half written", self.inconsistent_events);
        anyhow::ensure!(self.over_capacity == 0, "{} events over capacity", self.over_capacity);
        anyhow::ensure!(
            self.logins_until_throttled.is_some_and(|n| n <= 6),
            "throttle: {:?}",
            self.logins_until_throttled
        );
        anyhow::ensure!(self.verifiers_with_new_key == 4, "new key at {}/4 verifiers", self.verifiers_with_new_key);
        anyhow::ensure!(self.verifiers_with_old_token == 4, "old tokens at {}/4", self.verifiers_with_old_token);
        anyhow::ensure!(self.verifiers_refusing_forged == 4, "forged refused at {}/4", self.verifiers_refusing_forged);
        Ok(())
    }
}

/// Capacity of every other event, small enough to be reached during the run.
const CAPACITY: i64 = 40;

pub async fn run(config: &BenchConfig, clients: usize) -> anyhow::Result<ReplicaReport> {
    let mut settings = crate::stack_config(config)?;
    settings.replicated = true;
    let mut stack = test_support::stack::Stack::start(settings).await?;
    let admin = Database::connect(stack.admin_url()).await?;
    let seeded = crate::seed::seed(&admin, config.users, config.events, 0).await?;
    let fresh = seeded.users.len().saturating_sub(5);
    let users: Arc<Vec<Uuid>> = Arc::new(seeded.users[..fresh].iter().map(|(id, _)| *id).collect());
    let events = Arc::new(seeded.events.clone());
    // Every other event has a small capacity, which the run will reach.
    admin
        .execute_unprepared(&format!(
            "UPDATE event_schema.events SET capacity = {CAPACITY} WHERE id IN \
             (SELECT id FROM (SELECT id, row_number() OVER (ORDER BY title) AS n FROM event_schema.events) e WHERE n % 2 = 0)"
        ))
        .await?;

    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).pool_max_idle_per_host(clients).build()?;
    let entry = format!("{}/", stack.router_url());
    let started = Instant::now();
    // Across the events first, so every event fills as the run goes.
    let pick = move |i: usize| (events[i % events.len()], users[(i / events.len()) % users.len()]);
    let load = CheckInClients::start(&http, &entry, clients, started + config.duration, pick);

    // Midway, an attendance instance and a router die at once, then come back.
    tokio::time::sleep(config.duration / 2).await;
    let crashed = stack.crash_replica(ServiceKind::Attendance).context("the attendance replica runs")?;
    let second_router = stack.crash_second_router().context("the second router runs")?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stack.start_replica(ServiceKind::Attendance, crashed).await?;
    stack.start_second_router(second_router.0, second_router.1).await?;
    let seen = load.finish().await?;
    let seconds = started.elapsed().as_secs_f64();

    let number = |sql: &'static str| {
        let admin = &admin;
        async move {
            let row = admin.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await?;
            anyhow::Ok(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or_default())
        }
    };
    let acknowledged = seen.acknowledged;
    let lost = crate::soak::lost(&admin, &acknowledged).await?;
    let inconsistent_events = number(
        "SELECT count(*) AS n FROM attendance_schema.event_checkins c
         WHERE c.checked_in <> (SELECT count(*) FROM attendance_schema.attendances a WHERE a.event_id = c.event_id)
            OR c.inside_now <> (SELECT count(*) FROM attendance_schema.attendances a WHERE a.event_id = c.event_id AND a.inside)",
    )
    .await?;
    let over_capacity = number(
        "SELECT count(*) AS n FROM event_schema.events e
         WHERE e.capacity IS NOT NULL
           AND (SELECT count(*) FROM attendance_schema.attendances a WHERE a.event_id = e.id) > e.capacity",
    )
    .await?;

    let logins_until_throttled = throttle_over_both(&http, &stack).await?;
    let (verifiers_with_new_key, verifiers_with_old_token, verifiers_refusing_forged) =
        rotate_key(&http, &mut stack).await?;

    crate::finish(stack);
    let (failed, refused_full) = (seen.failed, seen.full);
    Ok(ReplicaReport {
        clients,
        seconds,
        acknowledged: acknowledged.len(),
        refused_full,
        failed,
        lost,
        inconsistent_events,
        over_capacity,
        logins_until_throttled,
        verifiers_with_new_key,
        verifiers_with_old_token,
        verifiers_refusing_forged,
    })
}

/// Wrong passwords for one account, alternately at each auth instance: the
/// throttle lives in the database, so it trips as it would on one instance.
async fn throttle_over_both(http: &reqwest::Client, stack: &test_support::stack::Stack) -> anyhow::Result<Option<u32>> {
    let instances = stack.instance_urls(ServiceKind::Auth);
    anyhow::ensure!(instances.len() == 2, "two auth instances");
    for attempt in 1..=12u32 {
        let url = format!("{}/auth/login", instances[attempt as usize % 2]);
        let body = json!({"email": "bench2@example.com", "password": "not-the-password"});
        let status = http.post(url).json(&body).send().await?.status().as_u16();
        if status == 429 {
            return Ok(Some(attempt));
        }
    }
    Ok(None)
}

/// Both auth instances restart with a new key first and the old one after
/// it; a token of the new key must then verify at every event and attendance
/// instance (each fetches the JWKS again on an unknown key), and a token of
/// the old key still too.
async fn rotate_key(
    http: &reqwest::Client,
    stack: &mut test_support::stack::Stack,
) -> anyhow::Result<(usize, usize, usize)> {
    let login = |base: String| {
        let http = http.clone();
        async move {
            let body = json!({"email": "bench3@example.com", "password": crate::seed::PASSWORD});
            let answer: Value = http.post(format!("{base}/auth/login")).json(&body).send().await?.json().await?;
            answer["token"].as_str().map(str::to_owned).context("login answered no token")
        }
    };
    let old_token = login(stack.instance_urls(ServiceKind::Auth)[0].clone()).await?;
    let old_key = std::fs::read_to_string(&stack.config.jwt_key_file)?;
    let new_key = test_support::signing_key_pem();
    stack.config.service_env.push(("JWT_PRIVATE_KEY".to_owned(), format!("{new_key}\n{old_key}")));
    // Both instances, one after the other, as a rolling restart does.
    stack.start_service(ServiceKind::Auth).await?;
    let new_token = login(stack.instance_urls(ServiceKind::Auth)[1].clone()).await?;
    anyhow::ensure!(kid(&new_token) != kid(&old_token), "the new token is signed with the old key");
    let verifiers: Vec<String> =
        [ServiceKind::Event, ServiceKind::Attendance].into_iter().flat_map(|kind| stack.instance_urls(kind)).collect();
    anyhow::ensure!(verifiers.len() == 4, "two event and two attendance instances");
    // The control: the same token with its signature's last character changed.
    let forged = {
        let mut forged = new_token.clone();
        let last = forged.pop().unwrap_or('A');
        forged.push(if last == 'A' { 'B' } else { 'A' });
        forged
    };
    let mut refused_forged = 0;
    for verifier in &verifiers {
        if !accepts(http, verifier, &forged, stack.service_secret()).await? {
            refused_forged += 1;
        }
    }
    let mut accepted = HashMap::new();
    for (token, which) in [(&new_token, "new"), (&old_token, "old")] {
        for verifier in &verifiers {
            // A verifier asks for the JWKS again at most every 10 s.
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if accepts(http, verifier, token, stack.service_secret()).await? {
                    *accepted.entry(which).or_insert(0usize) += 1;
                    break;
                }
                if Instant::now() > deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    Ok((accepted.get("new").copied().unwrap_or(0), accepted.get("old").copied().unwrap_or(0), refused_forged))
}

/// Whether a subgraph answers a request bearing `token` (a refused token is
/// `UNAUTHENTICATED`, whatever the query).
async fn accepts(http: &reqwest::Client, verifier: &str, token: &str, secret: &str) -> anyhow::Result<bool> {
    let response = http
        .post(format!("{verifier}/graphql"))
        .bearer_auth(token)
        .header("x-service-credential", secret)
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    Ok(status.is_success() && answer["errors"].is_null() && answer["data"]["__typename"] == "Query")
}

fn kid(token: &str) -> Option<String> {
    use base64::Engine as _;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).ok()?;
    let header: Value = serde_json::from_slice(&bytes).ok()?;
    header["kid"].as_str().map(str::to_owned)
}
