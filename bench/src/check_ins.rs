//! Scenario 3: single check-ins at 32 clients, through the router (3a) and
//! through REST (3b), against pgbench's bare INSERT.

use std::sync::Arc;

use common::ServiceKind;
use serde_json::json;

use crate::{
    bench::{measure, scenario_id, Bench},
    load::{graphql, rest},
    Scenario,
};

pub(crate) const CHECK_IN: &str = "mutation($e: ID!, $u: ID!) { checkIn(input: {eventId: $e, userId: $u}) { id } }";

impl Bench {
    /// Scenario 3: check-ins at 32 clients, through the router and through
    /// REST. Every check-in is a new (event, person) pair: each scenario walks
    /// its own half of the events (not the big one), person by person.
    pub(crate) async fn check_ins(&self) -> anyhow::Result<Vec<Scenario>> {
        let attendees = self.users.len() - 5; // the last five are seeded on every event
        let halves = (self.events.len() - 1) / 2;
        let mut scenarios = Vec::new();
        for (name, first_event, via_router) in
            [("3a. check-in (router)", 1, true), ("3b. check-in (REST POST /attendance)", 1 + halves, false)]
        {
            if !self.config.runs(scenario_id(name)) {
                continue;
            }
            let events: Arc<Vec<uuid::Uuid>> = Arc::new(self.events[first_event..first_event + halves].to_vec());
            let (http, users, router) = (self.http.clone(), self.users.clone(), self.router.clone());
            let rest_url = format!("{}/attendance", self.stack.service_url(ServiceKind::Attendance));
            let load = measure(&self.probes, self.config.clients(32), self.config.duration, move |i| {
                let (http, router, rest_url) = (http.clone(), router.clone(), rest_url.clone());
                let user = users[i as usize % attendees].0;
                let event = events[(i as usize / attendees) % events.len()];
                async move {
                    if via_router {
                        let body = json!({"query": CHECK_IN, "variables": {"e": event, "u": user}});
                        graphql(&http, &router, &body).await
                    } else {
                        rest(http.post(&rest_url).json(&json!({"eventId": event, "userId": user}))).await
                    }
                }
            })
            .await?;
            let ratio = load.load.requests_per_second / self.insert_reference.transactions_per_second;
            scenarios.push(Scenario {
                name: name.into(),
                reference: format!("pgbench single INSERT: {:.0} tps", self.insert_reference.transactions_per_second),
                ratio: Some(ratio),
                target: "≥ 50% of INSERT tps, 0 errors".into(),
                met: Some(ratio >= 0.5 && load.load.errors == 0),
                measured: load,
            });
        }
        Ok(scenarios)
    }
}
