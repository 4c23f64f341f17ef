//! Bounded response cost through the router (issue finding 1): nested lists
//! that multiply are refused before planning, by our router's limits plugin,
//! with `QUERY_TOO_COMPLEX`; the door list of 1,000 and documented queries pass.

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
