//! Throttles nobody can steer: an address's failures are not wiped by a
//! success on another account, strangers alone cannot lock an account's owner
//! out, registrations are counted per address, and a flood of sign-ups does
//! not take the hashing queue from logins. Client addresses are set with
//! `X-Forwarded-For`, believed here because the test client is on loopback
//! (`TRUSTED_PROXIES`).

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

mod helpers;

use serde_json::{json, Value};

async fn login(app: &helpers::Stack, address: &str, email: &str, password: &str) -> u16 {
    let response = app
        .auth
        .http
        .post(app.auth.url("/auth/login"))
        .header("X-Forwarded-For", address)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

async fn register(app: &helpers::Stack, address: &str, email: &str) -> (u16, Value) {
    let response = app
        .auth
        .http
        .post(app.auth.url("/auth/register"))
        .header("X-Forwarded-For", address)
        .json(&json!({"email": email, "password": "securepass"}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Finding 3: 99 failures, one login to one's own account, 99 more, never
/// blocked. Now the address's count goes on across the success.
#[tokio::test]
async fn an_own_successful_login_does_not_reset_an_addresses_failures() {
    let env = [("LOGIN_MAX_FAILURES_PER_ADDRESS", "6")];
    let app = helpers::spawn_with(test_support::TestDb::new().await, &env).await;
    app.register("mallory@example.com", "securepass").await;
    let attacker = "203.0.113.9";
    for i in 0..3 {
        assert_eq!(login(&app, attacker, &format!("target{i}@example.com"), "guess-guess").await, 401);
    }
    assert_eq!(login(&app, attacker, "mallory@example.com", "securepass").await, 200);
    for i in 3..6 {
        assert_eq!(login(&app, attacker, &format!("target{i}@example.com"), "guess-guess").await, 401);
    }
    assert_eq!(login(&app, attacker, "target6@example.com", "guess-guess").await, 429, "six failures in all");
    assert_eq!(login(&app, attacker, "mallory@example.com", "securepass").await, 429);
    assert_eq!(login(&app, "203.0.113.10", "mallory@example.com", "securepass").await, 200, "other addresses are not");
}

/// Finding 4: five wrong passwords for a victim's email from varying
/// addresses locked the victim out. Now a stranger blocks only their own
/// address for that account, and an account-wide flood only holds addresses
/// that never signed in to it.
#[tokio::test]
async fn strangers_alone_cannot_lock_an_account_owner_out() {
    let env = [("LOGIN_MAX_FAILURES_PER_EMAIL", "5"), ("LOGIN_SOFT_LOCK_FAILURES_PER_EMAIL", "12")];
    let app = helpers::spawn_with(test_support::TestDb::new().await, &env).await;
    app.register("victim@example.com", "securepass").await;
    let home = "198.51.100.20";
    assert_eq!(login(&app, home, "victim@example.com", "securepass").await, 200);
    // Five failures from five addresses, then five more from one address.
    for i in 0..5 {
        assert_eq!(login(&app, &format!("192.0.2.{i}"), "victim@example.com", "wrong-wrong").await, 401);
    }
    for _ in 0..5 {
        assert_eq!(login(&app, "192.0.2.100", "victim@example.com", "wrong-wrong").await, 401);
    }
    assert_eq!(login(&app, "192.0.2.100", "victim@example.com", "securepass").await, 429, "that pair is blocked");
    assert_eq!(login(&app, home, "victim@example.com", "securepass").await, 200, "the owner is not");
    assert_eq!(login(&app, "198.51.100.21", "victim@example.com", "securepass").await, 200, "nor a new device");
    // Past the account-wide limit (12): the soft lock holds addresses that never signed in here.
    for i in 10..12 {
        assert_eq!(login(&app, &format!("192.0.2.{i}"), "victim@example.com", "wrong-wrong").await, 401);
    }
    assert_eq!(login(&app, "192.0.2.50", "victim@example.com", "wrong-wrong").await, 429, "soft-locked");
    assert_eq!(login(&app, home, "victim@example.com", "securepass").await, 200, "known addresses still get in");
}

/// Finding 5: 500 accounts in 9.4 s from one address. Now registrations are
/// counted per address.
#[tokio::test]
async fn registrations_are_throttled_per_address() {
    let env = [("REGISTER_MAX_PER_ADDRESS", "3")];
    let app = helpers::spawn_with(test_support::TestDb::new().await, &env).await;
    for i in 0..3 {
        assert_eq!(register(&app, "203.0.113.50", &format!("bot{i}@example.com")).await.0, 201);
    }
    let (status, body) = register(&app, "203.0.113.50", "bot3@example.com").await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("TOO_MANY_REQUESTS")), "{body}");
    assert_eq!(register(&app, "203.0.113.51", "human@example.com").await.0, 201, "other addresses may");
    assert_eq!(app.db.count("auth_schema.users").await, 4);
}

/// Finding 5 too: during a burst of 320 sign-ups a real user's login got
/// `503 too many logins at once`. Registrations now take at most a quarter of
/// the hashing queue, and logins keep the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_flood_does_not_starve_logins() {
    let env = [("REGISTER_MAX_PER_ADDRESS", "1000")];
    let app = helpers::spawn_with(test_support::TestDb::new().await, &env).await;
    app.register("real@example.com", "securepass").await;
    let flood: Vec<_> = (0..320)
        .map(|i| {
            let (http, url) = (app.auth.http.clone(), app.auth.url("/auth/register"));
            tokio::spawn(async move {
                let body = json!({"email": format!("flood{i}@example.com"), "password": "securepass"});
                http.post(url)
                    .header("X-Forwarded-For", format!("10.9.{}.{}", i / 250, i % 250))
                    .json(&body)
                    .send()
                    .await
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let during = login(&app, "198.51.100.99", "real@example.com", "securepass").await;
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for request in flood {
        let status = request.await.unwrap().unwrap().status().as_u16();
        *statuses.entry(status).or_default() += 1;
    }
    assert_eq!(during, 200, "a real login during the flood: {statuses:?}");
    assert!(statuses.keys().all(|s| *s == 201 || *s == 503), "{statuses:?}");
    app.auth.assert_healthy().await;
}

/// An IPv6 client is counted by its /64: its temporary addresses change within it.
#[tokio::test]
async fn ipv6_clients_are_counted_by_their_64() {
    let env = [("LOGIN_MAX_FAILURES_PER_ADDRESS", "3")];
    let app = helpers::spawn_with(test_support::TestDb::new().await, &env).await;
    for i in 1..=3 {
        assert_eq!(login(&app, &format!("2001:db8:1:2::{i}"), &format!("t{i}@example.com"), "guess-guess").await, 401);
    }
    assert_eq!(login(&app, "2001:db8:1:2:ffff::9", "t9@example.com", "guess-guess").await, 429, "same /64");
    assert_eq!(login(&app, "2001:db8:1:3::1", "t9@example.com", "guess-guess").await, 401, "another /64");
}

/// Accounts stored before emails were normalised (trimmed and lower-cased
/// only) still sign in, and their address cannot be taken again.
#[tokio::test]
async fn accounts_from_before_the_normal_form_still_sign_in() {
    let app = helpers::spawn().await;
    app.register("placeholder@example.com", "securepass").await;
    let admin = app.db.admin().await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &admin,
        "UPDATE auth_schema.users SET email = 'straße@example.com' WHERE email = 'placeholder@example.com'",
    )
    .await
    .unwrap();
    assert_eq!(login(&app, "198.51.100.1", "straße@example.com", "securepass").await, 200);
    let (status, body) = register(&app, "198.51.100.1", "Straße@example.com").await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("EMAIL_TAKEN")), "{body}");
}

/// Sixteen wrong passwords for one fresh account from one address, sent at
/// once, were all checked: the block was read before hashing and the failure
/// counted after it (a fresh attack's finding 2). Each attempt is now taken
/// from its buckets before its password is hashed: five are checked, however
/// many arrive together, and a right password gives its attempt back.
#[tokio::test]
async fn concurrent_wrong_passwords_are_checked_no_more_than_the_limit() {
    let app = helpers::spawn_with(test_support::TestDb::new().await, &[("LOGIN_MAX_FAILURES_PER_EMAIL", "5")]).await;
    app.register("fresh@example.com", "securepass").await;
    let attacker = "203.0.113.77";
    let attempts = (0..16).map(|_| login(&app, attacker, "fresh@example.com", "wrong-wrong"));
    let statuses = futures::future::join_all(attempts).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, refused), (5, 11), "{statuses:?}");
    assert_eq!(login(&app, attacker, "fresh@example.com", "securepass").await, 429, "that pair is blocked");
    // Right passwords sent at once (the owner on a few devices) are no failures.
    let home = "198.51.100.77";
    let owner = (0..4).map(|_| login(&app, home, "fresh@example.com", "securepass"));
    assert_eq!(futures::future::join_all(owner).await, [200; 4]);
    for _ in 0..5 {
        assert_eq!(login(&app, home, "fresh@example.com", "wrong-wrong").await, 401, "successes counted nothing");
    }
    assert_eq!(login(&app, home, "fresh@example.com", "wrong-wrong").await, 429);
}
