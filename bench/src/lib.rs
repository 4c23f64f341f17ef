//! The benchmark: starts the stack as `cargo xtask dev` does, seeds data,
//! drives each scenario over loopback and reports requests/s, latency
//! percentiles, errors and SQL statements per request, each next to a
//! reference measured in the same run (pgbench, argon2).
//!
//! One module per scenario: `door_list` (1, 2, 2b), `check_ins` (3a, 3b),
//! `logins` (4), `events` (5), `mixed` (6), `scans` (7a, 7b), `live` (8),
//! `registrations` (9a to 9e), `scale` (10a to 10f);
//! `bench` holds what they share and `report` the table.

mod bench;
mod check_ins;
pub mod cpu;
mod door_list;
mod events;
mod live;
pub mod load;
mod logins;
mod mixed;
mod procfs;
pub mod reference;
mod registrations;
pub mod replicas;
mod report;
mod scale;
mod scans;
pub mod seed;
pub mod soak;

use std::{path::PathBuf, time::Duration};

use common::ServiceKind;
use load::LoadResult;
use reference::{Argon2Result, PgbenchResult};
use serde::Serialize;
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
    /// What the stack exports while it runs (`--observability`).
    pub observability: Observability,
}

/// What the services and the router export during a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Observability {
    /// No metrics listener, no traces.
    Off,
    /// Prometheus metrics (as every stack runs by default), no traces.
    Metrics,
    /// Metrics, and traces sampled at 1% to a collector.
    MetricsAndTraces,
}

impl Observability {
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        match raw {
            "off" => Ok(Observability::Off),
            "metrics" => Ok(Observability::Metrics),
            "traces" => Ok(Observability::MetricsAndTraces),
            other => anyhow::bail!("--observability {other}: off, metrics or traces"),
        }
    }
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
            observability: Observability::Metrics,
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
            observability: Observability::Metrics,
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
    pub measured: bench::Measured,
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
    /// What the stack exported during the run.
    pub observability: Observability,
}

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
    let mut settings = stack_config(config)?;
    if config.observability == Observability::MetricsAndTraces {
        // The collector runs until the process ends (its task outlives this handle).
        let collector = test_support::otlp::Collector::start().await?;
        let endpoint = collector.endpoint();
        settings.service_env.extend([
            ("OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(), endpoint.clone()),
            ("OTEL_TRACES_SAMPLER_ARG".to_owned(), "0.01".to_owned()),
        ]);
        settings.router_env.extend([
            ("ROUTER_TRACING_ENABLED".to_owned(), "true".to_owned()),
            ("ROUTER_OTLP_ENDPOINT".to_owned(), endpoint),
            ("ROUTER_TRACES_SAMPLER".to_owned(), "0.01".to_owned()),
        ]);
    }
    let config = settings;
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
        service_env: [
            ("RUST_LOG", "warn"),
            // Scenario 8 opens a thousand live streams as one organizer.
            ("LIVE_SUBSCRIPTIONS_PER_USER", "100000"),
        ]
        .into_iter()
        // Off: an empty METRICS_LISTEN (set after the stack's own) is none.
        .chain((config.observability == Observability::Off).then_some(("METRICS_LISTEN", "")))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        router_env: match config.observability {
            Observability::Off => vec![("ROUTER_METRICS_ENABLED".to_owned(), "false".to_owned())],
            _ => Vec::new(),
        },
        pg_settings: vec!["shared_preload_libraries=pg_stat_statements".to_owned(), "max_connections=400".to_owned()],
        pooled: false,
        replicated: false,
    })
}

pub async fn run(config: BenchConfig) -> anyhow::Result<Report> {
    let mut bench = bench::Bench::prepare(config).await?;
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
    if ["9a", "9b", "9c", "9d", "9e"].into_iter().any(|id| bench.config.runs(id)) {
        scenarios.extend(bench.registrations().await?);
    }
    if ["10a", "10b", "10c", "10d", "10e", "10f"].into_iter().any(|id| bench.config.runs(id)) {
        scenarios.extend(bench.scale().await?);
    }
    bench.probes.admin.close().await?;
    finish(bench.stack);
    Ok(Report {
        machine: report::machine(),
        scenarios,
        insert_reference: bench.insert_reference,
        join_reference: bench.join_reference,
        argon2: bench.argon2,
        health_during_logins,
        idle_rss_mib: bench.idle_rss_mib,
        live,
        observability: bench.config.observability,
    })
}
