//! The federated stack end to end: the real Apollo Router (release binary)
//! in front of the three service binaries, on a real PostgreSQL.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use common::ServiceKind;
use serde_json::{json, Value};

fn codes(response: &Value) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["extensions"]["code"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// register → login → createEvent → checkIn, all through the router.
async fn organizer_with_event(e2e: &e2e::E2e) -> (String, String) {
    let registered = e2e
        .graphql(
            "mutation { register(input: {email: \"ana@example.com\", password: \"securepass\", name: \"Ana\"}) { token user { id } } }",
            json!({}),
            None,
        )
        .await;
    assert!(registered["errors"].is_null(), "{registered}");
    let login = e2e
        .graphql(
            "mutation { login(input: {email: \"ana@example.com\", password: \"securepass\"}) { token } }",
            json!({}),
            None,
        )
        .await;
    let token = login["data"]["login"]["token"].as_str().expect("login token").to_owned();
    let now = chrono::Utc::now();
    let (start, end) = (now - chrono::Duration::minutes(30), now + chrono::Duration::hours(2));
    let created = e2e
        .graphql(
            "mutation($input: CreateEventInput!) { createEvent(input: $input) { id organizer { id } } }",
            json!({"input": {"title": "RustConf Jakarta", "startTime": start.to_rfc3339(), "endTime": end.to_rfc3339(), "capacity": 100}}),
            Some(&token),
        )
        .await;
    assert!(created["errors"].is_null(), "{created}");
    let event_id = created["data"]["createEvent"]["id"].as_str().unwrap().to_owned();
    let checked_in = e2e
        .graphql(
            "mutation($e: ID!) { checkIn(input: {eventId: $e}) { id checkInTime } }",
            json!({"e": event_id}),
            Some(&token),
        )
        .await;
    assert!(checked_in["errors"].is_null(), "{checked_in}");
    (token, event_id)
}

#[tokio::test]
async fn one_query_spans_all_three_subgraphs() {
    let e2e = e2e::start().await;
    let (token, event_id) = organizer_with_event(&e2e).await;

    let query = "query($id: ID!) { event(id: $id) { title organizer { email } attendance { totalCount nodes { checkInTime user { email } event { title } } } attendanceStats { totalAttendees } } }";
    // Read by the organizer, who may see their attendees' emails (e2e/tests/access.rs has who else may).
    let response = e2e.graphql(query, json!({"id": event_id}), Some(&token)).await;
    assert!(response["errors"].is_null(), "{response}");
    let event = &response["data"]["event"];
    assert_eq!(event["title"], "RustConf Jakarta");
    assert_eq!(event["organizer"]["email"], "ana@example.com");
    assert_eq!(event["attendance"]["totalCount"], 1);
    let node = &event["attendance"]["nodes"][0];
    assert_eq!(node["user"]["email"], "ana@example.com");
    assert_eq!(node["event"]["title"], "RustConf Jakarta");
    assert!(node["checkInTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(event["attendanceStats"]["totalAttendees"], 1);

    let me = e2e
        .graphql("{ me { email attendances { totalCount nodes { event { title } } } } }", json!({}), Some(&token))
        .await;
    assert!(me["errors"].is_null(), "{me}");
    assert_eq!(me["data"]["me"]["attendances"]["nodes"][0]["event"]["title"], "RustConf Jakarta");

    // The contract also serves the supergraph at /graphql.
    let at_graphql = e2e
        .http
        .post(format!("{}/graphql", e2e.stack.router_url()))
        .json(&json!({"query": "{ events { totalCount } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(at_graphql.status(), 200);
    assert_eq!(at_graphql.json::<Value>().await.unwrap()["data"]["events"]["totalCount"], 1);
}

#[tokio::test]
async fn the_authorization_header_reaches_every_subgraph() {
    let e2e = e2e::start().await;
    let (token, event_id) = organizer_with_event(&e2e).await;
    // Each root field is served by a different subgraph, each needs the token.
    let query = "query($e: ID!) { me { id } events(filter: {search: \"Rust\"}) { totalCount } eventAttendance(eventId: $e) { totalCount } }";
    let valid = e2e.graphql(query, json!({"e": event_id}), Some(&token)).await;
    assert!(valid["errors"].is_null(), "{valid}");
    assert!(valid["data"]["me"]["id"].is_string(), "auth saw the token");

    let forged = e2e.graphql(query, json!({"e": event_id}), Some("not-a-real-token")).await;
    let codes = codes(&forged);
    assert!(!codes.is_empty(), "{forged}");
    assert!(codes.iter().all(|c| c == "UNAUTHENTICATED"), "{forged}");
    assert!(codes.len() >= 3, "every subgraph refused the token: {forged}");

    // Writes need the caller: the event service made the caller the organizer.
    let organizer = e2e
        .graphql("query($id: ID!) { event(id: $id) { organizer { email } } }", json!({"id": event_id}), Some(&token))
        .await;
    assert_eq!(organizer["data"]["event"]["organizer"]["email"], "ana@example.com");
}

#[tokio::test]
async fn a_stopped_subgraph_costs_only_its_part_and_recovers() {
    let mut e2e = e2e::start().await;
    let (token, _) = organizer_with_event(&e2e).await;
    let attendance = e2e.graphql("{ me { attendances { nodes { id } } } }", json!({}), Some(&token)).await;
    let attendance_id = attendance["data"]["me"]["attendances"]["nodes"][0]["id"].as_str().unwrap().to_owned();
    let query = "query($a: ID!) { events { nodes { title } } attendance(id: $a) { id } }";

    e2e.stack.stop_service(ServiceKind::Attendance);
    let partial = e2e.graphql(query, json!({"a": attendance_id}), Some(&token)).await;
    assert_eq!(partial["data"]["events"]["nodes"][0]["title"], "RustConf Jakarta", "{partial}");
    assert_eq!(partial["data"]["attendance"], Value::Null);
    assert!(partial["errors"].as_array().is_some_and(|e| !e.is_empty()), "{partial}");
    let health = e2e.http.get(e2e.stack.router_health_url()).send().await.unwrap();
    assert_eq!(health.status(), 200, "the router keeps running");

    e2e.stack.start_service(ServiceKind::Attendance).await.expect("restart attendance");
    let recovered = e2e.graphql(query, json!({"a": attendance_id}), Some(&token)).await;
    assert!(recovered["errors"].is_null(), "{recovered}");
    assert_eq!(recovered["data"]["attendance"]["id"], attendance_id.as_str());
}

/// Every `Fetch` node of a query plan, by subgraph.
fn fetches(plan: &Value, found: &mut Vec<String>) {
    match plan {
        Value::Object(map) => {
            if map.get("kind") == Some(&json!("Fetch")) {
                if let Some(service) = map.get("serviceName").and_then(Value::as_str) {
                    found.push(service.to_owned());
                }
            }
            map.values().for_each(|v| fetches(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| fetches(v, found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_query_plan_fetches_each_subgraph_once_per_level() {
    let e2e = e2e::start().await;
    let query = "query($id: ID!) { event(id: $id) { attendance { nodes { user { email } } } } }";
    let (status, response) = e2e
        .graphql_with_headers(
            query,
            json!({"id": uuid::Uuid::new_v4()}),
            None,
            &[("Apollo-Expose-Query-Plan", "dry-run")],
        )
        .await;
    assert_eq!(status, 200, "{response}");
    let plan = &response["extensions"]["apolloQueryPlan"];
    assert!(!plan.is_null(), "no plan exposed: {response}");
    let mut found = Vec::new();
    fetches(plan, &mut found);
    found.sort();
    assert_eq!(found, ["attendance", "auth", "event"], "one fetch per subgraph, not one per attendee: {plan}");
}

#[tokio::test]
async fn development_router_serves_the_playground_and_health() {
    let e2e = e2e::start().await;
    let router = e2e.stack.router_url();
    // A browser opening `/` gets GraphiQL, from the router's own files (no CDN).
    let landing = e2e.http.get(format!("{router}/")).header("Accept", "text/html").send().await.unwrap();
    assert_eq!(landing.status(), 200);
    let page = landing.text().await.unwrap();
    assert!(page.contains("TitikTemu GraphiQL"), "`cargo xtask test` builds playground/dist first: {page}");
    assert!(!page.contains("https://"), "the page loads nothing from elsewhere: {page}");
    let script = e2e.http.get(format!("{router}/playground/graphiql.min.js")).send().await.unwrap();
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    // Everything else at `/` is still GraphQL.
    let graphql = e2e.http.post(format!("{router}/")).json(&json!({"query": "{ __typename }"}));
    assert_eq!(graphql.send().await.unwrap().json::<Value>().await.unwrap()["data"]["__typename"], "Query");
    let health = e2e.http.get(e2e.stack.router_health_url()).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

/// With `router.prod.yaml` a wrong login and a check-in at an unknown event
/// both answered `{"message":"Subgraph errors redacted"}` without a code, so
/// a door app could not tell one refusal from another (a fresh attack's
/// finding 10). In production every error now reaches the client with its
/// code and the message meant for it, and nothing else: a subgraph the
/// router cannot reach is `SERVICE_UNAVAILABLE`, without its name or address.
#[tokio::test]
async fn in_production_every_error_reaches_clients_with_its_code_and_nothing_more() {
    let mut e2e = e2e::start_in("production").await;
    let (token, event) = organizer_with_event(&e2e).await;
    let client_keys = ["code", "details", "retryAfterSeconds"];
    let assert_error = |response: &Value, code: &str, message: &str| {
        let error = &response["errors"][0];
        assert_eq!(error["extensions"]["code"], code, "{response}");
        assert!(error["message"].as_str().is_some_and(|m| m.contains(message)), "{response}");
        let keys = error["extensions"].as_object().map(|e| e.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
        assert!(keys.iter().all(|k| client_keys.contains(&k.as_str())), "only what clients read: {response}");
    };
    let login = "mutation($p: String!) { login(input: {email: \"ana@example.com\", password: $p}) { token } }";
    let wrong = e2e.graphql(login, json!({"p": "wrong-wrong"}), None).await;
    assert_error(&wrong, "UNAUTHENTICATED", "");
    let check_in = "mutation($e: ID!) { checkIn(input: {eventId: $e}) { id } }";
    let unknown = e2e.graphql(check_in, json!({"e": uuid::Uuid::new_v4()}), Some(&token)).await;
    assert_error(&unknown, "NOT_FOUND", "event not found");
    let again = e2e.graphql(check_in, json!({"e": event}), Some(&token)).await;
    assert_error(&again, "ALREADY_CHECKED_IN", "already checked in");
    assert!(again["errors"][0]["extensions"]["details"]["attendance"]["id"].is_string(), "{again}");
    for _ in 0..4 {
        e2e.graphql(login, json!({"p": "wrong-wrong"}), None).await;
    }
    let throttled = e2e.graphql(login, json!({"p": "wrong-wrong"}), None).await;
    assert_error(&throttled, "TOO_MANY_REQUESTS", "");
    assert!(throttled["errors"][0]["extensions"]["retryAfterSeconds"].is_u64(), "{throttled}");
    let invalid = e2e.graphql("{ events(first: -1) { totalCount } }", json!({}), None).await;
    assert_error(&invalid, "BAD_USER_INPUT", "");
    let unparsable = e2e.graphql("{ events {", json!({}), None).await;
    assert_error(&unparsable, "PARSING_ERROR", "");

    e2e.stack.stop_service(ServiceKind::Attendance);
    let down = e2e.graphql(check_in, json!({"e": event}), Some(&token)).await;
    assert_error(&down, "SERVICE_UNAVAILABLE", "unavailable");
    let text = down.to_string();
    let port = e2e.stack.service_url(ServiceKind::Attendance).rsplit(':').next().unwrap().to_owned();
    for secret in ["attendance", "http://", "127.0.0.1", port.as_str()] {
        assert!(!text.contains(secret), "{secret} told: {text}");
    }
}
