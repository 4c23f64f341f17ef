//! Abuse limits through the router. Bounded response cost (issue finding 1):
//! nested lists that multiply are refused before planning, by our router's
//! limits plugin, with `QUERY_TOO_COMPLEX`; the door list of 1,000 and
//! documented queries pass. Throttles nobody can steer (finding 2): the
//! router's client edge, not the client, says who the client is.

use serde_json::{json, Value};

fn code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

#[tokio::test]
async fn nested_lists_are_refused_before_planning_and_documented_queries_pass() {
    let e2e = e2e::start().await;
    let id = uuid::Uuid::new_v4();
    // The report's 230 bytes: grows with the 4th power of an event's attendees.
    let nested = "query($id:ID!){event(id:$id){attendance(first:1000){nodes{event{attendance(first:1000){nodes{event{attendance(first:1000){nodes{event{attendance(first:1000){nodes{event{id}}}}}}}}}}}}}}";
    let (status, response) = e2e.graphql_with_headers(nested, json!({"id": id}), None, &[]).await;
    assert_eq!((status.as_u16(), code(&response)), (400, Some("QUERY_TOO_COMPLEX")), "{response}");
    assert!(response["data"].is_null(), "nothing ran: {response}");
    // Two levels with aliases, the first page size from a variable.
    let aliased = "query($id: ID!, $n: Int) { event(id: $id) {
        a: attendance(first: $n) { nodes { event { attendance(first: 1000) { nodes { id } } } } }
        b: attendance(first: $n) { nodes { event { attendance(first: 1000) { nodes { id } } } } } } }";
    let (status, response) = e2e.graphql_with_headers(aliased, json!({"id": id, "n": 1000}), None, &[]).await;
    assert_eq!((status.as_u16(), code(&response)), (400, Some("QUERY_TOO_COMPLEX")), "{response}");
    // Too deep, whatever the page sizes.
    let deep = "{ events(first: 1) { nodes { attendance(first: 1) { nodes { user { attendances(first: 1) { nodes { event { attendance(first: 1) { nodes { user { attendances(first: 1) { nodes { id } } } } } } } } } } } } } }";
    let (status, response) = e2e.graphql_with_headers(deep, json!({}), None, &[]).await;
    assert_eq!((status.as_u16(), code(&response)), (400, Some("QUERY_TOO_COMPLEX")), "{response}");
    assert!(response["errors"][0]["message"].as_str().unwrap().contains("deep"), "{response}");
    // What the subgraphs refuse, the router refuses before planning (a fresh
    // attack padded an operation with a fragment 66 selection sets deep under
    // `@skip(if: true)`: the router planned it and only a subgraph refused it).
    let fragment = format!("{}__typename {}", "... on Query { ".repeat(66), "}".repeat(66));
    let padded = format!("{{ events {{ totalCount }} ...F @skip(if: true) }} fragment F on Query {{ {fragment} }}");
    let aliases: String = (0..1_200).map(|i| format!(" a{i}: totalCount")).collect();
    for (what, query) in [
        ("the padded fragment", padded),
        ("1,200 aliases", format!("{{ events {{{aliases} }} }}")),
        (
            "51 root fields",
            format!("{{{} }}", (0..51).map(|i| format!(" r{i}: events {{ totalCount }}")).collect::<String>()),
        ),
    ] {
        let (status, response) = e2e.graphql_with_headers(&query, json!({}), None, &[]).await;
        assert_eq!((status.as_u16(), code(&response)), (400, Some("BAD_USER_INPUT")), "{what}: {response:.300}");
        let message = response["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(["nests", "fields"].iter().any(|w| message.contains(w)), "{what}: {message}");
    }
    // The door list of 1,000 with emails, and a page of 100 events with statistics, pass.
    for (query, variables) in [
        (
            "query($id: ID!) { event(id: $id) { title attendance(first: 1000) { totalCount nodes { checkInTime user { name email } } } } }",
            json!({"id": id}),
        ),
        ("{ events(first: 100) { nodes { id title organizer { name } attendanceStats { totalAttendees onTime late } } } }", json!({})),
    ] {
        let (status, response) = e2e.graphql_with_headers(query, variables, None, &[]).await;
        assert_eq!(status, 200, "{response}");
        assert!(response["errors"].is_null(), "{response}");
    }
}

/// A failed login through the router from a client claiming `forwarded_for`:
/// the error code.
async fn failed_login(e2e: &e2e::E2e, forwarded_for: &str, email: &str) -> String {
    let query = "mutation($email: String!) { login(input: {email: $email, password: \"wrong-wrong\"}) { token } }";
    let headers = [("X-Forwarded-For", forwarded_for)];
    let (_, response) = e2e.graphql_with_headers(query, json!({"email": email}), None, &headers).await;
    code(&response).unwrap_or("none").to_owned()
}

/// Finding 2: the router forwarded the client's `X-Forwarded-For` as sent, so
/// 100 failures blocked "198.51.100.77" and "…78" went on. Now the client edge
/// replaces the header: with no trusted proxy the TCP peer is the client,
/// whatever it claims; behind a trusted load balancer (`ROUTER_TRUSTED_PROXIES`)
/// the address that balancer appended counts, and a forged left part does not.
#[tokio::test]
async fn the_client_address_is_the_routers_to_decide_not_the_clients() {
    let limit = [("LOGIN_MAX_FAILURES_PER_ADDRESS", "3")];
    let e2e = e2e::start_configured("development", &limit, &[]).await;
    for i in 0..3 {
        assert_eq!(
            failed_login(&e2e, &format!("198.51.100.{i}"), &format!("nobody{i}@example.com")).await,
            "UNAUTHENTICATED"
        );
    }
    for claimed in ["198.51.100.78", "203.0.113.1, 198.51.100.79", "not an address"] {
        assert_eq!(failed_login(&e2e, claimed, "nobody@example.com").await, "TOO_MANY_REQUESTS", "claimed {claimed}");
    }
    drop(e2e);

    // The test client plays a load balancer on loopback that appends the address it saw.
    let balancer = [("ROUTER_TRUSTED_PROXIES", "127.0.0.1")];
    let e2e = e2e::start_configured("development", &limit, &balancer).await;
    for i in 0..3 {
        assert_eq!(failed_login(&e2e, "198.51.100.77", &format!("nobody{i}@example.com")).await, "UNAUTHENTICATED");
    }
    assert_eq!(failed_login(&e2e, "198.51.100.77", "nobody@example.com").await, "TOO_MANY_REQUESTS");
    assert_eq!(
        failed_login(&e2e, "198.51.100.78, 198.51.100.77", "nobody@example.com").await,
        "TOO_MANY_REQUESTS",
        "a forged left-most entry changes nothing"
    );
    assert_eq!(
        failed_login(&e2e, "198.51.100.78", "nobody@example.com").await,
        "UNAUTHENTICATED",
        "another client is not held"
    );
}
