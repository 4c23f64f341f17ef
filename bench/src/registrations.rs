//! Scenario 9: the registration desk and tickets at the door. 9a: people
//! racing over REST for the last 100 places of a 10,000-place event; 9b:
//! tickets redeemed over REST; 9c: what checking a ticket's signature costs
//! of a redemption; 9d and 9e: `registrationSummary` and `attendanceStats`
//! of an event with 100,000 registrations and check-ins against one with
//! 1,000.

use std::{sync::Arc, time::Instant};

use anyhow::Context;
use attendance_service::domain::tickets::{KeyId, TicketClaims, TicketKeys};
use common::ServiceKind;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::{
    bench::{measure, scenario_id, Bench, Measured},
    load::rest,
    Scenario,
};

const PLACES: i64 = 10_000;
const TAKEN: i64 = 9_900;

impl Bench {
    pub(crate) async fn registrations(&self) -> anyhow::Result<Vec<Scenario>> {
        let mut scenarios = Vec::new();
        if self.config.runs("9a") {
            scenarios.push(self.registrations_race().await?);
        }
        if self.config.runs("9b") || self.config.runs("9c") {
            let (redemptions, signature) = self.redemptions().await?;
            scenarios.push(redemptions);
            scenarios.push(signature);
        }
        if self.config.runs("9d") || self.config.runs("9e") {
            scenarios.extend(self.constant_reads().await?);
        }
        Ok(scenarios)
    }

    /// 9a. 32 clients, each request a new person registering, for the last
    /// 100 places of a 10,000-place event with a waitlist.
    async fn registrations_race(&self) -> anyhow::Result<Scenario> {
        let event = self.seed_event("Registrations", Some(PLACES), 30).await?;
        self.sql(&format!(
            "INSERT INTO attendance_schema.event_registrations (event_id, waitlist, confirmed) VALUES ('{event}', true, {TAKEN});
             INSERT INTO attendance_schema.registrations (id, event_id, user_id, status)
             SELECT gen_random_uuid(), '{event}', gen_random_uuid(), 'CONFIRMED' FROM generate_series(1, {TAKEN});"
        ))
        .await?;
        // Each request is a new person: tokens minted ahead, as auth signs them.
        let people = if self.config.smoke { 2_000 } else { 150_000 };
        let tokens = Arc::new(self.mint_tokens(people).await?);
        let url = format!("{}/attendance/event/{event}/registrations", self.stack.service_url(ServiceKind::Attendance));
        let http = self.http.clone();
        let load = measure(&self.probes, self.config.clients(32), self.config.duration, move |i| {
            let request = http.post(&url).bearer_auth(&tokens[i as usize % tokens.len()]);
            rest(request)
        })
        .await?;
        let count = |status: &str| {
            format!(
                "SELECT count(*) AS n FROM attendance_schema.registrations WHERE event_id = '{event}' AND status = '{status}'"
            )
        };
        let confirmed = self.number(&count("CONFIRMED")).await?;
        let waitlisted = self.number(&count("WAITLISTED")).await?;
        let in_order = self
            .number(&format!(
                "SELECT (count(DISTINCT waitlisted_at) = count(*))::int::bigint AS n FROM attendance_schema.registrations
                 WHERE event_id = '{event}' AND status = 'WAITLISTED'"
            ))
            .await?;
        let expected_waitlist = (load.load.requests.min(people as u64) as i64 - (PLACES - TAKEN)).max(0);
        let exact = confirmed == PLACES && waitlisted == expected_waitlist && in_order == 1;
        let ratio = load.load.requests_per_second / self.insert_reference.transactions_per_second;
        Ok(Scenario {
            name: "9a. registrations racing for the last 100 places (REST)".into(),
            reference: format!(
                "pgbench single INSERT: {:.0} tps; {confirmed} confirmed, {waitlisted} waitlisted",
                self.insert_reference.transactions_per_second
            ),
            ratio: Some(ratio),
            target: "≥ 30% of INSERT tps, 0 errors, exactly 10,000 confirmed, the rest waitlisted in order".into(),
            met: Some(ratio >= 0.3 && load.load.errors == 0 && exact),
            measured: load,
        })
    }

    /// 9b. 32 clients redeeming tickets at the door over REST, each a new
    /// ticket; 9c. what checking one ticket's signature costs, against the
    /// attendance service's CPU per redemption.
    async fn redemptions(&self) -> anyhow::Result<(Scenario, Scenario)> {
        let event = self.seed_event("Door with tickets", None, 30).await?;
        let tickets = if self.config.smoke { 2_000 } else { 200_000 };
        let keys = TicketKeys::new(common::keys::KeySource::DevFile(self.stack.config.ticket_key_file()).load()?)
            .context("no ticket key")?;
        let valid_until = chrono::Utc::now() + chrono::Duration::days(2);
        let ids = self.seed_tickets(event, tickets, keys.signing_key_id(), valid_until).await?;
        let secrets = Arc::new(sign_all(&keys, event, valid_until, ids).await?);
        let url = format!("{}/attendance", self.stack.service_url(ServiceKind::Attendance));
        let (http, scanned) = (self.http.clone(), secrets.clone());
        let load = measure(&self.probes, self.config.clients(32), self.config.duration, move |i| {
            let ticket = &scanned[i as usize % scanned.len()];
            rest(http.post(&url).json(&json!({"eventId": event, "ticket": ticket})))
        })
        .await?;
        let ratio = load.load.requests_per_second / self.insert_reference.transactions_per_second;
        let verify_ms = verify_cost_ms(&keys, &secrets[..secrets.len().min(10_000)]);
        // A redemption's CPU: the attendance service's and PostgreSQL's (the
        // router is not on this path; the load driver is not the system).
        let attendance_ms = cpu_of(&load, "attendance");
        let redemption_ms = attendance_ms + cpu_of(&load, "postgres");
        let redemptions = Scenario {
            name: "9b. ticket redemptions (REST POST /attendance)".into(),
            reference: format!("pgbench single INSERT: {:.0} tps", self.insert_reference.transactions_per_second),
            ratio: Some(ratio),
            target: "≥ 50% of INSERT tps, 0 errors".into(),
            met: Some(ratio >= 0.5 && load.load.errors == 0),
            measured: load.clone(),
        };
        let share = verify_ms / redemption_ms.max(f64::EPSILON);
        let signature = Scenario {
            name: "9c. a ticket's signature check, of a redemption's CPU".into(),
            reference: format!(
                "check {:.1} µs; per redemption: attendance {:.3} ms + PostgreSQL {:.3} ms CPU ({:.0}% is the attendance service's)",
                verify_ms * 1000.0,
                attendance_ms,
                redemption_ms - attendance_ms,
                100.0 * verify_ms / attendance_ms.max(f64::EPSILON)
            ),
            ratio: Some(share),
            target: "≤ 20% of a redemption's CPU (attendance + PostgreSQL)".into(),
            met: Some(share <= 0.2),
            measured: load,
        };
        Ok((redemptions, signature))
    }

    /// 9d and 9e: each read at 8 clients for an event of 1,000 registrations
    /// and check-ins, then one of 100,000; the ratio of their p50 latencies.
    async fn constant_reads(&self) -> anyhow::Result<Vec<Scenario>> {
        let small = self.seed_crowd(1_000).await?;
        let large = self.seed_crowd(if self.config.smoke { 10_000 } else { 100_000 }).await?;
        let base = self.stack.service_url(ServiceKind::Attendance);
        let mut scenarios = Vec::new();
        for (name, path) in [
            ("9d. registrationSummary, 100,000 registrations vs 1,000 (REST)", "registration-summary"),
            ("9e. attendanceStats, 100,000 check-ins vs 1,000 (REST)", "stats"),
        ] {
            if !self.config.runs(scenario_id(name)) {
                continue;
            }
            let url = |event: Uuid| match path {
                "stats" => format!("{base}/attendance/stats/{event}"),
                _ => format!("{base}/attendance/event/{event}/{path}"),
            };
            let small_load = self.get_repeatedly(url(small)).await?;
            let large_load = self.get_repeatedly(url(large)).await?;
            let ratio = large_load.load.p50_ms / small_load.load.p50_ms.max(f64::EPSILON);
            scenarios.push(Scenario {
                name: name.into(),
                reference: format!(
                    "1,000: p50 {:.2} ms, {:.2} SQL/request",
                    small_load.load.p50_ms, small_load.sql_per_request
                ),
                ratio: Some(ratio),
                target: "the same cost: p50 ≤ 1.5× and SQL/request equal".into(),
                met: Some(
                    ratio <= 1.5
                        && large_load.load.errors == 0
                        && (large_load.sql_per_request - small_load.sql_per_request).abs() < 0.05,
                ),
                measured: large_load,
            });
        }
        Ok(scenarios)
    }

    async fn get_repeatedly(&self, url: String) -> anyhow::Result<Measured> {
        let http = self.http.clone();
        measure(&self.probes, self.config.clients(8), self.config.duration, move |_| rest(http.get(&url))).await
    }

    /// `n` confirmed registrations with tickets signed by `key`: the tickets' ids.
    async fn seed_tickets(
        &self,
        event: Uuid,
        n: usize,
        key: KeyId,
        valid_until: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<Vec<Uuid>> {
        let sql = format!(
            "WITH placed AS (
                 INSERT INTO attendance_schema.registrations (id, event_id, user_id, status)
                 SELECT gen_random_uuid(), '{event}', gen_random_uuid(), 'CONFIRMED' FROM generate_series(1, {n})
                 RETURNING id, user_id
             )
             INSERT INTO attendance_schema.tickets (id, registration_id, event_id, user_id, key_id, valid_until)
             SELECT gen_random_uuid(), id, '{event}', user_id, '{key}', '{valid_until}' FROM placed
             RETURNING id"
        );
        let rows = self.probes.admin.query_all_raw(Statement::from_string(DbBackend::Postgres, sql)).await?;
        let ids = rows.iter().map(|r| r.try_get("", "id")).collect::<Result<Vec<Uuid>, _>>()?;
        self.sql(&format!(
            "INSERT INTO attendance_schema.event_registrations (event_id, confirmed) VALUES ('{event}', {n})"
        ))
        .await?;
        Ok(ids)
    }

    /// An event with `n` confirmed registrations and `n` check-ins (and their
    /// entry scans) spread over the hour around its start.
    async fn seed_crowd(&self, n: usize) -> anyhow::Result<Uuid> {
        let event = self.seed_event(&format!("Crowd of {n}"), None, 30).await?;
        self.sql(&format!(
            "INSERT INTO attendance_schema.registrations (id, event_id, user_id, status)
             SELECT gen_random_uuid(), '{event}', gen_random_uuid(), 'CONFIRMED' FROM generate_series(1, {n});
             INSERT INTO attendance_schema.event_registrations (event_id, confirmed) VALUES ('{event}', {n});
             INSERT INTO attendance_schema.attendances (id, event_id, user_id, check_in_time)
             SELECT gen_random_uuid(), '{event}', user_id, now() - interval '60 minutes' + random() * interval '55 minutes'
             FROM attendance_schema.registrations WHERE event_id = '{event}';
             INSERT INTO attendance_schema.scans (id, event_id, user_id, direction, scanned_at, status)
             SELECT id, event_id, user_id, 'ENTRY', check_in_time, 'OK' FROM attendance_schema.attendances
             WHERE event_id = '{event}';
             INSERT INTO attendance_schema.event_checkins (event_id, checked_in, inside_now, entries)
             VALUES ('{event}', {n}, {n}, {n});
             ANALYZE attendance_schema.attendances;"
        ))
        .await?;
        Ok(event)
    }

    /// Tokens of `n` new people, signed as the auth service signs them.
    async fn mint_tokens(&self, n: usize) -> anyhow::Result<Vec<String>> {
        let login = format!("{}/auth/login", self.stack.service_url(ServiceKind::Auth));
        let body = json!({"email": "bench2@example.com", "password": crate::seed::PASSWORD});
        let answer: serde_json::Value = self.http.post(login).json(&body).send().await?.json().await?;
        let template = answer["token"].as_str().context("login answered no token")?.to_owned();
        let jwks_url = format!("{}/.well-known/jwks.json", self.stack.service_url(ServiceKind::Auth));
        let jwks: serde_json::Value = self.http.get(jwks_url).send().await?.json().await?;
        let kid = jwks["keys"][0]["kid"].as_str().map(str::to_owned);
        let key = std::fs::read_to_string(&self.stack.config.jwt_key_file)?;
        let minter = Arc::new(test_support::tokens::Minter::new(&template, kid, &key));
        in_halves(n, move |range| range.map(|_| minter.for_user(&Uuid::new_v4().to_string())).collect()).await
    }
}

/// Each ticket's secret, as its holder's QR code shows it.
async fn sign_all(
    keys: &TicketKeys,
    event: Uuid,
    valid_until: chrono::DateTime<chrono::Utc>,
    ids: Vec<Uuid>,
) -> anyhow::Result<Vec<String>> {
    let (keys, ids) = (Arc::new(keys.clone()), Arc::new(ids));
    let key_id = keys.signing_key_id();
    in_halves(ids.len(), move |range| {
        range
            .filter_map(|i| keys.secret(&TicketClaims { ticket_id: ids[i], event_id: event, valid_until, key_id }))
            .collect()
    })
    .await
}

/// `make` over 0..n, in two halves on the blocking pool (the machine has two cores).
async fn in_halves<T: Send + 'static>(
    n: usize,
    make: impl Fn(std::ops::Range<usize>) -> Vec<T> + Send + Sync + 'static,
) -> anyhow::Result<Vec<T>> {
    let make = Arc::new(make);
    let halves = [0..n / 2, n / 2..n].map(|range| {
        let make = make.clone();
        tokio::task::spawn_blocking(move || make(range))
    });
    let mut all = Vec::with_capacity(n);
    for half in halves {
        all.extend(half.await?);
    }
    Ok(all)
}

/// Milliseconds one signature check takes (as the service checks: signed
/// again and compared), over `secrets`.
fn verify_cost_ms(keys: &TicketKeys, secrets: &[String]) -> f64 {
    let now = chrono::Utc::now();
    let started = Instant::now();
    let valid = secrets.iter().filter(|s| keys.verify(s, now).is_ok()).count();
    let ms = started.elapsed().as_secs_f64() * 1000.0 / secrets.len().max(1) as f64;
    // A secret that failed took a shorter path: no figure rather than a wrong one.
    if valid == secrets.len() {
        ms
    } else {
        f64::NAN
    }
}

/// CPU milliseconds per request of one process during a load.
fn cpu_of(load: &Measured, process: &str) -> f64 {
    load.cpu_ms_per_request.0.iter().find(|(name, _)| name == process).map_or(f64::NAN, |(_, ms)| *ms)
}
