//! The whole system as separate processes: PostgreSQL, bootstrap and
//! migrations, the three service binaries and the Apollo Router. One
//! implementation serves `cargo xtask dev` and the end-to-end tests, so the
//! tests exercise the same start-up path users run.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use common::ServiceKind;
use migration::bootstrap::{bootstrap, BootstrapOptions};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

use crate::{
    cluster::{ClusterOptions, PrivateCluster},
    process::{Output, Supervised},
};

/// Where the database comes from.
#[derive(Debug, Clone)]
pub enum DatabaseChoice {
    /// A superuser URL of an existing server (`DATABASE_ADMIN_URL`).
    External(String),
    /// A private cluster in this directory, kept between runs, on this port.
    Persistent { data_dir: PathBuf, port: u16 },
    /// A private throwaway cluster.
    Ephemeral,
}

#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub auth: u16,
    pub event: u16,
    pub attendance: u16,
    pub router: u16,
    pub router_health: u16,
    /// Where Prometheus scrapes the router (`ROUTER_METRICS_LISTEN`).
    pub router_metrics: u16,
    /// Where it scrapes each service (`METRICS_LISTEN`), in `ServiceKind::ALL` order.
    pub service_metrics: [u16; 3],
}

impl Ports {
    /// The ports of the API contract, and the metrics ports `docs/operations.md` names.
    pub fn standard() -> Self {
        Ports {
            auth: 3001,
            event: 3002,
            attendance: 3004,
            router: 4000,
            router_health: 8088,
            router_metrics: 9090,
            service_metrics: [9464, 9465, 9466],
        }
    }

    /// Free ports, for tests running side by side ([`crate::free_ports`]).
    pub fn random() -> anyhow::Result<Self> {
        let ports = crate::free_ports(9)?;
        Ok(Ports {
            auth: ports[0],
            event: ports[1],
            attendance: ports[2],
            router: ports[3],
            router_health: ports[4],
            router_metrics: ports[5],
            service_metrics: [ports[6], ports[7], ports[8]],
        })
    }

    /// Where `kind`'s metrics are served.
    pub fn metrics(&self, kind: ServiceKind) -> u16 {
        self.service_metrics[kind_index(kind)]
    }

    pub fn service(&self, kind: ServiceKind) -> u16 {
        match kind {
            ServiceKind::Auth => self.auth,
            ServiceKind::Event => self.event,
            ServiceKind::Attendance => self.attendance,
        }
    }
}

#[derive(Debug, Clone)]
pub struct StackConfig {
    /// Directory of the service binaries (`target/debug`).
    pub bin_dir: PathBuf,
    pub router_bin: PathBuf,
    pub router_config: PathBuf,
    pub supergraph: PathBuf,
    pub database: DatabaseChoice,
    pub database_name: String,
    /// The service users' passwords.
    pub passwords: Vec<(ServiceKind, String)>,
    /// Where auth keeps its development signing key (and the attendance
    /// service its ticket key, beside it).
    pub jwt_key_file: PathBuf,
    pub ports: Ports,
    pub app_env: String,
    pub output: Output,
    /// Extra variables for every service.
    pub service_env: Vec<(String, String)>,
    /// Extra variables for the router (e.g. `ROUTER_TRUSTED_PROXIES`).
    pub router_env: Vec<(String, String)>,
    /// Extra settings of a private PostgreSQL (`name=value`).
    pub pg_settings: Vec<String>,
    /// The services reach the database through PgBouncer in transaction mode
    /// (`pgbouncer=true`, `DIRECT_URL` for LISTEN), as a pooled deployment does.
    pub pooled: bool,
    /// Two instances of each service and two routers behind HAProxy, which
    /// listens on `ports` (so every URL of the stack reaches a balancer, as in
    /// a replicated deployment); the database through PgBouncer.
    pub replicated: bool,
}

impl StackConfig {
    /// Where the attendance service keeps its development ticket key: beside auth's.
    pub fn ticket_key_file(&self) -> PathBuf {
        self.jwt_key_file.with_file_name("ticket-signing-key.pem")
    }
}

/// Where the instances of a replicated stack listen, behind HAProxy.
struct Replicated {
    /// Each kind's two instances, by [`ServiceKind::ALL`] order.
    instances: [(u16, u16); 3],
    /// The two routers: client port and health port.
    routers: [(u16, u16); 2],
    _balancer: crate::haproxy::HaProxy,
}

fn kind_index(kind: ServiceKind) -> usize {
    ServiceKind::ALL.iter().position(|k| *k == kind).expect("a kind")
}

pub struct Stack {
    pub config: StackConfig,
    admin_url: String,
    /// The credential the router and the services share (`SERVICE_SECRET`),
    /// new for every stack.
    service_secret: String,
    services: Vec<(ServiceKind, Supervised)>,
    /// Second instances of services, by kind and port.
    replicas: Vec<(ServiceKind, u16, Supervised)>,
    router: Option<Supervised>,
    /// A second router, on its own ports.
    second_router: Option<Supervised>,
    // Dropped after the servers above, before the database.
    pooler: Option<crate::pooler::PgBouncer>,
    replicated: Option<Replicated>,
    // Dropped last: the servers above stop before the database does.
    _cluster: Option<PrivateCluster>,
}

const READY_TIMEOUT: Duration = Duration::from_secs(90);

impl Stack {
    pub async fn start(config: StackConfig) -> anyhow::Result<Stack> {
        let (cluster, server_admin_url) = match &config.database {
            DatabaseChoice::External(url) => (None, url.clone()),
            DatabaseChoice::Persistent { data_dir, port } => {
                let cluster = PrivateCluster::start(ClusterOptions::persistent(data_dir.clone(), *port))?;
                let url = cluster.admin_url();
                (Some(cluster), url)
            }
            DatabaseChoice::Ephemeral => {
                let options = ClusterOptions { settings: config.pg_settings.clone(), ..ClusterOptions::ephemeral() };
                let cluster = PrivateCluster::start(options)?;
                let url = cluster.admin_url();
                (Some(cluster), url)
            }
        };
        let admin_url = with_database(&server_admin_url, &config.database_name)?;
        ensure_database(&server_admin_url, &config.database_name).await?;
        // The stack's database is its own (`.dev/` or a test's): `public` too.
        let options =
            BootstrapOptions { passwords: config.passwords.clone(), generate_missing: false, revoke_public: true };
        let report = bootstrap(&admin_url, &options).await.context("bootstrap")?;
        for action in &report.actions {
            eprintln!("bootstrap: {action}");
        }
        let service_secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let replicated = match config.replicated {
            false => None,
            true => Some(start_balancer(&config.ports).await?),
        };
        let pooler = match config.pooled || config.replicated {
            false => None,
            true => {
                let port = url::Url::parse(&admin_url)?.port().unwrap_or(5432);
                let logins: Vec<(String, String)> =
                    config.passwords.iter().map(|(k, p)| (k.db_user().to_owned(), p.clone())).collect();
                let bouncer = tokio::task::spawn_blocking(move || {
                    let logins: Vec<(&str, &str)> = logins.iter().map(|(u, p)| (u.as_str(), p.as_str())).collect();
                    crate::pooler::PgBouncer::start(port, &logins, 10)
                })
                .await??;
                Some(bouncer)
            }
        };
        let mut stack = Stack {
            config,
            admin_url,
            service_secret,
            services: Vec::new(),
            replicas: Vec::new(),
            router: None,
            second_router: None,
            pooler,
            replicated,
            _cluster: cluster,
        };
        for kind in ServiceKind::ALL {
            let settings = common::config::DatabaseSettings::parse("DATABASE_URL", &stack.database_url(kind))?;
            let db = common::db::connect(&settings).await.with_context(|| format!("connect as {}", kind.db_user()))?;
            migration::apply(kind, &db.conn).await.with_context(|| format!("migrate {kind}"))?;
            db.conn.close().await?;
        }
        for kind in ServiceKind::ALL {
            stack.start_service(kind).await?;
        }
        stack.start_router().await?;
        if let Some((port, health)) = stack.replicated.as_ref().map(|r| r.routers[1]) {
            stack.start_second_router(port, health).await?;
            let query = serde_json::json!({"query": "{ __typename }"});
            wait_balanced(&format!("{}/", stack.router_url()), Some(query)).await?;
        }
        Ok(stack)
    }

    /// Where the first instance of `kind` listens (behind HAProxy when replicated).
    fn instance_port(&self, kind: ServiceKind) -> u16 {
        match &self.replicated {
            Some(r) => r.instances[kind_index(kind)].0,
            None => self.config.ports.service(kind),
        }
    }

    /// Every instance of `kind`, bypassing any balancer.
    pub fn instance_urls(&self, kind: ServiceKind) -> Vec<String> {
        let mut ports = vec![self.instance_port(kind)];
        ports.extend(self.replicas.iter().filter(|(k, _, _)| *k == kind).map(|(_, port, _)| *port));
        ports.into_iter().map(|port| format!("http://127.0.0.1:{port}")).collect()
    }

    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// The service credential, for tests that call a subgraph as the router does.
    pub fn service_secret(&self) -> &str {
        &self.service_secret
    }

    /// The service's `DATABASE_URL` in the guide's form.
    pub fn database_url(&self, kind: ServiceKind) -> String {
        let password = self.config.passwords.iter().find(|(k, _)| *k == kind).map(|(_, p)| p.as_str()).unwrap_or("");
        crate::service_database_url(&self.admin_url, kind, password)
    }

    pub fn service_url(&self, kind: ServiceKind) -> String {
        format!("http://127.0.0.1:{}", self.config.ports.service(kind))
    }

    pub fn router_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.config.ports.router)
    }

    /// The (first) router's health endpoint.
    pub fn router_health_url(&self) -> String {
        let health = self.replicated.as_ref().map_or(self.config.ports.router_health, |r| r.routers[0].1);
        format!("http://127.0.0.1:{health}/health")
    }

    fn service_env(&self, kind: ServiceKind) -> Vec<(String, String)> {
        let auth = self.service_url(ServiceKind::Auth);
        let database_url = match &self.pooler {
            Some(pooler) => pooler.pooled_url(&self.database_url(kind)),
            None => self.database_url(kind),
        };
        let mut env = vec![
            ("DATABASE_URL".to_owned(), database_url),
            ("DIRECT_URL".to_owned(), self.database_url(kind)),
            ("PORT".to_owned(), self.instance_port(kind).to_string()),
            ("HOST".to_owned(), "127.0.0.1".to_owned()),
            ("METRICS_LISTEN".to_owned(), format!("127.0.0.1:{}", self.config.ports.metrics(kind))),
            ("APP_ENV".to_owned(), self.config.app_env.clone()),
            ("SERVICE_SECRET".to_owned(), self.service_secret.clone()),
            ("RUN_MIGRATIONS".to_owned(), "false".to_owned()),
            ("AUTH_JWKS_URL".to_owned(), format!("{auth}/.well-known/jwks.json")),
            ("AUTH_SERVICE_URL".to_owned(), auth),
            ("EVENT_SERVICE_URL".to_owned(), self.service_url(ServiceKind::Event)),
            ("ATTENDANCE_SERVICE_URL".to_owned(), self.service_url(ServiceKind::Attendance)),
            ("JWT_DEV_KEY_FILE".to_owned(), self.config.jwt_key_file.display().to_string()),
            ("TICKET_DEV_KEY_FILE".to_owned(), self.config.ticket_key_file().display().to_string()),
            ("RUST_LOG".to_owned(), std::env::var("RUST_LOG").unwrap_or_else(|_| "info,sqlx=warn".to_owned())),
        ];
        if let Ok(path) = std::env::var("PATH") {
            env.push(("PATH".to_owned(), path));
        }
        env.extend(self.config.service_env.iter().cloned());
        env
    }

    /// Starts (or restarts) one service, every instance of it when
    /// replicated, and waits until it is ready.
    pub async fn start_service(&mut self, kind: ServiceKind) -> anyhow::Result<()> {
        self.stop_service(kind);
        let binary = self.config.bin_dir.join(format!("{}-service", kind.name()));
        let process = Supervised::spawn(kind.name(), &binary, &["serve"], &self.service_env(kind), self.config.output)?;
        self.services.push((kind, process));
        let url = format!("http://127.0.0.1:{}/health/ready", self.instance_port(kind));
        self.wait_ready(kind.name(), &url).await?;
        if let Some(port) = self.replicated.as_ref().map(|r| r.instances[kind_index(kind)].1) {
            self.start_replica(kind, port).await?;
            let url = format!("{}/health/ready", self.service_url(kind));
            wait_balanced(&url, None).await?;
        }
        Ok(())
    }

    /// Another instance of `kind` on `port`, with the same database and
    /// settings (a replica behind a load balancer); returns its base URL.
    pub async fn start_replica(&mut self, kind: ServiceKind, port: u16) -> anyhow::Result<String> {
        let binary = self.config.bin_dir.join(format!("{}-service", kind.name()));
        let mut env = self.service_env(kind);
        // A replica's metrics are not scraped: its port would be the first instance's.
        env.retain(|(name, _)| name != "PORT" && name != "METRICS_LISTEN");
        env.push(("PORT".to_owned(), port.to_string()));
        let name = format!("{}-replica", kind.name());
        let process = Supervised::spawn(&name, &binary, &["serve"], &env, self.config.output)?;
        self.replicas.push((kind, port, process));
        let url = format!("http://127.0.0.1:{port}");
        self.wait_ready(&name, &format!("{url}/health/ready")).await?;
        Ok(url)
    }

    /// Kills a replica of `kind` with SIGKILL, as a crash would; its port.
    pub fn crash_replica(&mut self, kind: ServiceKind) -> Option<u16> {
        let at = self.replicas.iter().position(|(k, _, _)| *k == kind)?;
        let (_, port, mut process) = self.replicas.remove(at);
        process.kill();
        Some(port)
    }

    /// Stops a replica of `kind` gracefully; its port.
    pub fn stop_replica(&mut self, kind: ServiceKind) -> Option<u16> {
        let at = self.replicas.iter().position(|(k, _, _)| *k == kind)?;
        let (_, port, mut process) = self.replicas.remove(at);
        process.stop();
        Some(port)
    }

    /// Starts a second router on `port` (health on `health`), configured as the first.
    pub async fn start_second_router(&mut self, port: u16, health: u16) -> anyhow::Result<()> {
        let metrics = crate::free_ports(1)?[0];
        let process = self.spawn_router("router-2", port, health, metrics)?;
        self.second_router = Some(process);
        self.wait_ready("router-2", &format!("http://127.0.0.1:{health}/health?ready")).await
    }

    /// Kills the second router with SIGKILL; its ports, to start it again.
    pub fn crash_second_router(&mut self) -> Option<(u16, u16)> {
        let mut process = self.second_router.take()?;
        process.kill();
        self.replicated.as_ref().map(|r| r.routers[1])
    }

    /// Kills one service with SIGKILL, as a crash would.
    pub fn crash_service(&mut self, kind: ServiceKind) {
        if let Some(mut process) = self.take_service(kind) {
            process.kill();
        }
        while self.crash_replica(kind).is_some() {}
    }

    /// Stops one service gracefully (as SIGTERM does in production), every
    /// instance of it.
    pub fn stop_service(&mut self, kind: ServiceKind) {
        if let Some(mut process) = self.take_service(kind) {
            process.stop();
        }
        while self.stop_replica(kind).is_some() {}
    }

    /// Removes one service's process from the stack, if it runs.
    fn take_service(&mut self, kind: ServiceKind) -> Option<Supervised> {
        let index = self.services.iter().position(|(k, _)| *k == kind)?;
        Some(self.services.remove(index).1)
    }

    async fn start_router(&mut self) -> anyhow::Result<()> {
        let (port, health) = match &self.replicated {
            Some(r) => r.routers[0],
            None => (self.config.ports.router, self.config.ports.router_health),
        };
        self.router = Some(self.spawn_router("router", port, health, self.config.ports.router_metrics)?);
        let url = format!("{}?ready", self.router_health_url());
        self.wait_ready("router", &url).await
    }

    fn spawn_router(&self, name: &str, port: u16, health: u16, metrics: u16) -> anyhow::Result<Supervised> {
        let mut env = vec![
            ("ROUTER_LISTEN".to_owned(), format!("127.0.0.1:{port}")),
            ("ROUTER_HEALTH_LISTEN".to_owned(), format!("127.0.0.1:{health}")),
            ("ROUTER_METRICS_LISTEN".to_owned(), format!("127.0.0.1:{metrics}")),
            ("APOLLO_TELEMETRY_DISABLED".to_owned(), "true".to_owned()),
            ("SERVICE_SECRET".to_owned(), self.service_secret.clone()),
            // The development playground's files (`router.yaml`; a production config ignores it).
            ("PLAYGROUND_ASSETS".to_owned(), workspace_root().join("playground/dist").display().to_string()),
        ];
        for kind in ServiceKind::ALL {
            env.push((format!("{}_SUBGRAPH_URL", kind.env_prefix()), format!("{}/graphql", self.service_url(kind))));
        }
        if let Ok(path) = std::env::var("PATH") {
            env.push(("PATH".to_owned(), path));
        }
        env.extend(self.config.router_env.iter().cloned());
        let config = self.config.router_config.display().to_string();
        let supergraph = self.config.supergraph.display().to_string();
        let args = ["--config", config.as_str(), "--supergraph", supergraph.as_str()];
        Supervised::spawn(name, &self.config.router_bin, &args, &env, self.config.output)
    }

    async fn wait_ready(&mut self, name: &str, url: &str) -> anyhow::Result<()> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(response) = http.get(url).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            let process = match name {
                "router" => self.router.as_mut(),
                "router-2" => self.second_router.as_mut(),
                _ => self
                    .services
                    .iter_mut()
                    .map(|(_, p)| p)
                    .chain(self.replicas.iter_mut().map(|(_, _, p)| p))
                    .find(|p| p.name == name),
            };
            let Some(process) = process else {
                bail!("{name} is not one of this stack's processes");
            };
            if !process.is_running() {
                // Its output's last lines reach us a moment after it exits.
                tokio::time::sleep(Duration::from_millis(200)).await;
                bail!("{name} exited while starting; its last output:\n{}", process.last_lines());
            }
            if Instant::now() > deadline {
                bail!("{name} was not ready within {READY_TIMEOUT:?} ({url})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops everything: router, services, then the database.
    pub fn shutdown(mut self) {
        self.stop_all();
    }

    fn stop_all(&mut self) {
        for mut router in [self.router.take(), self.second_router.take()].into_iter().flatten() {
            router.stop();
        }
        for (_, _, mut process) in self.replicas.drain(..) {
            process.stop();
        }
        for (_, mut process) in self.services.drain(..) {
            process.stop();
        }
        self.pooler.take();
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn with_database(admin_url: &str, database: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(admin_url).context("DATABASE_ADMIN_URL is not a URL")?;
    url.set_path(&format!("/{database}"));
    Ok(url.into())
}

async fn ensure_database(server_admin_url: &str, name: &str) -> anyhow::Result<()> {
    if !common::config::is_identifier(name) {
        bail!("database name `{name}` must be a plain identifier");
    }
    let admin = Database::connect(server_admin_url).await.context("cannot connect as the database admin")?;
    let exists = admin
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 AS one FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await?
        .is_some();
    if !exists {
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
        eprintln!("created database {name}");
    }
    admin.close().await?;
    Ok(())
}

/// `target/` of this workspace (or `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// The checkout this process runs from. Found at run time (cargo sets
/// `CARGO_MANIFEST_DIR` for `cargo run` and `cargo test`; otherwise the
/// current directory), because a build reused from a target directory shared
/// between checkouts carries the path of the checkout that compiled it.
pub fn workspace_root() -> PathBuf {
    let compiled_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let starts = [std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from), std::env::current_dir().ok()];
    starts
        .into_iter()
        .flatten()
        .find_map(|start| start.ancestors().find(|dir| is_workspace_root(dir)).map(Path::to_path_buf))
        .unwrap_or(compiled_in)
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// This workspace's top: its manifest lists the subgraphs.
fn is_workspace_root(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|manifest| manifest.contains("[workspace]") && manifest.contains("subgraphs/test-support"))
}

/// The router is built in release mode, in its own target directory so its
/// long build never blocks (or is blocked by) the rest of the workspace.
pub fn router_target_dir() -> PathBuf {
    target_dir().join("router")
}

pub fn router_binary() -> PathBuf {
    router_target_dir().join("release").join("titiktemu-router")
}

/// HAProxy on the stack's public ports, in front of instances and routers on
/// ports of their own; servers join as their health checks pass.
async fn start_balancer(public: &Ports) -> anyhow::Result<Replicated> {
    let free = crate::free_ports(10)?;
    let instances = [(free[0], free[1]), (free[2], free[3]), (free[4], free[5])];
    let routers = [(free[6], free[7]), (free[8], free[9])];
    let mut frontends: Vec<crate::haproxy::Frontend> = ServiceKind::ALL
        .into_iter()
        .map(|kind| {
            let (a, b) = instances[kind_index(kind)];
            crate::haproxy::Frontend {
                listen: public.service(kind),
                servers: vec![(a, a), (b, b)],
                health_path: "/health/ready",
            }
        })
        .collect();
    frontends.push(crate::haproxy::Frontend {
        listen: public.router,
        servers: routers.to_vec(),
        health_path: "/health?ready",
    });
    let balancer = tokio::task::spawn_blocking(move || crate::haproxy::HaProxy::start(&frontends)).await??;
    Ok(Replicated { instances, routers, _balancer: balancer })
}

/// Until HAProxy has a server up behind `url` (its health checks pass a
/// server after two checks, 300 ms apart): GET, or POST `body`.
async fn wait_balanced(url: &str, body: Option<serde_json::Value>) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let request = match &body {
            Some(body) => http.post(url).json(body),
            None => http.get(url),
        };
        if request.send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("HAProxy had no server up for {url} within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
