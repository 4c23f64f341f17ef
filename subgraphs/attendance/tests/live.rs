//! Live attendance over Server-Sent Events and WebSocket: a scan on any
//! instance reaches the subscribers of every instance (PostgreSQL
//! LISTEN/NOTIFY), the first message is the current state, bursts coalesce,
//! a lost listening connection or a database restart resynchronises, a
//! client that stops reading is dropped, and only the event's scanners may
//! watch, for as long as their token and their right last.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

mod helpers;

use std::time::Duration;

use serde_json::{json, Value};
use test_support::{status_and_json, TestServer};
use tokio_tungstenite::tungstenite::Message;

/// An open `text/event-stream`, read message by message.
struct Live {
    response: reqwest::Response,
    buffer: String,
}

impl Live {
    async fn open(server: &TestServer, event: &str, token: Option<&str>) -> Result<Live, (u16, Value)> {
        let mut request = server.http.get(server.url(&format!("/attendance/live/{event}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("a response");
        if response.status() != 200 {
            return Err(status_and_json(response).await);
        }
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        Ok(Live { response, buffer: String::new() })
    }

    /// The next `data:` message, or `None` when the stream ended; fails after 10 s.
    async fn next(&mut self) -> Option<Value> {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let message: String = self.buffer.drain(..end + 2).collect();
                    let data: Vec<&str> = message.lines().filter_map(|l| l.strip_prefix("data:")).collect();
                    if !data.is_empty() {
                        return Some(serde_json::from_str(data.join("\n").trim()).expect("JSON data"));
                    }
                    continue; // a keep-alive comment
                }
                match self.response.chunk().await {
                    Ok(Some(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                    _ => return None,
                }
            }
        })
        .await
        .expect("a message or the end within 10 s")
    }
}

fn attendees(update: &Value) -> i64 {
    update["stats"]["totalAttendees"].as_i64().unwrap_or(-1)
}

#[tokio::test]
async fn a_scan_on_one_instance_reaches_subscribers_on_every_instance() {
    let s = helpers::spawn().await;
    let replica = s.another_attendance().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let users = s.seed_users(2).await;
    let mut here = Live::open(&s.attendance, &event, Some(&organizer)).await.unwrap();
    let mut there = Live::open(&replica, &event, Some(&organizer)).await.unwrap();
    for live in [&mut here, &mut there] {
        let first = live.next().await.expect("the current state first");
        assert_eq!((attendees(&first), &first["scan"]), (0, &Value::Null), "{first}");
    }
    // A check-in on the first instance, then an exit on the replica.
    assert_eq!(s.check_in(Some(&organizer), json!({"eventId": event, "userId": users[0]})).await.status(), 201);
    let (a, b) = (here.next().await.unwrap(), there.next().await.unwrap());
    assert_eq!(a, b, "every instance tells the same");
    assert_eq!((attendees(&a), &a["stats"]["insideNow"], &a["scan"]["userId"]), (1, &json!(1), &json!(users[0])));
    let exit = replica.http.post(replica.url("/attendance")).bearer_auth(&organizer);
    let exit = exit.json(&json!({"eventId": event, "userId": users[0], "direction": "EXIT"}));
    assert_eq!(exit.send().await.unwrap().status(), 201);
    let (a, b) = (here.next().await.unwrap(), there.next().await.unwrap());
    assert_eq!(a, b);
    assert_eq!(
        (&a["stats"]["insideNow"], &a["stats"]["exits"], &a["scan"]["direction"]),
        (&json!(0), &json!(1), &json!("EXIT"))
    );
    // What the stream says is what the statistics say.
    let stats: Value = s.attendance.get_json(&format!("/attendance/stats/{event}")).await;
    assert_eq!(a["stats"], stats);
}

#[tokio::test]
async fn a_lost_listening_connection_resynchronises_its_subscribers() {
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let users = s.seed_users(1).await;
    let mut live = Live::open(&s.attendance, &event, Some(&organizer)).await.unwrap();
    assert_eq!(attendees(&live.next().await.unwrap()), 0);
    // The database drops the listening connection (as a restart would), and a
    // check-in lands while nobody listens: its notice is lost.
    let killed =
        s.db.number(
            "SELECT count(pg_terminate_backend(pid))::bigint AS n FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .await;
    assert_eq!(killed, 1, "one listening connection per instance");
    assert_eq!(s.check_in(Some(&organizer), json!({"eventId": event, "userId": users[0]})).await.status(), 201);
    // Listening again, the instance sends every subscriber the state as it is.
    let mut update = live.next().await.unwrap();
    while attendees(&update) != 1 {
        update = live.next().await.unwrap();
    }
    assert_eq!(attendees(&update), 1, "{update}");
}

#[tokio::test]
async fn only_the_events_scanners_may_watch_while_their_token_and_right_last() {
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let (staffer, staffer_id) = s.user("staff@example.com").await;
    let (other, _) = s.user("other@example.com").await;
    let admin = s.admin("admin@example.com").await;
    let add = "mutation($e: ID!, $u: ID!) { addCheckInStaff(eventId: $e, userId: $u) { id } }";
    s.attendance.graphql(add, json!({"e": event, "u": staffer_id}), Some(&organizer)).await;

    let refused =
        |result: Result<Live, (u16, Value)>| result.err().map(|(status, body)| (status, body["error"]["code"].clone()));
    assert_eq!(refused(Live::open(&s.attendance, &event, None).await), Some((401, json!("UNAUTHENTICATED"))));
    assert_eq!(refused(Live::open(&s.attendance, &event, Some(&other)).await), Some((403, json!("FORBIDDEN"))));
    assert_eq!(refused(Live::open(&s.attendance, &event, Some("e30.e30.e30")).await).map(|r| r.0), Some(401));
    let unknown = "00000000-0000-0000-0000-000000000000";
    assert_eq!(refused(Live::open(&s.attendance, unknown, Some(&admin)).await).map(|r| r.0), Some(404));
    assert_eq!(refused(Live::open(&s.attendance, "nope", Some(&admin)).await).map(|r| r.0), Some(400));
    let mut watched_by_admin = Live::open(&s.attendance, &event, Some(&admin)).await.unwrap();
    assert!(watched_by_admin.next().await.is_some());

    // Staff may watch until their right is taken away.
    let mut by_staff = Live::open(&s.attendance, &event, Some(&staffer)).await.unwrap();
    assert!(by_staff.next().await.is_some());
    let remove = "mutation($e: ID!, $u: ID!) { removeCheckInStaff(eventId: $e, userId: $u) { id } }";
    s.attendance.graphql(remove, json!({"e": event, "u": staffer_id}), Some(&organizer)).await;
    assert_eq!(by_staff.next().await, None, "revoked: the stream ends");
    assert!(watched_by_admin.next().await.is_some(), "the admin keeps watching");

    // A token that expires ends the stream.
    let short = s.expiring_in(&organizer, 2).await;
    let mut brief = Live::open(&s.attendance, &event, Some(&short)).await.unwrap();
    assert!(brief.next().await.is_some());
    let started = std::time::Instant::now();
    assert_eq!(brief.next().await, None);
    assert!(started.elapsed() < Duration::from_secs(5), "ended at expiry");

    // At most 20 at once per person.
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(Live::open(&s.attendance, &event, Some(&organizer)).await.expect("within the limit"));
    }
    assert_eq!(
        refused(Live::open(&s.attendance, &event, Some(&organizer)).await),
        Some((429, json!("TOO_MANY_REQUESTS")))
    );
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(Live::open(&s.attendance, &event, Some(&organizer)).await.is_ok(), "closed streams give their place back");
}

/// A graceful stop ends open streams, so it does not wait on them forever.
#[tokio::test]
async fn stopping_the_service_ends_its_live_streams() {
    let s = helpers::spawn().await;
    let replica = s.another_attendance().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let mut live = Live::open(&replica, &event, Some(&organizer)).await.unwrap();
    assert!(live.next().await.is_some());
    tokio::time::timeout(Duration::from_secs(5), replica.stop()).await.expect("stopped within 5 s");
    assert_eq!(live.next().await, None, "the stream ended");
}

#[tokio::test]
async fn the_websocket_subscription_tells_what_the_event_stream_tells() {
    use helpers::ws::*;
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let users = s.seed_users(1).await;
    let mut sse = Live::open(&s.attendance, &event, Some(&organizer)).await.unwrap();
    let mut socket = initialised(&s.attendance, Some(&organizer)).await;
    subscribe(&mut socket, "1", &event).await;
    // The legacy protocol too.
    let mut legacy = connect(&s.attendance, "graphql-ws").await;
    let init = json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {organizer}")}});
    send(&mut legacy, init).await;
    assert_eq!(receive(&mut legacy).await.unwrap()["type"], "connection_ack");
    let start = json!({"id": "1", "type": "start", "payload": {"query": UPDATES, "variables": {"e": event}}});
    send(&mut legacy, start).await;

    let stats = |sse: &Value| {
        let s = &sse["stats"];
        json!({"totalAttendees": s["totalAttendees"], "insideNow": s["insideNow"], "entries": s["entries"], "exits": s["exits"]})
    };
    for round in 0..2 {
        let message = receive(&mut socket).await.unwrap();
        assert_eq!(message["type"], "next", "{message}");
        let old = receive(&mut legacy).await.unwrap();
        assert_eq!(old["type"], "data", "{old}");
        let update = &message["payload"]["data"]["attendanceUpdates"];
        assert_eq!(update, &old["payload"]["data"]["attendanceUpdates"], "both protocols agree");
        let from_sse = sse.next().await.unwrap();
        assert_eq!(update["stats"], stats(&from_sse), "WebSocket and SSE agree");
        if round == 0 {
            assert_eq!(update["scan"], Value::Null, "the current state first");
            let check_in = s.check_in(Some(&organizer), json!({"eventId": event, "userId": users[0]})).await;
            assert_eq!(check_in.status(), 201);
        } else {
            assert_eq!(update["scan"], json!({"userId": users[0], "direction": "ENTRY"}));
            assert_eq!(update["stats"]["totalAttendees"], 1);
        }
    }
    // Completing a subscription ends it; the connection stays.
    send(&mut socket, json!({"id": "1", "type": "complete"})).await;
    subscribe(&mut socket, "2", &event).await;
    let mut message = receive(&mut socket).await.unwrap();
    while message["id"] == "1" {
        message = receive(&mut socket).await.unwrap(); // sent before the server read the `complete`
    }
    assert_eq!((&message["id"], &message["type"]), (&json!("2"), &json!("next")), "{message}");
}

#[tokio::test]
async fn the_websocket_refuses_strangers_forgeries_and_protocol_abuse() {
    use helpers::ws::*;
    let s = helpers::spawn().await;
    let (organizer, _) = s.user("org@example.com").await;
    let (other, _) = s.user("other@example.com").await;
    let event = s.live_event(Some(&organizer), None).await;
    // A refusal is the operation's GraphQL error (`next` with `errors`, as for HTTP).
    let code_of = |message: &Value| message["payload"]["errors"][0]["extensions"]["code"].as_str().map(str::to_owned);
    for (who, token, code) in
        [("anonymous", None, "UNAUTHENTICATED"), ("another user", Some(other.as_str()), "FORBIDDEN")]
    {
        let mut socket = initialised(&s.attendance, token).await;
        subscribe(&mut socket, "1", &event).await;
        let refused = receive(&mut socket).await.unwrap();
        assert_eq!(code_of(&refused), Some(code.to_owned()), "{who}: {refused}");
        assert_eq!(refused["payload"]["data"], Value::Null, "{who}: {refused}");
    }
    // A forged token fails the connection itself.
    let mut socket = connect(&s.attendance, "graphql-transport-ws").await;
    send(&mut socket, json!({"type": "connection_init", "payload": {"authorization": "Bearer e30.e30.e30"}})).await;
    // async-graphql closes a failed initialisation with 1002 and the reason.
    assert_eq!(receive(&mut socket).await.err().flatten(), Some(1002));
    // Garbage, a subscription before the ack, and an oversized message close it.
    for (what, message) in [
        ("garbage", Message::text("{{{")),
        (
            "subscribe before connection_init",
            Message::text(json!({"id": "1", "type": "subscribe", "payload": {"query": UPDATES}}).to_string()),
        ),
        (
            "a message over 64 KiB",
            Message::text(format!("{{\"type\":\"connection_init\",\"payload\":{{\"x\":\"{}\"}}}}", "a".repeat(70_000))),
        ),
    ] {
        let mut socket = connect(&s.attendance, "graphql-transport-ws").await;
        futures::SinkExt::send(&mut socket, message).await.ok();
        let answer = receive(&mut socket).await;
        assert!(answer.is_err(), "{what}: closed, got {answer:?}");
    }
    // At most 10 subscriptions per connection.
    let mut socket = initialised(&s.attendance, Some(&organizer)).await;
    for i in 0..10 {
        subscribe(&mut socket, &i.to_string(), &event).await;
        assert_eq!(receive(&mut socket).await.unwrap()["type"], "next");
    }
    subscribe(&mut socket, "10", &event).await;
    let refused = receive(&mut socket).await.unwrap();
    assert_eq!(code_of(&refused).as_deref(), Some("TOO_MANY_REQUESTS"), "{refused}");
    s.attendance.assert_healthy().await;
}

/// Within `LIVE_CLIENT_TIMEOUT` a WebSocket client must initialise and answer
/// each ping: one that stops reading is dropped and gives its place back; one
/// that reads, or a legacy client that only listens, stays.
#[tokio::test]
async fn a_websocket_client_that_stops_reading_is_dropped() {
    use helpers::ws::*;
    let s = helpers::spawn_with(&[("LIVE_CLIENT_TIMEOUT", "1s"), ("LIVE_SUBSCRIPTIONS_PER_USER", "3")]).await;
    let (organizer, event) = s.organized_live_event(None).await;
    let users = s.seed_users(1).await;
    let mut never_initialised = connect(&s.attendance, "graphql-transport-ws").await;
    let mut reader = initialised(&s.attendance, Some(&organizer)).await;
    let mut silent = initialised(&s.attendance, Some(&organizer)).await;
    let mut legacy = connect(&s.attendance, "graphql-ws").await;
    let init = json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {organizer}")}});
    send(&mut legacy, init).await;
    assert_eq!(receive(&mut legacy).await.unwrap()["type"], "connection_ack");
    send(&mut legacy, json!({"id": "1", "type": "start", "payload": {"query": UPDATES, "variables": {"e": event}}}))
        .await;
    subscribe(&mut reader, "1", &event).await;
    subscribe(&mut silent, "1", &event).await;
    for socket in [&mut reader, &mut silent, &mut legacy] {
        assert!(receive(socket).await.is_ok(), "the current state first");
    }
    let refused = |r: Result<Live, (u16, Value)>| r.err().map(|(status, _)| status);
    assert_eq!(refused(Live::open(&s.attendance, &event, Some(&organizer)).await), Some(429), "three held");

    // Three seconds in which `silent` and `legacy` read nothing, `reader` reads.
    assert_eq!(keep_reading(&mut reader, Duration::from_secs(3)).await, Vec::<Value>::new());
    assert_eq!(close_code_after_backlog(&mut never_initialised).await, Some(4408), "initialise within the timeout");
    assert_eq!(close_code_after_backlog(&mut silent).await, Some(3008), "pinged and silent: dropped");
    let mut replacement = Live::open(&s.attendance, &event, Some(&organizer)).await.expect("its place is free again");
    assert!(replacement.next().await.is_some());

    assert_eq!(s.check_in(Some(&organizer), json!({"eventId": event, "userId": users[0]})).await.status(), 201);
    let update = receive(&mut reader).await.unwrap();
    assert_eq!(update["payload"]["data"]["attendanceUpdates"]["stats"]["totalAttendees"], 1, "{update}");
    let update = receive(&mut legacy).await.unwrap(); // its keep-alives skipped
    assert_eq!(update["payload"]["data"]["attendanceUpdates"]["stats"]["totalAttendees"], 1, "{update}");
}

/// Updates coalesce: a subscriber that falls behind a burst of check-ins gets
/// the latest state, in fewer messages than there were check-ins.
#[tokio::test]
async fn a_burst_of_scans_coalesces_into_the_latest_state() {
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let users = s.seed_users(40).await;
    let mut live = Live::open(&s.attendance, &event, Some(&organizer)).await.unwrap();
    assert_eq!(attendees(&live.next().await.unwrap()), 0);
    for batch in users.chunks(8) {
        let check_ins =
            batch.iter().map(|user| s.check_in(Some(&organizer), json!({"eventId": event, "userId": user})));
        for response in futures::future::join_all(check_ins).await {
            assert_eq!(response.status(), 201);
        }
    }
    let mut messages = 0;
    let mut latest = 0;
    while latest != 40 {
        let update = live.next().await.expect("updates until the last check-in");
        assert!(attendees(&update) >= latest, "never back in time: {update}");
        latest = attendees(&update);
        messages += 1;
    }
    assert!(messages < 40, "{messages} messages for 40 check-ins");
}

/// PostgreSQL restarts with subscribers connected: their streams stay open,
/// each gets a fresh snapshot once the instance listens again, and scans
/// made afterwards reach them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_with_subscribers_connected_resynchronises_them() {
    use helpers::ws::*;
    use test_support::{ClusterOptions, PgServer, PrivateCluster, TestDb};
    let options = ClusterOptions::restartable().unwrap();
    let cluster = PrivateCluster::start_async(&options).await.expect("PostgreSQL starts");
    let s = helpers::Stack::start_with(TestDb::new_on(PgServer::at(&cluster.admin_url())).await, &[]).await;
    let (organizer, event) = s.organized_live_event(None).await;
    let users = s.seed_users(2).await;
    let mut sse = Live::open(&s.attendance, &event, Some(&organizer)).await.unwrap();
    let mut socket = initialised(&s.attendance, Some(&organizer)).await;
    subscribe(&mut socket, "1", &event).await;
    assert_eq!(attendees(&sse.next().await.unwrap()), 0);
    assert!(receive(&mut socket).await.is_ok());
    assert_eq!(s.check_in(Some(&organizer), json!({"eventId": event, "userId": users[0]})).await.status(), 201);
    assert_eq!(attendees(&sse.next().await.unwrap()), 1);
    assert!(receive(&mut socket).await.is_ok());

    cluster.stop_async().await;
    let cluster = PrivateCluster::start_async(&options).await.expect("PostgreSQL starts");
    // Listening again, the instance sends the state as it is: a snapshot, no scan.
    let resync = sse.next().await.expect("the stream outlived the restart");
    assert_eq!((attendees(&resync), &resync["scan"]), (1, &Value::Null), "{resync}");
    let resync = receive(&mut socket).await.expect("the socket outlived the restart");
    assert_eq!(resync["payload"]["data"]["attendanceUpdates"]["scan"], Value::Null, "{resync}");

    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while s.check_in(Some(&organizer), json!({"eventId": event, "userId": users[1]})).await.status() != 201 {
        assert!(std::time::Instant::now() < deadline, "check-ins work again within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut update = sse.next().await.unwrap();
    while attendees(&update) != 2 {
        update = sse.next().await.unwrap();
    }
    assert_eq!(update["scan"]["userId"], json!(users[1]));
    let mut message = receive(&mut socket).await.unwrap();
    while message["payload"]["data"]["attendanceUpdates"]["stats"]["totalAttendees"] != 2 {
        message = receive(&mut socket).await.unwrap();
    }

    s.attendance.stop().await;
    cluster.stop_async().await;
    let _ = std::fs::remove_dir_all(options.data_dir.as_ref().unwrap());
}

/// The router composes and starts unchanged: the subscription is served by
/// the attendance service over WebSocket, and left out of its federation SDL.
#[test]
fn subscriptions_stay_out_of_the_federation_sdl() {
    let sdl = attendance_service::graphql::sdl();
    assert!(!sdl.contains("Subscription") && !sdl.contains("attendanceUpdates"), "{sdl}");
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert!(!committed.contains("attendanceUpdates"));
}

/// A staff member subscribed, stopped reading while scans arrived, was
/// removed, then read again: an update made after the removal reached them,
/// since only the latest value carried the "check rights again" flag (a fresh
/// attack's finding 3). Every update read after a right was taken away now
/// checks it again, and a revoked stream ends.
#[tokio::test]
async fn a_removed_staff_member_who_reads_slowly_gets_nothing_made_after_the_removal() {
    use helpers::ws::*;
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let (staff, staff_id) = s.user("staff@example.com").await;
    let people = s.seed_users(21).await;
    helpers::change_staff(&s, &organizer, &event, &staff_id, true).await;
    // Large messages (many aliases), so a few of them fill what the network holds.
    let counts: String = (0..900).map(|i| format!(" e{i}: entries")).collect();
    let wide = format!("subscription($e: ID!) {{ attendanceUpdates(eventId: $e) {{ stats {{ entries{counts} }} }} }}");
    let mut socket = initialised_slow_reader(&s.attendance, &staff).await;
    subscribe_with(&mut socket, "1", &wide, json!({"e": event})).await;
    let first = receive(&mut socket).await.unwrap();
    assert_eq!(first["payload"]["data"]["attendanceUpdates"]["stats"]["entries"], 0, "{first:.200}");
    for person in &people[..20] {
        assert_eq!(s.check_in(Some(&organizer), json!({"eventId": event, "userId": person})).await.status(), 201);
        tokio::time::sleep(Duration::from_millis(60)).await; // an update each
    }
    helpers::change_staff(&s, &organizer, &event, &staff_id, false).await;
    assert_eq!(s.check_in(Some(&organizer), json!({"eventId": event, "userId": people[20]})).await.status(), 201);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut read = 0;
    loop {
        let message = receive(&mut socket).await.expect("the subscription completes; the socket stays");
        match message["type"].as_str() {
            Some("next") => {
                let entries = &message["payload"]["data"]["attendanceUpdates"]["stats"]["entries"];
                assert!(entries.as_i64().is_some_and(|n| n <= 20), "made after the removal: {entries}");
                read += 1;
            }
            Some("complete") => break,
            other => panic!("{other:?}: {message:.200}"),
        }
    }
    assert!(read < 21, "coalesced, and cut short by the removal: {read}");
}

/// Over Server-Sent Events, an organizer removing a staff member and scanning
/// at once let one update through after the removal: the staff member's
/// stream ends, and nothing it carried was made after the removal.
#[tokio::test]
async fn a_removal_followed_at_once_by_scans_ends_the_staff_stream_first() {
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let people = s.seed_users(6).await;
    for round in 0..3 {
        let (staff, staff_id) = s.user(&format!("staff{round}@example.com")).await;
        helpers::change_staff(&s, &organizer, &event, &staff_id, true).await;
        let mut live = Live::open(&s.attendance, &event, Some(&staff)).await.unwrap();
        let before = live.next().await.expect("the current state")["stats"]["entries"].as_i64().unwrap();
        let removal = helpers::change_staff(&s, &organizer, &event, &staff_id, false).await;
        assert!(removal["errors"].is_null(), "{removal}");
        let (first, second) =
            tokio::join!(s.check_in(Some(&organizer), json!({"eventId": event, "userId": people[2 * round]})), async {
                tokio::time::sleep(Duration::from_millis(60)).await;
                s.check_in(Some(&organizer), json!({"eventId": event, "userId": people[2 * round + 1]})).await
            },);
        assert_eq!((first.status().as_u16(), second.status().as_u16()), (201, 201));
        while let Some(update) = live.next().await {
            let entries = update["stats"]["entries"].as_i64().unwrap();
            assert_eq!(entries, before, "round {round}: an update made after the removal: {update}");
        }
    }
}

/// Check-in staff saw every scanner's scans on the live stream, refused and
/// annulled ones and who scanned included, while the scan log shows them
/// their own (finding 5): the stream follows the log, per viewer.
#[tokio::test]
async fn staff_see_the_counts_and_their_own_scans_only() {
    use helpers::ws::*;
    let s = helpers::spawn().await;
    let (organizer, event) = s.organized_live_event(None).await;
    let (staff, staff_id) = s.user("staff@example.com").await;
    let people = s.seed_users(2).await;
    helpers::change_staff(&s, &organizer, &event, &staff_id, true).await;
    let mut staff_live = Live::open(&s.attendance, &event, Some(&staff)).await.unwrap();
    let mut organizer_live = Live::open(&s.attendance, &event, Some(&organizer)).await.unwrap();
    let mut socket = initialised(&s.attendance, Some(&staff)).await;
    subscribe(&mut socket, "1", &event).await;
    receive(&mut socket).await.unwrap();
    staff_live.next().await.unwrap();
    organizer_live.next().await.unwrap();
    let over_ws = |message: Value| message["payload"]["data"]["attendanceUpdates"].clone();
    // The organizer's scan: staff see the counts, not the scan.
    assert_eq!(s.check_in(Some(&organizer), json!({"eventId": event, "userId": people[0]})).await.status(), 201);
    let (theirs, mine) = (staff_live.next().await.unwrap(), organizer_live.next().await.unwrap());
    assert_eq!((&theirs["stats"]["entries"], &theirs["scan"]), (&json!(1), &Value::Null), "{theirs}");
    assert_eq!(mine["scan"]["userId"], json!(people[0]), "{mine}");
    let update = over_ws(receive(&mut socket).await.unwrap());
    assert_eq!((&update["stats"]["entries"], &update["scan"]), (&json!(1), &Value::Null), "{update}");
    // Their own scan, refused or not: shown to them.
    assert_eq!(s.check_in(Some(&staff), json!({"eventId": event, "userId": people[0]})).await.status(), 409);
    let theirs = staff_live.next().await.unwrap();
    assert_eq!(theirs["scan"]["userId"], json!(people[0]), "{theirs}");
    assert_eq!(theirs["scan"]["status"], "ALREADY_CHECKED_IN", "{theirs}");
    let update = over_ws(receive(&mut socket).await.unwrap());
    assert_eq!(update["scan"]["userId"], json!(people[0]), "{update}");
}
