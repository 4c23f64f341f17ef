//! Scenario 8, live attendance: subscribers spread over two attendance
//! instances watch one event while check-ins arrive at a steady rate; how
//! long after a check-in's acknowledgement its update reaches them, whether
//! everyone ends on the table's state, and what an idle subscriber costs.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::ServiceKind;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::{bench::Bench, load::drive_paced, load::percentile, procfs::rss_mib};

const CHECK_INS_PER_SECOND: u64 = 500;
/// Enough paced clients that the rate holds while each check-in waits on the load.
const CHECK_IN_CLIENTS: usize = 32;

/// What one subscriber saw: the time each scan's update arrived, and its last count.
#[derive(Default)]
struct Seen {
    arrivals: Vec<(String, Instant)>,
    last_count: i64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveReport {
    pub subscribers: usize,
    pub instances: usize,
    pub check_ins: u64,
    pub check_ins_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Subscribers whose last update did not show the table's count.
    pub wrong_final_state: usize,
    pub kib_per_idle_subscriber: f64,
}

impl Bench {
    /// 8. `subscribers` SSE subscribers, half on each of two attendance instances.
    pub(crate) async fn live_updates(&mut self, subscribers: usize) -> anyhow::Result<LiveReport> {
        let replica_port = test_support::free_port();
        let replica = self.stack.start_replica(ServiceKind::Attendance, replica_port).await?;
        let primary = self.stack.service_url(ServiceKind::Attendance);
        let event = self.organized_events(1, "Live").await?[0];
        let rss = |port: u16| rss_mib(port).unwrap_or(f64::NAN);
        let primary_port = self.stack.config.ports.service(ServiceKind::Attendance);
        let idle_before = rss(primary_port) + rss(replica_port);
        let (seen, readers) = self.subscribe(event, subscribers, [&primary, &replica]).await?;
        let idle_after = rss(primary_port) + rss(replica_port);

        let acknowledged: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let pause = Duration::from_secs_f64(CHECK_IN_CLIENTS as f64 / CHECK_INS_PER_SECOND as f64);
        let (http, users, url) = (self.organizer.clone(), self.users.clone(), format!("{primary}/attendance"));
        let load = drive_paced(CHECK_IN_CLIENTS, self.config.duration, pause, {
            let acknowledged = acknowledged.clone();
            move |i| {
                let user = users[i as usize % users.len()].0;
                let (request, acknowledged) =
                    (http.post(&url).json(&json!({"eventId": event, "userId": user})), acknowledged.clone());
                async move {
                    let response = request.send().await.map_err(|e| e.to_string())?;
                    let at = Instant::now();
                    let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
                    let id = body["id"].as_str().ok_or_else(|| format!("no id: {body}"))?.to_owned();
                    acknowledged.lock().expect("acks").insert(id, at);
                    Ok(())
                }
            }
        })
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let expected: i64 = self
            .probes
            .admin
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!("SELECT count(*)::bigint AS n FROM attendance_schema.attendances WHERE event_id = '{event}'"),
            ))
            .await?
            .map(|row| row.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        for reader in readers {
            reader.abort();
        }
        let (latencies, wrong_final_state) = latencies(&seen, &acknowledged.lock().expect("acks"), expected);
        Ok(LiveReport {
            subscribers,
            instances: 2,
            check_ins: load.requests,
            check_ins_per_second: load.requests_per_second,
            p50_ms: percentile(&latencies, 0.50),
            p99_ms: percentile(&latencies, 0.99),
            wrong_final_state,
            kib_per_idle_subscriber: (idle_after - idle_before) * 1024.0 / subscribers as f64,
        })
    }
}

impl Bench {
    /// `subscribers` streams of `event`, alternately on each of `instances`,
    /// each with its first message before this returns.
    async fn subscribe(
        &self,
        event: uuid::Uuid,
        subscribers: usize,
        instances: [&str; 2],
    ) -> anyhow::Result<(Vec<Arc<Mutex<Seen>>>, Vec<tokio::task::JoinHandle<()>>)> {
        let seen: Vec<Arc<Mutex<Seen>>> = (0..subscribers).map(|_| Arc::default()).collect();
        let mut readers = Vec::new();
        for (i, seen) in seen.iter().enumerate() {
            let base = instances[i % 2];
            let response = self.organizer.get(format!("{base}/attendance/live/{event}")).send().await?;
            anyhow::ensure!(response.status() == 200, "subscribing answered {}", response.status());
            readers.push(tokio::spawn(read_updates(response, seen.clone())));
        }
        let started = Instant::now();
        while seen.iter().any(|s| s.lock().expect("seen").arrivals.is_empty()) {
            anyhow::ensure!(started.elapsed() < Duration::from_secs(30), "subscribers did not get their first message");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok((seen, readers))
    }
}

/// From each check-in's acknowledgement to its update reaching each
/// subscriber, sorted; and how many subscribers' last update was not the
/// table's final count.
fn latencies(
    seen: &[Arc<Mutex<Seen>>],
    acknowledged: &HashMap<String, Instant>,
    expected: i64,
) -> (Vec<Duration>, usize) {
    let mut latencies: Vec<Duration> = Vec::new();
    let mut wrong_final_state = 0;
    for seen in seen {
        let seen = seen.lock().expect("seen");
        if seen.last_count != expected {
            wrong_final_state += 1;
        }
        for (scan, arrived) in &seen.arrivals {
            if let Some(ack) = acknowledged.get(scan) {
                latencies.push(arrived.saturating_duration_since(*ack));
            }
        }
    }
    latencies.sort();
    (latencies, wrong_final_state)
}

/// Reads one subscriber's stream until it is aborted.
async fn read_updates(mut response: reqwest::Response, seen: Arc<Mutex<Seen>>) {
    seen.lock().expect("seen").last_count = -1;
    let mut buffer = String::new();
    while let Ok(Some(bytes)) = response.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&bytes));
        while let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            let Some(data) = message.lines().find_map(|l| l.strip_prefix("data:")) else { continue };
            let Ok(update) = serde_json::from_str::<serde_json::Value>(data.trim()) else { continue };
            let mut seen = seen.lock().expect("seen");
            seen.last_count = update["stats"]["totalAttendees"].as_i64().unwrap_or(-1);
            if let Some(scan) = update["scan"]["id"].as_str() {
                seen.arrivals.push((scan.to_owned(), Instant::now()));
            } else {
                seen.arrivals.push((String::new(), Instant::now()));
            }
        }
    }
}
