//! Hostile input against every auth endpoint: each case is refused with a
//! 4xx (or a GraphQL error) carrying a code, nothing is written, and the
//! service stays healthy.

mod helpers;

use serde_json::{json, Value};
use test_support::hostile::{assert_refused, hostile_graphql, hostile_strings, malformed_bodies, send};

#[tokio::test]
async fn hostile_rest_bodies_are_refused_and_write_nothing() {
    let app = helpers::spawn().await;
    let http = &app.auth.http;
    let mut cases = 0;
    for path in ["/auth/register", "/auth/login", "/auth/refresh", "/auth/logout"] {
        for body in malformed_bodies() {
            let (status, out) = send(http.post(app.auth.url(path)), &body).await;
            assert_refused(&format!("{path}, {}", body.name), status, &out);
            cases += 1;
        }
    }
    for hostile in hostile_strings() {
        let bodies = [
            json!({"email": hostile, "password": "securepass"}),
            json!({"email": "a@example.com", "password": "securepass", "name": format!("{hostile}{}", "n".repeat(201))}),
            json!({"email": ["a@example.com"], "password": hostile}),
            json!({"email": "a@example.com", "password": {"$gt": ""}}),
        ];
        for body in bodies {
            let response = app.auth_post("/auth/register", body.clone()).await;
            let status = response.status().as_u16();
            let out: Value = response.json().await.unwrap_or(Value::Null);
            assert_refused(&format!("register {body:.80}"), status, &out);
            cases += 1;
        }
        let response = app.auth_post("/auth/login", json!({"email": hostile, "password": hostile})).await;
        let status = response.status().as_u16();
        assert_refused("login with a hostile string", status, &response.json().await.unwrap());
        cases += 1;
    }
    for id in ["not-a-uuid", "'%20OR%201=1%20--", "00000000-0000-0000-0000-00000000000g", &"9".repeat(5000)] {
        let response = http
            .get(app.auth.url(&format!("/internal/users/{id}")))
            .header(common::internal::HEADER, test_support::TEST_SERVICE_SECRET)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert_refused(&format!("user {id:.40}"), status, &response.json().await.unwrap());
        cases += 1;
    }
    assert_eq!(app.db.count("auth_schema.users").await, 0, "no hostile case registered anyone");
    assert_eq!(app.db.count("auth_schema.refresh_tokens").await, 0);
    app.auth.assert_healthy().await;
    eprintln!("{cases} hostile REST cases refused");
}

#[tokio::test]
async fn names_are_stored_as_plain_text_whatever_they_contain() {
    let app = helpers::spawn().await;
    for (i, hostile) in hostile_strings().into_iter().enumerate() {
        let email = format!("plain{i}@example.com");
        let response =
            app.auth_post("/auth/register", json!({"email": email, "password": "securepass", "name": hostile})).await;
        let status = response.status().as_u16();
        let out: Value = response.json().await.unwrap();
        let trimmed = hostile.trim();
        if status == 201 {
            let expected = if trimmed.is_empty() { Value::Null } else { json!(trimmed) };
            assert_eq!(out["user"]["name"], expected, "{hostile:.40}");
        } else {
            // Too long, not storable (a NUL character) or misleading (a
            // bidirectional override): refused, not a 500.
            assert_refused(&format!("name {hostile:.40}"), status, &out);
        }
    }
    let users = app.db.count("auth_schema.users").await;
    assert!(users >= 7, "ordinary hostile names are accepted as text ({users} stored)");
    app.auth.assert_healthy().await;
}

#[tokio::test]
async fn hostile_graphql_is_refused_with_codes() {
    let app = helpers::spawn().await;
    let mut cases = hostile_graphql();
    let long = "x".repeat(200_000);
    for (name, query, variables) in [
        ("wrong type", "mutation { register(input: {email: 42, password: \"securepass\"}) { token } }", json!({})),
        ("missing field", "mutation { register(input: {email: \"a@example.com\"}) { token } }", json!({})),
        (
            "null for non-null",
            "mutation($e: String!) { login(input: {email: $e, password: \"x\"}) { token } }",
            json!({"e": null}),
        ),
        ("unknown enum value", "{ user(id: ADMIN) { id } }", json!({})),
        ("bad UUID", "{ user(id: \"' OR 1=1 --\") { id } }", json!({})),
        (
            "huge string",
            "mutation($p: String!) { login(input: {email: \"a@example.com\", password: $p}) { token } }",
            json!({"p": long}),
        ),
        ("the password hash is no field", "{ me { passwordHash } }", json!({})),
        (
            "refresh with a huge token",
            "mutation($t: String!) { refreshToken(refreshToken: $t) { token } }",
            json!({"t": long}),
        ),
        (
            "refresh with a forged token",
            "mutation { refreshToken(refreshToken: \"' OR 1=1 --\") { token } }",
            json!({}),
        ),
    ] {
        cases.push((name.to_owned(), json!({"query": query, "variables": variables})));
    }
    app.auth.assert_all_graphql_refused(&cases).await;
    assert_eq!(app.db.count("auth_schema.users").await, 0);
}

#[tokio::test]
async fn forged_tokens_are_refused_everywhere() {
    let app = helpers::spawn().await;
    let registered = app.register("tok@example.com", "securepass").await;
    let token = registered["token"].as_str().unwrap();
    let tokens = app.forged_tokens(token).await;
    for (name, forged) in &tokens {
        let response = app.auth.http.post(app.auth.url("/auth/validate")).bearer_auth(forged).send().await.unwrap();
        assert_eq!(response.status(), 401, "{name}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["valid"], false, "{name}");
        app.auth.assert_unauthenticated(name, "{ me { id } }", json!({}), forged).await;
        let check = app
            .auth
            .graphql("mutation($t: String!) { validateToken(token: $t) { valid } }", json!({"t": forged}), None)
            .await;
        assert_eq!(check["data"]["validateToken"]["valid"], false, "{name}");
    }
    app.auth.assert_healthy().await;
    eprintln!("{} forged tokens refused", tokens.len());
}

/// No cross-site form or `text/plain` post can register an account, and the
/// endpoint speaks GraphQL over HTTP as the specification asks.
#[tokio::test]
async fn graphql_needs_json_bodies_and_negotiates_its_media_type() {
    let app = helpers::spawn().await;
    let mutation = r#"mutation { register(input: {email: "csrf@example.com", password: "securepass"}) { token } }"#;
    test_support::hostile::assert_graphql_over_http(&app.auth.http, &app.auth.url("/graphql"), mutation).await;
    assert_eq!(app.db.count("auth_schema.users").await, 0, "no refused request registered anyone");
    app.auth.assert_healthy().await;
}

/// Finding 1, straight at the subgraph: aliased `_entities` fetches count
/// every representation.
#[tokio::test]
async fn costly_operations_are_refused_before_they_run() {
    let app = helpers::spawn().await;
    let representations: Vec<Value> =
        (0..1000).map(|_| json!({"__typename": "User", "id": uuid::Uuid::new_v4()})).collect();
    let aliases: String =
        (0..30).map(|i| format!(" a{i}: _entities(representations: $r) {{ ... on User {{ id name }} }}")).collect();
    let query = format!("query($r: [_Any!]!) {{{aliases} }}");
    let before = app.auth.statements.get();
    let response = app.auth.graphql(&query, json!({"r": representations}), None).await;
    assert_eq!(test_support::error_code(&response), Some("QUERY_TOO_COMPLEX"), "{response}");
    assert_eq!(app.auth.statements.get() - before, 0, "refused before any SQL");
    // One fetch of 1,000 (the router's door list) is fine.
    let one = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name } } }";
    let response = app.auth.graphql(one, json!({"r": representations}), None).await;
    assert!(response["errors"].is_null(), "{response}");
}
