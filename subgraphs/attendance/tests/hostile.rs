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

/// The live socket runs subscriptions only, each within the limits of
/// `POST /graphql`: over it an organizer's token got a door list nested in a
/// door list, and in production an anonymous socket got `_service` and
/// `_entities` with a forged `startTime` (a fresh attack's finding 1).
#[tokio::test]
async fn the_live_socket_runs_only_subscriptions_within_the_http_limits() {
    use helpers::ws::*;
    let s = helpers::spawn_with(&[("APP_ENV", "production")]).await;
    let (organizer, _) = s.user("org@example.com").await;
    let event = s.live_event(Some(&organizer), None).await;
    let e = json!({"e": event});
    let aliases: String = (0..1_200).map(|i| format!(" a{i}: entries")).collect();
    let forged = format!(
        "{{ _entities(representations: [{{__typename: \"Event\", id: \"{event}\", startTime: \"2000-01-01T00:00:00Z\"}}]) {{ ... on Event {{ attendanceStats {{ onTime late }} }} }} }}"
    );
    let cases = [
        ("the reported door list in a door list", "query($e: ID!) { eventAttendance(eventId: $e, first: 1000) { nodes { id event { attendance(first: 1000) { nodes { id } } } } } }".to_owned(), "QUERY_TOO_COMPLEX"),
        ("a query", "{ __typename }".to_owned(), "BAD_USER_INPUT"),
        ("the SDL", "{ _service { sdl } }".to_owned(), "BAD_USER_INPUT"),
        ("a forged entity", forged, "BAD_USER_INPUT"),
        ("a mutation", "mutation($e: ID!) { setCheckInPolicy(eventId: $e, input: { allowReentry: false }) { allowReentry } }".to_owned(), "BAD_USER_INPUT"),
        ("1,200 aliases", format!("subscription($e: ID!) {{ attendanceUpdates(eventId: $e) {{ stats {{{aliases} }} }} }}"), "BAD_USER_INPUT"),
        ("lists in lists", "subscription($e: ID!) { attendanceUpdates(eventId: $e) { scan { event { attendance(first: 1000) { nodes { event { attendance(first: 1000) { nodes { id } } } } } } } } }".to_owned(), "QUERY_TOO_COMPLEX"),
        ("nested past the parser", format!("subscription {}{}", "{ a ".repeat(70), "}".repeat(70)), "BAD_USER_INPUT"),
        ("deeper than the schema allows", format!("subscription($e: ID!) {{ attendanceUpdates(eventId: $e) {{ scan {{ {} id {} }} }} }}", "event { attendance(first: 1) { nodes { ".repeat(5), "} } }".repeat(5)), "BAD_USER_INPUT"),
    ];
    for token in [None, Some(organizer.as_str())] {
        let mut socket = initialised(&s.attendance, token).await;
        for (i, (what, query, code)) in cases.iter().enumerate() {
            subscribe_with(&mut socket, &i.to_string(), query, e.clone()).await;
            let refused = receive(&mut socket).await.unwrap();
            assert_eq!(code_of(&refused).as_deref(), Some(*code), "{what} ({}): {refused:.300}", token.is_some());
            assert_eq!(refused["payload"].get("data").unwrap_or(&Value::Null), &Value::Null, "{what}: {refused:.300}");
            let complete = receive(&mut socket).await.unwrap();
            assert_eq!(complete["type"], "complete", "{what}: {complete}");
        }
    }
    let policy = s.attendance.get_json::<Value>(&format!("/attendance/event/{event}/policy")).await;
    assert_eq!(policy["allowReentry"], true, "the mutation did not run");
    s.attendance.assert_healthy().await;
}

/// Fourteen `subscribe` messages sent back to back on one socket were all
/// served: the count was read before an await and raised after it (finding 4).
#[tokio::test]
async fn subscriptions_sent_back_to_back_stop_at_the_connections_limit() {
    use helpers::ws::*;
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let mut socket = initialised(&s.attendance, Some(&organizer)).await;
    for i in 0..14 {
        subscribe(&mut socket, &i.to_string(), &event).await;
    }
    let (mut served, mut refused) = (0, 0);
    while served + refused < 14 {
        let message = receive(&mut socket).await.unwrap();
        match (message["type"].as_str(), code_of(&message).as_deref()) {
            (Some("complete"), _) => continue, // after each refusal
            (Some("next"), None) => served += 1,
            (Some("next"), Some("TOO_MANY_REQUESTS")) => refused += 1,
            other => panic!("{other:?}: {message}"),
        }
    }
    assert_eq!((served, refused), (10, 4));
}

/// A removed staff member sent a self check-in with the nonce they had used
/// to scan someone else, and got that person's attendance back (finding 6):
/// a nonce answers only the same scan, else it is refused and writes nothing.
#[tokio::test]
async fn a_nonce_never_answers_with_someone_elses_scan() {
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let (staff_token, staff_id) = s.user("staff@example.com").await;
    let people = s.seed_users(2).await;
    let staff =
        |mutation: &str| format!("mutation($e: ID!, $u: ID!) {{ {mutation}(eventId: $e, userId: $u) {{ id }} }}");
    let ids = json!({"e": event, "u": staff_id});
    s.attendance.graphql(&staff("addCheckInStaff"), ids.clone(), Some(&organizer)).await;
    let scan = |user: &str, nonce: &str| {
        s.check_in(Some(&staff_token), json!({"eventId": event, "userId": user, "nonce": nonce}))
    };
    let (status, first) = status_and_json(scan(&people[0], "door-1").await).await;
    assert_eq!(status, 201, "{first}");
    // Still staff: the same nonce for another person is refused, not answered.
    let (status, other) = status_and_json(scan(&people[1], "door-1").await).await;
    assert_eq!((status, other["error"]["code"].as_str()), (422, Some("BAD_USER_INPUT")), "{other}");
    let (status, again) = status_and_json(scan(&people[0], "door-1").await).await;
    assert_eq!((status, &again["id"]), (201, &first["id"]), "the same scan is answered again");
    helpers::change_staff(&s, &organizer, &event, &staff_id, false).await;
    let (status, own) = status_and_json(scan(&staff_id, "door-1").await).await;
    assert_eq!((status, own["error"]["code"].as_str()), (422, Some("BAD_USER_INPUT")), "{own}");
    assert!(!own.to_string().contains(&people[0]), "nothing of the other person: {own}");
    assert_eq!(s.db.count("attendance_schema.scans").await, 1, "refusals by nonce write nothing");
}

/// One nonce holding `\u0000` failed a whole upload, and made the shared
/// writer retry its batch scan by scan (finding 7): it is refused on its own,
/// before SQL.
#[tokio::test]
async fn a_nonce_postgresql_cannot_store_refuses_only_its_own_scan() {
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let people = s.seed_users(1).await;
    let now = chrono::Utc::now();
    assert_eq!(s.check_in(Some(&organizer), json!({"eventId": event, "userId": people[0]})).await.status(), 201);
    let scans = json!([
        {"nonce": "bad\u{0}nonce", "userId": people[0], "scannedAt": now.to_rfc3339()},
        {"nonce": "exit-1", "userId": people[0], "direction": "EXIT", "scannedAt": now.to_rfc3339()},
    ]);
    let response = s
        .attendance
        .http
        .post(s.attendance.url("/attendance/scans"))
        .bearer_auth(&organizer)
        .json(&json!({"eventId": event, "scans": scans}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    let statuses: Vec<&str> =
        body["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["BAD_USER_INPUT", "OK"], "{body}");
    assert_eq!(body["results"][0]["scan"], Value::Null);
    let query = "mutation($e: ID!, $s: [ScanInput!]!) { syncScans(eventId: $e, scans: $s) { nonce status } }";
    let scans = json!([{"nonce": "\u{0}", "userId": people[0], "scannedAt": now.to_rfc3339()}]);
    let answer = s.attendance.graphql(query, json!({"e": event, "s": scans}), Some(&organizer)).await;
    assert_eq!(answer["data"]["syncScans"][0]["status"], "BAD_USER_INPUT", "{answer}");
    // A single check-in with such a nonce is refused before the writer.
    let (status, body) = status_and_json(
        s.check_in(Some(&organizer), json!({"eventId": event, "userId": people[0], "nonce": "a\u{0}"})).await,
    )
    .await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("BAD_USER_INPUT")), "{body}");
    s.attendance.assert_healthy().await;
}

/// A person toggling entry and exit at an open event flooded the log, the
/// counts and every live subscriber: self-scans are limited per person and
/// event (`SELF_SCANS_PER_MINUTE`); scanners are not.
#[tokio::test]
async fn self_scans_are_limited_and_scanners_are_not() {
    let s = helpers::spawn_with(&[("SELF_SCANS_PER_MINUTE", "4")]).await;
    let (organizer, event) = s.organized_live_event(None).await;
    let (person, person_id) = s.user("ann@example.com").await;
    for direction in ["ENTRY", "EXIT", "ENTRY", "EXIT"] {
        let response = s.check_in(Some(&person), json!({"eventId": event, "direction": direction})).await;
        assert_eq!(response.status(), 201, "{direction}");
    }
    let response = s.check_in(Some(&person), json!({"eventId": event})).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (_, body) = status_and_json(response).await;
    assert_eq!(body["error"]["code"], "TOO_MANY_REQUESTS", "{body}");
    let query = "mutation($e: ID!) { checkIn(input: { eventId: $e }) { id } }";
    let answer = s.attendance.graphql(query, json!({"e": event}), Some(&person)).await;
    assert_eq!(answer["errors"][0]["extensions"]["code"], "TOO_MANY_REQUESTS", "{answer}");
    assert_eq!(s.db.count("attendance_schema.scans").await, 4, "refused self-scans are not logged");
    // The organizer scans the same person as often as the door needs.
    for direction in ["ENTRY", "EXIT", "ENTRY", "EXIT", "ENTRY"] {
        let body = json!({"eventId": event, "userId": person_id, "direction": direction});
        assert_eq!(s.check_in(Some(&organizer), body).await.status(), 201, "{direction}");
    }
}
