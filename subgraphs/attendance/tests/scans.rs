//! Door scanning: entries and exits under the event's policy, exact counts
//! under concurrency, idempotent scans, offline sync, annulment and the scan
//! log, each through GraphQL and REST, against a real PostgreSQL.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

mod helpers;

use serde_json::{json, Value};
use test_support::status_and_json;

use helpers::Stack;

const SCAN_FIELDS: &str = "id status direction annulled scannedAt receivedAt userId eventId";

/// `POST /attendance` with a direction (and optionally a nonce header).
async fn scan(s: &Stack, token: Option<&str>, event: &str, user: &str, direction: &str) -> (u16, Value) {
    let body = json!({"eventId": event, "userId": user, "direction": direction});
    status_and_json(s.check_in(token, body).await).await
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

async fn stats(s: &Stack, event: &str) -> Value {
    s.attendance.get_json(&format!("/attendance/stats/{event}")).await
}

fn counts(stats: &Value) -> (i64, i64, i64, i64) {
    let n = |k: &str| stats[k].as_i64().unwrap_or(-1);
    (n("insideNow"), n("entries"), n("exits"), n("totalAttendees"))
}

async fn set_policy(s: &Stack, token: &str, event: &str, input: Value) -> Value {
    let mutation = "mutation($e: ID!, $i: CheckInPolicyInput!) { setCheckInPolicy(eventId: $e, input: $i) { allowReentry allowMultipleEntries exitAllAt } }";
    s.attendance.graphql(mutation, json!({"e": event, "i": input}), Some(token)).await
}

async fn staff(s: &Stack, organizer: &str, event: &str, user: &str) {
    let add = "mutation($e: ID!, $u: ID!) { addCheckInStaff(eventId: $e, userId: $u) { id } }";
    let out = s.attendance.graphql(add, json!({"e": event, "u": user}), Some(organizer)).await;
    assert!(out["errors"].is_null(), "{out}");
}

/// A live event (with `capacity`) of a signed-in organizer, who named one check-in staff member.
struct Door {
    s: Stack,
    organizer: String,
    event: String,
    staffer: String,
    staffer_id: String,
}

async fn door(capacity: Option<i32>) -> Door {
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(capacity).await;
    let (staffer, staffer_id) = s.user("staff@example.com").await;
    staff(&s, &organizer, &event, &staffer_id).await;
    Door { s, organizer, event, staffer, staffer_id }
}

async fn sync(s: &Stack, token: Option<&str>, event: &str, scans: Value) -> (u16, Value) {
    let request =
        s.attendance.http.post(s.attendance.url("/attendance/scans")).json(&json!({"eventId": event, "scans": scans}));
    let request = match token {
        Some(t) => request.bearer_auth(t),
        None => request,
    };
    status_and_json(request.send().await.unwrap()).await
}

async fn scan_count(s: &Stack, sql_filter: &str) -> i64 {
    s.db.number(&format!("SELECT count(*)::bigint AS n FROM attendance_schema.scans WHERE {sql_filter}")).await
}

#[tokio::test]
async fn entries_and_exits_follow_the_events_policy() {
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let (_, ann) = s.user("ann@example.com").await;
    let (_, bob) = s.user("bob@example.com").await;
    let o = Some(organizer.as_str());

    assert_eq!(scan(&s, o, &event, &bob, "EXIT").await.0, 409, "exit without entry");
    assert_eq!(code(&scan(&s, o, &event, &bob, "EXIT").await.1), Some("NOT_INSIDE"));
    let (status, first) = scan(&s, o, &event, &ann, "ENTRY").await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = scan(&s, o, &event, &ann, "ENTRY").await;
    assert_eq!((status, code(&again)), (409, Some("ALREADY_CHECKED_IN")), "entry while inside");
    assert_eq!(again["error"]["details"]["attendance"]["id"], first["id"]);
    assert_eq!(scan(&s, o, &event, &ann, "EXIT").await.0, 201);
    assert_eq!(code(&scan(&s, o, &event, &ann, "EXIT").await.1), Some("NOT_INSIDE"));
    // Re-entry is on by default; the person keeps their one attendance.
    let (status, back) = scan(&s, o, &event, &ann, "ENTRY").await;
    assert_eq!((status, &back["id"]), (201, &first["id"]));
    assert_eq!(counts(&stats(&s, &event).await), (1, 2, 1, 1));

    // Re-entry off: out is out.
    let policy = set_policy(&s, &organizer, &event, json!({"allowReentry": false})).await;
    assert_eq!(
        policy["data"]["setCheckInPolicy"],
        json!({"allowReentry": false, "allowMultipleEntries": false, "exitAllAt": null})
    );
    assert_eq!(scan(&s, o, &event, &ann, "EXIT").await.0, 201);
    assert_eq!(code(&scan(&s, o, &event, &ann, "ENTRY").await.1), Some("ALREADY_CHECKED_IN"));
    // Multiple entries on: an entry while inside counts as an entry, not a second person.
    set_policy(&s, &organizer, &event, json!({"allowReentry": true, "allowMultipleEntries": true})).await;
    assert_eq!(scan(&s, o, &event, &ann, "ENTRY").await.0, 201);
    assert_eq!(scan(&s, o, &event, &ann, "ENTRY").await.0, 201);
    assert_eq!(counts(&stats(&s, &event).await), (1, 4, 2, 1));

    // The policy is contributed to Event, for anyone to read; GraphQL takes the direction too.
    let read = s
        .attendance
        .graphql(
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { checkInPolicy { allowReentry allowMultipleEntries } } } }",
            json!({"r": [{"__typename": "Event", "id": event}]}),
            None,
        )
        .await;
    assert_eq!(
        read["data"]["_entities"][0]["checkInPolicy"],
        json!({"allowReentry": true, "allowMultipleEntries": true})
    );
    let exit = "mutation($e: ID!, $u: ID!) { checkIn(input: {eventId: $e, userId: $u, direction: EXIT}) { id } }";
    let (out, refused) = (
        s.attendance.graphql(exit, json!({"e": event, "u": ann}), o).await,
        s.attendance.graphql(exit, json!({"e": event, "u": ann}), o).await,
    );
    assert_eq!(out["data"]["checkIn"]["id"], first["id"], "{out}");
    assert_eq!(refused["errors"][0]["extensions"]["code"], "NOT_INSIDE", "{refused}");
    assert_eq!(counts(&stats(&s, &event).await), (0, 4, 3, 1));
    // Every attempt is logged, refused ones too.
    assert_eq!(scan_count(&s, &format!("event_id = '{event}'")).await, 13);
    assert_eq!(scan_count(&s, &format!("event_id = '{event}' AND status <> 'OK'")).await, 6);
}

#[tokio::test]
async fn counts_are_exact_when_entries_race_for_the_last_places() {
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(Some(3)).await;
    let users = s.seed_users(20).await;
    let results = futures::future::join_all(users.iter().map(|u| scan(&s, Some(&organizer), &event, u, "ENTRY"))).await;
    let admitted: Vec<&String> = users.iter().zip(&results).filter(|(_, r)| r.0 == 201).map(|(u, _)| u).collect();
    assert_eq!(admitted.len(), 3);
    assert!(results.iter().filter(|r| r.0 != 201).all(|r| code(&r.1) == Some("EVENT_FULL")), "{results:?}");
    // With re-entry on, capacity counts the people inside: one leaves, one more gets in.
    assert_eq!(scan(&s, Some(&organizer), &event, admitted[0], "EXIT").await.0, 201);
    let outside: Vec<&String> = users.iter().filter(|u| !admitted.contains(u)).collect();
    let second =
        futures::future::join_all(outside.iter().map(|u| scan(&s, Some(&organizer), &event, u, "ENTRY"))).await;
    assert_eq!(second.iter().filter(|r| r.0 == 201).count(), 1);
    assert_eq!(counts(&stats(&s, &event).await), (3, 4, 1, 4));
    assert_eq!(s.counted_check_ins().await, s.attendance_rows().await);
}

#[tokio::test]
async fn the_same_nonce_raced_twenty_times_is_one_scan() {
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let (_, ann) = s.user("ann@example.com").await;
    let send = || {
        let request = s
            .attendance
            .http
            .post(s.attendance.url("/attendance"))
            .bearer_auth(&organizer)
            .header("Idempotency-Key", "door-1:0001")
            .json(&json!({"eventId": event, "userId": ann}));
        async move { status_and_json(request.send().await.unwrap()).await }
    };
    let answers = futures::future::join_all((0..20).map(|_| send())).await;
    let first = &answers[0];
    assert_eq!(first.0, 201, "{first:?}");
    assert!(answers.iter().all(|a| a.0 == 201 && a.1["id"] == first.1["id"]), "{answers:?}");
    assert_eq!(scan_count(&s, "nonce = 'door-1:0001'").await, 1);
    // The same nonce in the body, over GraphQL, is the same scan; a nonce
    // whose scan was refused answers the same refusal.
    let replay = s
        .attendance
        .graphql(
            "mutation($e: ID!, $u: ID!) { checkIn(input: {eventId: $e, userId: $u, nonce: \"door-1:0001\"}) { id } }",
            json!({"e": event, "u": ann}),
            Some(&organizer),
        )
        .await;
    assert_eq!(replay["data"]["checkIn"]["id"], first.1["id"], "{replay}");
    let refused = || scan_with_nonce(&s, &organizer, &event, &ann, "EXIT", "door-1:0002");
    assert_eq!(refused().await.0, 201);
    assert_eq!(
        scan_with_nonce(&s, &organizer, &event, &ann, "EXIT", "door-1:0003").await.1["error"]["code"],
        "NOT_INSIDE"
    );
    let again = scan_with_nonce(&s, &organizer, &event, &ann, "EXIT", "door-1:0003").await;
    assert_eq!((again.0, code(&again.1)), (409, Some("NOT_INSIDE")));
    assert_eq!(counts(&stats(&s, &event).await), (0, 1, 1, 1));
    // Another scanner's nonces are their own.
    let (staffer, staffer_id) = s.user("staff@example.com").await;
    staff(&s, &organizer, &event, &staffer_id).await;
    assert_eq!(scan_with_nonce(&s, &staffer, &event, &ann, "ENTRY", "door-1:0001").await.0, 201);
    assert_eq!(scan_count(&s, "nonce = 'door-1:0001'").await, 2);
    // Body and header must agree.
    let request = s
        .attendance
        .http
        .post(s.attendance.url("/attendance"))
        .bearer_auth(&organizer)
        .header("Idempotency-Key", "a")
        .json(&json!({"eventId": event, "userId": ann, "nonce": "b"}));
    assert_eq!(status_and_json(request.send().await.unwrap()).await.0, 422);
}

async fn scan_with_nonce(
    s: &Stack,
    token: &str,
    event: &str,
    user: &str,
    direction: &str,
    nonce: &str,
) -> (u16, Value) {
    let body = json!({"eventId": event, "userId": user, "direction": direction, "nonce": nonce});
    status_and_json(s.check_in(Some(token), body).await).await
}

#[tokio::test]
async fn an_offline_batch_gets_one_result_per_scan_and_can_be_sent_again() {
    let Door { s, event, staffer, .. } = door(None).await;
    let now = chrono::Utc::now();
    // Seeded once: seeded emails are numbered from 1 each time.
    let seeded = s.seed_users(103).await;
    let (users, many) = seeded.split_at(3);
    let at = |minutes: i64| (now - chrono::Duration::minutes(minutes)).to_rfc3339();
    let scans = json!([
        // Sent out of order: applied by scan time, so the exit follows its entry.
        {"nonce": "n2", "userId": users[0], "direction": "EXIT", "scannedAt": at(5)},
        {"nonce": "n1", "userId": users[0], "scannedAt": at(10)},
        {"nonce": "n1", "userId": users[0], "scannedAt": at(10)},
        {"nonce": "n3", "userId": users[1], "scannedAt": at(600)},
        {"nonce": "n4", "userId": "00000000-0000-0000-0000-000000000001", "scannedAt": at(3)},
        {"nonce": "n5", "userId": "not-a-uuid", "scannedAt": at(3)},
        {"nonce": "n6", "userId": users[2], "direction": "EXIT", "scannedAt": at(2)},
        {"nonce": "n7", "userId": users[2], "scannedAt": (now + chrono::Duration::hours(1)).to_rfc3339()},
        {"nonce": "n8", "userId": users[1], "scannedAt": at(1)},
    ]);
    let before = s.attendance.statements.get();
    let (status, body) = sync(&s, Some(&staffer), &event, scans.clone()).await;
    let statements = s.attendance.statements.get() - before;
    assert_eq!(status, 200, "{body}");
    let statuses: Vec<&str> =
        body["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        ["OK", "OK", "OK", "CHECKIN_CLOSED", "NOT_FOUND", "BAD_USER_INPUT", "NOT_INSIDE", "BAD_USER_INPUT", "OK"]
    );
    assert_eq!(body["results"][1]["scan"]["id"], body["results"][2]["scan"]["id"], "a nonce twice is one scan");
    assert!(body["results"][5]["scan"].is_null(), "a malformed id is not logged");
    assert_eq!(counts(&stats(&s, &event).await), (1, 2, 1, 2));
    // The answer was lost: the same upload again changes nothing and answers the same.
    let rows = scan_count(&s, "true").await;
    let (status, again) = sync(&s, Some(&staffer), &event, scans).await;
    assert_eq!((status, &again["results"]), (200, &body["results"]));
    assert_eq!(scan_count(&s, "true").await, rows);
    assert_eq!(counts(&stats(&s, &event).await), (1, 2, 1, 2));

    // Statements per call do not grow with the batch: 100 scans cost what 9 did.
    let big: Vec<Value> = many
        .iter()
        .enumerate()
        .map(|(i, u)| json!({"nonce": format!("b{i}"), "userId": u, "scannedAt": at(1)}))
        .collect();
    let before = s.attendance.statements.get();
    let (status, body) = sync(&s, Some(&staffer), &event, json!(big)).await;
    assert_eq!(status, 200);
    assert!(body["results"].as_array().unwrap().iter().all(|r| r["status"] == "OK"));
    assert_eq!(s.attendance.statements.get() - before, statements);

    // GraphQL answers the same shape; more than 500 scans are refused as a whole.
    let graphql = s
        .attendance
        .graphql(
            "mutation($e: ID!, $s: [ScanInput!]!) { syncScans(eventId: $e, scans: $s) { nonce status scan { id direction } } }",
            json!({"e": event, "s": [{"nonce": "n1", "userId": users[0], "scannedAt": at(10)}]}),
            Some(&staffer),
        )
        .await;
    assert_eq!(graphql["data"]["syncScans"][0]["scan"]["id"], again["results"][1]["scan"]["id"], "{graphql}");
    let too_many: Vec<Value> =
        (0..501).map(|i| json!({"nonce": format!("x{i}"), "userId": users[0], "scannedAt": at(1)})).collect();
    let (status, body) = sync(&s, Some(&staffer), &event, json!(too_many)).await;
    assert_eq!((status, code(&body)), (422, Some("BAD_USER_INPUT")));
}

#[tokio::test]
async fn annulling_a_scan_gives_the_place_back() {
    let Door { s, organizer, event, staffer, .. } = door(Some(1)).await;
    let (other_staffer, other_id) = s.user("staff2@example.com").await;
    staff(&s, &organizer, &event, &other_id).await;
    let (stranger, _) = s.user("stranger@example.com").await;
    let users = s.seed_users(2).await;
    let (_, entry) = scan(&s, Some(&staffer), &event, &users[0], "ENTRY").await;
    assert_eq!(code(&scan(&s, Some(&staffer), &event, &users[1], "ENTRY").await.1), Some("EVENT_FULL"));
    let scan_id =
        s.db.strings(&format!(
            "SELECT id::text AS id FROM attendance_schema.scans WHERE user_id = '{}' AND status = 'OK'",
            users[0]
        ))
        .await
        .remove(0);
    assert_eq!(scan_id, entry["id"].as_str().unwrap(), "a first entry's scan is the attendance");
    let annul = "mutation($id: ID!, $r: String) { annulScan(id: $id, reason: $r) { id status annulled annulReason } }";
    for (who, token) in [("another staff member", &other_staffer), ("a stranger", &stranger)] {
        let out = s.attendance.graphql(annul, json!({"id": scan_id, "r": "mistake"}), Some(token)).await;
        assert_eq!(out["errors"][0]["extensions"]["code"], "FORBIDDEN", "{who}: {out}");
    }
    let out = s.attendance.graphql(annul, json!({"id": scan_id}), None).await;
    assert_eq!(out["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{out}");
    let out = s.attendance.graphql(annul, json!({"id": scan_id, "r": "wrong person"}), Some(&staffer)).await;
    assert_eq!(
        out["data"]["annulScan"],
        json!({"id": scan_id, "status": "OK", "annulled": true, "annulReason": "wrong person"})
    );
    assert_eq!(counts(&stats(&s, &event).await), (0, 0, 0, 0));
    // Annulling again changes nothing; the place is free for the next person.
    let out = s.attendance.graphql(annul, json!({"id": scan_id}), Some(&organizer)).await;
    assert_eq!(out["data"]["annulScan"]["annulled"], true, "{out}");
    assert_eq!(scan(&s, Some(&staffer), &event, &users[1], "ENTRY").await.0, 201);
    assert_eq!(counts(&stats(&s, &event).await), (1, 1, 0, 1));
    // A refused scan has nothing to give back.
    let refused = s.db.strings("SELECT id::text AS id FROM attendance_schema.scans WHERE status = 'EVENT_FULL'").await;
    let out = s.attendance.graphql(annul, json!({"id": refused[0]}), Some(&organizer)).await;
    assert_eq!(out["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{out}");
    let out =
        s.attendance.graphql(annul, json!({"id": "00000000-0000-0000-0000-000000000000"}), Some(&organizer)).await;
    assert_eq!(out["errors"][0]["extensions"]["code"], "NOT_FOUND", "{out}");
    // The staff member's window is 15 minutes; the organizer's is not limited.
    let old =
        s.db.strings(&format!(
            "SELECT id::text AS id FROM attendance_schema.scans WHERE user_id = '{}' AND status = 'OK'",
            users[1]
        ))
        .await;
    let admin = s.db.admin().await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &admin,
        &format!(
            "UPDATE attendance_schema.scans SET received_at = now() - interval '16 minutes' WHERE id = '{}'",
            old[0]
        ),
    )
    .await
    .unwrap();
    let out = s.attendance.graphql(annul, json!({"id": old[0]}), Some(&staffer)).await;
    assert_eq!(out["errors"][0]["extensions"]["code"], "FORBIDDEN", "{out}");
    let out = s.attendance.graphql(annul, json!({"id": old[0]}), Some(&organizer)).await;
    assert_eq!(out["data"]["annulScan"]["annulled"], true, "{out}");
    assert_eq!(counts(&stats(&s, &event).await), (0, 0, 0, 0));
    assert_eq!(s.attendance_rows().await, 0);

    // Undo goes backwards: an entry that was followed by an exit is annulled after that exit.
    let door = s.live_event(Some(&organizer), None).await;
    assert_eq!(scan(&s, Some(&organizer), &door, &users[0], "ENTRY").await.0, 201);
    assert_eq!(scan(&s, Some(&organizer), &door, &users[0], "EXIT").await.0, 201);
    let ids =
        s.db.strings(&format!(
            "SELECT id::text AS id FROM attendance_schema.scans WHERE event_id = '{door}' ORDER BY received_at"
        ))
        .await;
    let out = s.attendance.graphql(annul, json!({"id": ids[0]}), Some(&organizer)).await;
    assert_eq!(out["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{out}");
    s.attendance.graphql(annul, json!({"id": ids[1]}), Some(&organizer)).await;
    assert_eq!(counts(&stats(&s, &door).await), (1, 1, 0, 1));
    s.attendance.graphql(annul, json!({"id": ids[0]}), Some(&organizer)).await;
    assert_eq!(counts(&stats(&s, &door).await), (0, 0, 0, 0));
}

#[tokio::test]
async fn the_scan_log_keeps_refusals_and_shows_staff_their_own_scans() {
    let Door { s, organizer, event, staffer, staffer_id } = door(None).await;
    let (stranger, _) = s.user("stranger@example.com").await;
    let admin = s.admin("admin@example.com").await;
    let users = s.seed_users(2).await;
    scan(&s, Some(&organizer), &event, &users[0], "ENTRY").await;
    scan(&s, Some(&staffer), &event, &users[1], "ENTRY").await;
    scan(&s, Some(&staffer), &event, &users[1], "ENTRY").await;
    scan(&s, Some(&staffer), &event, &users[0], "EXIT").await;

    let query = format!("query($r: [_Any!]!, $f: ScanFilterInput) {{ _entities(representations: $r) {{ ... on Event {{ scanLog(first: 10, filter: $f) {{ nodes {{ {SCAN_FIELDS} scannedBy {{ id }} }} pageInfo {{ hasNextPage endCursor }} }} }} }} }}");
    let log = |token: Option<String>, filter: Value| {
        let query = query.clone();
        let event = event.clone();
        let s = &s;
        async move {
            let out = s
                .attendance
                .graphql(&query, json!({"r": [{"__typename": "Event", "id": event}], "f": filter}), token.as_deref())
                .await;
            out["data"]["_entities"][0]["scanLog"]["nodes"].as_array().cloned().unwrap_or_else(|| panic!("{out}"))
        }
    };
    let all = log(Some(organizer.clone()), Value::Null).await;
    let statuses: Vec<&str> = all.iter().map(|n| n["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["OK", "ALREADY_CHECKED_IN", "OK", "OK"], "newest first, refusals kept");
    assert_eq!(log(Some(admin.clone()), Value::Null).await.len(), 4);
    let own = log(Some(staffer.clone()), Value::Null).await;
    assert_eq!(own.len(), 3);
    assert!(own.iter().all(|n| n["scannedBy"]["id"] == staffer_id.as_str()));
    assert!(log(Some(stranger.clone()), Value::Null).await.is_empty());
    assert!(log(None, Value::Null).await.is_empty());
    let refused = log(Some(organizer.clone()), json!({"status": "ALREADY_CHECKED_IN"})).await;
    assert_eq!(refused.len(), 1);
    assert_eq!(log(Some(organizer.clone()), json!({"direction": "EXIT", "userId": users[0]})).await.len(), 1);
    let bad = s
        .attendance
        .graphql(
            &query,
            json!({"r": [{"__typename": "Event", "id": event}], "f": {"status": "NOPE"}}),
            Some(&organizer),
        )
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{bad}");

    // REST: the same log, paged by `X-Next-Cursor`; a token is required.
    let get = |token: Option<&str>, query: &str| {
        let request = s.attendance.http.get(s.attendance.url(&format!("/attendance/event/{event}/scans{query}")));
        let request = match token {
            Some(t) => request.bearer_auth(t.to_owned()),
            None => request,
        };
        async move { request.send().await.unwrap() }
    };
    let response = get(Some(&organizer), "?limit=3").await;
    let next = response.headers()["x-next-cursor"].to_str().unwrap().to_owned();
    let page: Vec<Value> = response.json().await.unwrap();
    assert_eq!(
        page.iter().map(|n| &n["id"]).collect::<Vec<_>>(),
        all[..3].iter().map(|n| &n["id"]).collect::<Vec<_>>()
    );
    let rest: Vec<Value> = get(Some(&organizer), &format!("?limit=3&after={next}")).await.json().await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["id"], all[3]["id"]);
    let staff_page: Vec<Value> = get(Some(&staffer), "").await.json().await.unwrap();
    assert_eq!(staff_page.len(), 3);
    assert_eq!(get(None, "").await.status(), 401);
    // A query value that is not one of the documented ones: 400, whichever parameter.
    assert_eq!(get(Some(&organizer), "?status=NOPE").await.status(), 400);
    assert_eq!(get(Some(&organizer), "?direction=SIDEWAYS").await.status(), 400);
}

#[tokio::test]
async fn exit_all_marks_everyone_out_once() {
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let users = s.seed_users(3).await;
    for u in &users {
        scan(&s, Some(&organizer), &event, u, "ENTRY").await;
    }
    // Due in a moment: the statistics show it as soon as it is due, before any scan.
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(700)).to_rfc3339();
    let out = set_policy(&s, &organizer, &event, json!({"exitAllAt": soon})).await;
    assert!(out["errors"].is_null(), "{out}");
    assert_eq!(counts(&stats(&s, &event).await), (3, 3, 0, 3));
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    assert_eq!(counts(&stats(&s, &event).await), (0, 3, 3, 3));
    // The next scan (or log read) writes it down, once: EXIT scans by nobody.
    assert_eq!(scan(&s, Some(&organizer), &event, &users[0], "ENTRY").await.0, 201);
    assert_eq!(scan_count(&s, &format!("event_id = '{event}' AND direction = 'EXIT' AND scanned_by IS NULL")).await, 3);
    assert_eq!(counts(&stats(&s, &event).await), (1, 4, 3, 3));
    // Clearing it, and an exit-all already past applies when set.
    set_policy(&s, &organizer, &event, json!({"exitAllAt": null})).await;
    let past = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    set_policy(&s, &organizer, &event, json!({"exitAllAt": past})).await;
    assert_eq!(counts(&stats(&s, &event).await), (0, 4, 4, 3));
    assert_eq!(
        s.db.number(&format!(
            "SELECT inside_now::bigint AS n FROM attendance_schema.event_checkins WHERE event_id = '{event}'"
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn an_event_change_binds_the_very_next_scan() {
    let s = helpers::spawn().await;
    let (organizer, _) = s.user("org@example.com").await;
    let users = s.seed_users(3).await;
    let patch = |event: String, body: Value| {
        let request =
            s.events.http.patch(s.events.url(&format!("/events/{event}"))).bearer_auth(&organizer).json(&body);
        async move { assert_eq!(request.send().await.unwrap().status(), 200) }
    };
    // Capacity lowered right after a check-in: the next person is refused.
    let event = s.live_event(Some(&organizer), Some(10)).await;
    assert_eq!(scan(&s, Some(&organizer), &event, &users[0], "ENTRY").await.0, 201);
    patch(event.clone(), json!({"capacity": 1})).await;
    assert_eq!(code(&scan(&s, Some(&organizer), &event, &users[1], "ENTRY").await.1), Some("EVENT_FULL"));
    // Moved into the past: check-in is closed at once.
    let past = chrono::Utc::now() - chrono::Duration::days(2);
    patch(
        event.clone(),
        json!({"capacity": null, "startTime": past.to_rfc3339(), "endTime": (past + chrono::Duration::hours(1)).to_rfc3339()}),
    )
    .await;
    assert_eq!(code(&scan(&s, Some(&organizer), &event, &users[1], "ENTRY").await.1), Some("CHECKIN_CLOSED"));
    // Cancelled: the very next scan is refused.
    let event = s.live_event(Some(&organizer), None).await;
    assert_eq!(scan(&s, Some(&organizer), &event, &users[0], "ENTRY").await.0, 201);
    let cancel = s.events.http.post(s.events.url(&format!("/events/{event}/cancel"))).bearer_auth(&organizer);
    assert_eq!(cancel.send().await.unwrap().status(), 200);
    assert_eq!(code(&scan(&s, Some(&organizer), &event, &users[1], "ENTRY").await.1), Some("EVENT_CANCELLED"));
}

/// On a replica the event service did not tell, the change binds too: the
/// scan finds its copy of the event stale where it is written, and is
/// checked again against the event as it is now.
#[tokio::test]
async fn an_event_change_binds_scans_on_every_instance() {
    let s = helpers::spawn().await;
    let replica = s.another_attendance().await;
    let (organizer, _) = s.user("org@example.com").await;
    let users = s.seed_users(3).await;
    let event = s.live_event(Some(&organizer), None).await;
    let scan_at = |user: &str| {
        let request = replica
            .http
            .post(replica.url("/attendance"))
            .bearer_auth(&organizer)
            .json(&json!({"eventId": event, "userId": user}));
        async move { status_and_json(request.send().await.unwrap()).await }
    };
    // The replica has the event in its cache now.
    assert_eq!(scan_at(&users[0]).await.0, 201);
    let cancel = s.events.http.post(s.events.url(&format!("/events/{event}/cancel"))).bearer_auth(&organizer);
    assert_eq!(cancel.send().await.unwrap().status(), 200);
    let (status, refused) = scan_at(&users[1]).await;
    assert_eq!((status, code(&refused)), (409, Some("EVENT_CANCELLED")), "{refused}");
    // An upload to the replica is checked again as a whole.
    let (status, body) = {
        let scans = json!([{"nonce": "r1", "userId": users[2], "scannedAt": chrono::Utc::now().to_rfc3339()}]);
        let request = replica
            .http
            .post(replica.url("/attendance/scans"))
            .bearer_auth(&organizer)
            .json(&json!({"eventId": event, "scans": scans}));
        status_and_json(request.send().await.unwrap()).await
    };
    assert_eq!((status, &body["results"][0]["status"]), (200, &json!("EVENT_CANCELLED")), "{body}");
}

#[tokio::test]
async fn only_scanners_choose_the_scan_time() {
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let early = (chrono::Utc::now() - chrono::Duration::minutes(29)).to_rfc3339();
    // A person checking themself in is stamped now, whatever they send.
    let (ann, _) = s.user("ann@example.com").await;
    let (status, mine) =
        status_and_json(s.check_in(Some(&ann), json!({"eventId": event, "checkInTime": early})).await).await;
    assert_eq!(status, 201, "{mine}");
    let stamped: chrono::DateTime<chrono::Utc> = mine["checkInTime"].as_str().unwrap().parse().unwrap();
    assert!(chrono::Utc::now() - stamped < chrono::Duration::seconds(30), "{mine}");
    // The organizer (a scanner) uploads the time they scanned.
    let (_, bob) = s.user("bob@example.com").await;
    let (status, scanned) = status_and_json(
        s.check_in(Some(&organizer), json!({"eventId": event, "userId": bob, "checkInTime": early})).await,
    )
    .await;
    assert_eq!(status, 201);
    let kept: chrono::DateTime<chrono::Utc> = scanned["checkInTime"].as_str().unwrap().parse().unwrap();
    let sent: chrono::DateTime<chrono::Utc> = early.parse().unwrap();
    assert_eq!(kept.timestamp_micros(), sent.timestamp_micros(), "kept, to PostgreSQL's microseconds");
}

/// Who may use the new paths: anonymous, another user, the person, the
/// organizer, staff and an ADMIN, through GraphQL and REST alike.
#[tokio::test]
async fn who_may_sync_annul_and_set_the_policy() {
    let Door { s, organizer, event, staffer, .. } = door(None).await;
    let (other, _) = s.user("other@example.com").await;
    let (person, person_id) = s.user("person@example.com").await;
    let admin = s.admin("admin@example.com").await;
    let now = chrono::Utc::now().to_rfc3339();
    let roles: [(&str, Option<&str>, bool, bool); 6] = [
        // (role, token, may sync, may set the policy)
        ("anonymous", None, false, false),
        ("another user", Some(&other), false, false),
        ("the person", Some(&person), false, false),
        ("organizer", Some(&organizer), true, true),
        ("staff", Some(&staffer), true, false),
        ("admin", Some(&admin), true, true),
    ];
    for (i, (role, token, may_sync, may_set)) in roles.into_iter().enumerate() {
        let scans = json!([{"nonce": format!("m{i}"), "userId": person_id, "direction": if i % 2 == 0 { "ENTRY" } else { "EXIT" }, "scannedAt": now}]);
        let (status, body) = sync(&s, token, &event, scans.clone()).await;
        let expected = match (may_sync, token) {
            (true, _) => 200,
            (false, None) => 401,
            (false, Some(_)) => 403,
        };
        assert_eq!(status, expected, "{role} REST sync: {body}");
        let graphql = s
            .attendance
            .graphql(
                "mutation($e: ID!, $s: [ScanInput!]!) { syncScans(eventId: $e, scans: $s) { status } }",
                json!({"e": event, "s": scans}),
                token,
            )
            .await;
        assert_eq!(graphql["errors"].is_null(), may_sync, "{role} GraphQL sync: {graphql}");
        let policy = set_policy(&s, token.unwrap_or(""), &event, json!({"allowReentry": true})).await;
        if token.is_some() {
            assert_eq!(policy["errors"].is_null(), may_set, "{role} setCheckInPolicy: {policy}");
        }
        let request = s
            .attendance
            .http
            .patch(s.attendance.url(&format!("/attendance/event/{event}/policy")))
            .json(&json!({"allowMultipleEntries": false}));
        let request = match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        let status = request.send().await.unwrap().status().as_u16();
        assert_eq!(
            status,
            if may_set {
                200
            } else if token.is_none() {
                401
            } else {
                403
            },
            "{role} REST policy"
        );
    }
    let policy: Value = s.attendance.get_json(&format!("/attendance/event/{event}/policy")).await;
    assert_eq!(policy, json!({"allowReentry": true, "allowMultipleEntries": false, "exitAllAt": null}));
}

#[tokio::test]
async fn hostile_scans_are_refused_and_change_nothing() {
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let (_, ann) = s.user("ann@example.com").await;
    let long = "n".repeat(201);
    for (name, body) in [
        ("a nonce too long", json!({"eventId": event, "userId": ann, "nonce": long})),
        ("an empty nonce", json!({"eventId": event, "userId": ann, "nonce": ""})),
        ("a direction that is not one", json!({"eventId": event, "userId": ann, "direction": "SIDEWAYS"})),
        ("a direction of the wrong type", json!({"eventId": event, "userId": ann, "direction": 1})),
    ] {
        let (status, out) = status_and_json(s.check_in(Some(&organizer), body).await).await;
        assert!(matches!(status, 400 | 422), "{name}: {status} {out}");
        assert_eq!(code(&out), Some("BAD_USER_INPUT"), "{name}: {out}");
    }
    for (name, body) in [
        ("no scans field", json!({"eventId": event})),
        ("scans of the wrong type", json!({"eventId": event, "scans": "all"})),
        (
            "a scan without a nonce",
            json!({"eventId": event, "scans": [{"userId": ann, "scannedAt": "2024-01-01T00:00:00Z"}]}),
        ),
        (
            "a scan with a bad time",
            json!({"eventId": event, "scans": [{"nonce": "x", "userId": ann, "scannedAt": "yesterday"}]}),
        ),
        ("a malformed event id", json!({"eventId": "nope", "scans": []})),
    ] {
        let request = s.attendance.http.post(s.attendance.url("/attendance/scans")).bearer_auth(&organizer).json(&body);
        let (status, out) = status_and_json(request.send().await.unwrap()).await;
        assert!(matches!(status, 400 | 422), "{name}: {status} {out}");
    }
    let (status, out) = status_and_json(s.attendance.post_raw_json("/attendance/scans", "{\"eventId\": [").await).await;
    assert_eq!((matches!(status, 400 | 422), code(&out)), (true, Some("BAD_USER_INPUT")), "{out}");
    let annul = s.attendance.graphql("mutation { annulScan(id: \"x\") { id } }", json!({}), Some(&organizer)).await;
    assert_eq!(annul["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let reason = "r".repeat(501);
    let annul = s
        .attendance
        .graphql(
            "mutation($r: String) { annulScan(id: \"00000000-0000-0000-0000-000000000000\", reason: $r) { id } }",
            json!({"r": reason}),
            Some(&organizer),
        )
        .await;
    assert_eq!(annul["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(scan_count(&s, "true").await, 0);
    s.attendance.assert_healthy().await;
}

/// The migration upgrades check-ins in place and goes back down cleanly.
#[tokio::test]
async fn the_scans_migration_upgrades_existing_check_ins_and_goes_down() {
    use migration::sea_orm_migration::MigratorTrait;
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let users = s.seed_users(2).await;
    for u in &users {
        scan(&s, Some(&organizer), &event, u, "ENTRY").await;
    }
    scan(&s, Some(&organizer), &event, &users[0], "EXIT").await;
    let db = s.db.connect_as(common::ServiceKind::Attendance).await;
    // The migrations above the scans migration (set-wise writes, the per-nonce
    // probe, one verdict, rights versions, registrations, minutes) go down
    // and up with nothing lost.
    migration::attendance::Migrator::down(&db.conn, Some(6)).await.unwrap();
    assert_eq!(scan(&s, Some(&organizer), &event, &users[0], "ENTRY").await.0, 201, "one by one again");
    migration::attendance::Migrator::up(&db.conn, None).await.unwrap();
    assert_eq!(counts(&stats(&s, &event).await), (2, 3, 1, 2), "the minutes count the check-ins made before them");
    assert_eq!(scan(&s, Some(&organizer), &event, &users[0], "EXIT").await.0, 201);
    // Then the scans migration under them.
    migration::attendance::Migrator::down(&db.conn, Some(7)).await.unwrap();
    assert_eq!(s.attendance_rows().await, 2, "check-ins stay");
    migration::attendance::Migrator::up(&db.conn, None).await.unwrap();
    assert_eq!(scan_count(&s, "direction = 'ENTRY' AND status = 'OK'").await, 2, "each check-in is an entry again");
    assert_eq!(counts(&stats(&s, &event).await), (2, 2, 0, 2));
    assert_eq!(scan(&s, Some(&organizer), &event, &users[0], "EXIT").await.0, 201);
}

/// The usual batch (entries of different people with room for all) is
/// written as sets; everything else one scan at a time. The one-by-one part
/// is the oracle: the same batches at an event just like it, each sent one
/// scan at a time (a copy of its first scan at its end, a replay that writes
/// nothing, keeps a batch from being written as a set), must answer the same
/// statuses and leave the same counts.
#[tokio::test]
async fn batches_written_as_sets_are_judged_as_one_by_one() {
    let s = helpers::spawn().await;
    let (organizer, _) = s.user("org@example.com").await;
    let p = s.seed_users(6).await;
    let stranger = "00000000-0000-0000-0000-000000000001";
    let now = chrono::Utc::now();
    let at = |seconds: i64| (now - chrono::Duration::seconds(600 - seconds)).to_rfc3339();
    let entry = |n: &str, user: &str, t: i64| json!({"nonce": n, "userId": user, "scannedAt": at(t)});
    let exit =
        |n: &str, user: &str, t: i64| json!({"nonce": n, "userId": user, "direction": "EXIT", "scannedAt": at(t)});
    // A person inside, an unknown one and one out of the window beside one new.
    let mixed = json!([
        entry("c", &p[0], 3),
        entry("d", &p[2], 4),
        entry("e", stranger, 5),
        {"nonce": "f", "userId": p[3], "scannedAt": "2024-01-01T00:00:00Z"},
    ]);
    let rounds: Vec<(Option<Value>, Value)> = vec![
        // As sets: first entries, then the mixed upload.
        (None, json!([entry("a", &p[0], 1), entry("b", &p[1], 2)])),
        (None, mixed.clone()),
        // The same upload again: replays, one by one.
        (None, mixed),
        // Multiple entries on: an entry while inside, as a set.
        (Some(json!({"allowMultipleEntries": true})), json!([entry("w", &p[1], 5)])),
        // Exits, one by one; then re-entries beside new people, as sets.
        (None, json!([exit("g", &p[0], 6), exit("h", &p[1], 7), exit("i", &p[4], 8)])),
        (None, json!([entry("j", &p[0], 9), entry("k", &p[3], 10)])),
        // The last places: one by one, the last person is refused.
        (None, json!([entry("l", &p[1], 11), entry("m", &p[4], 12), entry("n", &p[5], 13)])),
        // Re-entry off: out is out, in may still enter again.
        (Some(json!({"allowReentry": false})), json!([exit("o", &p[0], 14), exit("p", &p[1], 15)])),
        (None, json!([entry("q", &p[0], 16), entry("r", &p[2], 17), entry("s", &p[3], 18)])),
        // The same person twice in one batch: one by one.
        (None, json!([entry("t", &p[2], 19), exit("u", &p[2], 20), entry("v", &p[2], 21)])),
    ];
    let mut runs = Vec::new();
    for one_by_one in [false, true] {
        let event = s.live_event(Some(&organizer), Some(5)).await;
        let mut statuses = Vec::new();
        for (policy, scans) in &rounds {
            if let Some(policy) = policy {
                let out = set_policy(&s, &organizer, &event, policy.clone()).await;
                assert!(out["errors"].is_null(), "{out}");
            }
            let mut scans = scans.clone();
            if one_by_one {
                let copy = scans[0].clone();
                scans.as_array_mut().unwrap().push(copy);
            }
            let (status, body) = sync(&s, Some(&organizer), &event, scans).await;
            assert_eq!(status, 200, "{body}");
            let mut results: Vec<String> =
                body["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap().to_owned()).collect();
            if one_by_one {
                let replay = results.pop();
                assert_eq!(replay.as_ref(), results.first(), "the copy is answered as its original");
            }
            statuses.push(results);
        }
        let inside =
            s.db.number(&format!(
                "SELECT count(*)::bigint AS n FROM attendance_schema.attendances WHERE event_id = '{event}' AND inside"
            ))
            .await;
        runs.push((statuses, counts(&stats(&s, &event).await), inside));
    }
    assert_eq!(runs[0], runs[1], "as sets, then one by one");
    let (statuses, (inside_now, ..), inside) = &runs[0];
    assert_eq!(statuses[1], ["ALREADY_CHECKED_IN", "OK", "NOT_FOUND", "CHECKIN_CLOSED"]);
    assert_eq!(statuses[3], ["OK"]);
    assert_eq!(statuses[6], ["OK", "OK", "EVENT_FULL"]);
    assert_eq!(inside_now, inside, "{runs:?}");
}

/// `direction` is nullable with a default, as the contract writes it: left
/// out or `null`, a scan is an entry (GraphQL and REST alike).
#[tokio::test]
async fn a_scan_without_a_direction_is_an_entry() {
    let Door { s, organizer, event, .. } = door(None).await;
    let users = s.seed_users(2).await;
    let entry = "mutation($e: ID!, $u: ID!) { checkIn(input: {eventId: $e, userId: $u, direction: null}) { id } }";
    let out = s.attendance.graphql(entry, json!({"e": event, "u": users[0]}), Some(&organizer)).await;
    assert!(out["errors"].is_null(), "{out}");
    let body = json!({"eventId": event, "userId": users[1], "direction": null});
    assert_eq!(s.check_in(Some(&organizer), body).await.status(), 201);
    assert_eq!(scan_count(&s, &format!("event_id = '{event}' AND direction = 'ENTRY' AND status = 'OK'")).await, 2);
}

/// The scan statuses are spelt once in Rust (`ScanStatus`) and once in SQL
/// (`scan_verdict`, the one function that decides a verdict): over every
/// case, the function answers each of Rust's statuses and nothing else.
#[tokio::test]
async fn the_verdict_function_speaks_exactly_rusts_statuses() {
    use attendance_service::domain::ScanStatus;
    let s = helpers::spawn().await;
    let verdicts =
        s.db.strings(
            "SELECT DISTINCT attendance_schema.scan_verdict(
                 malformed, ticket, valid, wrong_event, revoked, cancelled, '2024-01-01 10:00Z',
                 '2024-01-01 12:00Z', scanned_at, person, require_ticket, registered, direction,
                 entered, inside, exited, reentry, multiple, capacity, 5, 5) AS id
             FROM unnest(ARRAY[true, false]) malformed, unnest(ARRAY[true, false]) ticket,
                  unnest(ARRAY[true, false]) valid, unnest(ARRAY[true, false]) wrong_event,
                  unnest(ARRAY[true, false]) revoked, unnest(ARRAY[true, false]) cancelled,
                  unnest(ARRAY['2024-01-01 09:00Z', '2024-01-01 11:00Z']::timestamptz[]) scanned_at,
                  unnest(ARRAY[true, false]) person, unnest(ARRAY[true, false]) require_ticket,
                  unnest(ARRAY[true, false]) registered, unnest(ARRAY['ENTRY', 'EXIT']) direction,
                  unnest(ARRAY[true, false]) entered, unnest(ARRAY[true, false]) inside,
                  unnest(ARRAY[true, false]) exited, unnest(ARRAY[true, false]) reentry,
                  unnest(ARRAY[true, false]) multiple, unnest(ARRAY[NULL, 5, 10]::int[]) capacity
             ORDER BY 1",
        )
        .await;
    let mut rust: Vec<&str> = ScanStatus::ALL.iter().map(|s| s.code()).collect();
    rust.sort_unstable();
    assert_eq!(verdicts, rust);
}

/// What the door keeps as it writes (the event's counters, its per-minute
/// check-in counts) equals a full recount from the check-ins and the scan
/// log after a racing load: every person entering, leaving and entering
/// again from two devices at once, an offline upload racing them, then
/// annulments in parallel. The statistics are read from what was kept.
#[tokio::test]
async fn kept_statistics_equal_a_full_recount_after_a_racing_load() {
    let Door { s, organizer, event, staffer, .. } = door(None).await;
    let users = s.seed_users(30).await;
    let person = |user: &String| {
        let (s, organizer, staffer, event, user) = (&s, &organizer, &staffer, &event, user.clone());
        async move {
            for direction in ["ENTRY", "EXIT", "ENTRY"] {
                let (a, b) = tokio::join!(
                    scan(s, Some(organizer), event, &user, direction),
                    scan(s, Some(staffer), event, &user, direction)
                );
                assert!(a.0 < 500 && b.0 < 500, "{a:?} {b:?}");
            }
        }
    };
    let scanned_at = (chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc3339();
    let upload: Vec<Value> = (users.iter().take(15).enumerate())
        .map(|(i, user)| json!({"nonce": format!("offline-{i}"), "userId": user, "direction": "EXIT", "scannedAt": scanned_at}))
        .collect();
    let (_, (status, _)) = tokio::join!(
        futures::future::join_all(users.iter().map(person)),
        sync(&s, Some(&staffer), &event, Value::Array(upload))
    );
    assert_eq!(status, 200);
    // Each of ten people's latest accepted scan is annulled, all at once.
    let latest =
        s.db.strings(&format!(
            "SELECT DISTINCT ON (user_id) id::text AS id FROM attendance_schema.scans
             WHERE event_id = '{event}' AND status = 'OK' ORDER BY user_id, received_at DESC, id DESC LIMIT 10"
        ))
        .await;
    let annul = "mutation($id: ID!) { annulScan(id: $id) { annulled } }";
    let annulled = futures::future::join_all(
        latest.iter().map(|id| s.attendance.graphql(annul, json!({"id": id}), Some(&organizer))),
    )
    .await;
    for out in &annulled {
        assert_eq!(out["data"]["annulScan"]["annulled"], true, "{out}");
    }

    let of_event = format!("event_id = '{event}'");
    let db = &s.db;
    let recount = |sql: String| async move { db.number(&sql).await };
    let ok = |direction: &str| {
        format!(
            "SELECT count(*) AS n FROM attendance_schema.scans
             WHERE {of_event} AND status = 'OK' AND annulled_at IS NULL AND direction = '{direction}'"
        )
    };
    let expected = (
        recount(format!("SELECT count(*) AS n FROM attendance_schema.attendances WHERE {of_event} AND inside")).await,
        recount(ok("ENTRY")).await,
        recount(ok("EXIT")).await,
        recount(format!("SELECT count(*) AS n FROM attendance_schema.attendances WHERE {of_event}")).await,
    );
    let kept = stats(&s, &event).await;
    assert_eq!(counts(&kept), expected, "{kept}");
    assert!(expected.1 > 30 && expected.2 > 0, "the load did happen: {expected:?}");
    // The minutes the statistics sum are the check-ins' own, minute by minute.
    let minutes = "date_bin('1 minute', check_in_time, timestamptz '2000-01-01 00:00+00')";
    let differing = recount(format!(
        "SELECT count(*) AS n FROM (
             (SELECT minute, n FROM attendance_schema.checkin_minutes WHERE {of_event} AND n <> 0
              EXCEPT SELECT {minutes}, count(*) FROM attendance_schema.attendances WHERE {of_event} GROUP BY 1)
             UNION ALL
             (SELECT {minutes}, count(*) FROM attendance_schema.attendances WHERE {of_event} GROUP BY 1
              EXCEPT SELECT minute, n FROM attendance_schema.checkin_minutes WHERE {of_event} AND n <> 0)
         ) d"
    ))
    .await;
    assert_eq!(differing, 0, "checkin_minutes disagrees with the check-ins");
    let buckets: i64 = kept["byInterval"].as_array().unwrap().iter().map(|b| b["count"].as_i64().unwrap()).sum();
    assert_eq!((kept["late"].as_i64(), buckets), (Some(expected.3), expected.3), "all arrived after the start: {kept}");
    let first = format!(
        "SELECT to_char(min(check_in_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') AS id
         FROM attendance_schema.attendances WHERE {of_event}"
    );
    let first = s.db.strings(&first).await;
    let first: chrono::NaiveDateTime = first[0].parse().unwrap();
    let kept_first: chrono::DateTime<chrono::Utc> = kept["firstCheckIn"].as_str().unwrap().parse().unwrap();
    assert_eq!(kept_first.naive_utc(), first);
}
