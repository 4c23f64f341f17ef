//! `cargo xtask dev`: the whole stack on this machine, in one command.
//!
//! Builds the services and the router, starts PostgreSQL (a private cluster
//! whose data survives restarts, or `DATABASE_ADMIN_URL`), runs bootstrap and
//! migrations, starts the three services and the Apollo Router, waits until
//! all are healthy, serves the web app and prints where everything is.
//! Ctrl-C stops it all.

use std::path::{Path, PathBuf};

use anyhow::Context;
use common::ServiceKind;
use test_support::{
    process::Output,
    stack::{self, DatabaseChoice, Ports, Stack, StackConfig},
};

/// Port of the private development PostgreSQL (not 5432, which a system
/// server may already use); override with `DEV_PG_PORT`.
const DEV_PG_PORT: u16 = 55432;

pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    crate::build_binaries(false)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(serve(root))
}

async fn serve(root: &Path) -> anyhow::Result<()> {
    let dev_dir = root.join(".dev");
    std::fs::create_dir_all(&dev_dir)?;
    let database = match std::env::var("DATABASE_ADMIN_URL").ok().filter(|u| !u.trim().is_empty()) {
        Some(url) => DatabaseChoice::External(url),
        None => {
            let port = std::env::var("DEV_PG_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(DEV_PG_PORT);
            DatabaseChoice::Persistent { data_dir: pg_data_dir(root, &dev_dir), port }
        }
    };
    let traces = Traces::start().await;
    let (service_env, router_env) = traces.env();
    let config = StackConfig {
        bin_dir: stack::target_dir().join("debug"),
        router_bin: stack::router_binary(),
        router_config: root.join("router/router.yaml"),
        supergraph: root.join("supergraph.graphql"),
        database: database.clone(),
        database_name: "titiktemu".to_owned(),
        passwords: dev_passwords(&dev_dir.join("db-passwords.env"))?,
        jwt_key_file: dev_dir.join("jwt-signing-key.pem"),
        ports: Ports::standard(),
        app_env: "development".to_owned(),
        output: Output::Prefixed,
        service_env,
        router_env,
        pg_settings: Vec::new(),
        pooled: false,
        replicated: false,
    };
    // The playground's files come from npm through its lockfile; without
    // them (no registry, no cache) the router serves a page saying so.
    if let Err(e) = test_support::npm::ready(&root.join("playground"), true) {
        eprintln!("warning: the playground was not built ({e:#}); the router will say how to build it");
    }
    let stack = Stack::start(config).await?;
    let web = match crate::web::serve(root).await {
        Ok(address) => address,
        Err(e) => format!("not started: {e:#}"),
    };
    let where_data = match &database {
        DatabaseChoice::Persistent { data_dir, port } => {
            format!("127.0.0.1:{port}, data in {}", data_dir.display())
        }
        DatabaseChoice::External(_) => "DATABASE_ADMIN_URL".to_owned(),
        DatabaseChoice::Ephemeral => "throwaway".to_owned(),
    };
    eprintln!(
        r#"
TitikTemu is up.
  web app                  {web}   (attendees, the door, organizers)
  GraphQL (Apollo Router)  {router}/   (open it in a browser: GraphiQL, served from local files)
  router health            {health}
  auth                     {auth}   REST /auth/*, GraphQL /graphql
  event                    {event}   REST /events*, GraphQL /graphql
  attendance               {attendance}   REST /attendance*, GraphQL /graphql
  PostgreSQL               {where_data}
  metrics (Prometheus)     router http://127.0.0.1:9090/metrics · services :9464 :9465 :9466 /metrics
  traces (OTLP/HTTP)       {traces}

Try:
  curl -X POST {auth}/auth/register -H "Content-Type: application/json" -d '{{"email":"user@example.com","password":"securepass"}}'
  curl -X POST {router}/ -H "Content-Type: application/json" -d '{{"query":"{{ events {{ totalCount nodes {{ title }} }} }}"}}'

Ctrl-C stops everything (data is kept).
"#,
        router = stack.router_url(),
        health = stack.router_health_url(),
        auth = stack.service_url(ServiceKind::Auth),
        event = stack.service_url(ServiceKind::Event),
        attendance = stack.service_url(ServiceKind::Attendance),
        traces = traces.describe(),
    );
    if let Some(collector) = traces.printer.clone() {
        tokio::spawn(print_traces(collector));
    }
    common::server::shutdown_signal().await;
    eprintln!("stopping...");
    stack.shutdown();
    eprintln!("stopped");
    Ok(())
}

/// `.dev/pgdata`, unless we are root and the `postgres` user (who runs the
/// server) cannot reach the repository: then a directory under /var/tmp.
fn pg_data_dir(root: &Path, dev_dir: &Path) -> PathBuf {
    let is_root = std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let reachable = std::process::Command::new("runuser")
        .args(["-u", "postgres", "--", "test", "-x"])
        .arg(root)
        .status()
        .is_ok_and(|s| s.success());
    if is_root && !reachable {
        let name: String =
            root.display().to_string().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        return PathBuf::from("/var/tmp/titiktemu-dev").join(name).join("pgdata");
    }
    dev_dir.join("pgdata")
}

/// The service users' passwords, generated once and kept (mode 0600) in `path`.
fn dev_passwords(path: &Path) -> anyhow::Result<Vec<(ServiceKind, String)>> {
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    let mut passwords = Vec::new();
    for kind in ServiceKind::ALL {
        let key = format!("{}_DB_PASSWORD=", kind.env_prefix());
        let found = existing.lines().find_map(|line| line.strip_prefix(&key)).map(str::to_owned);
        passwords.push((kind, found.unwrap_or_else(migration::bootstrap::generate_password)));
    }
    let text: String = passwords.iter().map(|(k, p)| format!("{}_DB_PASSWORD={p}\n", k.env_prefix())).collect();
    if text != existing {
        use std::{io::Write, os::unix::fs::OpenOptionsExt};
        let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
        file.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(passwords)
}

/// Environment variables, as `StackConfig` takes them.
type Variables = Vec<(String, String)>;

/// Where traces go in development: the developer's collector when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` names one, else a small one here that prints
/// a line per trace; off when neither can be had.
struct Traces {
    endpoint: Option<String>,
    printer: Option<test_support::otlp::Collector>,
}

impl Traces {
    async fn start() -> Self {
        if let Some(endpoint) = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().filter(|e| !e.is_empty()) {
            return Traces { endpoint: Some(endpoint), printer: None };
        }
        match test_support::otlp::Collector::start_on(4318).await {
            Ok(collector) => Traces { endpoint: Some(collector.endpoint()), printer: Some(collector) },
            Err(e) => {
                eprintln!("warning: no trace collector ({e}); traces are off");
                Traces { endpoint: None, printer: None }
            }
        }
    }

    /// The services' and the router's variables: every trace sampled.
    fn env(&self) -> (Variables, Variables) {
        let Some(endpoint) = &self.endpoint else { return (Vec::new(), Vec::new()) };
        let pairs = |pairs: [(&str, &str); 2]| pairs.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec();
        (
            pairs([("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint), ("OTEL_TRACES_SAMPLER_ARG", "1")]),
            pairs([("ROUTER_TRACING_ENABLED", "true"), ("ROUTER_OTLP_ENDPOINT", endpoint)]),
        )
    }

    fn describe(&self) -> String {
        match (&self.endpoint, &self.printer) {
            (Some(endpoint), Some(_)) => {
                format!("{endpoint} (a line per trace below; set OTEL_EXPORTER_OTLP_ENDPOINT for your own collector)")
            }
            (Some(endpoint), None) => endpoint.clone(),
            (None, _) => "off".to_owned(),
        }
    }
}

/// Every two seconds, a line per trace received: its root, its spans, and
/// the parts it went through.
async fn print_traces(collector: test_support::otlp::Collector) {
    use std::collections::BTreeMap;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let mut traces: BTreeMap<String, Vec<test_support::otlp::ReceivedSpan>> = BTreeMap::new();
        for span in collector.take() {
            traces.entry(span.trace_id.clone()).or_default().push(span);
        }
        for (id, spans) in traces {
            let root = spans.iter().find(|s| s.parent_span_id.is_empty()).map_or("(continued)", |s| s.name.as_str());
            let mut parts: Vec<&str> = spans.iter().map(|s| s.service.as_str()).collect();
            parts.sort_unstable();
            parts.dedup();
            let sql = spans.iter().filter(|s| s.attributes.iter().any(|(k, _)| k == "db.system.name")).count();
            eprintln!("trace {id}  {root}: {} spans ({sql} SQL) across {}", spans.len(), parts.join(", "));
        }
    }
}
