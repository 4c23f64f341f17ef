//! Scenario 4: logins (argon2-bound) against the raw argon2 rate, with
//! `/health/live` probed alongside.

use std::time::Duration;

use common::ServiceKind;
use serde_json::json;

use crate::{
    bench::{measure, Bench},
    load::{drive_paced, rest, LoadResult},
    seed, Scenario,
};

impl Bench {
    /// 4. Logins (argon2-bound), with /health/live probed alongside.
    pub(crate) async fn logins(&self) -> anyhow::Result<(Scenario, LoadResult)> {
        let login_url = format!("{}/auth/login", self.stack.service_url(ServiceKind::Auth));
        let live_url = format!("{}/health/live", self.stack.service_url(ServiceKind::Auth));
        let probe = tokio::spawn({
            let (http, duration) = (self.http.clone(), self.config.duration);
            async move {
                // One probe every 20 ms; only the request itself is timed.
                drive_paced(1, duration, Duration::from_millis(20), move |_| {
                    let (http, url) = (http.clone(), live_url.clone());
                    async move { rest(http.get(&url)).await }
                })
                .await
            }
        });
        let load = measure(&self.probes, self.config.clients(16), self.config.duration, {
            let (http, users) = (self.http.clone(), self.users.clone());
            move |i| {
                let (http, url) = (http.clone(), login_url.clone());
                let email = users[i as usize % users.len()].1.clone();
                async move { rest(http.post(&url).json(&json!({"email": email, "password": seed::PASSWORD}))).await }
            }
        })
        .await?;
        let health = probe.await?;
        let ratio = load.load.requests_per_second / self.argon2.hashes_per_second;
        let scenario = Scenario {
            name: "4. login (REST)".into(),
            reference: format!(
                "argon2id × {} cores: {:.1} hashes/s",
                self.argon2.threads, self.argon2.hashes_per_second
            ),
            ratio: Some(ratio),
            target: format!("≥ 80% of argon2; /health/live p99 {:.1} ms < 10 ms", health.p99_ms),
            met: Some(ratio >= 0.8 && health.p99_ms < 10.0),
            measured: load,
        };
        Ok((scenario, health))
    }
}
