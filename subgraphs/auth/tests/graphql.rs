//! The auth subgraph over GraphQL: operations, the User entity, batching.

mod helpers;

use serde_json::{json, Value};
use test_support::error_code;

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { token expiresAt user { id email name role createdAt } } }";

#[tokio::test]
async fn register_login_me_and_validate_token() {
    let app = helpers::spawn().await;
    let s = &app.auth;
    let registered = s
        .graphql(
            REGISTER,
            json!({"input": {"email": "Ana@Example.com", "password": "securepass", "name": "Ana"}}),
            None,
        )
        .await;
    assert!(registered["errors"].is_null(), "{registered}");
    let user = &registered["data"]["register"]["user"];
    assert_eq!(user["email"], "ana@example.com");
    assert_eq!(user["name"], "Ana");
    assert_eq!(user["role"], "USER");

    let login = s
        .graphql(
            "mutation { login(input: {email: \"ana@example.com\", password: \"securepass\"}) { token user { id } } }",
            json!({}),
            None,
        )
        .await;
    let token = login["data"]["login"]["token"].as_str().unwrap();

    let me = s.graphql("{ me { id email } }", json!({}), Some(token)).await;
    assert_eq!(me["data"]["me"]["id"], user["id"]);
    let anonymous = s.graphql("{ me { id } }", json!({}), None).await;
    assert_eq!(anonymous["data"]["me"], Value::Null);

    let valid = s
        .graphql(
            "mutation($t: String!) { validateToken(token: $t) { valid user { email } expiresAt error } }",
            json!({"t": token}),
            None,
        )
        .await;
    assert_eq!(valid["data"]["validateToken"]["valid"], true);
    assert_eq!(valid["data"]["validateToken"]["user"]["email"], "ana@example.com");
    let invalid =
        s.graphql("mutation { validateToken(token: \"garbage\") { valid user { id } error } }", json!({}), None).await;
    assert_eq!(invalid["data"]["validateToken"]["valid"], false);
    assert!(invalid["data"]["validateToken"]["error"].is_string());

    // Anyone may look a person up by id; only they (or an ADMIN, or an
    // organizer of an event they attended) see the personal fields.
    let query = "query($id: ID!) { user(id: $id) { id name email role createdAt } }";
    let anonymous = s.graphql(query, json!({"id": user["id"]}), None).await;
    assert_eq!(anonymous["data"]["user"]["name"], "Ana", "{anonymous}");
    for field in ["email", "role", "createdAt"] {
        assert!(anonymous["data"]["user"][field].is_null(), "{anonymous}");
    }
    assert_eq!(anonymous["errors"].as_array().map(Vec::len), Some(3), "one error per refused field: {anonymous}");
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
    assert_eq!(anonymous["errors"][0]["path"], json!(["user", "email"]), "{anonymous}");
    let own = s.graphql(query, json!({"id": user["id"]}), Some(token)).await;
    assert_eq!(own["data"]["user"]["email"], "ana@example.com", "{own}");
    assert_eq!(own["data"]["user"]["role"], "USER");
    let malformed = s.graphql("{ user(id: \"nope\") { email } }", json!({}), None).await;
    assert_eq!(error_code(&malformed), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn graphql_errors_carry_the_contracts_codes() {
    let app = helpers::spawn().await;
    let s = &app.auth;
    let input = json!({"input": {"email": "dup@example.com", "password": "securepass"}});
    s.graphql(REGISTER, input.clone(), None).await;
    assert_eq!(error_code(&s.graphql(REGISTER, input, None).await), Some("EMAIL_TAKEN"));
    let weak = s.graphql(REGISTER, json!({"input": {"email": "x@example.com", "password": "short"}}), None).await;
    assert_eq!(error_code(&weak), Some("BAD_USER_INPUT"));
    let wrong = s
        .graphql(
            "mutation { login(input: {email: \"dup@example.com\", password: \"nopenope\"}) { token } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(error_code(&wrong), Some("UNAUTHENTICATED"));
    // A present but invalid token fails the operation, whatever it is.
    let forged = s.graphql("{ me { id } }", json!({}), Some("e30.e30.e30")).await;
    assert_eq!(error_code(&forged), Some("UNAUTHENTICATED"));
    // No way to choose a role.
    let role = s
        .graphql(
            "mutation { register(input: {email: \"r@example.com\", password: \"securepass\", role: ADMIN}) { token } }",
            json!({}),
            None,
        )
        .await;
    assert!(role["errors"].is_array() && role["data"].is_null(), "{role}");
}

#[tokio::test]
async fn a_thousand_user_references_cost_one_sql_query_and_keep_their_order() {
    let app = helpers::spawn().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = app.register(&format!("user{i}@example.com"), "securepass").await;
        ids.push(r["user"]["id"].as_str().unwrap().to_owned());
    }
    // 1,000 representations: known ids (repeated), unknown ids and a malformed one, interleaved.
    let mut representations = Vec::new();
    let mut expected = Vec::new();
    for i in 0..1000 {
        let (id, email) = match i % 5 {
            0..=2 => (ids[i % 3].clone(), Some(format!("user{}@example.com", i % 3))),
            3 => (uuid::Uuid::new_v4().to_string(), None),
            _ => (format!("not-a-uuid-{i}"), None),
        };
        representations.push(json!({"__typename": "User", "id": id}));
        expected.push(email);
    }
    // As an ADMIN, who may read every email: no one else needs to be asked.
    let admin = test_support::admin_token(&app.db, &app.auth, "admin@example.com").await;
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email } } }";
    let before = app.auth.statements.get();
    let response = app.auth.graphql(query, json!({"r": representations}), Some(&admin)).await;
    let statements = app.auth.statements.get() - before;
    assert!(response["errors"].is_null(), "{}", response["errors"]);
    let entities = response["data"]["_entities"].as_array().unwrap();
    assert_eq!(entities.len(), 1000);
    for (entity, email) in entities.iter().zip(&expected) {
        match email {
            Some(email) => assert_eq!(&entity["email"], email),
            None => assert!(entity.is_null(), "{entity}"),
        }
    }
    assert_eq!(statements, 1, "one SQL statement for the whole batch");
}

#[tokio::test]
async fn the_sdl_declares_the_user_entity_without_a_password() {
    let sdl = auth_service::graphql::sdl();
    assert!(sdl.contains("type User @key(fields: \"id\")"), "{sdl}");
    assert!(!sdl.to_lowercase().contains("passwordhash"));
    assert!(!sdl.contains("_service"), "federation SDL, not the plain one");
}

#[tokio::test]
async fn promote_command_makes_an_admin() {
    let app = helpers::spawn().await;
    app.register("boss@example.com", "securepass").await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_auth-service"))
        .args(["promote", "Boss@example.com"])
        .env_clear()
        .env("DATABASE_URL", app.db.service_url(common::ServiceKind::Auth))
        .env("APP_ENV", "development")
        .env("JWT_DEV_KEY_FILE", std::env::temp_dir().join(format!("tt-key-{}.pem", uuid::Uuid::new_v4())))
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let login = app.auth_post("/auth/login", json!({"email": "boss@example.com", "password": "securepass"})).await;
    let body: Value = login.json().await.unwrap();
    assert_eq!(body["user"]["role"], "ADMIN");
    let claims = common::auth::TokenVerifier::from_jwks(
        &auth_service::keys::SigningKeys::from_pem(&app.auth_key_pem).unwrap().jwks(),
        Default::default(),
    )
    .verify(body["token"].as_str().unwrap())
    .await
    .unwrap();
    assert_eq!(claims.role, common::auth::Role::Admin);

    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_auth-service"))
        .args(["promote", "ghost@example.com"])
        .env_clear()
        .env("DATABASE_URL", app.db.service_url(common::ServiceKind::Auth))
        .env("JWT_DEV_KEY_FILE", std::env::temp_dir().join(format!("tt-key-{}.pem", uuid::Uuid::new_v4())))
        .output()
        .unwrap();
    assert!(!missing.status.success());
}

#[tokio::test]
async fn missing_configuration_is_one_clear_line() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_auth-service"))
        .env_clear()
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_URL is not set"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[tokio::test]
async fn production_turns_introspection_off_but_keeps_the_federation_sdl() {
    let dev = helpers::spawn().await;
    let schema = dev.auth.graphql("{ __schema { queryType { name } } }", json!({}), None).await;
    assert_eq!(schema["data"]["__schema"]["queryType"]["name"], "Query", "{schema}");

    let prod = helpers::spawn_with(test_support::TestDb::new().await, &[("APP_ENV", "production")]).await;
    let schema = prod.auth.graphql("{ __schema { queryType { name } } }", json!({}), None).await;
    assert_eq!(schema["data"]["__schema"], Value::Null, "{schema}");
    let user_type = prod.auth.graphql("{ __type(name: \"User\") { fields { name } } }", json!({}), None).await;
    assert_eq!(user_type["data"]["__type"], Value::Null, "{user_type}");
    let service = prod.auth.graphql("{ _service { sdl } }", json!({}), None).await;
    assert!(service["data"]["_service"]["sdl"].as_str().unwrap().contains("@key"), "{service}");
    // Only the router (with the service credential) may ask at all.
    let anyone = prod.auth.http.post(prod.auth.url("/graphql")).json(&json!({"query": "{ _service { sdl } }"}));
    assert_eq!(anyone.send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn aliases_and_root_fields_are_capped() {
    let app = helpers::spawn().await;
    let s = &app.auth;
    let many_roots = format!("{{ {} }}", (0..51).map(|i| format!("u{i}: me {{ id }}")).collect::<Vec<_>>().join(" "));
    let out = s.graphql(&many_roots, json!({}), None).await;
    assert_eq!(error_code(&out), Some("BAD_USER_INPUT"), "{out}");
    assert!(out["errors"][0]["message"].as_str().unwrap().contains("root fields"), "{out}");
    let fifty = format!("{{ {} }}", (0..50).map(|i| format!("u{i}: me {{ id }}")).collect::<Vec<_>>().join(" "));
    let out = s.graphql(&fifty, json!({}), None).await;
    assert!(out["errors"].is_null(), "fifty root fields are fine: {out}");
}

/// While the attendance service (which knows who checked in where) cannot
/// answer, users still resolve with their public fields; only the personal
/// ones another viewer asks for fail, with `SERVICE_UNAVAILABLE`.
#[tokio::test]
async fn without_the_attendance_service_only_personal_fields_fail() {
    let app = helpers::spawn_with(
        test_support::TestDb::new().await,
        &[("ATTENDANCE_SERVICE_URL", "http://127.0.0.1:9"), ("SERVICE_TIMEOUT", "1s")],
    )
    .await;
    let ana = app.register("ana@example.com", "securepass").await;
    let bob = app.register("bob@example.com", "securepass").await;
    let query = "query($id: ID!) { user(id: $id) { id name email } }";
    let response = app.auth.graphql(query, json!({"id": ana["user"]["id"]}), bob["token"].as_str()).await;
    assert_eq!(response["data"]["user"]["id"], ana["user"]["id"], "{response}");
    assert!(response["data"]["user"]["email"].is_null(), "{response}");
    assert_eq!(error_code(&response), Some("SERVICE_UNAVAILABLE"), "{response}");
    // The person themself needs no one's answer.
    let own = app.auth.graphql(query, json!({"id": ana["user"]["id"]}), ana["token"].as_str()).await;
    assert_eq!(own["data"]["user"]["email"], "ana@example.com", "{own}");
}
