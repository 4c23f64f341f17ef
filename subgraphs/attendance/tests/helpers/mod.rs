#![allow(dead_code)]

use common::ServiceKind;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{json, Value};
use test_support::{TestDb, TestServer};

/// The real auth and event services, and the attendance service under test.
pub struct Stack {
    pub db: TestDb,
    pub auth: TestServer,
    pub events: TestServer,
    pub attendance: TestServer,
    /// The auth service's signing key, for tests that mint their own tokens.
    pub auth_key_pem: String,
}

pub async fn spawn() -> Stack {
    spawn_with(&[]).await
}

pub async fn spawn_with(attendance_env: &[(&str, &str)]) -> Stack {
    let db = TestDb::new().await;
    let auth_key_pem = test_support::signing_key_pem();
    // Auth asks the attendance service which people an organizer may see in
    // full, so the attendance service's port is chosen before auth starts.
    let attendance_port = test_support::free_port();
    let mut env = db.service_env(ServiceKind::Auth);
    env.set("JWT_PRIVATE_KEY", auth_key_pem.clone());
    env.set("ATTENDANCE_SERVICE_URL", format!("http://127.0.0.1:{attendance_port}"));
    let auth = TestServer::spawn(
        auth_service::startup::build(&auth_service::config::AuthSettings::from_env(&env).unwrap()).await.unwrap(),
    );
    let jwks = auth.url("/.well-known/jwks.json");

    let mut env = db.service_env(ServiceKind::Event);
    env.set("AUTH_JWKS_URL", jwks.clone());
    let events = TestServer::spawn(
        event_service::startup::build(&event_service::config::EventSettings::from_env(&env).unwrap()).await.unwrap(),
    );

    let mut env = db.service_env(ServiceKind::Attendance);
    env.set("PORT", attendance_port.to_string());
    env.set("AUTH_JWKS_URL", jwks);
    env.set("EVENT_SERVICE_URL", events.base_url.clone());
    env.set("AUTH_SERVICE_URL", auth.base_url.clone());
    // The three services share the test's one thread, in debug builds, with
    // other tests running beside them: calls between them may queue for
    // seconds. Tests about timeouts set their own.
    env.set("SERVICE_TIMEOUT", "15s");
    for (k, v) in attendance_env {
        env.set(*k, *v);
    }
    let settings = attendance_service::config::AttendanceSettings::from_env(&env).unwrap();
    let attendance = TestServer::spawn(attendance_service::startup::build(&settings).await.unwrap());
    Stack { db, auth, events, attendance, auth_key_pem }
}

impl Stack {
    /// Registers a user; returns (token, id).
    pub async fn user(&self, email: &str) -> (String, String) {
        test_support::register_user(&self.auth, email).await
    }

    /// Many users at once, straight into auth's table (hashing 200 passwords
    /// would only slow the test down); returns their ids.
    pub async fn seed_users(&self, n: usize) -> Vec<String> {
        let admin = self.db.admin().await;
        let rows = admin
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                format!(
                    "INSERT INTO auth_schema.users (id, email, password_hash)
                     SELECT gen_random_uuid(), 'seed' || i || '@example.com', 'not-a-hash' FROM generate_series(1, {n}) i
                     RETURNING id::text"
                ),
            ))
            .await
            .unwrap();
        rows.iter().map(|r| r.try_get::<String>("", "id").unwrap()).collect()
    }

    pub async fn make_admin(&self, email: &str) -> String {
        test_support::admin_token(&self.db, &self.auth, email).await
    }

    /// Creates an event through the event service; returns its id.
    pub async fn event(&self, token: Option<&str>, body: Value) -> String {
        let mut request = self.events.http.post(self.events.url("/events")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
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

    pub async fn check_in(&self, token: Option<&str>, body: Value) -> reqwest::Response {
        let mut request = self.attendance.http.post(self.attendance.url("/attendance")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn attendance_rows(&self) -> i64 {
        self.db.count("attendance_schema.attendances").await
    }

    /// The users with a check-in (any event).
    pub async fn attendance_user_ids(&self) -> Vec<String> {
        let rows = self
            .db
            .admin()
            .await
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT user_id::text AS id FROM attendance_schema.attendances",
            ))
            .await
            .expect("attendance users");
        rows.iter().map(|r| r.try_get("", "id").expect("user id")).collect()
    }

    /// The sum of the per-event check-in counters, which must equal the rows.
    pub async fn counted_check_ins(&self) -> i64 {
        self.db.number("SELECT coalesce(sum(checked_in), 0)::bigint AS n FROM attendance_schema.event_checkins").await
    }
}
