//! What every scenario shares: the stack, the seeded data, the clients, the
//! probes and the references measured on the quiet stack; and how a load is
//! measured.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use common::ServiceKind;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde::Serialize;
use serde_json::json;
use test_support::{stack::Stack, test_password};
use uuid::Uuid;

use crate::{
    cpu,
    load::{drive, graphql, LoadResult},
    procfs::rss_mib,
    reference::{self, Argon2Result, PgbenchResult},
    seed, start_stack, BenchConfig,
};

/// Everything the scenarios share: the stack, the seeded data, the clients,
/// the probes and the references measured on the quiet stack.
pub(crate) struct Bench {
    pub(crate) config: BenchConfig,
    pub(crate) stack: Stack,
    pub(crate) probes: Probes,
    pub(crate) http: reqwest::Client,
    /// Sends the big event's organizer's token (door lists are read as they read them).
    pub(crate) organizer: reqwest::Client,
    pub(crate) router: String,
    /// The event with `big_attendees` check-ins.
    pub(crate) big: uuid::Uuid,
    pub(crate) users: Arc<Vec<(uuid::Uuid, String)>>,
    pub(crate) events: Vec<uuid::Uuid>,
    pub(crate) insert_reference: PgbenchResult,
    pub(crate) join_reference: PgbenchResult,
    pub(crate) argon2: Argon2Result,
    pub(crate) idle_rss_mib: Vec<(String, f64)>,
}

impl Bench {
    /// Starts and seeds the stack, then measures the references on it while it is quiet.
    pub(crate) async fn prepare(config: BenchConfig) -> anyhow::Result<Self> {
        let stack = start_stack(&config).await?;
        let admin = Database::connect(stack.admin_url()).await?;
        admin.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").await?;
        let idle_rss_mib = ServiceKind::ALL
            .into_iter()
            .map(|k| (k.name().to_owned(), rss_mib(stack.config.ports.service(k)).unwrap_or(f64::NAN)))
            .collect();
        let seeded = seed::seed(&admin, config.users, config.events, config.big_attendees).await?;
        let bin = test_support::cluster::find_bin_dir().context("pgbench not found")?;
        let admin_url = url::Url::parse(stack.admin_url())?;
        let ports = &stack.config.ports;
        let cpu = cpu::CpuMeter::new(
            &[("router", ports.router), ("auth", ports.auth), ("event", ports.event), ("attendance", ports.attendance)],
            admin_url.port().unwrap_or(5432),
        );
        let http = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
        let big = seeded.events[0];
        let insert_reference = reference::pgbench(
            &bin,
            &with_user(&admin_url, ServiceKind::Attendance),
            "INSERT INTO attendance_schema.attendances (id, event_id, user_id, check_in_time) \
             VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), now());\n",
            config.clients(32),
            config.duration,
        )?;
        let join_reference = reference::pgbench(
            &bin,
            &admin_url,
            // The 1,000 users looked up by id, as the door list does them: left
            // to choose on analyzed tables, PostgreSQL hashes all 10,000 users
            // instead, two to four times slower and a reference that moves
            // (`LIMIT 1` on the primary key keeps the lookup from being flattened
            // back into a join the planner may hash).
            &format!(
                "SELECT u.email FROM (SELECT user_id, check_in_time, id FROM attendance_schema.attendances \
                 WHERE event_id = '{big}' ORDER BY check_in_time, id LIMIT 1000) a \
                 CROSS JOIN LATERAL (SELECT email FROM auth_schema.users WHERE id = a.user_id LIMIT 1) u \
                 ORDER BY a.check_in_time, a.id;\n"
            ),
            config.clients(8),
            config.duration,
        )?;
        let argon2 = tokio::task::spawn_blocking({
            let d = config.duration.min(Duration::from_secs(5));
            move || reference::argon2_limit(d)
        })
        .await?;
        Ok(Bench {
            organizer: organizer_client(&http, &stack).await?,
            router: format!("{}/", stack.router_url()),
            probes: Probes { admin, cpu },
            users: Arc::new(seeded.users),
            events: seeded.events,
            config,
            stack,
            http,
            big,
            insert_reference,
            join_reference,
            argon2,
            idle_rss_mib,
        })
    }

    /// Runs one GraphQL body over and over with `clients` clients.
    pub(crate) async fn repeat(
        &self,
        http: &reqwest::Client,
        url: &str,
        clients: usize,
        body: serde_json::Value,
    ) -> anyhow::Result<Measured> {
        measure(&self.probes, clients, self.config.duration, {
            let (http, url) = (http.clone(), url.to_owned());
            move |_| {
                let (http, url, body) = (http.clone(), url.clone(), body.clone());
                async move { graphql(&http, &url, &body).await }
            }
        })
        .await
    }

    /// A live event of the big event's organizer, started `minutes_ago` on a
    /// whole minute and ending in ten hours.
    pub(crate) async fn seed_event(
        &self,
        title: &str,
        capacity: Option<i64>,
        minutes_ago: u32,
    ) -> anyhow::Result<Uuid> {
        let id = Uuid::new_v4();
        let capacity = capacity.map_or("NULL".to_owned(), |c| c.to_string());
        self.sql(&format!(
            "INSERT INTO event_schema.events (id, title, start_time, end_time, organizer_id, capacity)
             SELECT '{id}', '{title}', date_trunc('minute', now()) - interval '{minutes_ago} minutes',
                    now() + interval '10 hours', organizer_id, {capacity}
             FROM event_schema.events WHERE id = '{big}'",
            big = self.big
        ))
        .await?;
        Ok(id)
    }

    /// Runs SQL as the admin (seeding).
    pub(crate) async fn sql(&self, sql: &str) -> anyhow::Result<()> {
        self.probes.admin.execute_unprepared(sql).await?;
        Ok(())
    }

    /// The one bigint column `n` of a query's one row, as the admin.
    pub(crate) async fn number(&self, sql: &str) -> anyhow::Result<i64> {
        let row = self.probes.admin.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await?;
        Ok(row.context("no row")?.try_get("", "n")?)
    }

    /// The services' statements that took PostgreSQL longest since the last
    /// measurement began: (query, calls, mean ms).
    pub(crate) async fn top_statements(&self, n: usize) -> anyhow::Result<Vec<(String, i64, f64)>> {
        let sql = format!(
            "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query, calls, mean_exec_time
             FROM pg_stat_statements
             WHERE userid IN (SELECT oid FROM pg_roles WHERE rolname IN ('auth_user', 'event_user', 'attendance_user'))
             ORDER BY total_exec_time DESC LIMIT {n}"
        );
        let rows = self.probes.admin.query_all_raw(Statement::from_string(DbBackend::Postgres, sql)).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("", "query")?, r.try_get("", "calls")?, r.try_get("", "mean_exec_time")?)))
            .collect()
    }

    pub(crate) fn join_reference_text(&self) -> String {
        format!("pgbench 1,000-row join: {:.2} ms", self.join_reference.latency_average_ms)
    }
}

/// A client that sends the token of the big event's organizer (`seed`
/// makes `bench1@example.com` organize `Event 0001`).
pub(crate) async fn organizer_client(http: &reqwest::Client, stack: &Stack) -> anyhow::Result<reqwest::Client> {
    let login = format!("{}/auth/login", stack.service_url(ServiceKind::Auth));
    let body = json!({"email": "bench1@example.com", "password": seed::PASSWORD});
    let answer: serde_json::Value = http.post(login).json(&body).send().await?.error_for_status()?.json().await?;
    let token = answer["token"].as_str().context("login answered no token")?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse()?);
    Ok(reqwest::Client::builder().pool_max_idle_per_host(64).default_headers(headers).build()?)
}

/// `3a` of `3a. check-in (router)`.
pub(crate) fn scenario_id(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// Runs a load and counts the services' SQL statements meanwhile (top-level
/// statements: a batch of check-ins is one; the services' own database
/// health pings are not counted).
pub(crate) async fn measure<F, Fut>(
    probes: &Probes,
    clients: usize,
    duration: Duration,
    request: F,
) -> anyhow::Result<Measured>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    probes.admin.execute_unprepared("SELECT pg_stat_statements_reset()").await?;
    let cpu_before = probes.cpu.snapshot();
    let load = drive(clients, duration, request).await;
    let cpu_after = probes.cpu.snapshot();
    let row = probes
        .admin
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT coalesce(sum(calls), 0)::bigint AS n FROM pg_stat_statements \
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND userid IN (SELECT oid FROM pg_roles WHERE rolname IN ('auth_user', 'event_user', 'attendance_user')) \
               AND query NOT IN ('SELECT 1', 'SELECT $1')",
        ))
        .await?
        .context("pg_stat_statements row")?;
    let statements: i64 = row.try_get("", "n")?;
    Ok(Measured {
        sql_per_request: statements as f64 / load.requests.max(1) as f64,
        cpu_ms_per_request: probes.cpu.per_request(&cpu_before, &cpu_after, load.requests),
        load,
    })
}

/// What a scenario is measured with besides the load itself.
pub(crate) struct Probes {
    pub(crate) admin: DatabaseConnection,
    pub(crate) cpu: cpu::CpuMeter,
}

/// What one scenario's load measured.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    pub load: LoadResult,
    /// SQL statements the services ran, per request (pg_stat_statements).
    pub sql_per_request: f64,
    /// CPU milliseconds per request of each process.
    pub cpu_ms_per_request: cpu::CpuPerRequest,
}

fn with_user(admin: &url::Url, kind: ServiceKind) -> url::Url {
    let mut url = admin.clone();
    let _ = url.set_username(kind.db_user());
    let _ = url.set_password(Some(&test_password(kind)));
    url
}
