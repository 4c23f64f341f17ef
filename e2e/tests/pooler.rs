//! The services through a transaction-mode pooler: Debian's PgBouncer with
//! `pool_mode = transaction` and `ignore_startup_parameters =
//! extra_float_digits`, as most deployments (and Supabase's port 6543)
//! run it. Each service's `DATABASE_URL` reaches the pooler with
//! `pgbouncer=true`; `DIRECT_URL` is the server itself, for migrations and
//! LISTEN. The services run in-process ([`test_support::services`]).

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use common::ServiceKind;
use serde_json::{json, Value};
use test_support::{pooler::PgBouncer, services::Services, test_password, TestDb};

/// Three service roles, each pooled with few server connections, so
/// concurrent requests really share them.
async fn pooled_stack() -> (Services, PgBouncer) {
    let db = TestDb::new().await;
    let users: Vec<(&str, String)> = ServiceKind::ALL.iter().map(|k| (k.db_user(), test_password(*k))).collect();
    let logins: Vec<(String, String)> = users.iter().map(|(u, p)| ((*u).to_owned(), p.clone())).collect();
    let port = test_support::server().port();
    let bouncer = tokio::task::spawn_blocking(move || {
        let logins: Vec<(&str, &str)> = logins.iter().map(|(u, p)| (u.as_str(), p.as_str())).collect();
        PgBouncer::start(port, &logins, 3)
    })
    .await
    .unwrap()
    .expect("pgbouncer starts");
    let urls: Vec<(ServiceKind, String, String)> =
        ServiceKind::ALL.iter().map(|k| (*k, bouncer.pooled_url(&db.service_url(*k)), db.service_url(*k))).collect();
    let mut env = Vec::new();
    for (kind, pooled, direct) in &urls {
        env.push((*kind, "DATABASE_URL", pooled.as_str()));
        env.push((*kind, "DIRECT_URL", direct.as_str()));
        env.push((*kind, "RUN_MIGRATIONS", "true"));
    }
    let stack = Services::start_with(db, &env).await;
    (stack, bouncer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_work_through_a_transaction_mode_pooler() {
    let (s, bouncer) = pooled_stack().await;
    for server in [&s.auth, &s.events, &s.attendance] {
        let ready = server.http.get(server.url("/health/ready")).send().await.unwrap();
        assert_eq!(ready.status(), 200, "{}", ready.text().await.unwrap());
    }
    let (organizer, _) = s.user("org@example.com").await;

    // Concurrent writes share three server connections: no statement names
    // collide, no statement runs on a connection that did not prepare it.
    let now = chrono::Utc::now();
    let body = json!({
        "title": "Pooled",
        "startTime": (now - chrono::Duration::minutes(30)).to_rfc3339(),
        "endTime": (now + chrono::Duration::hours(2)).to_rfc3339(),
    });
    let mut creations = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let request = s.events.http.post(s.events.url("/events")).bearer_auth(&organizer).json(&body);
        creations.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    let statuses: Vec<u16> = creations.join_all().await;
    assert_eq!(statuses, vec![201; 20], "{}", bouncer.log());
    let listed: Vec<Value> = s.events.get_json("/events?limit=50").await;
    assert_eq!(listed.len(), 20);

    // Check-ins (the batched writer, a stored function, NOTIFY) and the live
    // stream, whose LISTEN holds a session on DIRECT_URL.
    let event = listed[0]["id"].as_str().unwrap().to_owned();
    let live = s.attendance.http.get(s.attendance.url(&format!("/attendance/live/{event}"))).bearer_auth(&organizer);
    let mut live = live.send().await.unwrap();
    assert_eq!(live.status(), 200);
    let users = s.seed_users(20).await;
    let mut check_ins = tokio::task::JoinSet::new();
    for user in &users {
        let request = s.attendance.http.post(s.attendance.url("/attendance")).bearer_auth(&organizer);
        let request = request.json(&json!({"eventId": event, "userId": user}));
        check_ins.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    assert_eq!(check_ins.join_all().await, vec![201; 20], "{}", bouncer.log());
    let stats: Value = s.attendance.get_json(&format!("/attendance/stats/{event}")).await;
    assert_eq!(stats["totalAttendees"], 20);
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("\"totalAttendees\":20") {
        let chunk = tokio::time::timeout_at(deadline, live.chunk()).await.expect("the live count reaches 20");
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap().expect("the stream stays open")));
    }

    // Logins read and write auth's tables through the pooler too.
    let login = s.auth_post("/auth/login", json!({"email": "org@example.com", "password": "securepass"})).await;
    assert_eq!(login.status(), 200);
    let log = bouncer.log();
    assert!(!log.contains("unsupported startup parameter"), "{log}");
}

/// Through the pooler a connection's settings are the role's: bootstrap set
/// them, since nothing set per connection survives transaction pooling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_connections_get_the_schema_and_timeouts_from_their_role() {
    let (s, bouncer) = pooled_stack().await;
    for kind in ServiceKind::ALL {
        let url = bouncer.pooled_url(&s.db.service_url(kind));
        let settings = common::config::DatabaseSettings::parse("DATABASE_URL", &url).unwrap();
        let db = common::db::connect(&settings).await.expect("connects through the pooler");
        let row = sea_orm::ConnectionTrait::query_one_raw(
            &db.pool(),
            common::db::statement(
                "SELECT current_setting('search_path') AS a, current_setting('statement_timeout') AS b, \
                 current_setting('jit') AS c, current_setting('random_page_cost') AS d",
                [],
            ),
        )
        .await
        .unwrap()
        .unwrap();
        let got: Vec<String> = ["a", "b", "c", "d"].iter().map(|c| row.try_get("", c).unwrap()).collect();
        assert_eq!(got, [kind.schema(), "30s", "off", "1.1"], "{kind:?}");
    }
    // The same URL without `pgbouncer=true` sends startup options the pooler refuses.
    let url = bouncer.pooled_url(&s.db.service_url(ServiceKind::Event)).replace("pgbouncer=true", "pgbouncer=false");
    let settings = common::config::DatabaseSettings::parse("DATABASE_URL", &url).unwrap();
    let refused = common::db::connect(&settings).await.expect_err("refused");
    assert!(refused.to_string().contains("unsupported startup parameter"), "{refused}");
}
