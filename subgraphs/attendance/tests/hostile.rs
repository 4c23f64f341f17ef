//! Hostile input against every attendance endpoint: each case is refused
//! with a 4xx (or a GraphQL error) carrying a code, no check-in is written,
//! and the service stays healthy.

mod helpers;

use serde_json::{json, Value};
use test_support::hostile::{assert_refused, hostile_graphql, hostile_strings, malformed_bodies, send};
use test_support::status_and_json;

#[tokio::test]
async fn hostile_rest_input_is_refused_and_writes_nothing() {
    let stack = helpers::spawn().await;
    let http = &stack.attendance.http;
    let event = stack.live_event(None, Some(10)).await;
    let (_, user) = stack.user("ann@example.com").await;
    let mut cases = 0;

    for body in malformed_bodies() {
        let (status, out) = send(http.post(stack.attendance.url("/attendance")), &body).await;
        assert_refused(&body.name, status, &out);
        cases += 1;
    }
    let mut bodies = vec![
        json!({}),
        json!({"userId": user}),
        json!({"eventId": 42, "userId": user}),
        json!({"eventId": event, "userId": [user]}),
        json!({"eventId": event, "userId": user, "checkInTime": "2024-13-45T25:61:00Z"}),
        json!({"eventId": event, "userId": user, "checkInTime": 1705309200}),
        json!({"eventId": event, "userId": user, "checkInTime": "+275760-09-13T00:00:00Z"}),
        json!({"eventId": event, "userId": user, "recordedBy": user}),
        json!({"eventId": "00000000-0000-0000-0000-000000000000", "userId": user}),
        json!({"eventId": event, "userId": "00000000-0000-0000-0000-000000000000"}),
    ];
    for hostile in hostile_strings() {
        bodies.push(json!({"eventId": hostile, "userId": user}));
        bodies.push(json!({"eventId": event, "userId": hostile}));
        bodies.push(json!({"eventId": event, "userId": user, "checkInTime": hostile}));
    }
    for body in &bodies {
        let (status, out) = status_and_json(stack.check_in(None, body.clone()).await).await;
        assert_refused(&format!("check in {body:.120}"), status, &out);
        cases += 1;
    }
    for path in [
        "/attendance/event/not-a-uuid",
        "/attendance/stats/not-a-uuid",
        "/attendance/event/'%20OR%201=1--",
        "/attendance/stats/%00",
        "/attendance/event/00000000-0000-0000-0000-000000000000?first=-1",
    ] {
        let (status, out) = status_and_json(http.get(stack.attendance.url(path)).send().await.unwrap()).await;
        if status == 200 {
            // Unknown query parameters are ignored; the unknown event has no check-ins.
            assert_eq!(out, json!([]), "{path}");
            continue;
        }
        assert_refused(path, status, &out);
        cases += 1;
    }
    assert_eq!(stack.attendance_rows().await, 0, "no hostile case checked anyone in");
    stack.attendance.assert_healthy().await;
    eprintln!("{cases} hostile REST cases refused");
}

#[tokio::test]
async fn hostile_graphql_is_refused_with_codes() {
    let stack = helpers::spawn().await;
    let event = stack.live_event(None, None).await;
    let mut cases = hostile_graphql();
    for (name, query) in [
        ("malformed event id", "mutation { checkIn(input: {eventId: \"x'; DROP TABLE attendances; --\"}) { id } }".to_owned()),
        ("malformed user id", format!("mutation {{ checkIn(input: {{eventId: \"{event}\", userId: \"1=1\"}}) {{ id }} }}")),
        ("time from the future", format!("mutation {{ checkIn(input: {{eventId: \"{event}\", userId: \"00000000-0000-0000-0000-000000000001\", checkInTime: \"2999-01-01T00:00:00Z\"}}) {{ id }} }}")),
        ("first beyond Int", format!("{{ eventAttendance(eventId: \"{event}\", first: 2147483648) {{ totalCount }} }}")),
        ("negative first", format!("{{ eventAttendance(eventId: \"{event}\", first: -5) {{ totalCount }} }}")),
        ("forged cursor", format!("{{ eventAttendance(eventId: \"{event}\", after: \"AAAA\") {{ totalCount }} }}")),
        ("stats of a malformed id", "{ attendanceStats(eventId: \"nope\") { totalAttendees } }".to_owned()),
        ("attendance of a malformed id", "{ attendance(id: \"nope\") { id } }".to_owned()),
    ] {
        cases.push((name.to_owned(), json!({"query": query})));
    }
    stack.attendance.assert_all_graphql_refused(&cases).await;
    assert_eq!(stack.attendance_rows().await, 0);
}

#[tokio::test]
async fn forged_tokens_cannot_check_in() {
    let stack = helpers::spawn().await;
    let event = stack.live_event(None, None).await;
    let (token, user) = stack.user("tok@example.com").await;
    let tokens = stack.forged_tokens(&token).await;
    for (name, forged) in &tokens {
        let (status, out) = status_and_json(stack.check_in(Some(forged), json!({"eventId": event})).await).await;
        assert_eq!((status, out["error"]["code"].as_str()), (401, Some("UNAUTHENTICATED")), "{name}: {out}");
        stack
            .attendance
            .assert_unauthenticated(
                name,
                "mutation($e: ID!, $u: ID) { checkIn(input: {eventId: $e, userId: $u}) { id } }",
                json!({"e": event, "u": user}),
                forged,
            )
            .await;
    }
    assert_eq!(stack.attendance_rows().await, 0);
    eprintln!("{} forged tokens refused", tokens.len());
}

/// No cross-site form or `text/plain` post can check anyone in, and the
/// endpoint speaks GraphQL over HTTP as the specification asks.
#[tokio::test]
async fn graphql_needs_json_bodies_and_negotiates_its_media_type() {
    let stack = helpers::spawn().await;
    let event = stack.live_event(None, None).await;
    let (_, user) = stack.user("ann@example.com").await;
    let mutation = format!("mutation {{ checkIn(input: {{eventId: \"{event}\", userId: \"{user}\"}}) {{ id }} }}");
    test_support::hostile::assert_graphql_over_http(
        &stack.attendance.http,
        &stack.attendance.url("/graphql"),
        &mutation,
    )
    .await;
    assert_eq!(stack.attendance_rows().await, 0, "no refused request checked anyone in");
    stack.attendance.assert_healthy().await;
}

/// Finding 1, straight at the subgraph: an `_entities` fetch counts its
/// representations, and `first` multiplies what it selects.
#[tokio::test]
async fn costly_operations_are_refused_before_they_run() {
    let stack = helpers::spawn().await;
    let admin = stack.admin("admin@example.com").await;
    let representations: Vec<Value> =
        (0..1000).map(|_| json!({"__typename": "Event", "id": uuid::Uuid::new_v4()})).collect();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { attendance(first: 1000) { nodes { id } } } } }";
    let before = stack.attendance.statements.get();
    let response = stack.attendance.graphql(query, json!({"r": representations}), Some(&admin)).await;
    assert_eq!(test_support::error_code(&response), Some("QUERY_TOO_COMPLEX"), "{response}");
    assert_eq!(stack.attendance.statements.get() - before, 0, "refused before any SQL");
    let nested = "query($id: ID!) { eventAttendance(eventId: $id, first: 1000) { nodes { user { attendances(first: 1000) { nodes { id } } } } } }";
    let response = stack.attendance.graphql(nested, json!({"id": uuid::Uuid::new_v4()}), Some(&admin)).await;
    assert_eq!(test_support::error_code(&response), Some("QUERY_TOO_COMPLEX"), "{response}");
    // The router's door-list fetch is well inside.
    let door = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { attendance(first: 1000) { totalCount nodes { id userId checkInTime } } } } }";
    let response = stack.attendance.graphql(door, json!({"r": [representations[0].clone()]}), Some(&admin)).await;
    assert!(response["errors"].is_null(), "{response}");
}
