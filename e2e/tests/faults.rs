//! Faults end to end: SIGTERM to a real service binary with requests in flight.

use common::ServiceKind;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_requests_in_flight_before_exit() {
    let mut e2e = e2e::start().await;
    let auth = e2e.stack.service_url(ServiceKind::Auth);
    let registered = e2e
        .http
        .post(format!("{auth}/auth/register"))
        .json(&json!({"email": "drain@example.com", "password": "securepass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    // Each login hashes for tens of milliseconds, a few at a time: most of
    // these five (as many as one account may try from one address at once)
    // are still running when SIGTERM arrives.
    let logins: Vec<_> = (0..5)
        .map(|_| {
            let (http, url) = (e2e.http.clone(), format!("{auth}/auth/login"));
            tokio::spawn(async move {
                http.post(url).json(&json!({"email": "drain@example.com", "password": "securepass"})).send().await
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    // SIGTERM, then wait for the process to exit.
    e2e.stack.stop_service(ServiceKind::Auth);
    for login in logins {
        let response = login.await.unwrap().expect("a request in flight is answered, not dropped");
        assert_eq!(response.status(), 200);
    }
    let after = e2e.http.get(format!("{auth}/health/live")).send().await;
    assert!(after.is_err(), "the service has exited");
}
