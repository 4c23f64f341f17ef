//! Test harness: every integration test gets its own database, prepared by the
//! same bootstrap and migrations users run, on a real PostgreSQL.
//!
//! The server is `DATABASE_ADMIN_URL` when set; otherwise a private cluster is
//! started from the machine's PostgreSQL binaries (see [`cluster`]) and stops
//! by itself when the test process ends.

#![allow(clippy::unwrap_used)] // the test harness: a failed unwrap is a failed test

pub mod cluster;
pub mod haproxy;
pub mod hostile;
pub mod npm;
pub mod otlp;
pub mod pooler;
pub mod process;
pub mod prometheus;
pub mod services;
pub mod stack;
pub mod tokens;

use std::sync::OnceLock;

use common::{
    config::DatabaseSettings,
    db::{self, Db},
    ServiceKind,
};
use migration::bootstrap::{bootstrap, BootstrapOptions};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use url::Url;

pub use cluster::{ClusterOptions, PrivateCluster};

/// The PostgreSQL server tests run against.
pub struct PgServer {
    admin_url: Url,
    _private: Option<PrivateCluster>,
}

impl PgServer {
    /// A server this process did not start, e.g. a cluster a test stops and
    /// starts again itself. Lives as long as the test process.
    pub fn at(admin_url: &str) -> &'static PgServer {
        let admin_url = Url::parse(admin_url).expect("a valid admin URL");
        Box::leak(Box::new(PgServer { admin_url, _private: None }))
    }

    /// The admin URL pointing at database `name` on this server.
    /// The server's port on loopback (a pooler in front of it connects there).
    pub fn port(&self) -> u16 {
        self.admin_url.port().unwrap_or(5432)
    }

    pub fn admin_url_for(&self, name: &str) -> String {
        let mut url = self.admin_url.clone();
        url.set_path(&format!("/{name}"));
        url.into()
    }
}

/// The shared server for this test process, started on first use.
pub fn server() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        init_test_logging();
        match std::env::var("DATABASE_ADMIN_URL").ok().filter(|u| !u.trim().is_empty()) {
            Some(url) => {
                PgServer { admin_url: Url::parse(&url).expect("DATABASE_ADMIN_URL is not a URL"), _private: None }
            }
            None => {
                let cluster = PrivateCluster::start(ClusterOptions::ephemeral())
                    .unwrap_or_else(|e| panic!("cannot start a private PostgreSQL for the tests: {e:#}"));
                PgServer { admin_url: Url::parse(&cluster.admin_url()).expect("cluster URL"), _private: Some(cluster) }
            }
        }
    })
}

/// The service credential of services under test (`SERVICE_SECRET`), long
/// enough for production mode; it protects nothing but throwaway test data.
pub const TEST_SERVICE_SECRET: &str = "test-only-service-credential-0123456789";

/// A port free at the time of asking, for a server whose address another
/// must know before it starts.
pub fn free_port() -> u16 {
    free_ports(1).expect("a free port")[0]
}

/// `n` distinct ports free at the time of asking, below the kernel's
/// ephemeral range (32768 and up): a port the system hands out for port 0 is
/// also handed to outgoing connections, so between our check and the
/// server's bind another test's client could take it, and that server's start
/// would fail. No port is handed out twice in one process: a stack asks in
/// several calls (its public ports, then those behind HAProxy), and a port
/// chosen earlier is free until its server binds it, so without this record a
/// later call could choose it again (a router then lost its port to HAProxy).
pub fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    use rand::Rng;
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Held until all are chosen, so no port is chosen twice.
    let mut listeners = Vec::new();
    let mut ports = Vec::new();
    let mut rng = rand::thread_rng();
    for _ in 0..1_000 {
        if ports.len() == n {
            break;
        }
        let port = rng.gen_range(20_000..32_000);
        if handed_out.contains(&port) {
            continue;
        }
        if let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            ports.push(port);
            listeners.push(listener);
        }
    }
    anyhow::ensure!(ports.len() == n, "no {n} free ports between 20000 and 32000");
    handed_out.extend(&ports);
    Ok(ports)
}

/// A new Ed25519 signing key (an auth service's, a ticket key), PKCS#8 PEM.
pub fn signing_key_pem() -> String {
    common::keys::generate_pem()
}

/// Logs of the code under test, shown when `TEST_LOG` is set.
pub fn init_test_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        common::telemetry::init("debug,sqlx=warn,hyper=info");
    }
}

/// The password every service user gets on a test server. Roles are shared by
/// all databases of a server, so all tests must agree on it; it protects
/// nothing but throwaway test data.
pub fn test_password(kind: ServiceKind) -> String {
    format!("test-only-{}-password", kind.name())
}

pub fn test_bootstrap_options() -> BootstrapOptions {
    BootstrapOptions {
        passwords: ServiceKind::ALL.into_iter().map(|k| (k, test_password(k))).collect(),
        generate_missing: false,
        // A test database is ours alone.
        revoke_public: true,
    }
}

/// One fresh database for one test.
pub struct TestDb {
    pub name: String,
    server: &'static PgServer,
}

impl TestDb {
    /// A new database, bootstrapped and with every service's migrations applied
    /// (each as its own user), exactly as the `migrate` command does it.
    pub async fn new() -> TestDb {
        Self::new_on(server()).await
    }

    /// As [`TestDb::new`], on another server.
    pub async fn new_on(server: &'static PgServer) -> TestDb {
        let db = Self::bootstrapped_on(server).await;
        for kind in ServiceKind::ALL {
            let conn = db.connect_as(kind).await;
            migration::apply(kind, &conn.conn).await.unwrap_or_else(|e| panic!("migrating {kind}: {e}"));
            conn.conn.close().await.expect("close");
        }
        db
    }

    /// A new database with schemas and users, but no migrations applied.
    pub async fn bootstrapped() -> TestDb {
        Self::bootstrapped_on(server()).await
    }

    async fn bootstrapped_on(server: &'static PgServer) -> TestDb {
        let db = Self::empty_on(server).await;
        bootstrap(&db.admin_url(), &test_bootstrap_options()).await.expect("bootstrap");
        db
    }

    /// A new, empty database.
    pub async fn empty() -> TestDb {
        Self::empty_on(server()).await
    }

    async fn empty_on(server: &'static PgServer) -> TestDb {
        let name = format!("tt_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(server.admin_url_for("postgres")).await.expect("connect as admin");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
        admin.close().await.expect("close");
        TestDb { name, server }
    }

    pub fn admin_url(&self) -> String {
        self.server.admin_url_for(&self.name)
    }

    pub async fn admin(&self) -> DatabaseConnection {
        Database::connect(self.admin_url()).await.expect("connect as admin")
    }

    /// The service's `DATABASE_URL`, in the guide's form (`?schema=...`).
    pub fn service_url(&self, kind: ServiceKind) -> String {
        let mut url = self.server.admin_url.clone();
        url.set_path(&format!("/{}", self.name));
        url.set_username(kind.db_user()).expect("username");
        url.set_password(Some(&test_password(kind))).expect("password");
        url.query_pairs_mut().clear().append_pair("schema", kind.schema());
        url.into()
    }

    pub fn database_settings(&self, kind: ServiceKind) -> DatabaseSettings {
        DatabaseSettings::parse("DATABASE_URL", &self.service_url(kind)).expect("valid test URL")
    }

    /// A pool connected as the service's own user, in its own schema.
    pub async fn connect_as(&self, kind: ServiceKind) -> Db {
        db::connect(&self.database_settings(kind)).await.unwrap_or_else(|e| panic!("connect as {kind}: {e}"))
    }
}

impl TestDb {
    /// The environment a service would be started with against this database:
    /// its own user and schema, any free port, development mode, migrations
    /// already applied by [`TestDb::new`].
    pub fn service_env(&self, kind: ServiceKind) -> common::config::Env {
        common::config::Env::from_pairs([
            ("DATABASE_URL", self.service_url(kind)),
            ("PORT", "0".to_owned()),
            ("APP_ENV", "development".to_owned()),
            ("SERVICE_SECRET", TEST_SERVICE_SECRET.to_owned()),
            ("RUN_MIGRATIONS", "false".to_owned()),
            // Tests run in parallel on few cores: a wider batching window keeps
            // the "one query per batch" assertions independent of timing.
            ("GRAPHQL_BATCH_DELAY", "25ms".to_owned()),
        ])
    }
}

/// A service running inside the test's runtime on a random port.
pub struct TestServer {
    pub base_url: String,
    pub port: u16,
    pub statements: db::StatementCounter,
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub fn spawn(app: common::server::Application) -> TestServer {
        let port = app.port();
        let statements = app.db.statements.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .expect("server error");
        });
        TestServer {
            base_url: format!("http://127.0.0.1:{port}"),
            port,
            statements,
            http: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `POST path` with `body` sent as written, as `application/json`: the
    /// guide's `curl -H "Content-Type: application/json" -d '...'`.
    pub async fn post_raw_json(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        let request = self.http.post(self.url(path)).header("Content-Type", "application/json").body(body);
        request.send().await.expect("a response")
    }

    /// `query` sent with `token` is refused as a whole with `UNAUTHENTICATED`.
    pub async fn assert_unauthenticated(&self, case: &str, query: &str, variables: serde_json::Value, token: &str) {
        let response = self.graphql(query, variables, Some(token)).await;
        assert_eq!(error_code(&response), Some("UNAUTHENTICATED"), "{case}: {response}");
    }

    /// `GET path`: the JSON body, whatever the status.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let response = self.http.get(self.url(path)).send().await.expect("a response");
        response.json().await.expect("a JSON body")
    }

    /// Sends a GraphQL operation as the router does (with the service
    /// credential, which production requires); returns the whole response body.
    pub async fn graphql(&self, query: &str, variables: serde_json::Value, token: Option<&str>) -> serde_json::Value {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .header(common::internal::HEADER, TEST_SERVICE_SECRET)
            .json(&serde_json::json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("send GraphQL request");
        response.json().await.expect("GraphQL response is JSON")
    }

    /// Posts each `(name, body)` to `/graphql` as an anonymous client would
    /// and asserts every one is refused with a GraphQL error; the service
    /// stays healthy afterwards.
    pub async fn assert_all_graphql_refused(&self, cases: &[(String, serde_json::Value)]) {
        for (name, body) in cases {
            let response = self.http.post(self.url("/graphql")).json(body).send().await.expect("a response");
            let status = response.status().as_u16();
            let out = response.json().await.unwrap_or(serde_json::Value::Null);
            crate::hostile::assert_graphql_refused(name, status, &out);
        }
        self.assert_healthy().await;
        eprintln!("{} hostile GraphQL cases refused", cases.len());
    }

    /// Asserts that the service is live and ready (e.g. after hostile input).
    pub async fn assert_healthy(&self) {
        for path in ["/health/live", "/health/ready"] {
            let response = self.http.get(self.url(path)).send().await.expect("health request");
            assert_eq!(response.status(), 200, "{path}");
        }
    }

    /// Graceful stop: waits for in-flight requests.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// A response's status and JSON body (null when the body is not JSON).
pub async fn status_and_json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

/// The `extensions.code` of the first GraphQL error, if any.
pub fn error_code(response: &serde_json::Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// A service's `DATABASE_URL` in the guide's form, on the server and database
/// of `admin_url`: `postgresql://auth_user:pw@host:port/db?schema=auth_schema`.
pub fn service_database_url(admin_url: &str, kind: ServiceKind, password: &str) -> String {
    let mut url = Url::parse(admin_url).expect("a valid admin URL");
    url.set_username(kind.db_user()).expect("URL with a host");
    url.set_password(Some(password)).expect("URL with a host");
    url.query_pairs_mut().clear().append_pair("schema", kind.schema());
    url.into()
}

impl TestDb {
    /// `SELECT count(*)` of a schema-qualified table, as the admin.
    pub async fn count(&self, table: &str) -> i64 {
        self.number(&format!("SELECT count(*) AS n FROM {table}")).await
    }

    /// The one bigint column `n` of a query's one row, run as the admin.
    pub async fn number(&self, sql: &str) -> i64 {
        let admin = self.admin().await;
        let row = admin
            .query_one_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, sql))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .unwrap_or_else(|| panic!("{sql}: no row"));
        row.try_get("", "n").unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The text column `id` of every row of a query, run as the admin.
    pub async fn strings(&self, sql: &str) -> Vec<String> {
        let admin = self.admin().await;
        let rows = admin
            .query_all_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, sql))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.iter().map(|row| row.try_get("", "id").unwrap_or_else(|e| panic!("{sql}: {e}"))).collect()
    }
}

/// `POST path` on auth with `email` and the test password `securepass`: the status and body.
async fn with_test_password(auth: &TestServer, path: &str, email: &str) -> (u16, serde_json::Value) {
    let body = serde_json::json!({ "email": email, "password": "securepass" });
    let response = auth.http.post(auth.url(path)).json(&body).send().await.expect(path);
    (response.status().as_u16(), response.json().await.expect("a JSON body"))
}

/// Registers a user through the auth service's REST API; returns (token, user id).
pub async fn register_user(auth: &TestServer, email: &str) -> (String, String) {
    let (status, body) = with_test_password(auth, "/auth/register", email).await;
    assert_eq!(status, 201, "register {email}");
    (body["token"].as_str().expect("token").to_owned(), body["user"]["id"].as_str().expect("id").to_owned())
}

/// Registers a user, makes them ADMIN (as `auth-service promote` does, in
/// SQL) and logs in again; returns an ADMIN token.
pub async fn admin_token(db: &TestDb, auth: &TestServer, email: &str) -> String {
    register_user(auth, email).await;
    let admin = db.admin().await;
    admin
        .execute_unprepared(&format!("UPDATE auth_schema.users SET role = 'ADMIN' WHERE email = '{email}'"))
        .await
        .expect("promote");
    let (_, body) = with_test_password(auth, "/auth/login", email).await;
    body["token"].as_str().expect("token").to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_port_is_handed_out_twice() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..50 {
            for port in super::free_ports(20).unwrap() {
                assert!(seen.insert(port), "{port} was handed out twice");
            }
        }
    }
}
