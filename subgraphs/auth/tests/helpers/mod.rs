#![allow(dead_code)]

use auth_service::{config::AuthSettings, keys::SigningKeys, startup};
use common::ServiceKind;
use test_support::{TestDb, TestServer};

pub struct AuthApp {
    pub server: TestServer,
    pub db: TestDb,
    /// The PEM of the service's signing key, for tests that mint their own tokens.
    pub key_pem: String,
}

pub fn generate_pem() -> String {
    test_support::signing_key_pem()
}

pub async fn spawn_with(db: TestDb, extra_env: &[(&str, &str)]) -> AuthApp {
    let key_pem = generate_pem();
    let mut env = db.service_env(ServiceKind::Auth);
    env.set("JWT_PRIVATE_KEY", key_pem.clone());
    for (k, v) in extra_env {
        env.set(*k, *v);
    }
    let settings = AuthSettings::from_env(&env).expect("settings");
    let app = startup::build_with_keys(&settings, SigningKeys::from_pem(&key_pem).unwrap())
        .await
        .expect("build auth service");
    AuthApp { server: TestServer::spawn(app), db, key_pem }
}

pub async fn spawn() -> AuthApp {
    spawn_with(TestDb::new().await, &[]).await
}

impl AuthApp {
    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.server.http.post(self.server.url(path)).json(&body).send().await.unwrap()
    }

    pub async fn register(&self, email: &str, password: &str) -> serde_json::Value {
        let response =
            self.post_json("/auth/register", serde_json::json!({ "email": email, "password": password })).await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }
}
