//! The registration desk: places given exactly under concurrency, the
//! waitlist promoted once per freed place, approvals, the policy, and who may
//! do what (REST and GraphQL, one domain function each).

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

mod helpers;

use futures::future::join_all;
use serde_json::{json, Value};

use helpers::desk::desk;

/// The desk's outcomes are spelt in SQL by `registration_verdict` alone;
/// over every case it answers the outcomes the service reads, each a
/// registration status of Rust's or a refusal it maps.
#[tokio::test]
async fn the_registration_verdict_speaks_what_the_service_reads() {
    use attendance_service::domain::registration::RegistrationStatus;
    let s = helpers::spawn().await;
    let verdicts =
        s.db.strings(
            "SELECT DISTINCT attendance_schema.registration_verdict(existing, approving, cancelled, ended, mode,
                 capacity, 5, waitlist) AS id
             FROM unnest(ARRAY[NULL, 'CONFIRMED', 'CANCELLED', 'DECLINED']) existing,
                  unnest(ARRAY[true, false]) approving, unnest(ARRAY[true, false]) cancelled,
                  unnest(ARRAY[true, false]) ended, unnest(ARRAY['OPEN', 'APPROVAL', 'CLOSED']) mode,
                  unnest(ARRAY[NULL, 5, 10]::int[]) capacity, unnest(ARRAY[true, false]) waitlist
             ORDER BY 1",
        )
        .await;
    let expected = [
        "CONFIRMED",
        "EVENT_CANCELLED",
        "EVENT_FULL",
        "EXISTING",
        "PENDING_APPROVAL",
        "REGISTRATION_CLOSED",
        "WAITLISTED",
    ];
    assert_eq!(verdicts, expected);
    for placed in ["CONFIRMED", "WAITLISTED", "PENDING_APPROVAL"] {
        assert!(RegistrationStatus::parse(placed).is_some(), "{placed}");
    }
}

/// 40 people race for 10 places: exactly 10 confirmed (each with a ticket),
/// the rest waitlisted with positions 1 to 30, once each; registering again
/// answers the same registration.
#[tokio::test]
async fn the_last_places_are_given_exactly_once_and_the_rest_wait_in_order() {
    let d = desk(Some(10), json!({"waitlist": true})).await;
    let people = d.people(40).await;
    let answers = join_all(people.iter().map(|(token, _)| d.register(Some(token)))).await;
    let mut positions = Vec::new();
    for (status, body) in &answers {
        assert_eq!(*status, 201, "{body}");
        match body["status"].as_str().unwrap() {
            "CONFIRMED" => assert!(body["ticket"]["secret"].as_str().unwrap().starts_with("TT1"), "{body}"),
            "WAITLISTED" => {
                assert!(body["ticket"].is_null(), "{body}");
                positions.push(body["waitlistPosition"].as_i64().unwrap());
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(d.stored("CONFIRMED").await, 10);
    positions.sort_unstable();
    assert_eq!(positions, (1..=30).collect::<Vec<i64>>(), "each place in line given once");
    let summary = d.summary().await;
    assert_eq!(summary, json!({"confirmed": 10, "waitlisted": 30, "pending": 0, "capacity": 10, "remaining": 0}));
    // Again: the same registration, nothing new.
    let (status, again) = d.register(Some(&people[0].0)).await;
    assert_eq!(status, 201);
    assert_eq!(again["id"], answers[0].1["id"]);
    assert_eq!(d.stored("WAITLISTED").await, 30);
    d.assert_consistent().await;
}

/// Without a waitlist, those beyond the capacity hear `EVENT_FULL`.
#[tokio::test]
async fn without_a_waitlist_a_full_event_refuses() {
    let d = desk(Some(3), json!({"waitlist": false})).await;
    let people = d.people(12).await;
    let answers = join_all(people.iter().map(|(token, _)| d.register(Some(token)))).await;
    let full = answers.iter().filter(|(status, body)| *status == 409 && body["error"]["code"] == "EVENT_FULL").count();
    assert_eq!(full, 9, "{answers:?}");
    assert_eq!(d.stored("CONFIRMED").await, 3);
    d.assert_consistent().await;
}

/// Cancellations race each other and new registrations: each freed place
/// goes to the first person waiting, once; the counts, the tickets and the
/// line stay exact.
#[tokio::test]
async fn cancelled_places_go_to_the_waitlist_once_each_under_concurrency() {
    let d = desk(Some(5), json!({"waitlist": true})).await;
    let people = d.people(25).await;
    let mut registrations = Vec::new();
    for (token, _) in &people {
        let (status, body) = d.register(Some(token)).await;
        assert_eq!(status, 201);
        registrations.push(body);
    }
    // The five confirmed and five of those waiting cancel at once, while five more register.
    let latecomers = d.people(5).await;
    let cancels = people.iter().zip(&registrations).take(5).chain(people.iter().zip(&registrations).skip(10).take(5));
    let cancelled = join_all(
        cancels.map(|((token, _), r)| d.registration_call(token, "cancelRegistration", r["id"].as_str().unwrap())),
    );
    let registered = join_all(latecomers.iter().map(|(token, _)| d.register(Some(token))));
    let (cancelled, _) = futures::join!(cancelled, registered);
    for out in &cancelled {
        assert_eq!(out["data"]["cancelRegistration"]["status"], "CANCELLED", "{out}");
        assert!(out["data"]["cancelRegistration"]["ticket"].is_null(), "{out}");
    }
    assert_eq!(d.stored("CONFIRMED").await, 5);
    assert_eq!(d.stored("CANCELLED").await, 10);
    // The five promoted are the first five still waiting: people 6 to 10.
    let promoted =
        d.s.db
            .strings(&format!(
                "SELECT user_id::text AS id FROM attendance_schema.registrations
             WHERE event_id = '{}' AND status = 'CONFIRMED' ORDER BY user_id",
                d.event
            ))
            .await;
    let mut expected: Vec<String> = people[5..10].iter().map(|(_, id)| id.clone()).collect();
    expected.sort();
    assert_eq!(promoted, expected);
    // Their tickets were issued once each; the cancelled ones' revoked.
    let revoked =
        d.s.db
            .number(&format!(
                "SELECT count(*) AS n FROM attendance_schema.tickets WHERE event_id = '{}' AND revoked_at IS NOT NULL",
                d.event
            ))
            .await;
    assert_eq!(revoked, 5);
    d.assert_consistent().await;
}

/// Requests wait for the organizer, who approves (a ticket while there is
/// room) or declines; nobody else decides, and a decision is not undone by
/// deciding again.
#[tokio::test]
async fn requests_wait_for_the_organizers_decision() {
    let d = desk(Some(1), json!({"mode": "APPROVAL", "waitlist": true})).await;
    let people = d.people(3).await;
    let mut ids = Vec::new();
    for (token, _) in &people {
        let (status, body) = d.register(Some(token)).await;
        assert_eq!((status, body["status"].as_str()), (201, Some("PENDING_APPROVAL")), "{body}");
        assert!(body["ticket"].is_null());
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(d.summary().await["pending"], 3);
    // Neither the person nor staff may approve.
    let staff_member = d.people(1).await;
    let (staff, staff_id) = &staff_member[0];
    assert!(helpers::change_staff(&d.s, &d.organizer, &d.event, staff_id, true).await["errors"].is_null());
    for token in [&people[0].0, staff] {
        let out = d.registration_call(token, "approveRegistration", &ids[0]).await;
        assert_eq!(test_support::error_code(&out), Some("FORBIDDEN"), "{out}");
    }
    let approved = d.registration_call(&d.organizer, "approveRegistration", &ids[0]).await;
    assert_eq!(approved["data"]["approveRegistration"]["status"], "CONFIRMED", "{approved}");
    assert!(approved["data"]["approveRegistration"]["ticket"]["id"].is_string());
    // No room left: the next approval joins the waitlist.
    let waiting = d.registration_call(&d.organizer, "approveRegistration", &ids[1]).await;
    assert_eq!(waiting["data"]["approveRegistration"]["status"], "WAITLISTED", "{waiting}");
    let declined = d.registration_call(&d.organizer, "declineRegistration", &ids[2]).await;
    assert_eq!(declined["data"]["declineRegistration"]["status"], "DECLINED", "{declined}");
    // Deciding again answers as it is; undoing a decline is refused.
    let again = d.registration_call(&d.organizer, "approveRegistration", &ids[0]).await;
    assert_eq!(again["data"]["approveRegistration"]["status"], "CONFIRMED", "{again}");
    let undo = d.registration_call(&d.organizer, "approveRegistration", &ids[2]).await;
    assert_eq!(test_support::error_code(&undo), Some("BAD_USER_INPUT"), "{undo}");
    // REST decides with the same function.
    let url = d.s.attendance.url(&format!("/attendance/registrations/{}/decline", ids[1]));
    let response = d.s.attendance.http.post(url).bearer_auth(&d.organizer).send().await.unwrap();
    let (status, body) = test_support::status_and_json(response).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("DECLINED")), "{body}");
    d.assert_consistent().await;
}

/// Registration is for signed-in people themselves; closed and cancelled
/// events refuse it; only the holder, the organizer or an ADMIN cancel.
#[tokio::test]
async fn who_may_register_and_cancel() {
    let d = desk(Some(10), json!({})).await;
    let people = d.people(2).await;
    let (status, body) = d.register(None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("UNAUTHENTICATED")), "{body}");
    let (_, mine) = d.register(Some(&people[0].0)).await;
    let id = mine["id"].as_str().unwrap();
    let out = d.registration_call(&people[1].0, "cancelRegistration", id).await;
    assert_eq!(test_support::error_code(&out), Some("FORBIDDEN"), "{out}");
    let admin = d.s.admin("admin@example.com").await;
    let out = d.registration_call(&admin, "cancelRegistration", id).await;
    assert_eq!(out["data"]["cancelRegistration"]["status"], "CANCELLED", "{out}");
    // Cancelled, the person may register again.
    let (status, again) = d.register(Some(&people[0].0)).await;
    assert_eq!((status, again["status"].as_str()), (201, Some("CONFIRMED")), "{again}");
    // Closed: refused.
    let set = "mutation($e: ID!) { setRegistrationPolicy(eventId: $e, input: {mode: CLOSED}) { mode } }";
    assert!(d.s.attendance.graphql(set, json!({"e": d.event}), Some(&d.organizer)).await["errors"].is_null());
    let (status, body) = d.register(Some(&people[1].0)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("REGISTRATION_CLOSED")), "{body}");
    // Unknown ids and malformed ones are clear errors.
    let out = d.registration_call(&people[0].0, "cancelRegistration", &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(test_support::error_code(&out), Some("NOT_FOUND"), "{out}");
    let out = d.registration_call(&people[0].0, "cancelRegistration", "not-an-id").await;
    assert_eq!(test_support::error_code(&out), Some("BAD_USER_INPUT"), "{out}");
}

/// The organizer sets the policy (others may not); a larger capacity gives
/// places to the waitlist at once; `capacity: null` follows the event's.
#[tokio::test]
async fn the_policy_is_the_organizers_and_more_places_go_to_the_waitlist() {
    let d = desk(Some(2), json!({"waitlist": true})).await;
    let people = d.people(5).await;
    for (token, _) in &people {
        d.register(Some(token)).await;
    }
    let set = "mutation($e: ID!, $p: RegistrationPolicyInput!) {
                 setRegistrationPolicy(eventId: $e, input: $p) { mode capacity waitlist requireTicket } }";
    let out = d.s.attendance.graphql(set, json!({"e": d.event, "p": {"capacity": 4}}), Some(&people[0].0)).await;
    assert_eq!(test_support::error_code(&out), Some("FORBIDDEN"), "{out}");
    for refused in [json!(-1), json!(1_000_001), json!("many")] {
        let out =
            d.s.attendance.graphql(set, json!({"e": d.event, "p": {"capacity": refused}}), Some(&d.organizer)).await;
        assert_eq!(test_support::error_code(&out), Some("BAD_USER_INPUT"), "{out}");
    }
    let out = d.s.attendance.graphql(set, json!({"e": d.event, "p": {"capacity": 4}}), Some(&d.organizer)).await;
    let policy = &out["data"]["setRegistrationPolicy"];
    assert_eq!(*policy, json!({"mode": "OPEN", "capacity": 4, "waitlist": true, "requireTicket": false}), "{out}");
    assert_eq!(d.stored("CONFIRMED").await, 4, "two more from the waitlist");
    // REST reads and patches the same policy.
    let url = d.s.attendance.url(&format!("/attendance/event/{}/registration-policy", d.event));
    let patched = d.s.attendance.http.patch(&url).bearer_auth(&d.organizer).json(&json!({"capacity": null}));
    let (status, body) = test_support::status_and_json(patched.send().await.unwrap()).await;
    assert_eq!((status, &body["capacity"]), (200, &Value::Null), "{body}");
    assert_eq!(d.summary().await["capacity"], 2, "the event's capacity again");
    let (status, body) = test_support::status_and_json(d.s.attendance.http.get(&url).send().await.unwrap()).await;
    assert_eq!((status, body["waitlist"].as_bool()), (200, Some(true)), "{body}");
    d.assert_consistent().await;
}

/// Every new input refuses garbage with a clear error and changes nothing.
#[tokio::test]
async fn registration_inputs_refuse_garbage() {
    let d = desk(Some(5), json!({})).await;
    let a = &d.s.attendance;
    let policy = a.url(&format!("/attendance/event/{}/registration-policy", d.event));
    for body in [json!({"mode": "SOMETIMES"}), json!({"capacity": "ten"}), json!({"surprise": true}), json!([1])] {
        let response = a.http.patch(&policy).bearer_auth(&d.organizer).json(&body).send().await.unwrap();
        let (status, answer) = test_support::status_and_json(response).await;
        assert!(matches!(status, 400 | 422), "{body}: {status} {answer}");
        assert_eq!(answer["error"]["code"], "BAD_USER_INPUT", "{body}: {answer}");
    }
    let list = format!("/attendance/event/{}/registrations", d.event);
    for query in ["?status=MAYBE", "?limit=0", "?limit=5000", "?after=garbage", "?extra=1"] {
        let response = a.http.get(a.url(&format!("{list}{query}"))).bearer_auth(&d.organizer).send().await.unwrap();
        let (status, answer) = test_support::status_and_json(response).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("BAD_USER_INPUT")), "{query}: {answer}");
    }
    let revoked = format!("/attendance/event/{}/revoked-tickets?since=yesterday", d.event);
    let response = a.http.get(a.url(&revoked)).bearer_auth(&d.organizer).send().await.unwrap();
    assert_eq!(response.status(), 400);
    for path in [
        "/attendance/event/nope/registrations",
        "/attendance/registrations/nope",
        "/attendance/registrations/nope/ticket.svg",
    ] {
        let response = a.http.get(a.url(path)).bearer_auth(&d.organizer).send().await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
    }
    let unknown = a.url(&format!("/attendance/event/{}/registrations", uuid::Uuid::new_v4()));
    let response = a.http.post(unknown).bearer_auth(&d.organizer).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let graphql = "mutation { registerForEvent(eventId: \"x\") { id } }";
    assert_eq!(
        test_support::error_code(&a.graphql(graphql, json!({}), Some(&d.organizer)).await),
        Some("BAD_USER_INPUT")
    );
    let since = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { revokedTickets(since: \"soon\") { ticketId } } } }";
    let out = a.graphql(since, json!({"r": [{"__typename": "Event", "id": d.event}]}), Some(&d.organizer)).await;
    assert!(out["errors"].is_array(), "{out}");
    assert_eq!(d.stored("CONFIRMED").await + d.stored("WAITLISTED").await, 0);
    a.assert_healthy().await;
}
