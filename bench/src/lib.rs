//! The benchmark: starts the stack as `cargo xtask dev` does, seeds data,
//! drives each scenario over loopback and reports requests/s, latency
//! percentiles, errors and SQL statements per request, each next to a
//! reference measured in the same run (pgbench, argon2).

pub mod cpu;
mod live;
pub mod load;
pub mod reference;
pub mod replicas;
mod scans;
pub mod seed;
pub mod soak;

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use anyhow::Context;
use common::ServiceKind;
use load::{drive, drive_paced, graphql, rest, LoadResult};
use reference::{Argon2Result, PgbenchResult};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde::Serialize;
use serde_json::json;
use test_support::{
    process::Output,
    stack::{self, DatabaseChoice, Ports, Stack, StackConfig},
    test_password,
};

#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// How long each scenario runs.
    pub duration: Duration,
    /// Directory of the service binaries (release for real figures).
    pub bin_dir: PathBuf,
    pub users: usize,
    pub events: usize,
    pub big_attendees: usize,
    /// Scale concurrency down (smoke runs in CI).
    pub smoke: bool,
    /// Run only the scenarios whose numbers are listed (`1`, `2`, `3`, ...); all when empty.
    pub only: Vec<String>,
}

impl BenchConfig {
    pub fn full(bin_dir: PathBuf) -> Self {
        BenchConfig {
            duration: Duration::from_secs(10),
            bin_dir,
            users: 10_000,
            events: 200,
            big_attendees: 1_000,
            smoke: false,
            only: Vec::new(),
        }
    }

    pub fn smoke(bin_dir: PathBuf) -> Self {
        BenchConfig {
            duration: Duration::from_secs(1),
            bin_dir,
            users: 1_200,
            events: 20,
            big_attendees: 1_000,
            smoke: true,
            only: Vec::new(),
        }
    }

    /// Whether scenario `id` (`1`, `2b`, `3a`, ...) is to run: `--only 3`
    /// selects 3a and 3b, `--only 3b` only 3b.
    fn runs(&self, id: &str) -> bool {
        self.only.is_empty()
            || self
                .only
                .iter()
                .any(|n| id.strip_prefix(n.as_str()).is_some_and(|rest| rest.chars().all(|c| c.is_ascii_alphabetic())))
    }

    fn clients(&self, n: usize) -> usize {
        if self.smoke {
            n.min(2)
        } else {
            n
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    #[serde(flatten)]
    pub measured: Measured,
    pub reference: String,
    /// This scenario's figure divided by its reference figure.
    pub ratio: Option<f64>,
    pub target: String,
    pub met: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: String,
    pub scenarios: Vec<Scenario>,
    pub insert_reference: PgbenchResult,
    pub join_reference: PgbenchResult,
    pub argon2: Argon2Result,
    /// None when scenario 4 did not run.
    pub health_during_logins: Option<LoadResult>,
    /// Scenario 8, live updates.
    pub live: Option<live::LiveReport>,
    pub idle_rss_mib: Vec<(String, f64)>,
}

const BIG_ATTENDANCE: &str =
    "query($id: ID!) { event(id: $id) { attendance(first: 1000) { nodes { user { email } } } } }";
const EVENTS_WITH_STATS: &str =
    "query($n: Int) { events(first: $n) { nodes { id title attendanceStats { totalAttendees onTime late } } } }";
const CHECK_IN: &str = "mutation($e: ID!, $u: ID!) { checkIn(input: {eventId: $e, userId: $u}) { id } }";
const DOOR_LIST_OF_50: &str =
    "query($id: ID!) { event(id: $id) { title attendance(first: 50) { totalCount nodes { checkInTime user { email } } } } }";

/// Stops the stack and removes its development key.
pub fn finish(stack: Stack) {
    let config = stack.config.clone();
    stack.shutdown();
    remove_key_dir(&config);
}

/// Removes the key directory [`stack_config`] made.
fn remove_key_dir(config: &StackConfig) {
    if let Some(dir) = config.jwt_key_file.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The stack as `cargo xtask dev` starts it, on a private PostgreSQL with
/// `pg_stat_statements`, on free ports.
pub async fn start_stack(config: &BenchConfig) -> anyhow::Result<Stack> {
    let config = stack_config(config)?;
    // A stack that does not start (the router not built, say) leaves no key behind.
    Stack::start(config.clone()).await.inspect_err(|_| remove_key_dir(&config))
}

/// What [`start_stack`] starts, for runs that change it first.
pub fn stack_config(config: &BenchConfig) -> anyhow::Result<StackConfig> {
    let root = stack::workspace_root();
    // One key directory per stack: two stacks in one process (the smoke tests)
    // must not generate the same development key file at once.
    let key_dir = std::env::temp_dir().join(format!("titiktemu-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&key_dir)?;
    Ok(StackConfig {
        bin_dir: config.bin_dir.clone(),
        router_bin: stack::router_binary(),
        router_config: root.join("router/router.yaml"),
        supergraph: root.join("supergraph.graphql"),
        database: DatabaseChoice::Ephemeral,
        database_name: "bench".to_owned(),
        passwords: ServiceKind::ALL.into_iter().map(|k| (k, test_password(k))).collect(),
        jwt_key_file: key_dir.join("jwt.pem"),
        ports: Ports::random()?,
        app_env: "development".to_owned(),
        output: Output::Quiet,
        service_env: vec![
            ("RUST_LOG".to_owned(), "warn".to_owned()),
            // Scenario 8 opens a thousand live streams as one organizer.
            ("LIVE_SUBSCRIPTIONS_PER_USER".to_owned(), "100000".to_owned()),
        ],
        router_env: Vec::new(),
        pg_settings: vec!["shared_preload_libraries=pg_stat_statements".to_owned(), "max_connections=400".to_owned()],
        pooled: false,
        replicated: false,
    })
}

/// Everything the scenarios share: the stack, the seeded data, the clients,
/// the probes and the references measured on the quiet stack.
struct Bench {
    config: BenchConfig,
    stack: Stack,
    probes: Probes,
    http: reqwest::Client,
    /// Sends the big event's organizer's token (door lists are read as they read them).
    organizer: reqwest::Client,
    router: String,
    /// The event with `big_attendees` check-ins.
    big: uuid::Uuid,
    users: Arc<Vec<(uuid::Uuid, String)>>,
    events: Vec<uuid::Uuid>,
    insert_reference: PgbenchResult,
    join_reference: PgbenchResult,
    argon2: Argon2Result,
    idle_rss_mib: Vec<(String, f64)>,
}

pub async fn run(config: BenchConfig) -> anyhow::Result<Report> {
    let mut bench = Bench::prepare(config).await?;
    let mut scenarios = Vec::new();
    if bench.config.runs("1") {
        scenarios.push(bench.door_list().await?);
    }
    if bench.config.runs("2") || bench.config.runs("2b") {
        scenarios.extend(bench.subgraph_fetches().await?);
    }
    if bench.config.runs("3a") || bench.config.runs("3b") {
        scenarios.extend(bench.check_ins().await?);
    }
    let mut health_during_logins = None;
    if bench.config.runs("4") {
        let (scenario, health) = bench.logins().await?;
        scenarios.push(scenario);
        health_during_logins = Some(health);
    }
    if bench.config.runs("5") {
        scenarios.push(bench.events_with_stats().await?);
    }
    if bench.config.runs("6") {
        scenarios.push(bench.mixed().await?);
    }
    if bench.config.runs("7a") {
        let single = scenarios.iter().find(|s| s.name.starts_with("3b.")).map(|s| s.measured.load.requests_per_second);
        scenarios.push(bench.offline_uploads(single).await?);
    }
    if bench.config.runs("7b") {
        scenarios.push(bench.entries_and_exits().await?);
    }
    let mut live = None;
    if bench.config.runs("8") {
        let subscribers = if bench.config.smoke { 20 } else { 1_000 };
        live = Some(bench.live_updates(subscribers).await?);
    }
    bench.probes.admin.close().await?;
    finish(bench.stack);
    Ok(Report {
        machine: machine(),
        scenarios,
        insert_reference: bench.insert_reference,
        join_reference: bench.join_reference,
        argon2: bench.argon2,
        health_during_logins,
        idle_rss_mib: bench.idle_rss_mib,
        live,
    })
}

impl Bench {
    /// Starts and seeds the stack, then measures the references on it while it is quiet.
    async fn prepare(config: BenchConfig) -> anyhow::Result<Self> {
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
            &format!(
                "SELECT u.email FROM attendance_schema.attendances a JOIN auth_schema.users u ON u.id = a.user_id \
                 WHERE a.event_id = '{big}' ORDER BY a.check_in_time, a.id LIMIT 1000;\n"
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
    async fn repeat(
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

    fn join_reference_text(&self) -> String {
        format!("pgbench 1,000-row join: {:.2} ms", self.join_reference.latency_average_ms)
    }

    /// 1. A 1,000-attendee door list with emails, through the router.
    async fn door_list(&self) -> anyhow::Result<Scenario> {
        let body = json!({"query": BIG_ATTENDANCE, "variables": {"id": self.big}});
        let load = self.repeat(&self.organizer, &self.router, self.config.clients(8), body).await?;
        let ratio = load.load.p50_ms / self.join_reference.latency_average_ms;
        Ok(Scenario {
            name: "1. door list of 1,000 with emails (router)".into(),
            reference: self.join_reference_text(),
            ratio: Some(ratio),
            target: "≤ 4 SQL/request; p50 ≤ 5× join".into(),
            met: Some(load.sql_per_request <= 4.0 && ratio <= 5.0),
            measured: load,
        })
    }

    /// 2 and 2b. The router's two fetches for that list, each straight from its
    /// subgraph: the attendance list (no user data), then its 1,000 users from auth.
    async fn subgraph_fetches(&self) -> anyhow::Result<Vec<Scenario>> {
        let representations: Vec<serde_json::Value> = self.users[..self.config.big_attendees.min(self.users.len())]
            .iter()
            .map(|(id, _)| json!({"__typename": "User", "id": id}))
            .collect();
        let fetches = [
            (
                "2. same list, attendance subgraph only",
                ServiceKind::Attendance,
                json!({
                    "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { attendance(first: 1000) { nodes { id userId } } } } }",
                    "variables": {"r": [{"__typename": "Event", "id": self.big}]},
                }),
                "router overhead = scenario 1 / scenario 2",
            ),
            (
                "2b. its 1,000 users, auth subgraph only",
                ServiceKind::Auth,
                json!({
                    "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { email } } }",
                    "variables": {"r": representations},
                }),
                "router overhead = scenario 1 / (2 + 2b)",
            ),
        ];
        let mut scenarios = Vec::new();
        for (name, kind, body, target) in fetches {
            if !self.config.runs(scenario_id(name)) {
                continue;
            }
            let url = format!("{}/graphql", self.stack.service_url(kind));
            let load = self.repeat(&self.organizer, &url, self.config.clients(8), body).await?;
            scenarios.push(Scenario {
                name: name.into(),
                reference: self.join_reference_text(),
                ratio: Some(load.load.p50_ms / self.join_reference.latency_average_ms),
                target: target.into(),
                met: None,
                measured: load,
            });
        }
        Ok(scenarios)
    }

    /// Scenario 3: check-ins at 32 clients, through the router and through
    /// REST. Every check-in is a new (event, person) pair: each scenario walks
    /// its own half of the events (not the big one), person by person.
    async fn check_ins(&self) -> anyhow::Result<Vec<Scenario>> {
        let attendees = self.users.len() - 5; // the last five are seeded on every event
        let halves = (self.events.len() - 1) / 2;
        let mut scenarios = Vec::new();
        for (name, first_event, via_router) in
            [("3a. check-in (router)", 1, true), ("3b. check-in (REST POST /attendance)", 1 + halves, false)]
        {
            if !self.config.runs(scenario_id(name)) {
                continue;
            }
            let events: Arc<Vec<uuid::Uuid>> = Arc::new(self.events[first_event..first_event + halves].to_vec());
            let (http, users, router) = (self.http.clone(), self.users.clone(), self.router.clone());
            let rest_url = format!("{}/attendance", self.stack.service_url(ServiceKind::Attendance));
            let load = measure(&self.probes, self.config.clients(32), self.config.duration, move |i| {
                let (http, router, rest_url) = (http.clone(), router.clone(), rest_url.clone());
                let user = users[i as usize % attendees].0;
                let event = events[(i as usize / attendees) % events.len()];
                async move {
                    if via_router {
                        let body = json!({"query": CHECK_IN, "variables": {"e": event, "u": user}});
                        graphql(&http, &router, &body).await
                    } else {
                        rest(http.post(&rest_url).json(&json!({"eventId": event, "userId": user}))).await
                    }
                }
            })
            .await?;
            let ratio = load.load.requests_per_second / self.insert_reference.transactions_per_second;
            scenarios.push(Scenario {
                name: name.into(),
                reference: format!("pgbench single INSERT: {:.0} tps", self.insert_reference.transactions_per_second),
                ratio: Some(ratio),
                target: "≥ 50% of INSERT tps, 0 errors".into(),
                met: Some(ratio >= 0.5 && load.load.errors == 0),
                measured: load,
            });
        }
        Ok(scenarios)
    }

    /// 4. Logins (argon2-bound), with /health/live probed alongside.
    async fn logins(&self) -> anyhow::Result<(Scenario, LoadResult)> {
        let login_url = format!("{}/auth/login", self.stack.service_url(ServiceKind::Auth));
        let live_url = format!("{}/health/live", self.stack.service_url(ServiceKind::Auth));
        let probe = tokio::spawn({
            let (http, duration) = (self.http.clone(), self.config.duration);
            async move {
                // One probe every 20 ms; only the request itself is timed.
                drive_paced(1, duration, Duration::from_millis(20), move |_| {
                    let (http, url) = (http.clone(), live_url.clone());
                    async move { rest(http.get(&url)).await }
                })
                .await
            }
        });
        let load = measure(&self.probes, self.config.clients(16), self.config.duration, {
            let (http, users) = (self.http.clone(), self.users.clone());
            move |i| {
                let (http, url) = (http.clone(), login_url.clone());
                let email = users[i as usize % users.len()].1.clone();
                async move { rest(http.post(&url).json(&json!({"email": email, "password": seed::PASSWORD}))).await }
            }
        })
        .await?;
        let health = probe.await?;
        let ratio = load.load.requests_per_second / self.argon2.hashes_per_second;
        let scenario = Scenario {
            name: "4. login (REST)".into(),
            reference: format!(
                "argon2id × {} cores: {:.1} hashes/s",
                self.argon2.threads, self.argon2.hashes_per_second
            ),
            ratio: Some(ratio),
            target: format!("≥ 80% of argon2; /health/live p99 {:.1} ms < 10 ms", health.p99_ms),
            met: Some(ratio >= 0.8 && health.p99_ms < 10.0),
            measured: load,
        };
        Ok((scenario, health))
    }

    /// 5. A page of events with their attendance stats, at two page sizes.
    async fn events_with_stats(&self) -> anyhow::Result<Scenario> {
        let small = json!({"query": EVENTS_WITH_STATS, "variables": {"n": 10}});
        let small = self.repeat(&self.http, &self.router, self.config.clients(8), small).await?;
        let large = json!({"query": EVENTS_WITH_STATS, "variables": {"n": 100}});
        let large = self.repeat(&self.http, &self.router, self.config.clients(8), large).await?;
        Ok(Scenario {
            name: "5. events(first: 100) with attendanceStats (router)".into(),
            reference: format!("first: 10 costs {:.2} SQL/request", small.sql_per_request),
            ratio: Some(large.sql_per_request / small.sql_per_request.max(f64::EPSILON)),
            // One statement for the page, one for all the stats: at most two
            // per request whatever the page size (concurrent requests may
            // even share a batch, making it less).
            target: "SQL/request constant (≤ 2) in the number of events".into(),
            met: Some(small.sql_per_request <= 2.0 + 1e-9 && large.sql_per_request <= 2.0 + 1e-9),
            measured: large,
        })
    }

    /// 6. Mixed: 4 reads (a door list of 50 with emails) for every check-in.
    async fn mixed(&self) -> anyhow::Result<Scenario> {
        let (big, users) = (self.big, self.users.clone());
        let next_user = Arc::new(AtomicU64::new(self.config.big_attendees as u64));
        let (http, router) = (self.organizer.clone(), self.router.clone());
        let load = measure(&self.probes, self.config.clients(16), self.config.duration, move |i| {
            let (http, router) = (http.clone(), router.clone());
            let body = if i % 5 == 4 {
                // The big event's seeded attendees are the first ones: start after them.
                let user = users[(next_user.fetch_add(1, Ordering::Relaxed) as usize) % (users.len() - 5)].0;
                json!({"query": CHECK_IN, "variables": {"e": big, "u": user}})
            } else {
                json!({"query": DOOR_LIST_OF_50, "variables": {"id": big}})
            };
            async move { graphql(&http, &router, &body).await }
        })
        .await?;
        Ok(Scenario {
            name: "6. mixed 80% reads / 20% check-ins (router)".into(),
            reference: "-".into(),
            ratio: None,
            target: "0 errors".into(),
            met: Some(load.load.errors == 0),
            measured: load,
        })
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
fn scenario_id(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// Runs a load and counts the services' SQL statements meanwhile (top-level
/// statements: a batch of check-ins is one; the services' own database
/// health pings are not counted).
async fn measure<F, Fut>(probes: &Probes, clients: usize, duration: Duration, request: F) -> anyhow::Result<Measured>
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
struct Probes {
    admin: DatabaseConnection,
    cpu: cpu::CpuMeter,
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

/// Resident memory of the process listening on `port` (found through /proc).
fn rss_mib(port: u16) -> Option<f64> {
    let pid = listening_pid(port)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The process with a listening TCP socket on `port`: the socket's inode from
/// /proc/net/tcp, then the process holding that inode.
fn listening_pid(port: u16) -> Option<u32> {
    let wanted = format!(":{port:04X}");
    let inode = ["/proc/net/tcp", "/proc/net/tcp6"].iter().find_map(|table| {
        std::fs::read_to_string(table).ok()?.lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.get(1)?.ends_with(&wanted) && fields.get(3) == Some(&"0A"))
                .then(|| fields.get(9).map(|s| s.to_string()))?
        })
    })?;
    let socket = format!("socket:[{inode}]");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let fds = std::fs::read_dir(entry.path().join("fd")).ok()?;
        fds.flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.to_str() == Some(socket.as_str())))
            .then_some(pid)
    })
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores, {cpu}")
}

impl Report {
    /// A Markdown table, as in the README.
    pub fn table(&self) -> String {
        let mut out = format!("Machine: {}\n\n", self.machine);
        out.push_str("| scenario | clients | req/s | p50 ms | p95 ms | p99 ms | errors | SQL/req | reference | ratio | target | met |\n");
        out.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for s in &self.scenarios {
            let l = &s.measured.load;
            out.push_str(&format!(
                "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.2} | {} | {} | {} | {} |\n",
                s.name,
                l.clients,
                l.requests_per_second,
                l.p50_ms,
                l.p95_ms,
                l.p99_ms,
                l.errors,
                s.measured.sql_per_request,
                s.reference,
                s.ratio.map(|r| format!("{r:.2}")).unwrap_or_else(|| "-".into()),
                s.target,
                match s.met {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "-",
                }
            ));
        }
        out.push_str(
            "\nCPU per request, in ms, by process (user + system time during the scenario; `client` is the \
             load driver itself):\n\n",
        );
        let names: Vec<&str> = self
            .scenarios
            .first()
            .map(|s| s.measured.cpu_ms_per_request.0.iter().map(|(n, _)| n.as_str()).collect())
            .unwrap_or_default();
        out.push_str(&format!("| scenario | {} | total |\n", names.join(" | ")));
        out.push_str(&format!("|---|{}---|\n", "---|".repeat(names.len())));
        for s in &self.scenarios {
            let cells: Vec<String> = s.measured.cpu_ms_per_request.0.iter().map(|(_, ms)| format!("{ms:.2}")).collect();
            out.push_str(&format!(
                "| {} | {} | {:.2} |\n",
                s.name,
                cells.join(" | "),
                s.measured.cpu_ms_per_request.total()
            ));
        }
        let rss: Vec<String> = self.idle_rss_mib.iter().map(|(n, m)| format!("{n} {m:.1} MiB")).collect();
        out.push_str(&format!("\nIdle RSS (target < 30 MiB each): {}\n", rss.join(", ")));
        if let Some(live) = &self.live {
            out.push_str(&format!(
                "\n8. live updates (SSE): {} subscribers on {} attendance instances, {} check-ins at {:.0}/s: \
                 acknowledgement to update p50 {:.1} ms, p99 {:.1} ms (target < 250 ms); {} subscribers off the \
                 table's final count; {:.1} KiB per idle subscriber (target < 50 KiB)\n",
                live.subscribers,
                live.instances,
                live.check_ins,
                live.check_ins_per_second,
                live.p50_ms,
                live.p99_ms,
                live.wrong_final_state,
                live.kib_per_idle_subscriber
            ));
        }
        out
    }

    pub fn errors(&self) -> u64 {
        self.scenarios.iter().map(|s| s.measured.load.errors).sum::<u64>()
            + self.health_during_logins.as_ref().map_or(0, |h| h.errors)
    }
}
