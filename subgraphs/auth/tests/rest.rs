//! The guide's REST calls and the contract's error statuses, over HTTP against a real database.

mod helpers;

use serde_json::{json, Value};

#[tokio::test]
async fn the_guides_three_curl_calls_work_as_written() {
    let app = helpers::spawn().await;
    let http = &app.auth.http;

    // curl -X POST http://localhost:3001/auth/register -H "Content-Type: application/json" -d '{"email":"user@example.com","password":"securepass"}'
    let response =
        app.auth.post_raw_json("/auth/register", r#"{"email":"user@example.com","password":"securepass"}"#).await;
    assert_eq!(response.status(), 201);
    let registered: Value = response.json().await.unwrap();
    assert_eq!(registered["user"]["email"], "user@example.com");
    assert_eq!(registered["user"]["role"], "USER");
    assert!(registered["token"].as_str().unwrap().split('.').count() == 3);
    assert!(registered["expiresAt"].as_str().unwrap().ends_with('Z'));
    let text = registered.to_string();
    assert!(!text.contains("securepass") && !text.contains("argon2") && !text.contains("password"), "{text}");

    // curl -X POST http://localhost:3001/auth/login ... same body
    let response =
        app.auth.post_raw_json("/auth/login", r#"{"email":"user@example.com","password":"securepass"}"#).await;
    assert_eq!(response.status(), 200);
    let login: Value = response.json().await.unwrap();
    assert_eq!(login["user"]["id"], registered["user"]["id"]);
    let token = login["token"].as_str().unwrap();

    // curl -X POST http://localhost:3001/auth/validate -H "Authorization: Bearer <token>"
    let response = http
        .post(app.auth.url("/auth/validate"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let validated: Value = response.json().await.unwrap();
    assert_eq!(validated["valid"], true);
    assert_eq!(validated["user"]["email"], "user@example.com");
    assert_eq!(validated["expiresAt"], login["expiresAt"]);
}

#[tokio::test]
async fn registration_errors_have_the_right_status_and_code() {
    let app = helpers::spawn().await;
    app.register("taken@example.com", "securepass").await;

    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("duplicate", json!({"email": "taken@example.com", "password": "securepass"}), 409, "EMAIL_TAKEN"),
        (
            "duplicate, other case",
            json!({"email": " Taken@Example.COM ", "password": "securepass"}),
            409,
            "EMAIL_TAKEN",
        ),
        ("malformed email", json!({"email": "not-an-email", "password": "securepass"}), 422, "BAD_USER_INPUT"),
        ("short password", json!({"email": "a@example.com", "password": "short"}), 422, "BAD_USER_INPUT"),
        ("over 1024 bytes", json!({"email": "a@example.com", "password": "x".repeat(1025)}), 422, "BAD_USER_INPUT"),
        ("missing password", json!({"email": "a@example.com"}), 422, "BAD_USER_INPUT"),
        ("wrong type", json!({"email": 42, "password": "securepass"}), 422, "BAD_USER_INPUT"),
        (
            "a role cannot be chosen",
            json!({"email": "a@example.com", "password": "securepass", "role": "ADMIN"}),
            422,
            "BAD_USER_INPUT",
        ),
    ];
    for (case, body, status, code) in cases {
        let response = app.auth_post("/auth/register", body).await;
        assert_eq!(response.status().as_u16(), status, "{case}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{case}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{case}");
    }

    // A password of 1 MiB is refused before it is read, let alone hashed.
    let huge = json!({"email": "a@example.com", "password": "x".repeat(1024 * 1024)});
    let response = app.auth_post("/auth/register", huge).await;
    assert_eq!(response.status(), 413);

    let http = &app.auth.http;
    let garbage = app.auth.post_raw_json("/auth/register", "{\"email\": ").await;
    assert_eq!(garbage.status(), 400);
    assert_eq!(garbage.json::<Value>().await.unwrap()["error"]["code"], "BAD_USER_INPUT");
    let wrong_type =
        http.post(app.auth.url("/auth/register")).header("Content-Type", "text/plain").body("hi").send().await.unwrap();
    assert_eq!(wrong_type.status(), 415);
    assert_eq!(wrong_type.json::<Value>().await.unwrap()["error"]["code"], "BAD_USER_INPUT");

    // Nothing of the refused requests was written.
    let count =
        app.auth.graphql("{ a: user(id: \"00000000-0000-0000-0000-000000000000\") { id } }", json!({}), None).await;
    assert!(count["errors"].is_null(), "{count}");
    let admin = app.db.admin().await;
    use sea_orm::ConnectionTrait;
    let rows = admin
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*)::int AS n FROM auth_schema.users",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rows.try_get::<i32>("", "n").unwrap(), 1);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same() {
    let app = helpers::spawn().await;
    app.register("user@example.com", "securepass").await;
    let wrong = app.auth_post("/auth/login", json!({"email": "user@example.com", "password": "wrongpass"})).await;
    let unknown = app.auth_post("/auth/login", json!({"email": "nobody@example.com", "password": "securepass"})).await;
    let malformed = app.auth_post("/auth/login", json!({"email": "nobody", "password": "securepass"})).await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert_eq!(malformed.status(), 401);
    let (wrong, unknown, malformed): (Value, Value, Value) =
        (wrong.json().await.unwrap(), unknown.json().await.unwrap(), malformed.json().await.unwrap());
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, malformed);
    assert_eq!(wrong["error"]["code"], "UNAUTHENTICATED");

    // Login is case-insensitive on the email.
    let ok = app.auth_post("/auth/login", json!({"email": "USER@example.com", "password": "securepass"})).await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn validate_refuses_missing_and_bad_tokens_with_401() {
    let app = helpers::spawn().await;
    let http = &app.auth.http;
    for header in [None, Some("Bearer not.a.token"), Some("Basic dXNlcjpwYXNz"), Some("Bearer ")] {
        let mut request = http.post(app.auth.url("/auth/validate"));
        if let Some(h) = header {
            request = request.header("Authorization", h);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{header:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["valid"], false, "{header:?}");
        assert!(body["error"].as_str().is_some(), "{header:?}");
    }
}

#[tokio::test]
async fn internal_user_lookup() {
    let app = helpers::spawn().await;
    let user = app.register("user@example.com", "securepass").await;
    let id = user["user"]["id"].as_str().unwrap();
    let internal = |path: String| {
        app.auth
            .http
            .get(app.auth.url(&path))
            .header(common::internal::HEADER, test_support::TEST_SERVICE_SECRET)
            .send()
    };
    let found = internal(format!("/internal/users/{id}")).await.unwrap();
    assert_eq!(found.status(), 200);
    assert_eq!(found.json::<Value>().await.unwrap(), json!({"id": id}), "existence only: no email");
    // Other services only: without the credential, nothing.
    let anyone = app.auth.http.get(app.auth.url(&format!("/internal/users/{id}"))).send().await.unwrap();
    assert_eq!(anyone.status(), 403);
    assert_eq!(anyone.json::<Value>().await.unwrap()["error"]["code"], "FORBIDDEN");
    let missing = internal(format!("/internal/users/{}", uuid::Uuid::new_v4())).await.unwrap();
    assert_eq!(missing.status(), 404);
    let malformed = internal("/internal/users/user-uuid".to_owned()).await.unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(malformed.json::<Value>().await.unwrap()["error"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn health_endpoints() {
    let app = helpers::spawn().await;
    for path in ["/health/live", "/health/ready"] {
        let response = app.auth.http.get(app.auth.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let unknown = app.auth.http.get(app.auth.url("/nope")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn readiness_is_503_while_migrations_are_pending() {
    let db = test_support::TestDb::bootstrapped().await;
    let app = helpers::spawn_with(db, &[]).await;
    let response = app.auth.http.get(app.auth.url("/health/ready")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert!(body["reason"].as_str().unwrap().contains("pending"), "{body}");
}

#[tokio::test]
async fn logins_do_not_stall_other_requests() {
    let app = helpers::spawn().await;
    // Four accounts, four logins each (one account may try at most five at once from one address).
    for i in 0..4 {
        app.register(&format!("user{i}@example.com"), "securepass").await;
    }
    let logins = futures::future::join_all((0..16).map(|i| {
        app.auth_post("/auth/login", json!({"email": format!("user{}@example.com", i % 4), "password": "securepass"}))
    }));
    let probe = async {
        // Let the logins start first.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let started = std::time::Instant::now();
        let response = app.auth.http.get(app.auth.url("/health/live")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        started.elapsed()
    };
    let (responses, live_latency) = tokio::join!(logins, probe);
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // Generous: hashing runs on blocking threads, so this answers in milliseconds.
    assert!(live_latency < std::time::Duration::from_millis(500), "health/live took {live_latency:?} during logins");
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_create_one_user() {
    let app = helpers::spawn().await;
    let attempts = futures::future::join_all((0..12).map(|i| {
        // The same address, differently typed.
        let email = if i % 2 == 0 { "race@example.com" } else { " RACE@example.com " };
        app.auth_post("/auth/register", json!({"email": email, "password": "securepass"}))
    }))
    .await;
    let statuses: Vec<u16> = attempts.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    assert_eq!(app.db.count("auth_schema.users").await, 1);
    assert_eq!(app.db.count("auth_schema.refresh_tokens").await, 1, "only the winner got a session");
}

/// Finding 8: lookalike identities registered beside the real one. Emails
/// now compare in NFKC case-folded form, and labels mixing scripts are refused.
#[tokio::test]
async fn lookalike_emails_are_one_account_or_refused() {
    let app = helpers::spawn().await;
    app.register("kate@example.com", "securepass").await;
    let register = |email: &'static str| {
        app.auth_post("/auth/register", json!({"email": email, "password": "securepass", "name": "Kate"}))
    };
    let (status, body) = test_support::status_and_json(register("k\u{430}te@example.com").await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("BAD_USER_INPUT")), "Cyrillic а: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("mixes scripts"), "{body}");
    for same in ["KATE@example.com", "\u{ff4b}ate@example.com"] {
        let (status, body) = test_support::status_and_json(register(same).await).await;
        assert_eq!((status, body["error"]["code"].as_str()), (409, Some("EMAIL_TAKEN")), "{same}: {body}");
    }
    // One é, written composed or with a combining accent, is one account.
    assert_eq!(register("kat\u{e9}@example.com").await.status(), 201);
    let (status, _) = test_support::status_and_json(register("kate\u{301}@example.com").await).await;
    assert_eq!(status, 409);
    let login = app.auth_post("/auth/login", json!({"email": "kate\u{301}@example.com", "password": "securepass"}));
    assert_eq!(login.await.status(), 200, "and it signs in however it is written");
    // Names that show nothing, or reorder what follows, are refused.
    for name in ["\u{200b}\u{200b}", "\u{202e}gnp.exe"] {
        let body = json!({"email": "n@example.com", "password": "securepass", "name": name});
        let (status, out) = test_support::status_and_json(app.auth_post("/auth/register", body).await).await;
        assert_eq!(status, 422, "{name:?}: {out}");
    }
    assert_eq!(app.db.count("auth_schema.users").await, 2);
}
