//! The event subgraph over GraphQL: pagination, filters, validation codes,
//! authorization and the batched Event entity.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

mod helpers;

use std::collections::HashSet;

use helpers::event_body;
use serde_json::{json, Value};
use test_support::error_code;

const PAGE: &str = "query($first: Int, $after: String, $filter: EventFilter) {
  events(first: $first, after: $after, filter: $filter) { totalCount nodes { id title startTime } pageInfo { hasNextPage endCursor } }
}";

fn start_of(minute: i64) -> (String, String) {
    let base = chrono::DateTime::parse_from_rfc3339("2025-03-01T08:00:00Z").unwrap();
    let start = base + chrono::Duration::minutes(minute);
    let end = start + chrono::Duration::hours(1);
    (start.to_rfc3339(), end.to_rfc3339())
}

#[tokio::test]
async fn pagination_walks_250_events_without_duplicates_or_gaps_while_events_are_added() {
    let stack = helpers::spawn().await;
    let mut originals = HashSet::new();
    for i in 0..250 {
        // Several events share a start time, so the id must break ties.
        let (start, end) = start_of(i / 3);
        let created: Value =
            stack.create_event(None, event_body(&format!("E{i}"), &start, &end)).await.json().await.unwrap();
        originals.insert(created["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let response = stack.events.graphql(PAGE, json!({"first": 100, "after": after}), None).await;
        assert!(response["errors"].is_null(), "{response}");
        let connection = &response["data"]["events"];
        pages += 1;
        for node in connection["nodes"].as_array().unwrap() {
            seen.push(node["id"].as_str().unwrap().to_owned());
        }
        // Events added between pages, before and after the cursor, must not disturb the walk.
        for offset in [-10_000, 10_000] {
            let (start, end) = start_of(offset + pages);
            stack.create_event(None, event_body("Late arrival", &start, &end)).await;
        }
        if connection["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = Some(connection["pageInfo"]["endCursor"].as_str().unwrap().to_owned());
    }
    let walked: Vec<_> = seen.iter().filter(|id| originals.contains(*id)).collect();
    assert_eq!(walked.len(), 250, "every original event exactly once");
    assert_eq!(walked.iter().collect::<HashSet<_>>().len(), 250, "no duplicates");
    assert_eq!(seen.len(), seen.iter().collect::<HashSet<_>>().len(), "no duplicates at all");
    assert!(pages >= 3);
}

#[tokio::test]
async fn bad_arguments_are_bad_user_input_and_write_nothing() {
    let stack = helpers::spawn().await;
    let s = &stack.events;
    let cases = [
        ("first over the cap", s.graphql(PAGE, json!({"first": 101}), None).await),
        ("negative first", s.graphql(PAGE, json!({"first": -1}), None).await),
        ("forged cursor", s.graphql(PAGE, json!({"after": "djF8MTIzfG5vdC1hLXV1aWQ"}), None).await),
        ("garbage cursor", s.graphql(PAGE, json!({"after": "!!!"}), None).await),
        ("unknown status", s.graphql(PAGE, json!({"filter": {"status": "POSTPONED"}}), None).await),
        ("bad time in filter", s.graphql(PAGE, json!({"filter": {"from": "soon"}}), None).await),
        ("malformed organizer id", s.graphql(PAGE, json!({"filter": {"organizerId": "bob"}}), None).await),
        ("malformed event id", s.graphql("{ event(id: \"42\") { id } }", json!({}), None).await),
    ];
    for (case, response) in cases {
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{case}: {response}");
    }
    let create = "mutation($input: CreateEventInput!) { createEvent(input: $input) { id } }";
    let (s0, e0) = ("2024-01-15T09:00:00Z", "2024-01-15T17:00:00Z");
    for (case, input) in [
        ("end before start", json!({"title": "T", "startTime": e0, "endTime": s0})),
        ("empty title", json!({"title": "", "startTime": s0, "endTime": e0})),
        ("201-char title", json!({"title": "x".repeat(201), "startTime": s0, "endTime": e0})),
        ("capacity 0", json!({"title": "T", "startTime": s0, "endTime": e0, "capacity": 0})),
        ("negative capacity", json!({"title": "T", "startTime": s0, "endTime": e0, "capacity": -1})),
        ("unparseable time", json!({"title": "T", "startTime": "2024-13-45T99:00:00Z", "endTime": e0})),
    ] {
        let response = s.graphql(create, json!({"input": input}), None).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{case}: {response}");
    }
    assert_eq!(stack.event_count().await, 0);
}

#[tokio::test]
async fn filters_search_status_organizer_and_window() {
    let stack = helpers::spawn().await;
    let (token, organizer_id) = stack.user("org@example.com").await;
    stack.create_event(Some(&token), event_body("Rust Meetup", "2025-05-01T18:00:00Z", "2025-05-01T20:00:00Z")).await;
    stack.create_event(None, event_body("GraphQL 100% Day", "2025-05-02T09:00:00Z", "2025-05-02T17:00:00Z")).await;
    let cancelled: Value = stack
        .create_event(None, event_body("rust conf", "2025-06-01T09:00:00Z", "2025-06-03T17:00:00Z"))
        .await
        .json()
        .await
        .unwrap();
    stack
        .events
        .graphql("mutation($id: ID!) { cancelEvent(id: $id) { status } }", json!({"id": cancelled["id"]}), None)
        .await;

    let titles = |response: Value| -> Vec<String> {
        response["data"]["events"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{response}"))
            .iter()
            .map(|n| n["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let s = &stack.events;
    assert_eq!(
        titles(s.graphql(PAGE, json!({"filter": {"search": "RUST"}}), None).await),
        ["Rust Meetup", "rust conf"]
    );
    assert_eq!(titles(s.graphql(PAGE, json!({"filter": {"search": "100%"}}), None).await), ["GraphQL 100% Day"]);
    assert!(
        titles(s.graphql(PAGE, json!({"filter": {"search": "%"}}), None).await) == ["GraphQL 100% Day"],
        "LIKE wildcards match literally"
    );
    assert_eq!(titles(s.graphql(PAGE, json!({"filter": {"status": "CANCELLED"}}), None).await), ["rust conf"]);
    assert_eq!(titles(s.graphql(PAGE, json!({"filter": {"organizerId": organizer_id}}), None).await), ["Rust Meetup"]);
    let window = s
        .graphql(PAGE, json!({"filter": {"from": "2025-05-02T12:00:00+02:00", "to": "2025-06-02T00:00:00Z"}}), None)
        .await;
    assert_eq!(window["data"]["events"]["totalCount"], 2);
    assert_eq!(titles(window), ["GraphQL 100% Day", "rust conf"]);
}

#[tokio::test]
async fn graphql_writes_follow_the_same_rules_as_rest() {
    let stack = helpers::spawn().await;
    let (organizer, organizer_id) = stack.user("org@example.com").await;
    let (stranger, _) = stack.user("stranger@example.com").await;
    let admin = stack.admin("admin@example.com").await;
    let s = &stack.events;
    let created = s
        .graphql(
            "mutation { createEvent(input: {title: \"Launch\", startTime: \"2025-01-01T10:00:00+07:00\", endTime: \"2025-01-01T12:00:00+07:00\", capacity: 50}) { id startTime organizer { id } status } }",
            json!({}),
            Some(&organizer),
        )
        .await;
    let event = &created["data"]["createEvent"];
    assert_eq!(event["startTime"], "2025-01-01T03:00:00Z");
    assert_eq!(event["organizer"]["id"], organizer_id.as_str());
    let update = "mutation($id: ID!, $input: UpdateEventInput!) { updateEvent(id: $id, input: $input) { title capacity location } }";
    let denied = s.graphql(update, json!({"id": event["id"], "input": {"title": "Mine now"}}), Some(&stranger)).await;
    assert_eq!(error_code(&denied), Some("FORBIDDEN"));
    let cancel = "mutation($id: ID!) { cancelEvent(id: $id) { status } }";
    assert_eq!(error_code(&s.graphql(cancel, json!({"id": event["id"]}), Some(&stranger)).await), Some("FORBIDDEN"));
    let updated = s
        .graphql(update, json!({"id": event["id"], "input": {"capacity": null, "location": "Hall"}}), Some(&organizer))
        .await;
    assert_eq!(updated["data"]["updateEvent"], json!({"title": "Launch", "capacity": null, "location": "Hall"}));
    let by_admin = s.graphql(cancel, json!({"id": event["id"]}), Some(&admin)).await;
    assert_eq!(by_admin["data"]["cancelEvent"]["status"], "CANCELLED");
    let unknown = s.graphql(cancel, json!({"id": uuid::Uuid::new_v4()}), Some(&admin)).await;
    assert_eq!(error_code(&unknown), Some("NOT_FOUND"));
    let forged = s.graphql("{ events { totalCount } }", json!({}), Some("not-a-token")).await;
    assert_eq!(error_code(&forged), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_thousand_event_references_cost_one_sql_query() {
    let stack = helpers::spawn().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let created: Value = stack
            .create_event(None, event_body(&format!("E{i}"), "2025-01-01T10:00:00Z", "2025-01-01T12:00:00Z"))
            .await
            .json()
            .await
            .unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let representations: Vec<Value> = (0..1000)
        .map(|i| match i % 7 {
            5 => json!({"__typename": "Event", "id": uuid::Uuid::new_v4()}),
            6 => json!({"__typename": "Event", "id": "event-uuid"}),
            _ => json!({"__typename": "Event", "id": ids[i % 5]}),
        })
        .collect();
    let before = stack.events.statements.get();
    let response = stack
        .events
        .graphql(
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { id title } } }",
            json!({"r": representations}),
            None,
        )
        .await;
    assert_eq!(stack.events.statements.get() - before, 1, "one SQL statement per batch");
    let entities = response["data"]["_entities"].as_array().unwrap();
    assert_eq!(entities.len(), 1000);
    for (i, entity) in entities.iter().enumerate() {
        match i % 7 {
            5 | 6 => assert!(entity.is_null()),
            _ => assert_eq!(entity["id"], ids[i % 5].as_str()),
        }
    }
}

#[tokio::test]
async fn the_sdl_declares_event_and_a_user_reference() {
    let sdl = event_service::graphql::sdl();
    assert!(sdl.contains("type Event @key(fields: \"id\")"), "{sdl}");
    assert!(sdl.contains("type User @key(fields: \"id\", resolvable: false)"), "{sdl}");
    assert!(sdl.contains("events(filter: EventFilter, first: Int = 20, after: String): EventConnection!"), "{sdl}");
}
