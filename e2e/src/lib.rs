//! Helpers for the end-to-end tests: a whole stack per test (its own
//! database on the shared test server, its own ports), started exactly as
//! `cargo xtask dev` starts it, and a GraphQL client for the router.

#![allow(clippy::unwrap_used)] // end-to-end test helpers: a failed unwrap is a failed test

use common::ServiceKind;
use serde_json::{json, Value};
use test_support::{
    process::Output,
    stack::{self, DatabaseChoice, Ports, Stack, StackConfig},
    test_password,
};

pub struct E2e {
    pub stack: Stack,
    pub http: reqwest::Client,
    /// Holds this stack's development signing key; removed with it.
    key_dir: std::path::PathBuf,
}

impl Drop for E2e {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.key_dir);
    }
}

/// Starts PostgreSQL (shared per test process), bootstrap and migrations,
/// the three service binaries and the router, on free ports, in development.
pub async fn start() -> E2e {
    start_in("development").await
}

/// As [`start`], with the services in `app_env` (`production` or `development`).
pub async fn start_in(app_env: &str) -> E2e {
    start_configured(app_env, &[], &[]).await
}

/// As [`start_in`], with extra variables for every service and for the router.
/// In production the router runs `router.prod.yaml`, as a deployment does,
/// with browsers on loopback origins allowed by its CORS.
pub async fn start_configured(app_env: &str, extra_service_env: &[(&str, &str)], router_env: &[(&str, &str)]) -> E2e {
    let owned =
        |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
    let root = stack::workspace_root();
    let server = test_support::server();
    let database = format!("e2e_{}", uuid::Uuid::new_v4().simple());
    let key_dir = std::env::temp_dir().join(format!("titiktemu-e2e-{database}"));
    std::fs::create_dir_all(&key_dir).unwrap();
    let mut service_env = vec![("GRAPHQL_BATCH_DELAY".to_owned(), "25ms".to_owned())];
    service_env.extend(owned(extra_service_env));
    if app_env == "production" {
        // Production never generates a signing key: give auth one, and the
        // attendance service its ticket key, as secret files.
        for (var, file) in
            [("JWT_PRIVATE_KEY_FILE", "jwt-private-key.pem"), ("TICKET_SIGNING_KEY_FILE", "ticket-key.pem")]
        {
            let key_file = key_dir.join(file);
            std::fs::write(&key_file, test_support::signing_key_pem()).unwrap();
            service_env.push((var.to_owned(), key_file.display().to_string()));
        }
    }
    let production = app_env == "production";
    let mut router_env = owned(router_env);
    if production && !router_env.iter().any(|(name, _)| name == "CORS_ORIGIN_PATTERN") {
        router_env
            .push(("CORS_ORIGIN_PATTERN".to_owned(), r"^https?://(localhost|127\.0\.0\.1)(:[0-9]+)?$".to_owned()));
    }
    let config = StackConfig {
        bin_dir: stack::target_dir().join("debug"),
        router_bin: stack::router_binary(),
        router_config: root.join(if production { "router/router.prod.yaml" } else { "router/router.yaml" }),
        supergraph: root.join("supergraph.graphql"),
        database: DatabaseChoice::External(server.admin_url_for("postgres")),
        database_name: database,
        passwords: ServiceKind::ALL.into_iter().map(|k| (k, test_password(k))).collect(),
        jwt_key_file: key_dir.join("jwt-signing-key.pem"),
        ports: Ports::random().expect("free ports"),
        app_env: app_env.to_owned(),
        output: Output::Quiet,
        service_env,
        router_env,
        pg_settings: Vec::new(),
        pooled: false,
        // `E2E_REPLICATED=1`: two of everything behind HAProxy, PgBouncer in
        // transaction mode (`cargo xtask test` runs the suite so once more).
        replicated: std::env::var_os("E2E_REPLICATED").is_some(),
    };
    let stack = Stack::start(config).await.unwrap_or_else(|e| panic!("cannot start the stack: {e:#}"));
    E2e { stack, http: reqwest::Client::new(), key_dir }
}

impl E2e {
    /// A GraphQL operation through the router.
    pub async fn graphql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        self.graphql_with_headers(query, variables, token, &[]).await.1
    }

    pub async fn graphql_with_headers(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (reqwest::StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}/", self.stack.router_url()))
            .json(&json!({"query": query, "variables": variables}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("router answers");
        let status = response.status();
        (status, response.json().await.expect("router answers JSON"))
    }

    /// A GraphQL operation sent straight to a subgraph's `/graphql`, with the
    /// service credential (as the router sends it) or without.
    pub async fn subgraph(
        &self,
        kind: ServiceKind,
        query: &str,
        variables: Value,
        token: Option<&str>,
        with_credential: bool,
    ) -> (reqwest::StatusCode, Value) {
        let url = format!("{}/graphql", self.stack.service_url(kind));
        let mut request = self.http.post(url).json(&json!({"query": query, "variables": variables}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if with_credential {
            request = request.header(common::internal::HEADER, self.stack.service_secret());
        }
        let response = request.send().await.expect("subgraph answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A REST call to a service: (status, JSON body or null).
    pub async fn rest(
        &self,
        method: reqwest::Method,
        kind: ServiceKind,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (reqwest::StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.stack.service_url(kind)));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("service answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A new person, signed up over the guide's REST call (password
    /// `securepass`): their token and id.
    pub async fn sign_up(&self, email: &str, name: &str) -> (String, String) {
        let body = json!({"email": email, "password": "securepass", "name": name});
        let (status, answer) =
            self.rest(reqwest::Method::POST, ServiceKind::Auth, "/auth/register", None, Some(body)).await;
        assert_eq!(status, 201, "{answer}");
        let text = |v: &Value| v.as_str().unwrap_or_else(|| panic!("{answer}")).to_owned();
        (text(&answer["token"]), text(&answer["user"]["id"]))
    }
}
