//! Faults: check-ins while the database is away. The check-in writer has a
//! pool of its own that hands out connections without a ping, so it is the
//! writer's own statement that finds a connection broken by the outage.

mod helpers;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use test_support::{ClusterOptions, PgServer, PrivateCluster, TestDb};

async fn check_in(s: &helpers::Stack, event: &str, user: &str) -> (u16, Value) {
    let response = s.check_in(None, json!({"eventId": event, "userId": user})).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Whether the service refuses requests at the door for want of its database.
async fn gate_closed(s: &helpers::Stack) -> bool {
    let body: Value = s.attendance.get_json("/attendance/stats/00000000-0000-0000-0000-000000000000").await;
    body["error"]["message"].as_str().is_some_and(|m| m.starts_with("the database is unavailable"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_ins_are_refused_at_once_while_the_database_is_away_and_resume_without_a_restart() {
    let options = ClusterOptions::restartable().unwrap();
    let cluster = PrivateCluster::start_async(&options).await.unwrap();
    let db = TestDb::new_on(PgServer::at(&cluster.admin_url())).await;
    let s = helpers::Stack::start_with(db, &[]).await;
    let (_, event) = s.organized_live_event(None).await;
    let users = s.seed_users(3).await;
    // The writer's connection is open and idle when the database goes.
    assert_eq!(check_in(&s, &event, &users[0]).await.0, 201);

    cluster.stop_async().await;
    // Once the service's watcher has seen the outage, check-ins are refused at once.
    let stopped = Instant::now();
    while !gate_closed(&s).await {
        assert!(stopped.elapsed() < Duration::from_secs(15), "requests still let through 15 s into the outage");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..3 {
        let started = Instant::now();
        let (status, body) = check_in(&s, &event, &users[1]).await;
        assert_eq!((status, body["error"]["code"].as_str()), (503, Some("SERVICE_UNAVAILABLE")), "{body}");
        assert!(started.elapsed() < Duration::from_millis(500), "refused only after {:?}", started.elapsed());
    }

    // It comes back: the writer replaces its broken connection by itself.
    // A check-in that reaches the writer before that hears 503 and writes nothing.
    let cluster = PrivateCluster::start_async(&options).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = check_in(&s, &event, &users[1]).await;
        if status == 201 {
            break;
        }
        assert_eq!((status, body["error"]["code"].as_str()), (503, Some("SERVICE_UNAVAILABLE")), "{body}");
        assert!(Instant::now() < deadline, "check-ins still refused 30 s after the database came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(check_in(&s, &event, &users[2]).await.0, 201);
    let stats: Value = s.attendance.get_json(&format!("/attendance/stats/{event}")).await;
    assert_eq!(stats["totalAttendees"], 3, "the check-in from before the outage is kept, none is doubled: {stats}");

    drop(s);
    cluster.stop_async().await;
    let _ = std::fs::remove_dir_all(options.data_dir.as_ref().unwrap());
}
