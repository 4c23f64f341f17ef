//! Inside the running system: Debian's Prometheus scrapes the router and
//! every service while people are checked in and a door list is read
//! through the router, and its HTTP API holds the counts; the exporters'
//! OTLP traces reach a collector, and the door list is one trace across the
//! router, attendance and auth, with a span per SQL statement, and nothing
//! personal in any attribute.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::time::Duration;

use common::ServiceKind;
use serde_json::json;
use test_support::{otlp::Collector, prometheus::Prometheus};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test]
async fn prometheus_counts_what_happened_and_a_door_list_is_one_trace_down_to_its_sql() {
    let collector = Collector::start().await.expect("an OTLP collector");
    let endpoint = collector.endpoint();
    // The services sample no trace of their own, and continue every trace the router samples.
    let services = [("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()), ("OTEL_TRACES_SAMPLER_ARG", "0")];
    let router = [("ROUTER_TRACING_ENABLED", "true"), ("ROUTER_OTLP_ENDPOINT", endpoint.as_str())];
    let e2e = e2e::start_configured("development", &services, &router).await;
    let ports = e2e.stack.config.ports;
    let mut targets = vec![("router", ports.router_metrics)];
    targets.extend(ServiceKind::ALL.map(|kind| (kind.name(), ports.metrics(kind))));
    let prometheus = Prometheus::start(&targets).expect("prometheus");

    let night = night(&e2e).await;
    let (organizer, event) = (&night.organizer, &night.event);

    // The door list, in a trace the client started.
    let door_list = "query DoorList($e: ID!) { event(id: $e) { title attendance(first: 100) { nodes { userId checkInTime user { name email } } } } }";
    let traceparent = format!("00-{TRACE_ID}-00f067aa0ba902b7-01");
    let (status, list) = e2e
        .graphql_with_headers(
            door_list,
            json!({"e": event}),
            Some(&organizer.0),
            &[("traceparent", traceparent.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["data"]["event"]["attendance"]["nodes"].as_array().map(Vec::len), Some(4), "{list}");

    scraped_counts(&prometheus).await;

    // One trace: the router's spans, then attendance's and auth's (each with
    // SQL), all under the client's trace id.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let spans = loop {
        let spans: Vec<_> = collector.spans().into_iter().filter(|s| s.trace_id == TRACE_ID).collect();
        let services: Vec<&str> = spans.iter().map(|s| s.service.as_str()).collect();
        let sql_of = |service: &str| spans.iter().any(|s| s.service == service && s.name.starts_with("SELECT"));
        if ["router", "attendance", "auth"].iter().all(|s| services.contains(s))
            && sql_of("attendance")
            && sql_of("auth")
        {
            break spans;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "one trace across router, attendance and auth with SQL: {spans:#?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let ids: std::collections::HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    for span in spans.iter().filter(|s| s.service != "router") {
        assert!(
            ids.contains(span.parent_span_id.as_str()),
            "{} {} hangs under a span of the same trace",
            span.service,
            span.name
        );
    }
    let every_span = collector.spans();
    for span in &every_span {
        for (key, value) in &span.attributes {
            for secret in ["@example.com", organizer.0.as_str(), night.holder.0.as_str(), night.secret.as_str()] {
                assert!(!value.contains(secret), "{} {} carries {key}={value}", span.service, span.name);
            }
        }
    }
    let names: Vec<String> = spans.iter().map(|s| format!("{}: {}", s.service, s.name)).collect();
    println!("{}", json!({"spans": names.len(), "names": names}));
}

/// What the test does before the door list: its organizer's token, the event, the
/// ticket holder's token and the ticket's secret.
struct Night {
    organizer: (String, String),
    event: String,
    holder: (String, String),
    secret: String,
}

/// An organizer, an event, three people checked in, a ticket scanned twice.
async fn night(e2e: &e2e::E2e) -> Night {
    let organizer = e2e.sign_up("organizer@example.com", "Oni").await;
    let now = chrono::Utc::now();
    let input = json!({"title": "Metrics Night", "startTime": (now - chrono::Duration::minutes(5)).to_rfc3339(),
                       "endTime": (now + chrono::Duration::hours(2)).to_rfc3339()});
    let created = e2e
        .graphql(
            "mutation CreateEvent($i: CreateEventInput!) { createEvent(input: $i) { id } }",
            json!({"i": input}),
            Some(&organizer.0),
        )
        .await;
    let event = created["data"]["createEvent"]["id"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned();
    let check_in = "mutation CheckIn($e: ID!, $u: ID!) { checkIn(input: {eventId: $e, userId: $u}) { id } }";
    for n in 0..3 {
        let (_, id) = e2e.sign_up(&format!("guest{n}@example.com"), "Guest").await;
        let answer = e2e.graphql(check_in, json!({"e": event, "u": id}), Some(&organizer.0)).await;
        assert!(answer["errors"].is_null(), "{answer}");
    }
    let holder = e2e.sign_up("holder@example.com", "Hana").await;
    let registered = e2e
        .graphql(
            "mutation Register($e: ID!) { registerForEvent(eventId: $e) { ticket { secret } } }",
            json!({"e": event}),
            Some(&holder.0),
        )
        .await;
    let secret = registered["data"]["registerForEvent"]["ticket"]["secret"].as_str().expect("a ticket").to_owned();
    let scan = "mutation ScanTicket($e: ID!, $t: String!) { checkIn(input: {eventId: $e, ticket: $t}) { id } }";
    for _ in 0..2 {
        e2e.graphql(scan, json!({"e": event, "t": secret}), Some(&organizer.0)).await;
    }

    Night { organizer, event, holder, secret }
}

/// What Prometheus scraped while the night went on.
async fn scraped_counts(prometheus: &Prometheus) {
    let within = Duration::from_secs(30);
    let expect = |query: &'static str, value: f64| async move {
        prometheus.wait_for(query, value, within).await.unwrap_or_else(|e| panic!("{e}"))
    };
    expect(r#"sum(titiktemu_graphql_operation_duration_seconds_count{service="attendance",operation=~"CheckIn.*",outcome="ok"})"#, 3.0).await;
    expect(r#"sum(titiktemu_graphql_operation_duration_seconds_count{service="attendance",operation=~"ScanTicket.*",outcome="ALREADY_CHECKED_IN"})"#, 1.0).await;
    expect(r#"sum(titiktemu_graphql_operation_duration_seconds_count{service="attendance",operation=~"DoorList.*",outcome="ok"})"#, 1.0).await;
    expect(r#"sum(titiktemu_ticket_scans_total{service="attendance",status="OK"})"#, 1.0).await;
    expect(r#"sum(titiktemu_ticket_scans_total{service="attendance",status="ALREADY_CHECKED_IN"})"#, 1.0).await;
    // Four people and the holder's registration went through the writers.
    expect(r#"sum(titiktemu_writer_batch_size_sum{service="attendance",writer="checkin-writer"})"#, 5.0).await;
    expect(r#"sum(titiktemu_writer_batch_size_sum{service="attendance",writer="registration-writer"})"#, 1.0).await;
    expect(r#"count(titiktemu_db_pool_max_connections > 0)"#, 3.0).await;
    expect(r#"count(sum by (service) (titiktemu_db_statement_duration_seconds_count) > 0)"#, 3.0).await;
    expect(
        r#"count(sum by (service) (titiktemu_http_request_duration_seconds_count{route="/graphql",status="200"}) > 0)"#,
        3.0,
    )
    .await;
    expect(r#"count(up == 1)"#, 4.0).await;
    // The router's own: one event, three check-ins, a registration, two scans, the door list.
    expect(r#"sum(http_server_request_duration_seconds_count{job="router"})"#, 8.0).await;
}
