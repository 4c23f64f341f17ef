#![allow(dead_code)]

use common::ServiceKind;
use serde_json::{json, Value};
use test_support::{TestDb, TestServer};

pub struct Stack {
    pub db: TestDb,
    pub auth: TestServer,
    pub events: TestServer,
    /// The auth service's signing key, for tests that mint their own tokens.
    pub auth_key_pem: String,
}

pub async fn spawn() -> Stack {
    spawn_with(&[]).await
}

/// A real auth service (for tokens and its JWKS) and the event service under test.
pub async fn spawn_with(event_env: &[(&str, &str)]) -> Stack {
    let db = TestDb::new().await;
    let auth_key_pem = test_support::signing_key_pem();
    let mut env = db.service_env(ServiceKind::Auth);
    env.set("JWT_PRIVATE_KEY", auth_key_pem.clone());
    let auth_settings = auth_service::config::AuthSettings::from_env(&env).unwrap();
    let auth = TestServer::spawn(auth_service::startup::build(&auth_settings).await.unwrap());

    let mut env = db.service_env(ServiceKind::Event);
    env.set("AUTH_JWKS_URL", auth.url("/.well-known/jwks.json"));
    for (k, v) in event_env {
        env.set(*k, *v);
    }
    let settings = event_service::config::EventSettings::from_env(&env).unwrap();
    let events = TestServer::spawn(event_service::startup::build(&settings).await.unwrap());
    Stack { db, auth, events, auth_key_pem }
}

impl Stack {
    /// Registers a user and returns (token, user id).
    pub async fn user(&self, email: &str) -> (String, String) {
        test_support::register_user(&self.auth, email).await
    }

    pub async fn admin(&self, email: &str) -> String {
        test_support::admin_token(&self.db, &self.auth, email).await
    }

    pub async fn create_event(&self, token: Option<&str>, body: Value) -> reqwest::Response {
        let mut request = self.events.http.post(self.events.url("/events")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn event_count(&self) -> i64 {
        self.db.count("event_schema.events").await
    }
}

pub fn event_body(title: &str, start: &str, end: &str) -> Value {
    json!({"title": title, "startTime": start, "endTime": end})
}
