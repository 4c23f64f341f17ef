//! Scenario 6: four reads (a door list of 50 with emails) for every check-in.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use serde_json::json;

use crate::{
    bench::{measure, Bench},
    check_ins::CHECK_IN,
    load::graphql,
    Scenario,
};

const DOOR_LIST_OF_50: &str =
    "query($id: ID!) { event(id: $id) { title attendance(first: 50) { totalCount nodes { checkInTime user { email } } } } }";

impl Bench {
    /// 6. Mixed: 4 reads (a door list of 50 with emails) for every check-in.
    pub(crate) async fn mixed(&self) -> anyhow::Result<Scenario> {
        let (big, users) = (self.big, self.users.clone());
        let next_user = Arc::new(AtomicU64::new(self.config.big_attendees as u64));
        let (http, router) = (self.organizer.clone(), self.router.clone());
        let load = measure(&self.probes, self.config.clients(16), self.config.duration, move |i| {
            let (http, router) = (http.clone(), router.clone());
            let body = if i % 5 == 4 {
                // The big event's seeded attendees are the first ones: start after them.
                let user = users[(next_user.fetch_add(1, Ordering::Relaxed) as usize) % (users.len() - 5)].0;
                json!({"query": CHECK_IN, "variables": {"e": big, "u": user}})
            } else {
                json!({"query": DOOR_LIST_OF_50, "variables": {"id": big}})
            };
            async move { graphql(&http, &router, &body).await }
        })
        .await?;
        Ok(Scenario {
            name: "6. mixed 80% reads / 20% check-ins (router)".into(),
            reference: "-".into(),
            ratio: None,
            target: "0 errors".into(),
            met: Some(load.load.errors == 0),
            measured: load,
        })
    }
}
