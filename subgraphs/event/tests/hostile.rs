//! Hostile input against every event endpoint: each case is refused with a
//! 4xx (or a GraphQL error) carrying a code, nothing is written, and the
//! service stays healthy. Text that is merely unusual is stored verbatim.

mod helpers;

use serde_json::{json, Value};
use test_support::hostile::{assert_refused, hostile_graphql, hostile_strings, malformed_bodies, send};
use test_support::status_and_json;

const START: &str = "2030-01-15T09:00:00Z";
const END: &str = "2030-01-15T17:00:00Z";

#[tokio::test]
async fn hostile_rest_input_is_refused_and_writes_nothing() {
    let stack = helpers::spawn().await;
    let http = &stack.events.http;
    let existing = stack.create_event(None, helpers::event_body("Existing", START, END)).await;
    let existing: Value = existing.json().await.unwrap();
    let id = existing["id"].as_str().unwrap();
    let mut cases = 0;

    for body in malformed_bodies() {
        for request in [http.post(stack.events.url("/events")), http.patch(stack.events.url(&format!("/events/{id}")))]
        {
            let (status, out) = send(request, &body).await;
            assert_refused(&body.name, status, &out);
            cases += 1;
        }
    }
    let mut invalid = vec![
        json!({"title": "T", "startTime": START, "endTime": START}),
        json!({"title": "T", "startTime": "2030-02-30T09:00:00Z", "endTime": END}),
        json!({"title": "T", "startTime": 1705309200, "endTime": END}),
        json!({"title": "T", "startTime": START, "endTime": END, "capacity": -1}),
        json!({"title": "T", "startTime": START, "endTime": END, "capacity": 4_294_967_296_i64}),
        json!({"title": "T", "startTime": START, "endTime": END, "capacity": 1.5}),
        json!({"title": "T", "startTime": START, "endTime": END, "capacity": "50"}),
        json!({"title": "T", "startTime": START, "endTime": END, "status": "CANCELLED"}),
        json!({"title": "T", "startTime": START, "endTime": END, "organizerId": "00000000-0000-0000-0000-000000000000"}),
        json!({"title": "T", "startTime": START, "endTime": END, "description": "d".repeat(10_001)}),
        json!({"title": ["T"], "startTime": START, "endTime": END}),
        json!({"title": "T", "startTime": "9999999-01-01T00:00:00Z", "endTime": END}),
        json!({"title": "T", "startTime": "-0001-01-01T00:00:00Z", "endTime": END}),
    ];
    // Only the strings no title may be: empty, blank, too long.
    invalid.extend(
        hostile_strings()
            .into_iter()
            .filter(|s| s.trim().is_empty() || s.chars().count() > 200)
            .map(|s| json!({"title": s, "startTime": START, "endTime": END})),
    );
    for body in &invalid {
        let (status, out) = status_and_json(stack.create_event(None, body.clone()).await).await;
        assert_refused(&format!("create {body:.100}"), status, &out);
        let patch = http.patch(stack.events.url(&format!("/events/{id}"))).json(body).send().await.unwrap();
        let (status, out) = status_and_json(patch).await;
        assert_refused(&format!("patch {body:.100}"), status, &out);
        cases += 2;
    }
    for query in [
        "limit=-1",
        "limit=0",
        "limit=18446744073709551616",
        "limit=1e3",
        "offset=-5",
        "status=DELETED",
        "status=scheduled'--",
        "from=yesterday",
        "from=2030-01-01T00:00:00Z&to=2029-01-01T00:00:00Z",
    ] {
        let (status, out) =
            status_and_json(http.get(stack.events.url(&format!("/events?{query}"))).send().await.unwrap()).await;
        assert_refused(query, status, &out);
        cases += 1;
    }
    for path in ["/events/not-a-uuid", "/events/'%20OR%201=1--", "/events/not-a-uuid/cancel"] {
        let request =
            if path.ends_with("cancel") { http.post(stack.events.url(path)) } else { http.get(stack.events.url(path)) };
        let (status, out) = status_and_json(request.send().await.unwrap()).await;
        assert_refused(path, status, &out);
        cases += 1;
    }
    assert_eq!(stack.event_count().await, 1, "no hostile case created an event");
    let unchanged: Value = stack.events.get_json(&format!("/events/{id}")).await;
    assert_eq!(unchanged, existing, "no hostile case changed the event");
    stack.events.assert_healthy().await;
    eprintln!("{cases} hostile REST cases refused");
}

#[tokio::test]
async fn unusual_text_is_stored_verbatim_and_searched_literally() {
    let stack = helpers::spawn().await;
    for hostile in hostile_strings().into_iter().filter(|s| !s.trim().is_empty() && s.chars().count() <= 200) {
        let (status, out) =
            status_and_json(stack.create_event(None, helpers::event_body(&hostile, START, END)).await).await;
        if hostile.contains('\0') || hostile.chars().any(common::text::is_bidi_control) {
            // Not storable (NUL), or misleading (it reorders what follows): refused.
            assert_refused("a NUL or bidirectional control character", status, &out);
            continue;
        }
        assert_eq!(status, 201, "{hostile:.40}: {out}");
        assert_eq!(out["title"], hostile.trim(), "stored verbatim");
        let found = stack
            .events
            .graphql(
                "query($s: String) { events(filter: {search: $s}) { totalCount nodes { title } } }",
                json!({"s": hostile}),
                None,
            )
            .await;
        assert_eq!(found["data"]["events"]["totalCount"], 1, "{hostile:.40}: {found}");
    }
    // `%` and `_` are literal in a search, not patterns.
    let everything = stack.events.graphql("{ events(filter: {search: \"%\"}) { totalCount } }", json!({}), None).await;
    assert_eq!(everything["data"]["events"]["totalCount"], 1, "only the title containing `%`: {everything}");
    stack.events.assert_healthy().await;
}

#[tokio::test]
async fn hostile_graphql_is_refused_with_codes() {
    let stack = helpers::spawn().await;
    let mut cases = hostile_graphql();
    for (name, query) in [
        ("first over the cap", "{ events(first: 101) { totalCount } }"),
        ("negative first", "{ events(first: -1) { totalCount } }"),
        ("first beyond Int", "{ events(first: 2147483648) { totalCount } }"),
        ("forged cursor", "{ events(after: \"djF8eHx5\") { totalCount } }"),
        ("unknown enum value", "{ events(filter: {status: DELETED}) { totalCount } }"),
        ("bad DateTime", "{ events(filter: {from: \"yesterday\"}) { totalCount } }"),
        ("bad UUID", "{ event(id: \"1 OR 1=1\") { id } }"),
        ("capacity beyond Int", "mutation { createEvent(input: {title: \"T\", startTime: \"2030-01-15T09:00:00Z\", endTime: \"2030-01-15T17:00:00Z\", capacity: 99999999999}) { id } }"),
        ("end before start", "mutation { createEvent(input: {title: \"T\", startTime: \"2030-01-15T09:00:00Z\", endTime: \"2030-01-15T08:00:00Z\"}) { id } }"),
        ("NUL in a title", "mutation { createEvent(input: {title: \"a\\u0000b\", startTime: \"2030-01-15T09:00:00Z\", endTime: \"2030-01-15T17:00:00Z\"}) { id } }"),
        ("update of a malformed id", "mutation { updateEvent(id: \"x\", input: {title: \"T\"}) { id } }"),
        ("cancel of a malformed id", "mutation { cancelEvent(id: \"'; DROP TABLE events; --\") { id } }"),
        ("cancel of an unknown id", "mutation { cancelEvent(id: \"00000000-0000-0000-0000-000000000000\") { id } }"),
        ("entities with garbage", "{ _entities(representations: [{__typename: \"Event\"}, 42, \"x\"]) { ... on Event { id } } }"),
    ] {
        cases.push((name.to_owned(), json!({"query": query})));
    }
    stack.events.assert_all_graphql_refused(&cases).await;
    assert_eq!(stack.event_count().await, 0);
}

#[tokio::test]
async fn forged_tokens_cannot_write() {
    let stack = helpers::spawn().await;
    let (token, _) = stack.user("tok@example.com").await;
    let tokens = stack.forged_tokens(&token).await;
    for (name, forged) in &tokens {
        let (status, out) =
            status_and_json(stack.create_event(Some(forged), helpers::event_body("T", START, END)).await).await;
        assert_eq!((status, out["error"]["code"].as_str()), (401, Some("UNAUTHENTICATED")), "{name}: {out}");
        stack.events.assert_unauthenticated(name, "mutation { createEvent(input: {title: \"T\", startTime: \"2030-01-15T09:00:00Z\", endTime: \"2030-01-15T17:00:00Z\"}) { id } }", json!({}), forged).await;
    }
    assert_eq!(stack.event_count().await, 0);
    eprintln!("{} forged tokens refused", tokens.len());
}

/// No cross-site form or `text/plain` post can create an event, and the
/// endpoint speaks GraphQL over HTTP as the specification asks.
#[tokio::test]
async fn graphql_needs_json_bodies_and_negotiates_its_media_type() {
    let stack = helpers::spawn().await;
    let mutation = r#"mutation { createEvent(input: {title: "CSRF", startTime: "2030-01-01T09:00:00Z", endTime: "2030-01-01T10:00:00Z"}) { id } }"#;
    test_support::hostile::assert_graphql_over_http(&stack.events.http, &stack.events.url("/graphql"), mutation).await;
    assert_eq!(stack.event_count().await, 0, "no refused request created an event");
    stack.events.assert_healthy().await;
}

/// Finding 1, straight at the subgraph: aliased pages multiply too.
#[tokio::test]
async fn costly_operations_are_refused_before_they_run() {
    let stack = helpers::spawn().await;
    let fields = "id title description startTime endTime location capacity status createdAt updatedAt";
    let aliases: String = (0..50).map(|i| format!(" p{i}: events(first: 100) {{ nodes {{ {fields} }} }}")).collect();
    let before = stack.events.statements.get();
    let response = stack.events.graphql(&format!("{{{aliases} }}"), json!({}), None).await;
    assert_eq!(test_support::error_code(&response), Some("QUERY_TOO_COMPLEX"), "{response}");
    assert_eq!(stack.events.statements.get() - before, 0, "refused before any SQL");
    let page = format!("{{ events(first: 100) {{ nodes {{ {fields} }} }} }}");
    assert!(stack.events.graphql(&page, json!({}), None).await["errors"].is_null());
}
