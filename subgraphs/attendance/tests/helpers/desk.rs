//! An event that takes registrations, its organizer, and people with tokens
//! of their own: what registration and ticket tests start from.

use futures::future::join_all;
use serde_json::{json, Value};

use super::Stack;

/// An event with a registration policy, and the organizer's token.
pub(crate) struct Desk {
    pub(crate) s: Stack,
    pub(crate) organizer: String,
    pub(crate) event: String,
}

pub(crate) async fn desk(capacity: Option<i32>, policy: Value) -> Desk {
    let s = super::spawn().await;
    let (organizer, event) = s.organized_live_event(capacity).await;
    let set =
        "mutation($e: ID!, $p: RegistrationPolicyInput!) { setRegistrationPolicy(eventId: $e, input: $p) { mode } }";
    let out = s.attendance.graphql(set, json!({"e": event, "p": policy}), Some(&organizer)).await;
    assert!(out["errors"].is_null(), "{out}");
    Desk { s, organizer, event }
}

impl Desk {
    /// `n` people, each with a token of their own.
    pub(crate) async fn people(&self, n: usize) -> Vec<(String, String)> {
        let ids = self.s.seed_users(n).await;
        join_all(ids.into_iter().map(|id| async move { (self.s.token_for(&self.organizer, &id).await, id) })).await
    }

    /// `POST /attendance/event/{event}/registrations` as `token`: the status and body.
    pub(crate) async fn register(&self, token: Option<&str>) -> (u16, Value) {
        self.register_at(&self.event, token).await
    }

    /// The same, at any event.
    pub(crate) async fn register_at(&self, event: &str, token: Option<&str>) -> (u16, Value) {
        let url = self.s.attendance.url(&format!("/attendance/event/{event}/registrations"));
        let mut request = self.s.attendance.http.post(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        test_support::status_and_json(request.send().await.unwrap()).await
    }

    /// A ticket's secret, registered for by `token` (confirmed).
    pub(crate) async fn ticket_of(&self, token: &str) -> (String, Value) {
        let (status, body) = self.register(Some(token)).await;
        assert_eq!((status, body["status"].as_str()), (201, Some("CONFIRMED")), "{body}");
        (body["ticket"]["secret"].as_str().unwrap().to_owned(), body)
    }

    /// `checkIn` of a ticket at the desk's event, by `token`, as GraphQL answers.
    pub(crate) async fn scan_ticket(&self, token: &str, ticket: &str, direction: &str) -> Value {
        let query = format!(
            "mutation($e: ID!, $t: String!) {{ checkIn(input: {{eventId: $e, ticket: $t, direction: {direction}}}) {{ userId }} }}"
        );
        self.s.attendance.graphql(&query, json!({"e": self.event, "t": ticket}), Some(token)).await
    }

    pub(crate) async fn registration_call(&self, token: &str, mutation: &str, id: &str) -> Value {
        let query =
            format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ id status waitlistPosition ticket {{ id }} }} }}");
        self.s.attendance.graphql(&query, json!({"id": id}), Some(token)).await
    }

    pub(crate) async fn summary(&self) -> Value {
        let path = format!("/attendance/event/{}/registration-summary", self.event);
        self.s.attendance.get_json(&path).await
    }

    /// Registrations by status, and live tickets, as stored.
    pub(crate) async fn stored(&self, status: &str) -> i64 {
        let sql = format!(
            "SELECT count(*) AS n FROM attendance_schema.registrations WHERE event_id = '{}' AND status = '{status}'",
            self.event
        );
        self.s.db.number(&sql).await
    }

    /// Every confirmed registration holds exactly one live ticket, nobody else holds one,
    /// and the event's counters agree with the rows.
    pub(crate) async fn assert_consistent(&self) {
        let e = &self.event;
        let db = &self.s.db;
        let live = format!(
            "SELECT count(*) AS n FROM attendance_schema.tickets t JOIN attendance_schema.registrations r
             ON r.id = t.registration_id WHERE t.event_id = '{e}' AND t.revoked_at IS NULL AND r.status = 'CONFIRMED'"
        );
        let stray = format!(
            "SELECT count(*) AS n FROM attendance_schema.tickets t JOIN attendance_schema.registrations r
             ON r.id = t.registration_id WHERE t.event_id = '{e}' AND t.revoked_at IS NULL AND r.status <> 'CONFIRMED'"
        );
        assert_eq!(db.number(&live).await, self.stored("CONFIRMED").await, "one live ticket per confirmed");
        assert_eq!(db.number(&stray).await, 0, "no live ticket without a confirmed registration");
        let counted = format!(
            "SELECT (confirmed * 1000000 + waitlisted * 1000 + pending)::bigint AS n
             FROM attendance_schema.event_registrations WHERE event_id = '{e}'"
        );
        let rows = self.stored("CONFIRMED").await * 1_000_000
            + self.stored("WAITLISTED").await * 1000
            + self.stored("PENDING_APPROVAL").await;
        assert_eq!(db.number(&counted).await, rows, "the counters follow the rows");
    }
}
