//! Scenarios 1, 2 and 2b: the 1,000-attendee door list with emails through
//! the router, and the router's two fetches for it straight from each subgraph.

use common::ServiceKind;
use serde_json::json;

use crate::{
    bench::{scenario_id, Bench},
    Scenario,
};

const BIG_ATTENDANCE: &str =
    "query($id: ID!) { event(id: $id) { attendance(first: 1000) { nodes { user { email } } } } }";

impl Bench {
    /// 1. A 1,000-attendee door list with emails, through the router.
    pub(crate) async fn door_list(&self) -> anyhow::Result<Scenario> {
        let body = json!({"query": BIG_ATTENDANCE, "variables": {"id": self.big}});
        let load = self.repeat(&self.organizer, &self.router, self.config.clients(8), body).await?;
        let ratio = load.load.p50_ms / self.join_reference.latency_average_ms;
        Ok(Scenario {
            name: "1. door list of 1,000 with emails (router)".into(),
            reference: self.join_reference_text(),
            ratio: Some(ratio),
            target: "≤ 4 SQL/request; p50 ≤ 5× join".into(),
            met: Some(load.sql_per_request <= 4.0 && ratio <= 5.0),
            measured: load,
        })
    }

    /// 2 and 2b. The router's two fetches for that list, each straight from its
    /// subgraph: the attendance list (no user data), then its 1,000 users from auth.
    pub(crate) async fn subgraph_fetches(&self) -> anyhow::Result<Vec<Scenario>> {
        let representations: Vec<serde_json::Value> = self.users[..self.config.big_attendees.min(self.users.len())]
            .iter()
            .map(|(id, _)| json!({"__typename": "User", "id": id}))
            .collect();
        let fetches = [
            (
                "2. same list, attendance subgraph only",
                ServiceKind::Attendance,
                json!({
                    "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { attendance(first: 1000) { nodes { id userId } } } } }",
                    "variables": {"r": [{"__typename": "Event", "id": self.big}]},
                }),
                "router overhead = scenario 1 / scenario 2",
            ),
            (
                "2b. its 1,000 users, auth subgraph only",
                ServiceKind::Auth,
                json!({
                    "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { email } } }",
                    "variables": {"r": representations},
                }),
                "router overhead = scenario 1 / (2 + 2b)",
            ),
        ];
        let mut scenarios = Vec::new();
        for (name, kind, body, target) in fetches {
            if !self.config.runs(scenario_id(name)) {
                continue;
            }
            let url = format!("{}/graphql", self.stack.service_url(kind));
            let load = self.repeat(&self.organizer, &url, self.config.clients(8), body).await?;
            scenarios.push(Scenario {
                name: name.into(),
                reference: self.join_reference_text(),
                ratio: Some(load.load.p50_ms / self.join_reference.latency_average_ms),
                target: target.into(),
                met: None,
                measured: load,
            });
        }
        Ok(scenarios)
    }
}
