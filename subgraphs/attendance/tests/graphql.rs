//! The attendance subgraph over GraphQL: check-in, lists, statistics checked
//! against a brute-force computation, and batching of the fields it
//! contributes to Event and User.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

mod helpers;

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{json, Value};
use test_support::error_code;

const CHECK_IN: &str = "mutation($input: CheckInInput!) { checkIn(input: $input) { id eventId userId checkInTime event { id } user { id } } }";

#[tokio::test]
async fn check_in_over_graphql_defaults_to_the_caller_and_now() {
    let stack = helpers::spawn().await;
    let (token, user_id) = stack.user("me@example.com").await;
    let event = stack.live_event(None, None).await;
    let before = Utc::now();
    let response = stack.attendance.graphql(CHECK_IN, json!({"input": {"eventId": event}}), Some(&token)).await;
    let attendance = &response["data"]["checkIn"];
    assert_eq!(attendance["userId"], user_id.as_str(), "{response}");
    assert_eq!(attendance["event"]["id"], event.as_str());
    assert_eq!(attendance["user"]["id"], user_id.as_str());
    let at: DateTime<Utc> = attendance["checkInTime"].as_str().unwrap().parse().unwrap();
    assert!(at >= before - chrono::Duration::seconds(1) && at <= Utc::now());

    let again = stack.attendance.graphql(CHECK_IN, json!({"input": {"eventId": event}}), Some(&token)).await;
    assert_eq!(error_code(&again), Some("ALREADY_CHECKED_IN"));
    assert_eq!(again["errors"][0]["extensions"]["details"]["attendance"]["id"], attendance["id"]);
    let unknown =
        stack.attendance.graphql(CHECK_IN, json!({"input": {"eventId": uuid::Uuid::new_v4()}}), Some(&token)).await;
    assert_eq!(error_code(&unknown), Some("NOT_FOUND"));
    let malformed = stack.attendance.graphql(CHECK_IN, json!({"input": {"eventId": "event-uuid"}}), Some(&token)).await;
    assert_eq!(error_code(&malformed), Some("BAD_USER_INPUT"));

    let by_id = stack
        .attendance
        .graphql("query($id: ID!) { attendance(id: $id) { id userId } }", json!({"id": attendance["id"]}), Some(&token))
        .await;
    assert_eq!(by_id["data"]["attendance"]["userId"], user_id.as_str());
}

#[tokio::test]
async fn event_attendance_pages_by_check_in_time() {
    let stack = helpers::spawn().await;
    let event = stack
        .event(None, json!({"title": "T", "startTime": "2024-01-15T09:00:00Z", "endTime": "2024-01-15T17:00:00Z"}))
        .await;
    let users = stack.seed_users(7).await;
    for (i, user) in users.iter().enumerate() {
        let time = format!("2024-01-15T09:{:02}:00Z", 50 - i * 5);
        let response = stack.check_in(None, json!({"eventId": event, "userId": user, "checkInTime": time})).await;
        assert_eq!(response.status(), 201);
    }
    let query = "query($e: ID!, $after: String) { eventAttendance(eventId: $e, first: 3, after: $after) { totalCount nodes { checkInTime } pageInfo { hasNextPage endCursor } } }";
    let admin = stack.admin("admin@example.com").await;
    let mut times = Vec::new();
    let mut after = Value::Null;
    loop {
        let response = stack.attendance.graphql(query, json!({"e": event, "after": after}), Some(&admin)).await;
        let connection = &response["data"]["eventAttendance"];
        assert_eq!(connection["totalCount"], 7, "{response}");
        times.extend(
            connection["nodes"].as_array().unwrap().iter().map(|n| n["checkInTime"].as_str().unwrap().to_owned()),
        );
        if connection["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    assert_eq!(times.len(), 7);
    let over = stack
        .attendance
        .graphql(
            "query($e: ID!) { eventAttendance(eventId: $e, first: 1001) { totalCount } }",
            json!({"e": event}),
            None,
        )
        .await;
    assert_eq!(error_code(&over), Some("BAD_USER_INPUT"));
}

/// Seeds `n` check-ins spread over the event's window straight into the table.
async fn seed_check_ins(stack: &helpers::Stack, event: &str, n: usize) {
    let admin = stack.db.admin().await;
    admin
        .execute_unprepared(&format!(
            "INSERT INTO attendance_schema.attendances (id, event_id, user_id, check_in_time, inside, exited)
             SELECT gen_random_uuid(), '{event}', gen_random_uuid(),
                    timestamptz '2024-01-15T08:00:00Z' + (random() * interval '9 hours'), inside, NOT inside
             FROM (SELECT random() < 0.7 AS inside FROM generate_series(1, {n})) r;
             INSERT INTO attendance_schema.event_checkins (event_id, checked_in, inside_now, entries, exits)
             SELECT '{event}', count(*), count(*) FILTER (WHERE inside), count(*), count(*) FILTER (WHERE NOT inside)
             FROM attendance_schema.attendances WHERE event_id = '{event}';"
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn stats_match_a_brute_force_computation_over_5000_check_ins() {
    let stack = helpers::spawn().await;
    let event = stack
        // A start inside a minute: its minute's check-ins are split at it.
        .event(None, json!({"title": "Big", "startTime": "2024-01-15T09:00:30Z", "endTime": "2024-01-15T17:00:00Z"}))
        .await;
    seed_check_ins(&stack, &event, 5000).await;

    let admin = stack.db.admin().await;
    let rows = admin
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT user_id, check_in_time, inside FROM attendance_schema.attendances WHERE event_id = '{event}'"
            ),
        ))
        .await
        .unwrap();
    let start: DateTime<Utc> = "2024-01-15T09:00:30Z".parse().unwrap();
    let times: Vec<DateTime<Utc>> = rows.iter().map(|r| r.try_get("", "check_in_time").unwrap()).collect();
    let users: HashSet<uuid::Uuid> = rows.iter().map(|r| r.try_get("", "user_id").unwrap()).collect();
    let inside = rows.iter().filter(|r| r.try_get::<bool>("", "inside").unwrap()).count();
    let mut buckets: BTreeMap<i64, i64> = BTreeMap::new();
    for t in &times {
        *buckets.entry(t.timestamp().div_euclid(900) * 900).or_default() += 1;
    }
    let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let expected = json!({
        "eventId": event,
        "totalAttendees": users.len(),
        "firstCheckIn": fmt(*times.iter().min().unwrap()),
        "lastCheckIn": fmt(*times.iter().max().unwrap()),
        "onTime": times.iter().filter(|t| **t <= start).count(),
        "late": times.iter().filter(|t| **t > start).count(),
        "byInterval": buckets.iter().map(|(s, n)| json!({"start": fmt(DateTime::from_timestamp(*s, 0).unwrap()), "count": n})).collect::<Vec<_>>(),
        "insideNow": inside,
        "entries": rows.len(),
        "exits": rows.len() - inside,
    });

    let rest: Value = stack.attendance.get_json(&format!("/attendance/stats/{event}")).await;
    assert_eq!(rest, expected);
    let graphql = stack
        .attendance
        .graphql(
            "query($e: ID!) { attendanceStats(eventId: $e) { eventId totalAttendees firstCheckIn lastCheckIn onTime late byInterval { start count } insideNow entries exits } }",
            json!({"e": event}),
            None,
        )
        .await;
    assert_eq!(graphql["data"]["attendanceStats"], expected, "GraphQL and REST agree");
    assert_eq!(expected["byInterval"].as_array().unwrap().len(), 36, "9 hours of 15-minute buckets");
}

#[tokio::test]
async fn contributed_fields_cost_a_constant_number_of_queries() {
    let stack = helpers::spawn().await;
    let mut events = Vec::new();
    for i in 0..100 {
        let id = stack.event(None, json!({"title": format!("E{i}"), "startTime": "2024-01-15T09:00:00Z", "endTime": "2024-01-15T17:00:00Z"})).await;
        events.push(id);
    }
    for event in events.iter().take(10) {
        seed_check_ins(&stack, event, 20).await;
    }
    let s = &stack.attendance;
    // An ADMIN reads every list (authorization by role costs nothing; by
    // relationship, see `authorization_is_read_in_the_same_statements`).
    let admin_token = stack.admin("admin@example.com").await;
    let admin_token = Some(admin_token.as_str());

    // Event.attendance for 100 events, as the router asks for it.
    let representations: Vec<Value> = events.iter().map(|id| json!({"__typename": "Event", "id": id})).collect();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { id attendance(first: 5) { nodes { id userId } pageInfo { hasNextPage } } } } }";
    let before = s.statements.get();
    let response = s.graphql(query, json!({"r": representations}), admin_token).await;
    assert_eq!(s.statements.get() - before, 1, "one query for 100 events' pages: {}", response["errors"]);
    let entities = response["data"]["_entities"].as_array().unwrap();
    assert_eq!(entities.len(), 100);
    assert_eq!(entities[0]["attendance"]["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(entities[0]["attendance"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(entities[99]["attendance"]["nodes"].as_array().unwrap().len(), 0);

    // With totalCount: one more query, still independent of the number of events.
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { attendance { totalCount nodes { id } } } } }";
    let before = s.statements.get();
    let response = s.graphql(query, json!({"r": representations}), admin_token).await;
    assert_eq!(s.statements.get() - before, 2);
    assert_eq!(response["data"]["_entities"][0]["attendance"]["totalCount"], 20);

    // Event.attendanceStats for 100 events: the router supplies startTime (@requires).
    let with_start: Vec<Value> =
        events.iter().map(|id| json!({"__typename": "Event", "id": id, "startTime": "2024-01-15T09:00:00Z"})).collect();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { attendanceStats { totalAttendees onTime late } } } }";
    let before = s.statements.get();
    let response = s.graphql(query, json!({"r": with_start}), None).await;
    assert_eq!(s.statements.get() - before, 1, "{}", response["errors"]);
    let first = &response["data"]["_entities"][0]["attendanceStats"];
    assert_eq!(first["totalAttendees"], 20);
    assert_eq!(first["onTime"].as_i64().unwrap() + first["late"].as_i64().unwrap(), 20);
    assert_eq!(response["data"]["_entities"][99]["attendanceStats"]["totalAttendees"], 0);

    // 1,000 Attendance references: one query.
    let admin = stack.db.admin().await;
    let ids = admin
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT id::text AS id FROM attendance_schema.attendances",
        ))
        .await
        .unwrap();
    let representations: Vec<Value> = (0..1000)
        .map(|i| match i % 10 {
            9 => json!({"__typename": "Attendance", "id": "garbage"}),
            _ => json!({"__typename": "Attendance", "id": ids[i % ids.len()].try_get::<String>("", "id").unwrap()}),
        })
        .collect();
    let before = s.statements.get();
    let response = s
        .graphql(
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Attendance { id eventId } } }",
            json!({"r": representations}),
            admin_token,
        )
        .await;
    assert_eq!(s.statements.get() - before, 1);
    let entities = response["data"]["_entities"].as_array().unwrap();
    assert_eq!(entities.len(), 1000);
    assert!(entities[9].is_null());
    assert!(entities[0]["eventId"].is_string());
}

#[tokio::test]
async fn user_attendances_are_batched_too() {
    let stack = helpers::spawn().await;
    let users = stack.seed_users(30).await;
    let event_a = stack.live_event(None, None).await;
    let event_b = stack.live_event(None, None).await;
    for user in &users[..10] {
        for event in [&event_a, &event_b] {
            assert_eq!(stack.check_in(None, json!({"eventId": event, "userId": user})).await.status(), 201);
        }
    }
    let representations: Vec<Value> = users.iter().map(|id| json!({"__typename": "User", "id": id})).collect();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id attendances { totalCount nodes { eventId event { id } } } } } }";
    let admin = stack.admin("admin@example.com").await;
    let before = stack.attendance.statements.get();
    let response = stack.attendance.graphql(query, json!({"r": representations}), Some(&admin)).await;
    assert_eq!(stack.attendance.statements.get() - before, 2, "{}", response["errors"]);
    let entities = response["data"]["_entities"].as_array().unwrap();
    assert_eq!(entities[0]["attendances"]["totalCount"], 2);
    assert_eq!(entities[0]["attendances"]["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(entities[29]["attendances"]["totalCount"], 0);
}

#[tokio::test]
async fn the_sdl_contributes_fields_to_event_and_user() {
    let sdl = attendance_service::graphql::sdl();
    for expected in [
        "type Attendance @key(fields: \"id\")",
        "type Event @key(fields: \"id\")",
        "startTime: DateTime! @external",
        "attendanceStats: AttendanceStats! @requires(fields: \"startTime\")",
        "attendance(first: Int = 50, after: String): AttendanceConnection!",
        "type User @key(fields: \"id\")",
        "attendances(first: Int = 50, after: String): AttendanceConnection!",
        "eventAttendance(eventId: ID!, first: Int = 50, after: String): AttendanceConnection!",
    ] {
        assert!(sdl.contains(expected), "missing `{expected}` in\n{sdl}");
    }
}

/// Rights are read in the same statement as the rows: an organizer's (or
/// anyone's) lists cost what an ADMIN's do, whatever the number of events,
/// and the question the auth service asks is one statement per batch
/// (registered people are visible to the organizer, checked-in ones are not).
#[tokio::test]
async fn authorization_is_read_in_the_same_statements() {
    let stack = helpers::spawn().await;
    let (organizer, organizer_id) = stack.user("organizer@example.com").await;
    let (other, _) = stack.user("other@example.com").await;
    let users = stack.seed_users(3).await;
    let mut events = Vec::new();
    for _ in 0..12 {
        let event = stack.live_event(Some(&organizer), None).await;
        for user in &users {
            let response = stack.check_in(Some(&organizer), json!({"eventId": event, "userId": user})).await;
            assert_eq!(response.status(), 201);
        }
        events.push(event);
    }
    let s = &stack.attendance;
    let representations: Vec<Value> = events.iter().map(|id| json!({"__typename": "Event", "id": id})).collect();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { attendance(first: 10) { totalCount nodes { id userId } } } } }";
    for (reader, rows) in [(&organizer, users.len()), (&other, 0)] {
        let before = s.statements.get();
        let response = s.graphql(query, json!({"r": representations}), Some(reader)).await;
        assert_eq!(s.statements.get() - before, 2, "a page and a count for 12 events: {response}");
        for entity in response["data"]["_entities"].as_array().unwrap() {
            assert_eq!(entity["attendance"]["nodes"].as_array().unwrap().len(), rows, "{response}");
            assert_eq!(entity["attendance"]["totalCount"], rows);
        }
    }
    // Check-ins by id, as the organizer: the rows, and the events they run.
    let ids = s.graphql(query, json!({"r": representations}), Some(&organizer)).await["data"]["_entities"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["attendance"]["nodes"].as_array().unwrap().clone())
        .map(|n| json!({"__typename": "Attendance", "id": n["id"]}))
        .collect::<Vec<_>>();
    let before = s.statements.get();
    let entities = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Attendance { id } } }";
    let response = s.graphql(entities, json!({"r": ids}), Some(&organizer)).await;
    assert_eq!(s.statements.get() - before, 2, "{response}");
    assert!(response["errors"].is_null(), "{response}");
    // Which people the organizer may see in full, as the auth service asks:
    // those registered themselves (not merely checked in), in one statement.
    for user in &users {
        let token = stack.token_for(&organizer, user).await;
        let path = format!("/attendance/event/{}/registrations", events[0]);
        let response = s.http.post(s.url(&path)).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 201);
    }
    let mut asked = users.clone();
    asked.push(uuid::Uuid::new_v4().to_string());
    let checked_in_only = stack.seed_users(1).await;
    let response = stack.check_in(Some(&organizer), json!({"eventId": events[0], "userId": checked_in_only[0]})).await;
    assert_eq!(response.status(), 201);
    asked.extend(checked_in_only);
    let before = s.statements.get();
    let answer: Value = s
        .http
        .post(s.url("/internal/visible-profiles"))
        .header(common::internal::HEADER, test_support::TEST_SERVICE_SECRET)
        .json(&json!({"viewer": organizer_id, "users": asked}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s.statements.get() - before, 1);
    let mut visible: Vec<String> =
        answer["users"].as_array().unwrap().iter().map(|u| u.as_str().unwrap().to_owned()).collect();
    visible.sort();
    let mut expected = users.clone();
    expected.sort();
    assert_eq!(visible, expected);
}

/// `Event.checkInStaff` is an unpaged list: an event has at most 50 staff,
/// which is what the cost estimate prices it at.
#[tokio::test]
async fn an_event_has_at_most_fifty_check_in_staff() {
    let stack = helpers::spawn().await;
    let (organizer, event) = stack.organized_live_event(None).await;
    let people = stack.seed_users(51).await;
    let add = "mutation($e: ID!, $u: ID!) { addCheckInStaff(eventId: $e, userId: $u) { id } }";
    let first = stack.attendance.graphql(add, json!({"e": event, "u": people[0]}), Some(&organizer)).await;
    assert!(first["errors"].is_null(), "{first}");
    let admin = stack.db.admin().await;
    admin
        .execute_unprepared(&format!(
            "INSERT INTO attendance_schema.check_in_staff (event_id, user_id)
             SELECT '{event}', unnest(ARRAY[{}]::uuid[])",
            people[1..50].iter().map(|p| format!("'{p}'")).collect::<Vec<_>>().join(",")
        ))
        .await
        .unwrap();
    let over = stack.attendance.graphql(add, json!({"e": event, "u": people[50]}), Some(&organizer)).await;
    assert_eq!(error_code(&over), Some("BAD_USER_INPUT"), "{over}");
    assert!(over["errors"][0]["message"].as_str().unwrap().contains("at most 50"), "{over}");
    let again = stack.attendance.graphql(add, json!({"e": event, "u": people[0]}), Some(&organizer)).await;
    assert_eq!(again["data"]["addCheckInStaff"].as_array().map(Vec::len), Some(50), "re-adding is fine: {again}");
}
