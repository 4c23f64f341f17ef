//! Faults: a database outage, and a shutdown with requests in flight.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

mod helpers;

use std::time::{Duration, Instant};

use serde_json::json;
use test_support::{ClusterOptions, PgServer, PrivateCluster, TestDb};

async fn get_status(app: &helpers::Stack, path: &str) -> u16 {
    app.auth.http.get(app.auth.url(path)).send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_fails_fast_turns_readiness_off_and_heals_by_itself() {
    let options = ClusterOptions::restartable().unwrap();
    let cluster = PrivateCluster::start_async(&options).await.unwrap();
    let db = TestDb::new_on(PgServer::at(&cluster.admin_url())).await;
    let app = helpers::spawn_with(db, &[]).await;
    app.register("before@example.com", "securepass").await;
    let login = json!({"email": "before@example.com", "password": "securepass"});

    // PostgreSQL goes away.
    cluster.stop_async().await;
    assert_eq!(get_status(&app, "/health/live").await, 200, "the process keeps running");
    assert_eq!(get_status(&app, "/health/ready").await, 503);
    // The first request may wait for a pool connection; once the watcher has
    // seen the outage (within a second), requests are refused at once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for _ in 0..3 {
        let started = Instant::now();
        let response = app.auth_post("/auth/login", login.clone()).await;
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!((status, body["error"]["code"].as_str()), (503, Some("SERVICE_UNAVAILABLE")), "{body}");
        assert!(started.elapsed() < Duration::from_millis(500), "refused only after {:?}", started.elapsed());
        let graphql =
            app.auth.graphql("{ user(id: \"00000000-0000-0000-0000-000000000000\") { id } }", json!({}), None).await;
        assert_eq!(test_support::error_code(&graphql), Some("SERVICE_UNAVAILABLE"), "{graphql}");
    }

    // It comes back: the service recovers without a restart.
    let cluster = PrivateCluster::start_async(&options).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while get_status(&app, "/health/ready").await != 200 {
        assert!(Instant::now() < deadline, "not ready again 30 s after the database came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.auth_post("/auth/login", login).await.status(), 200, "data from before the outage is there");
    app.register("after@example.com", "securepass").await;

    app.auth.stop().await;
    cluster.stop_async().await;
    let _ = std::fs::remove_dir_all(options.data_dir.as_ref().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_requests_in_flight_finish() {
    let app = helpers::spawn().await;
    app.register("drain@example.com", "securepass").await;
    let url = app.auth.url("/auth/login");
    let http = app.auth.http.clone();
    // Logins take tens of milliseconds of hashing each, two at a time: five
    // (as many as one account may try from one address at once) are still
    // running when the shutdown begins.
    let logins: Vec<_> = (0..5)
        .map(|_| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                http.post(url).json(&json!({"email": "drain@example.com", "password": "securepass"})).send().await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    app.auth.stop().await;
    for login in logins {
        let response = login.await.unwrap().expect("an in-flight request is answered, not dropped");
        assert_eq!(response.status(), 200);
    }
}
