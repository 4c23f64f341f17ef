//! The guide's event calls and the REST shim's rules, over HTTP against a real database.

mod helpers;

use helpers::event_body;
use serde_json::{json, Value};

#[tokio::test]
async fn the_guides_three_event_calls_work_as_written() {
    let stack = helpers::spawn().await;
    let http = &stack.events.http;
    // curl -X POST http://localhost:3002/events -H "Content-Type: application/json" -d '{...}'
    let response = stack
        .events
        .post_raw_json(
            "/events",
            r#"{
    "title":"Tech Conference",
    "description":"Annual tech conference",
    "startTime":"2024-01-15T09:00:00Z",
    "endTime":"2024-01-15T17:00:00Z"
  }"#,
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["title"], "Tech Conference");
    assert_eq!(created["description"], "Annual tech conference");
    assert_eq!(created["startTime"], "2024-01-15T09:00:00Z");
    assert_eq!(created["endTime"], "2024-01-15T17:00:00Z");
    assert_eq!(created["status"], "SCHEDULED");
    assert_eq!(created["organizerId"], Value::Null, "anonymous in development");
    let id = created["id"].as_str().unwrap();

    // curl http://localhost:3002/events
    let all: Value = stack.events.get_json("/events").await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(all[0]["id"], id);

    // curl http://localhost:3002/events/{id}
    let one = http.get(stack.events.url(&format!("/events/{id}"))).send().await.unwrap();
    assert_eq!(one.status(), 200);
    assert_eq!(one.json::<Value>().await.unwrap(), created);

    // The placeholder as written, and an unknown id.
    let placeholder = http.get(stack.events.url("/events/{id}")).send().await.unwrap();
    assert_eq!(placeholder.status(), 400);
    assert_eq!(placeholder.json::<Value>().await.unwrap()["error"]["code"], "BAD_USER_INPUT");
    let unknown = http.get(stack.events.url(&format!("/events/{}", uuid::Uuid::new_v4()))).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn invalid_events_are_refused_and_nothing_is_written() {
    let stack = helpers::spawn().await;
    let (s, e) = ("2024-01-15T09:00:00Z", "2024-01-15T17:00:00Z");
    let cases: Vec<(&str, Value, u16)> = vec![
        ("end before start", event_body("T", e, s), 422),
        ("end equals start", event_body("T", s, s), 422),
        ("empty title", event_body("   ", s, e), 422),
        ("201-char title", event_body(&"x".repeat(201), s, e), 422),
        ("capacity 0", json!({"title": "T", "startTime": s, "endTime": e, "capacity": 0}), 422),
        ("negative capacity", json!({"title": "T", "startTime": s, "endTime": e, "capacity": -3}), 422),
        ("huge capacity", json!({"title": "T", "startTime": s, "endTime": e, "capacity": 1e12}), 422),
        ("unparseable time", event_body("T", "next tuesday", e), 422),
        ("missing endTime", json!({"title": "T", "startTime": s}), 422),
        ("title of the wrong type", json!({"title": ["T"], "startTime": s, "endTime": e}), 422),
        (
            "unknown field",
            json!({"title": "T", "startTime": s, "endTime": e, "organizerId": uuid::Uuid::new_v4()}),
            422,
        ),
    ];
    for (case, body, status) in cases {
        let response = stack.create_event(None, body).await;
        assert_eq!(response.status().as_u16(), status, "{case}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "BAD_USER_INPUT", "{case}");
    }
    let garbage = stack.events.post_raw_json("/events", "{]").await;
    assert_eq!(garbage.status(), 400);
    assert_eq!(stack.event_count().await, 0);

    for query in [
        "status=FOO",
        "from=yesterday",
        "limit=101",
        "limit=-1",
        "limit=0",
        "offset=x",
        "colour=red",
        "from=2024-01-02T00:00:00Z&to=2024-01-01T00:00:00Z",
    ] {
        let response = stack.events.http.get(stack.events.url(&format!("/events?{query}"))).send().await.unwrap();
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "BAD_USER_INPUT", "{query}");
    }
}

#[tokio::test]
async fn times_accept_any_offset_and_come_back_in_utc() {
    let stack = helpers::spawn().await;
    let response =
        stack.create_event(None, event_body("Jakarta", "2024-01-15T16:00:00+07:00", "2024-01-15T18:30:00+07:00")).await;
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["startTime"], "2024-01-15T09:00:00Z");
    assert_eq!(created["endTime"], "2024-01-15T11:30:00Z");
}

#[tokio::test]
async fn list_filters_limit_and_offset() {
    let stack = helpers::spawn().await;
    for day in 10..20 {
        stack
            .create_event(
                None,
                event_body(
                    &format!("Day {day}"),
                    &format!("2024-01-{day}T09:00:00Z"),
                    &format!("2024-01-{day}T17:00:00Z"),
                ),
            )
            .await;
    }
    let get = |q: &'static str| {
        let stack = &stack;
        async move {
            stack
                .events
                .http
                .get(stack.events.url(&format!("/events?{q}")))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let window = get("from=2024-01-12T00:00:00Z&to=2024-01-14T00:00:00Z").await;
    let titles: Vec<&str> = window.as_array().unwrap().iter().map(|e| e["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Day 12", "Day 13"]);
    let page = get("limit=3&offset=2").await;
    let titles: Vec<&str> = page.as_array().unwrap().iter().map(|e| e["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Day 12", "Day 13", "Day 14"]);
    assert_eq!(get("status=CANCELLED").await.as_array().unwrap().len(), 0);
    assert_eq!(get("status=SCHEDULED").await.as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn only_the_organizer_or_an_admin_may_update_or_cancel() {
    let stack = helpers::spawn().await;
    let (organizer, organizer_id) = stack.user("org@example.com").await;
    let (stranger, _) = stack.user("stranger@example.com").await;
    let admin = stack.admin("admin@example.com").await;
    let created: Value = stack
        .create_event(Some(&organizer), event_body("Mine", "2024-01-15T09:00:00Z", "2024-01-15T17:00:00Z"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["organizerId"], organizer_id);
    let id = created["id"].as_str().unwrap();
    let http = &stack.events.http;
    let patch = |token: Option<&str>, body: Value| {
        let mut r = http.patch(stack.events.url(&format!("/events/{id}"))).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };

    let forbidden = patch(Some(&stranger), json!({"title": "Hijacked"})).await.unwrap();
    assert_eq!(forbidden.status(), 403);
    assert_eq!(forbidden.json::<Value>().await.unwrap()["error"]["code"], "FORBIDDEN");
    let anonymous = patch(None, json!({"title": "Hijacked"})).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let cancel_forbidden =
        http.post(stack.events.url(&format!("/events/{id}/cancel"))).bearer_auth(&stranger).send().await.unwrap();
    assert_eq!(cancel_forbidden.status(), 403);

    let renamed = patch(Some(&organizer), json!({"title": "Renamed", "location": "Hall A"})).await.unwrap();
    assert_eq!(renamed.status(), 200);
    let renamed: Value = renamed.json().await.unwrap();
    assert_eq!(renamed["title"], "Renamed");
    assert_eq!(renamed["description"], Value::Null);
    assert_eq!(renamed["location"], "Hall A");

    // Partial update still keeps end after start; null clears optional fields only.
    let bad_start = patch(Some(&organizer), json!({"startTime": "2024-01-16T09:00:00Z"})).await.unwrap();
    assert_eq!(bad_start.status(), 422);
    let null_title = patch(Some(&organizer), json!({"title": null})).await.unwrap();
    assert_eq!(null_title.status(), 422);
    let cleared = patch(Some(&admin), json!({"location": null, "capacity": 25})).await.unwrap();
    assert_eq!(cleared.status(), 200, "an admin may update");
    let cleared: Value = cleared.json().await.unwrap();
    assert_eq!(cleared["location"], Value::Null);
    assert_eq!(cleared["capacity"], 25);

    let cancelled =
        http.post(stack.events.url(&format!("/events/{id}/cancel"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(cancelled.status(), 200);
    assert_eq!(cancelled.json::<Value>().await.unwrap()["status"], "CANCELLED");
    let missing = http
        .post(stack.events.url(&format!("/events/{}/cancel", uuid::Uuid::new_v4())))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // A present but invalid token is refused even where anonymous writes are allowed.
    let forged =
        stack.create_event(Some("e30.e30.e30"), event_body("X", "2024-01-15T09:00:00Z", "2024-01-15T17:00:00Z")).await;
    assert_eq!(forged.status(), 401);
}

#[tokio::test]
async fn production_refuses_anonymous_writes() {
    let stack = helpers::spawn_with(&[("APP_ENV", "production")]).await;
    let body = event_body("Tech Conference", "2024-01-15T09:00:00Z", "2024-01-15T17:00:00Z");
    let anonymous = stack.create_event(None, body.clone()).await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.json::<Value>().await.unwrap()["error"]["code"], "UNAUTHENTICATED");
    let (token, _) = stack.user("org@example.com").await;
    assert_eq!(stack.create_event(Some(&token), body).await.status(), 201);
    assert_eq!(stack.event_count().await, 1);
    let graphql = stack
        .events
        .graphql("mutation { createEvent(input: {title: \"X\", startTime: \"2024-01-15T09:00:00Z\", endTime: \"2024-01-15T10:00:00Z\"}) { id } }", json!({}), None)
        .await;
    assert_eq!(test_support::error_code(&graphql), Some("UNAUTHENTICATED"));
}

/// A service started with neither `APP_ENV` nor `NODE_ENV` runs as
/// production: forgetting the variable never opens anonymous writes.
#[tokio::test]
async fn without_app_env_the_service_runs_as_production() {
    let stack = helpers::spawn_with(&[("APP_ENV", "")]).await;
    let body = helpers::event_body("Forgotten", "2030-01-15T09:00:00Z", "2030-01-15T17:00:00Z");
    let (status, answer) = test_support::status_and_json(stack.create_event(None, body.clone()).await).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (401, Some("UNAUTHENTICATED")), "{answer}");
    let (token, _) = stack.user("organizer@example.com").await;
    assert_eq!(stack.create_event(Some(&token), body).await.status(), 201);
    assert_eq!(stack.event_count().await, 1);
}

/// Finding 8: titles made only of zero-width spaces, or carrying an RTL
/// override, were accepted. Now they are refused, and locations too.
#[tokio::test]
async fn titles_and_locations_must_be_visible_and_in_reading_order() {
    let stack = helpers::spawn().await;
    let (token, _) = stack.user("organizer@example.com").await;
    let mut refused = Vec::new();
    for title in ["\u{200b}\u{200b}\u{200b}", "\u{feff}", "Launch \u{202e}3202", "\u{2067}x"] {
        refused.push(helpers::event_body(title, "2030-01-15T09:00:00Z", "2030-01-15T17:00:00Z"));
    }
    let mut located = helpers::event_body("Meetup", "2030-01-15T09:00:00Z", "2030-01-15T17:00:00Z");
    located["location"] = json!("Hall \u{202e}A");
    refused.push(located);
    for body in refused {
        let (status, out) = test_support::status_and_json(stack.create_event(Some(&token), body.clone()).await).await;
        assert_eq!((status, out["error"]["code"].as_str()), (422, Some("BAD_USER_INPUT")), "{body}: {out}");
    }
    assert_eq!(stack.event_count().await, 0);
    let arabic = helpers::event_body("مؤتمر راست", "2030-01-15T09:00:00Z", "2030-01-15T17:00:00Z");
    assert_eq!(stack.create_event(Some(&token), arabic).await.status(), 201, "right-to-left scripts are fine");
}

/// `timezone` (the field added by the "Adding a field" walkthrough in
/// docs/architecture.md): an IANA name, checked against the tz database; a
/// PATCH that leaves it out keeps it, one that sends `null` clears it; GraphQL
/// sees the same value.
#[tokio::test]
async fn events_keep_their_time_zone() {
    let stack = helpers::spawn().await;
    let (s, e) = ("2024-01-15T09:00:00Z", "2024-01-15T17:00:00Z");
    let zoned = json!({"title": "Jakarta meetup", "startTime": s, "endTime": e, "timezone": " Asia/Jakarta "});
    let created = stack.create_event(None, zoned).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["timezone"], "Asia/Jakarta", "trimmed");
    let id = created["id"].as_str().unwrap();
    let bad = json!({"title": "T", "startTime": s, "endTime": e, "timezone": "Mars/Olympus_Mons"});
    let refused = stack.create_event(None, bad).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("timezone"));

    let http = &stack.events.http;
    let patch = |body: Value| http.patch(stack.events.url(&format!("/events/{id}"))).json(&body).send();
    let kept: Value = patch(json!({"title": "Renamed"})).await.unwrap().json().await.unwrap();
    assert_eq!(kept["timezone"], "Asia/Jakarta", "absent keeps it");
    let moved: Value = patch(json!({"timezone": "Europe/Amsterdam"})).await.unwrap().json().await.unwrap();
    assert_eq!(moved["timezone"], "Europe/Amsterdam");
    let graphql =
        stack.events.graphql("query($id: ID!) { event(id: $id) { timezone } }", json!({"id": id}), None).await;
    assert_eq!(graphql["data"]["event"]["timezone"], "Europe/Amsterdam", "{graphql}");
    let cleared: Value = patch(json!({"timezone": null})).await.unwrap().json().await.unwrap();
    assert_eq!(cleared["timezone"], Value::Null, "null clears it");
}
