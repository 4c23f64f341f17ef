//! The load driver: a fixed number of concurrent clients, each sending its
//! next request as soon as the last one answered, for a fixed time.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    pub clients: usize,
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

/// Runs `request(i)` (i = 0, 1, 2, ...) from `clients` concurrent loops for `duration`.
pub async fn drive<F, Fut>(clients: usize, duration: Duration, request: F) -> LoadResult
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    drive_paced(clients, duration, Duration::ZERO, request).await
}

/// As [`drive`], each loop starting a request every `pause` (or as soon as
/// the one before is answered, when that takes longer), the loops' schedules
/// spread evenly: `clients` loops make `clients / pause` requests a second
/// for as long as answers take less than `pause`.
pub async fn drive_paced<F, Fut>(clients: usize, duration: Duration, pause: Duration, request: F) -> LoadResult
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let request = Arc::new(request);
    let counter = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let started = Instant::now();
    let deadline = started + duration;
    let loops = (0..clients).map(|client| {
        let (request, counter, first_error) = (request.clone(), counter.clone(), first_error.clone());
        tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            let first = tokio::time::Instant::from_std(started) + pause.mul_f64(client as f64 / clients as f64);
            let mut schedule = (!pause.is_zero()).then(|| tokio::time::interval_at(first, pause));
            while Instant::now() < deadline {
                if let Some(schedule) = &mut schedule {
                    schedule.tick().await;
                }
                let i = counter.fetch_add(1, Ordering::Relaxed);
                let sent = Instant::now();
                let outcome = request(i).await;
                latencies.push(sent.elapsed());
                if let Err(e) = outcome {
                    errors += 1;
                    first_error.lock().expect("lock").get_or_insert(e);
                }
            }
            (latencies, errors)
        })
    });
    let mut latencies = Vec::new();
    let mut errors = 0;
    for result in futures::future::join_all(loops).await {
        let (l, e) = result.expect("load loop");
        latencies.extend(l);
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    let first_error = first_error.lock().expect("lock").take();
    LoadResult {
        clients,
        requests: latencies.len() as u64,
        errors,
        first_error,
        seconds,
        requests_per_second: latencies.len() as f64 / seconds,
        p50_ms: percentile(&latencies, 0.50),
        p95_ms: percentile(&latencies, 0.95),
        p99_ms: percentile(&latencies, 0.99),
    }
}

pub fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index].as_secs_f64() * 1e3
}

/// Sends a GraphQL operation; an HTTP error or a GraphQL `errors` entry is a failure.
pub async fn graphql(http: &reqwest::Client, url: &str, body: &serde_json::Value) -> Result<(), String> {
    let response = http.post(url).json(body).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() || text.contains("\"errors\"") {
        return Err(format!("{status}: {}", text.chars().take(300).collect::<String>()));
    }
    Ok(())
}

/// Sends a REST request; anything but 2xx is a failure.
pub async fn rest(request: reqwest::RequestBuilder) -> Result<(), String> {
    rest_allowing(request, &[]).await
}

/// As [`rest`], with the statuses in `answers` counted as answers too (a refused scan).
pub async fn rest_allowing(request: reqwest::RequestBuilder, answers: &[u16]) -> Result<(), String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() && !answers.contains(&status.as_u16()) {
        let text = response.text().await.unwrap_or_default();
        return Err(format!("{status}: {}", text.chars().take(300).collect::<String>()));
    }
    let _ = response.bytes().await;
    Ok(())
}
