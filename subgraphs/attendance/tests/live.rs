//! Live attendance over Server-Sent Events: a scan on any instance reaches
//! the subscribers of every instance (PostgreSQL LISTEN/NOTIFY), the first
//! message is the current state, a lost listening connection resynchronises,
//! and only the event's scanners may watch, for as long as their token and
//! their right last.

mod helpers;

use std::time::Duration;

use serde_json::{json, Value};
use test_support::{status_and_json, TestServer};

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
    let (organizer, _) = s.user("org@example.com").await;
    let event = s.live_event(Some(&organizer), None).await;
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
    let (organizer, _) = s.user("org@example.com").await;
    let event = s.live_event(Some(&organizer), None).await;
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
    let (organizer, _) = s.user("org@example.com").await;
    let event = s.live_event(Some(&organizer), None).await;
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
    let (organizer, _) = s.user("org@example.com").await;
    let event = s.live_event(Some(&organizer), None).await;
    let mut live = Live::open(&replica, &event, Some(&organizer)).await.unwrap();
    assert!(live.next().await.is_some());
    tokio::time::timeout(Duration::from_secs(5), replica.stop()).await.expect("stopped within 5 s");
    assert_eq!(live.next().await, None, "the stream ended");
}
