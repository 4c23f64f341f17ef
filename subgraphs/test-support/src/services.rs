//! The three services in-process, for each service's own integration tests:
//! started by the same `startup::build` users run, on one fresh database,
//! wired to each other as a deployment wires them (auth's JWKS for the
//! others, attendance asking event and auth, auth asking attendance). The
//! end-to-end tests start the binaries and the router instead ([`crate::stack`]).

use common::ServiceKind;
use serde_json::{json, Value};

use crate::{TestDb, TestServer};

/// One service started as its binary starts it (`common::server::service_main`):
/// settings from `env`, then its `startup::build`.
async fn serve<S>(
    name: &str,
    env: &common::config::Env,
    load: fn(&common::config::Env) -> Result<S, common::config::ConfigError>,
    build: impl AsyncFnOnce(&S) -> anyhow::Result<common::server::Application>,
) -> TestServer {
    let settings = load(env).unwrap_or_else(|e| panic!("{name} settings: {e}"));
    TestServer::spawn(build(&settings).await.unwrap_or_else(|e| panic!("{name} starts: {e:#}")))
}

async fn serve_attendance(env: &common::config::Env) -> TestServer {
    use attendance_service::{config::AttendanceSettings, startup::build};
    serve("attendance", env, AttendanceSettings::from_env, build).await
}

pub struct Services {
    pub db: TestDb,
    pub auth: TestServer,
    pub events: TestServer,
    pub attendance: TestServer,
    /// The auth service's signing key, for tests that mint their own tokens.
    pub auth_key_pem: String,
    /// The attendance service's ticket signing key.
    pub ticket_key_pem: String,
    /// The attendance service's variables, for starting more instances of it.
    attendance_env: common::config::Env,
}

/// Extra variables for one service (they win over the test defaults).
pub type ServiceEnv<'a> = (ServiceKind, &'a str, &'a str);

impl Services {
    /// On a fresh database, in development, with the test defaults.
    pub async fn start() -> Services {
        Services::start_with(TestDb::new().await, &[]).await
    }

    /// On `db` (a database kept across restarts, or on another server), with
    /// `env` added to each service's variables.
    pub async fn start_with(db: TestDb, env: &[ServiceEnv<'_>]) -> Services {
        let env_of = |kind: ServiceKind, defaults: &[(&str, String)]| {
            let mut vars = db.service_env(kind);
            for (name, value) in defaults {
                vars.set(*name, value.clone());
            }
            for (_, name, value) in env.iter().filter(|(k, _, _)| *k == kind) {
                vars.set(*name, *value);
            }
            vars
        };
        let auth_key_pem = crate::signing_key_pem();
        let ticket_key_pem = crate::signing_key_pem();
        // Auth asks the attendance service which people an organizer may see
        // in full, and the event service tells it of changes, so the
        // attendance service's port is chosen before they start.
        let attendance_port = crate::free_port();
        let auth = env_of(
            ServiceKind::Auth,
            &[
                ("JWT_PRIVATE_KEY", auth_key_pem.clone()),
                ("ATTENDANCE_SERVICE_URL", format!("http://127.0.0.1:{attendance_port}")),
            ],
        );
        let auth =
            serve("auth", &auth, auth_service::config::AuthSettings::from_env, auth_service::startup::build).await;
        let jwks = auth.url("/.well-known/jwks.json");

        let events = env_of(
            ServiceKind::Event,
            &[
                ("AUTH_JWKS_URL", jwks.clone()),
                ("ATTENDANCE_SERVICE_URL", format!("http://127.0.0.1:{attendance_port}")),
            ],
        );
        let events =
            serve("event", &events, event_service::config::EventSettings::from_env, event_service::startup::build)
                .await;

        let attendance = env_of(
            ServiceKind::Attendance,
            &[
                ("PORT", attendance_port.to_string()),
                ("AUTH_JWKS_URL", jwks),
                ("EVENT_SERVICE_URL", events.base_url.clone()),
                ("AUTH_SERVICE_URL", auth.base_url.clone()),
                // The three services share the test's one thread, in debug
                // builds, with other tests running beside them: calls between
                // them may queue for seconds. Tests about timeouts set their own.
                ("SERVICE_TIMEOUT", "15s".to_owned()),
                ("TICKET_SIGNING_KEY", ticket_key_pem.clone()),
            ],
        );
        let attendance_env = attendance;
        let attendance = serve_attendance(&attendance_env).await;
        Services { db, auth, events, attendance, auth_key_pem, ticket_key_pem, attendance_env }
    }

    /// Another instance of the attendance service, on the same database, as
    /// a replica behind a load balancer (the event service tells only the first).
    pub async fn another_attendance(&self) -> TestServer {
        self.another_attendance_with(&[]).await
    }

    /// Another instance of the attendance service with `env` changed (say,
    /// rotated ticket keys).
    pub async fn another_attendance_with(&self, env: &[(&str, &str)]) -> TestServer {
        let mut vars = self.attendance_env.clone();
        vars.set("PORT", crate::free_port().to_string());
        for (name, value) in env {
            vars.set(*name, *value);
        }
        serve_attendance(&vars).await
    }

    /// Registers a user (password `securepass`); returns (token, id).
    pub async fn user(&self, email: &str) -> (String, String) {
        crate::register_user(&self.auth, email).await
    }

    /// Registers a user and returns their whole `POST /auth/register` answer.
    pub async fn register(&self, email: &str, password: &str) -> Value {
        let response = self.auth_post("/auth/register", json!({ "email": email, "password": password })).await;
        assert_eq!(response.status(), 201, "register {email}");
        response.json().await.expect("register body")
    }

    /// Tokens made from `token` by every forgery `hostile::hostile_tokens` knows,
    /// against auth's real keys (its JWKS and, for the re-signed ones, its key).
    pub async fn forged_tokens(&self, token: &str) -> Vec<(&'static str, String)> {
        let jwks: Value = self.auth.get_json("/.well-known/jwks.json").await;
        crate::hostile::hostile_tokens(token, &jwks, Some(&self.auth_key_pem))
    }

    /// `token` signed again by the auth service's key, valid for `seconds` more.
    pub async fn expiring_in(&self, token: &str, seconds: i64) -> String {
        let exp = chrono::Utc::now().timestamp() + seconds;
        self.minter(token).await.mint(|claims| claims["exp"] = json!(exp))
    }

    /// A token for `user` (say, one of `seed_users`), made from `token`'s
    /// claims and signed by the auth service's key, as a login would.
    pub async fn token_for(&self, token: &str, user: &str) -> String {
        self.minter(token).await.for_user(user)
    }

    async fn minter(&self, template: &str) -> crate::tokens::Minter {
        let jwks: Value = self.auth.get_json("/.well-known/jwks.json").await;
        let kid = jwks["keys"][0]["kid"].as_str().map(str::to_owned);
        crate::tokens::Minter::new(template, kid, &self.auth_key_pem)
    }

    /// An ADMIN's token (registered, then promoted in SQL as `auth-service promote` does).
    pub async fn admin(&self, email: &str) -> String {
        crate::admin_token(&self.db, &self.auth, email).await
    }

    /// `POST path` on the auth service with a JSON body.
    pub async fn auth_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.auth.http.post(self.auth.url(path)).json(&body).send().await.expect("a response")
    }

    /// Many users at once, straight into auth's table (hashing hundreds of
    /// passwords would only slow a test down); returns their ids.
    pub async fn seed_users(&self, n: usize) -> Vec<String> {
        let sql = format!(
            "WITH seeded AS (INSERT INTO auth_schema.users (id, email, password_hash)
                 SELECT u, 'seed-' || u || '@example.com', 'not-a-hash' FROM (SELECT gen_random_uuid() AS u FROM generate_series(1, {n})) g
                 RETURNING id)
             SELECT id::text AS id FROM seeded"
        );
        self.db.strings(&sql).await
    }

    /// `POST /events` as the guide calls it, with or without a token.
    pub async fn create_event(&self, token: Option<&str>, body: Value) -> reqwest::Response {
        with_token(self.events.http.post(self.events.url("/events")).json(&body), token)
            .send()
            .await
            .expect("a response")
    }

    /// Creates an event; returns its id.
    pub async fn event(&self, token: Option<&str>, body: Value) -> String {
        let response = self.create_event(token, body).await;
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.expect("event body")["id"].as_str().expect("an id").to_owned()
    }

    /// An event happening now (so check-ins without a time are in its window).
    pub async fn live_event(&self, token: Option<&str>, capacity: Option<i32>) -> String {
        let now = chrono::Utc::now();
        let mut body = json!({
            "title": "Live",
            "startTime": (now - chrono::Duration::minutes(30)).to_rfc3339(),
            "endTime": (now + chrono::Duration::hours(2)).to_rfc3339(),
        });
        if let Some(capacity) = capacity {
            body["capacity"] = json!(capacity);
        }
        self.event(token, body).await
    }

    /// A new organizer (`org@example.com`) and a live event of theirs, as
    /// most scanning tests begin: `(organizer's token, event id)`.
    pub async fn organized_live_event(&self, capacity: Option<i32>) -> (String, String) {
        let (organizer, _) = self.user("org@example.com").await;
        let event = self.live_event(Some(&organizer), capacity).await;
        (organizer, event)
    }

    /// `POST /attendance` as the guide calls it, with or without a token.
    pub async fn check_in(&self, token: Option<&str>, body: Value) -> reqwest::Response {
        let request = self.attendance.http.post(self.attendance.url("/attendance")).json(&body);
        with_token(request, token).send().await.expect("a response")
    }
}

impl Services {
    pub async fn event_count(&self) -> i64 {
        self.db.count("event_schema.events").await
    }

    pub async fn attendance_rows(&self) -> i64 {
        self.db.count("attendance_schema.attendances").await
    }

    /// The users with a check-in (any event).
    pub async fn attendance_user_ids(&self) -> Vec<String> {
        self.db.strings("SELECT user_id::text AS id FROM attendance_schema.attendances").await
    }

    /// The sum of the per-event check-in counters, which must equal the rows.
    pub async fn counted_check_ins(&self) -> i64 {
        self.db.number("SELECT coalesce(sum(checked_in), 0)::bigint AS n FROM attendance_schema.event_checkins").await
    }
}

fn with_token(request: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

/// An event body with just the required fields.
pub fn event_body(title: &str, start: &str, end: &str) -> Value {
    json!({"title": title, "startTime": start, "endTime": end})
}
