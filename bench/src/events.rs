//! Scenario 5: a page of events with their statistics, at two page sizes.

use serde_json::json;

use crate::{bench::Bench, Scenario};

const EVENTS_WITH_STATS: &str =
    "query($n: Int) { events(first: $n) { nodes { id title attendanceStats { totalAttendees onTime late } } } }";

impl Bench {
    /// 5. A page of events with their attendance stats, at two page sizes.
    pub(crate) async fn events_with_stats(&self) -> anyhow::Result<Scenario> {
        let small = json!({"query": EVENTS_WITH_STATS, "variables": {"n": 10}});
        let small = self.repeat(&self.http, &self.router, self.config.clients(8), small).await?;
        let large = json!({"query": EVENTS_WITH_STATS, "variables": {"n": 100}});
        let large = self.repeat(&self.http, &self.router, self.config.clients(8), large).await?;
        Ok(Scenario {
            name: "5. events(first: 100) with attendanceStats (router)".into(),
            reference: format!("first: 10 costs {:.2} SQL/request", small.sql_per_request),
            ratio: Some(large.sql_per_request / small.sql_per_request.max(f64::EPSILON)),
            // One statement for the page, one for all the stats: at most two
            // per request whatever the page size (concurrent requests may
            // even share a batch, making it less).
            target: "SQL/request constant (≤ 2) in the number of events".into(),
            met: Some(small.sql_per_request <= 2.0 + 1e-9 && large.sql_per_request <= 2.0 + 1e-9),
            measured: large,
        })
    }
}
