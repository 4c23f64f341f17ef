//! Refresh tokens (rotation, reuse detection, logout) and login throttling,
//! over HTTP against a real database.

mod helpers;

use serde_json::json;
use test_support::error_code;
use test_support::status_and_json;

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replayed_one_revokes_the_family() {
    let app = helpers::spawn().await;
    let registered = app.register("ana@example.com", "securepass").await;
    let first = registered["refreshToken"].as_str().unwrap().to_owned();
    assert!(first.len() >= 43, "256 random bits");
    assert!(registered["refreshExpiresAt"].as_str().unwrap().ends_with('Z'));

    let (status, rotated) = status_and_json(app.auth_post("/auth/refresh", json!({"refreshToken": first})).await).await;
    assert_eq!(status, 200, "{rotated}");
    let second = rotated["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(rotated["user"]["email"], "ana@example.com");
    let access = rotated["token"].as_str().unwrap();
    let validated = app.auth.http.post(app.auth.url("/auth/validate")).bearer_auth(access).send().await.unwrap();
    assert_eq!(validated.status(), 200, "the refreshed access token is valid");

    // The first token again: a replay. Refused, and the live second token dies with it.
    let (status, replay) = status_and_json(app.auth_post("/auth/refresh", json!({"refreshToken": first})).await).await;
    assert_eq!((status, replay["error"]["code"].as_str()), (401, Some("UNAUTHENTICATED")), "{replay}");
    assert!(replay["error"]["message"].as_str().unwrap().contains("already used"), "{replay}");
    let (status, _) = status_and_json(app.auth_post("/auth/refresh", json!({"refreshToken": second})).await).await;
    assert_eq!(status, 401, "the whole family is revoked");

    // Another login is another family, untouched.
    let (status, login) = status_and_json(
        app.auth_post("/auth/login", json!({"email": "ana@example.com", "password": "securepass"})).await,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) =
        status_and_json(app.auth_post("/auth/refresh", json!({"refreshToken": login["refreshToken"].clone()})).await)
            .await;
    assert_eq!(status, 200);

    // Stored as its SHA-256, never as the token itself.
    let hashed = app
        .db
        .count(&format!("auth_schema.refresh_tokens WHERE token_hash = sha256(convert_to('{first}', 'UTF8'))"))
        .await;
    assert_eq!(hashed, 1);
    let plain =
        app.db.count(&format!("auth_schema.refresh_tokens WHERE encode(token_hash, 'escape') = '{first}'")).await;
    assert_eq!(plain, 0, "refresh tokens are stored hashed");
}

#[tokio::test]
async fn logout_revokes_the_session_and_is_idempotent() {
    let app = helpers::spawn().await;
    let registered = app.register("ben@example.com", "securepass").await;
    let refresh = registered["refreshToken"].as_str().unwrap();
    let query = "mutation($t: String!) { logout(refreshToken: $t) }";
    let out = app.auth.graphql(query, json!({"t": refresh}), None).await;
    assert_eq!(out["data"]["logout"], true, "{out}");
    let again = app.auth_post("/auth/logout", json!({"refreshToken": refresh})).await;
    assert_eq!(again.status(), 204);
    let refreshed = app
        .auth
        .graphql("mutation($t: String!) { refreshToken(refreshToken: $t) { token } }", json!({"t": refresh}), None)
        .await;
    assert_eq!(error_code(&refreshed), Some("UNAUTHENTICATED"), "{refreshed}");

    for junk in ["", "x", &"y".repeat(10_000)] {
        let (status, out) = status_and_json(app.auth_post("/auth/refresh", json!({"refreshToken": junk})).await).await;
        assert_eq!((status, out["error"]["code"].as_str()), (401, Some("UNAUTHENTICATED")), "{out}");
    }
    let (status, out) = status_and_json(app.auth_post("/auth/refresh", json!({"token": 1})).await).await;
    assert_eq!((status, out["error"]["code"].as_str()), (422, Some("BAD_USER_INPUT")), "{out}");
}

#[tokio::test]
async fn concurrent_use_of_one_refresh_token_lets_at_most_one_win() {
    let app = helpers::spawn().await;
    let registered = app.register("cy@example.com", "securepass").await;
    let refresh = registered["refreshToken"].as_str().unwrap();
    let attempts =
        futures::future::join_all((0..8).map(|_| app.auth_post("/auth/refresh", json!({"refreshToken": refresh}))))
            .await;
    let ok = attempts.iter().filter(|r| r.status() == 200).count();
    assert!(ok <= 1, "{ok} refreshes won with one token");
    assert!(attempts.iter().all(|r| r.status() == 200 || r.status() == 401));
}

#[tokio::test]
async fn repeated_failures_are_throttled_per_email_and_survive_a_restart() {
    let db = test_support::TestDb::new().await;
    let env = [("LOGIN_MAX_FAILURES_PER_EMAIL", "3"), ("LOGIN_LOCKOUT", "60s")];
    let app = helpers::spawn_with(db, &env).await;
    app.register("dee@example.com", "securepass").await;
    let wrong = json!({"email": "dee@example.com", "password": "wrong-password"});
    for _ in 0..3 {
        let (status, out) = status_and_json(app.auth_post("/auth/login", wrong.clone()).await).await;
        assert_eq!(status, 401, "{out}");
    }
    // Blocked now, even with the right password, and without checking it.
    let right = json!({"email": " DEE@example.com", "password": "securepass"});
    let response = app.auth_post("/auth/login", right.clone()).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (_, out) = status_and_json(response).await;
    assert_eq!(out["error"]["code"], "TOO_MANY_REQUESTS");

    let graphql = app
        .auth
        .graphql(
            "mutation { login(input: {email: \"dee@example.com\", password: \"securepass\"}) { token } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(error_code(&graphql), Some("TOO_MANY_REQUESTS"), "{graphql}");
    assert!(graphql["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().unwrap() >= 1);

    // Other accounts are not affected.
    app.register("eve@example.com", "securepass").await;
    let (status, _) = status_and_json(
        app.auth_post("/auth/login", json!({"email": "eve@example.com", "password": "securepass"})).await,
    )
    .await;
    assert_eq!(status, 200);

    // Kept in PostgreSQL: a new instance of the service (a restart, or a replica) still refuses.
    let db = app.db;
    app.auth.stop().await;
    let restarted = helpers::spawn_with(db, &env).await;
    let response = restarted.auth_post("/auth/login", right).await;
    assert_eq!(response.status(), 429);
}

#[tokio::test]
async fn a_successful_login_forgets_its_own_count_and_addresses_are_throttled_too() {
    let db = test_support::TestDb::new().await;
    let env = [("LOGIN_MAX_FAILURES_PER_EMAIL", "3"), ("LOGIN_MAX_FAILURES_PER_ADDRESS", "5")];
    let app = helpers::spawn_with(db, &env).await;
    app.register("fay@example.com", "securepass").await;
    let login =
        |email: &str, password: &str| app.auth_post("/auth/login", json!({"email": email, "password": password}));
    for _ in 0..2 {
        assert_eq!(login("fay@example.com", "nope-nope").await.status(), 401);
    }
    assert_eq!(login("fay@example.com", "securepass").await.status(), 200);
    for _ in 0..2 {
        assert_eq!(login("fay@example.com", "nope-nope").await.status(), 401);
    }
    assert_eq!(login("fay@example.com", "securepass").await.status(), 200, "the earlier failures were forgotten");

    // One address guessing many accounts: blocked after five failures in all,
    // the four on fay's account included (a success forgets only fay's own
    // count from this address, never the address's).
    assert_eq!(login("guess0@example.com", "nope-nope").await.status(), 401);
    assert_eq!(login("guess1@example.com", "nope-nope").await.status(), 429);
    assert_eq!(login("fay@example.com", "securepass").await.status(), 429);
    // Behind a trusted proxy (loopback), the forwarded client is counted instead.
    let other_client = app
        .auth
        .http
        .post(app.auth.url("/auth/login"))
        .header("X-Forwarded-For", "198.51.100.7")
        .json(&json!({"email": "fay@example.com", "password": "securepass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other_client.status(), 200);
}
