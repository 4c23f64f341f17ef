//! The guide's attendance calls and every check-in rule, over HTTP with the
//! real auth and event services running.

mod helpers;

use serde_json::{json, Value};
use test_support::status_and_json;

#[tokio::test]
async fn the_guides_three_attendance_calls_work_with_real_ids() {
    let stack = helpers::spawn().await;
    let (_, user_id) = stack.user("user@example.com").await;
    let event_id = stack
        .event(None, json!({"title": "Tech Conference", "description": "Annual tech conference", "startTime": "2024-01-15T09:00:00Z", "endTime": "2024-01-15T17:00:00Z"}))
        .await;

    // curl -X POST http://localhost:3004/attendance -H "Content-Type: application/json" -d '{...}'
    let body = format!(
        r#"{{
    "eventId":"{event_id}",
    "userId":"{user_id}",
    "checkInTime":"2024-01-15T09:15:00Z"
  }}"#
    );
    let response = stack.attendance.post_raw_json("/attendance", body).await;
    assert_eq!(response.status(), 201);
    let attendance: Value = response.json().await.unwrap();
    assert_eq!(attendance["eventId"], event_id.as_str());
    assert_eq!(attendance["userId"], user_id.as_str());
    assert_eq!(attendance["checkInTime"], "2024-01-15T09:15:00Z");
    assert!(attendance["id"].is_string());

    // curl http://localhost:3004/attendance/event/{eventId}
    let list: Value = stack.attendance.get_json(&format!("/attendance/event/{event_id}")).await;
    // Anonymous, in development: the guide's call, with ids and times only.
    let public =
        json!({"id": attendance["id"], "eventId": event_id, "userId": user_id, "checkInTime": "2024-01-15T09:15:00Z"});
    assert_eq!(list, json!([public]));

    // curl http://localhost:3004/attendance/stats/{eventId}
    let stats: Value = stack.attendance.get_json(&format!("/attendance/stats/{event_id}")).await;
    assert_eq!(
        stats,
        json!({
            "eventId": event_id, "totalAttendees": 1, "firstCheckIn": "2024-01-15T09:15:00Z", "lastCheckIn": "2024-01-15T09:15:00Z",
            "onTime": 0, "late": 1, "byInterval": [{"start": "2024-01-15T09:15:00Z", "count": 1}],
            "insideNow": 1, "entries": 1, "exits": 0
        })
    );
}

#[tokio::test]
async fn the_guides_placeholders_as_written_are_clear_client_errors() {
    let stack = helpers::spawn().await;
    let http = &stack.attendance.http;
    let response = stack
        .check_in(None, json!({"eventId": "event-uuid", "userId": "user-uuid", "checkInTime": "2024-01-15T09:15:00Z"}))
        .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("BAD_USER_INPUT")), "{body}");
    for path in ["/attendance/event/{eventId}", "/attendance/stats/{eventId}"] {
        let (status, body) = status_and_json(http.get(stack.attendance.url(path)).send().await.unwrap()).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("BAD_USER_INPUT")), "{path}: {body}");
    }
    let unknown = uuid::Uuid::new_v4();
    for path in [format!("/attendance/event/{unknown}"), format!("/attendance/stats/{unknown}")] {
        let (status, body) = status_and_json(http.get(stack.attendance.url(&path)).send().await.unwrap()).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("NOT_FOUND")), "{path}: {body}");
    }
}

#[tokio::test]
async fn every_refused_check_in_has_its_code_and_writes_nothing() {
    let stack = helpers::spawn().await;
    let (organizer, _) = stack.user("org@example.com").await;
    let (attendee, attendee_id) = stack.user("attendee@example.com").await;
    let (stranger, _) = stack.user("stranger@example.com").await;
    let event = stack.live_event(Some(&organizer), None).await;

    let first = stack.check_in(Some(&attendee), json!({"eventId": event})).await;
    assert_eq!(first.status(), 201);
    let original: Value = first.json().await.unwrap();
    assert_eq!(original["userId"], attendee_id.as_str(), "userId defaults to the caller");

    let (status, duplicate) = status_and_json(stack.check_in(Some(&attendee), json!({"eventId": event})).await).await;
    assert_eq!((status, duplicate["error"]["code"].as_str()), (409, Some("ALREADY_CHECKED_IN")));
    assert_eq!(duplicate["error"]["details"]["attendance"], original, "the original record comes back");

    let cancelled = stack.live_event(Some(&organizer), None).await;
    let response = stack
        .events
        .http
        .post(stack.events.url(&format!("/events/{cancelled}/cancel")))
        .bearer_auth(&organizer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let past = stack
        .event(None, json!({"title": "Past", "startTime": "2024-01-15T09:00:00Z", "endTime": "2024-01-15T17:00:00Z"}))
        .await;
    let in_an_hour = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let cases = [
        ("cancelled event", json!({"eventId": cancelled}), &attendee, 409, "EVENT_CANCELLED"),
        ("unknown event", json!({"eventId": uuid::Uuid::new_v4()}), &attendee, 404, "NOT_FOUND"),
        (
            "before the window opens",
            json!({"eventId": past, "checkInTime": "2024-01-15T07:59:59Z"}),
            &attendee,
            422,
            "CHECKIN_CLOSED",
        ),
        (
            "after the event",
            json!({"eventId": past, "checkInTime": "2024-01-15T17:00:01Z"}),
            &attendee,
            422,
            "CHECKIN_CLOSED",
        ),
        ("now, long after the event", json!({"eventId": past}), &attendee, 422, "CHECKIN_CLOSED"),
        ("future time", json!({"eventId": event, "checkInTime": in_an_hour}), &attendee, 422, "BAD_USER_INPUT"),
        (
            "someone else without rights",
            json!({"eventId": event, "userId": stack.seed_users(1).await[0]}),
            &stranger,
            403,
            "FORBIDDEN",
        ),
        (
            "unknown user, by the organizer",
            json!({"eventId": event, "userId": uuid::Uuid::new_v4()}),
            &organizer,
            404,
            "NOT_FOUND",
        ),
        ("malformed event id", json!({"eventId": "nope"}), &attendee, 400, "BAD_USER_INPUT"),
        ("missing eventId", json!({"userId": attendee_id}), &attendee, 422, "BAD_USER_INPUT"),
        ("unparseable time", json!({"eventId": event, "checkInTime": "9:15"}), &attendee, 422, "BAD_USER_INPUT"),
    ];
    for (case, body, token, status, error) in cases {
        let (got, body) = status_and_json(stack.check_in(Some(token), body).await).await;
        assert_eq!((got, body["error"]["code"].as_str()), (status, Some(error)), "{case}: {body}");
    }
    // Inside the window's edges it works: an hour before the start, and at the end.
    for (email, time) in [("early@example.com", "2024-01-15T08:00:00Z"), ("last@example.com", "2024-01-15T17:00:00Z")] {
        let (_, id) = stack.user(email).await;
        let response = stack.check_in(None, json!({"eventId": past, "userId": id, "checkInTime": time})).await;
        assert_eq!(response.status(), 201, "{time}");
    }
    assert_eq!(stack.attendance_rows().await, 3);
}

#[tokio::test]
async fn the_organizer_and_admins_may_check_in_others() {
    let stack = helpers::spawn().await;
    let (organizer, organizer_id) = stack.user("org@example.com").await;
    let admin = stack.admin("admin@example.com").await;
    let event = stack.live_event(Some(&organizer), None).await;
    let guests = stack.seed_users(2).await;
    let by_organizer = stack.check_in(Some(&organizer), json!({"eventId": event, "userId": guests[0]})).await;
    assert_eq!(by_organizer.status(), 201);
    assert_eq!(by_organizer.json::<Value>().await.unwrap()["userId"], guests[0].as_str());
    let by_admin = stack.check_in(Some(&admin), json!({"eventId": event, "userId": guests[1]})).await;
    assert_eq!(by_admin.status(), 201);
    let myself = stack.check_in(Some(&organizer), json!({"eventId": event, "userId": organizer_id})).await;
    assert_eq!(myself.status(), 201);
}

#[tokio::test]
async fn production_needs_a_token_and_anonymous_needs_a_user_id() {
    let stack = helpers::spawn_with(&[("APP_ENV", "production")]).await;
    let (token, _) = stack.user("u@example.com").await;
    let event = stack.live_event(Some(&token), None).await;
    let user = stack.seed_users(1).await.remove(0);
    let (status, body) = status_and_json(stack.check_in(None, json!({"eventId": event, "userId": user})).await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("UNAUTHENTICATED")));
    let (status, _) = status_and_json(stack.check_in(Some("forged.token.here"), json!({"eventId": event})).await).await;
    assert_eq!(status, 401);

    let dev = helpers::spawn().await;
    let event = dev.live_event(None, None).await;
    let (status, body) = status_and_json(dev.check_in(None, json!({"eventId": event})).await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("BAD_USER_INPUT")), "{body}");
    assert_eq!(stack.attendance_rows().await + dev.attendance_rows().await, 0);
}

#[tokio::test]
async fn an_unreachable_event_service_refuses_the_check_in_with_503() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let stack =
        helpers::spawn_with(&[("EVENT_SERVICE_URL", &format!("http://127.0.0.1:{closed}")), ("SERVICE_TIMEOUT", "1s")])
            .await;
    let user = stack.seed_users(1).await.remove(0);
    let (status, body) =
        status_and_json(stack.check_in(None, json!({"eventId": uuid::Uuid::new_v4(), "userId": user})).await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("SERVICE_UNAVAILABLE")), "{body}");
    assert_eq!(stack.attendance_rows().await, 0);
}

#[tokio::test]
async fn two_hundred_simultaneous_check_ins_fill_a_capacity_of_fifty_exactly() {
    let stack = helpers::spawn().await;
    let event = stack.live_event(None, Some(50)).await;
    let users = stack.seed_users(200).await;
    let responses = futures::future::join_all(
        users.iter().map(|user| stack.check_in(None, json!({"eventId": event, "userId": user}))),
    )
    .await;
    let mut created = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => created += 1,
            409 => assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "EVENT_FULL"),
            other => panic!("unexpected status {other}: {}", response.text().await.unwrap()),
        }
    }
    assert_eq!(created, 50);
    assert_eq!(stack.attendance_rows().await, 50);
    assert_eq!(stack.counted_check_ins().await, 50);
    // Someone already in still hears so, even though the event is full; and
    // someone new hears that it is full.
    let checked_in = stack.attendance_user_ids().await;
    let (status, body) =
        status_and_json(stack.check_in(None, json!({"eventId": event, "userId": checked_in[0]})).await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("ALREADY_CHECKED_IN")), "{body}");
    let newcomer = users.iter().find(|u| !checked_in.contains(u)).expect("150 were turned away");
    let (status, body) =
        status_and_json(stack.check_in(None, json!({"eventId": event, "userId": newcomer})).await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("EVENT_FULL")), "{body}");
    assert_eq!(stack.counted_check_ins().await, 50, "refusals give their count back");
}

#[tokio::test]
async fn concurrent_duplicate_check_ins_record_one() {
    let stack = helpers::spawn().await;
    let event = stack.live_event(None, None).await;
    let user = stack.seed_users(1).await.remove(0);
    let responses =
        futures::future::join_all((0..20).map(|_| stack.check_in(None, json!({"eventId": event, "userId": user}))))
            .await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
    assert_eq!(stack.attendance_rows().await, 1);
    assert_eq!(stack.counted_check_ins().await, 1, "duplicates give their count back");
}

/// Check-ins that arrive together are written together (one statement per
/// batch): a burst over several events, with capacities and duplicates mixed
/// in, must come out exactly as if each had been written alone, with one
/// writer (the default) and with batches written concurrently.
#[tokio::test]
async fn a_burst_over_several_events_keeps_every_capacity_and_refuses_every_duplicate() {
    for writers in ["1", "3"] {
        burst_over_several_events(writers).await;
    }
}

async fn burst_over_several_events(writers: &str) {
    let stack = helpers::spawn_with(&[("CHECKIN_WRITERS", writers)]).await;
    let events = [
        (stack.live_event(None, Some(10)).await, Some(10)),
        (stack.live_event(None, None).await, None),
        (stack.live_event(None, Some(25)).await, Some(25)),
    ];
    let users = stack.seed_users(40).await;
    // Every user twice on every event, interleaved.
    let attempts: Vec<(usize, &String)> =
        (0..2).flat_map(|_| users.iter().flat_map(|u| (0..events.len()).map(move |e| (e, u)))).collect();
    let responses = futures::future::join_all(
        attempts.iter().map(|(e, user)| stack.check_in(None, json!({"eventId": events[*e].0, "userId": user}))),
    )
    .await;
    let mut created = [0; 3];
    let mut codes = std::collections::HashMap::<String, usize>::new();
    for ((e, _), response) in attempts.iter().zip(responses) {
        let (status, body) = status_and_json(response).await;
        match status {
            201 => created[*e] += 1,
            409 => *codes.entry(body["error"]["code"].as_str().unwrap_or_default().to_owned()).or_default() += 1,
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    assert_eq!(created, [10, 40, 25], "{writers} writers");
    // Per event: 40 second attempts are duplicates or refusals; the first
    // attempts beyond capacity are refused as full.
    assert_eq!(codes.values().sum::<usize>(), attempts.len() - 75);
    assert!(codes.keys().all(|c| c == "ALREADY_CHECKED_IN" || c == "EVENT_FULL"), "{codes:?}");
    assert!(codes.get("ALREADY_CHECKED_IN").copied().unwrap_or(0) >= 75, "each one in hears so again: {codes:?}");
    assert_eq!(stack.attendance_rows().await, 75);
    assert_eq!(stack.counted_check_ins().await, 75, "{writers} writers: counters agree with the rows");
}

#[tokio::test]
async fn a_hung_event_service_cannot_pile_up_check_ins() {
    // Accepts connections and never answers.
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = hung.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = hung.accept().await {
            open.push(socket);
        }
    });
    let stack =
        helpers::spawn_with(&[("EVENT_SERVICE_URL", &format!("http://{address}")), ("SERVICE_TIMEOUT", "500ms")]).await;
    let user = stack.seed_users(1).await.remove(0);
    let door = uuid::Uuid::new_v4();
    let started = std::time::Instant::now();
    // A crowd at one door, and people at 100 other doors.
    let check_ins = (0..100).map(|i| {
        let event = if i % 2 == 0 { door } else { uuid::Uuid::new_v4() };
        stack.check_in(None, json!({"eventId": event, "userId": user}))
    });
    let responses = futures::future::join_all(check_ins).await;
    let elapsed = started.elapsed();
    for response in responses {
        let (status, body) = status_and_json(response).await;
        assert_eq!((status, body["error"]["code"].as_str()), (503, Some("SERVICE_UNAVAILABLE")), "{body}");
    }
    // Each waits about one timeout (plus one for the bounded queue), not its
    // place in line times the timeout (50 s for the crowd at one door).
    assert!(elapsed < std::time::Duration::from_secs(5), "100 check-ins took {elapsed:?}");
    assert_eq!(stack.attendance_rows().await, 0);
    held.abort();
}
