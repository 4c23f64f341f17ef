//! Prometheus metrics, kept by the `metrics` crate and rendered as
//! Prometheus text on a listener of their own (`METRICS_LISTEN`). Every
//! series carries `service`. Labels hold routes, statement and operation
//! names, outcomes and error codes: never ids, emails or tokens.

use std::{
    collections::HashSet,
    sync::{Mutex, OnceLock},
    time::Duration,
};

use axum::{extract::State, routing::get, Router};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// HTTP requests by `route` (the matched path), `method` and `status`.
pub const HTTP_REQUEST_SECONDS: &str = "titiktemu_http_request_duration_seconds";
/// GraphQL operations by `operation` (its name) and `outcome` (`ok` or the first error's code).
pub const GRAPHQL_OPERATION_SECONDS: &str = "titiktemu_graphql_operation_duration_seconds";
/// SQL statements by `statement` (verb and object) and `outcome`.
pub const DB_STATEMENT_SECONDS: &str = "titiktemu_db_statement_duration_seconds";
/// The service's pool: connections open, in use, and its limit.
pub const DB_POOL_CONNECTIONS: &str = "titiktemu_db_pool_connections";
pub const DB_POOL_IN_USE: &str = "titiktemu_db_pool_connections_in_use";
pub const DB_POOL_MAX: &str = "titiktemu_db_pool_max_connections";
/// Requests that waited for a connection longer than the acquire timeout.
pub const DB_POOL_TIMEOUTS: &str = "titiktemu_db_pool_timeouts_total";
/// The group writers by `writer` (`checkin-writer`, `registration-writer`):
/// items per written batch, and items waiting to be written.
pub const WRITER_BATCH_SIZE: &str = "titiktemu_writer_batch_size";
pub const WRITER_QUEUE_DEPTH: &str = "titiktemu_writer_queue_depth";
/// Live updates: subscribers now, and subscribers ended or refused by the
/// hub (`reason`: `expired` token, `revoked` right, `limit` per person).
pub const LIVE_SUBSCRIBERS: &str = "titiktemu_live_subscribers";
pub const LIVE_DROPPED: &str = "titiktemu_live_dropped_total";
/// Requests a throttle refused (`throttle`: `login`, `sign_up`, `self_scan`).
pub const THROTTLE_BLOCKS: &str = "titiktemu_throttle_blocks_total";
/// One scan at the door (`checkIn`, `POST /attendance`), from the request
/// to its verdict, by `outcome` (`ok`, `refused`).
pub const CHECK_IN_SECONDS: &str = "titiktemu_check_in_duration_seconds";
/// Ticket scans by `status` (`OK` or the refusal's code).
pub const TICKET_SCANS: &str = "titiktemu_ticket_scans_total";

/// Latency buckets, in seconds: a door wants answers well under one.
const SECONDS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
const BATCH_SIZES: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
/// Distinct operation names kept as labels; later ones count as `other`.
const MAX_OPERATION_NAMES: usize = 200;

/// The installed recorder.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    pub(super) fn install(service: &str) -> Self {
        let builder = PrometheusBuilder::new()
            .add_global_label("service", service)
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &SECONDS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(WRITER_BATCH_SIZE.to_owned()), &BATCH_SIZES))
            .expect("bucket lists are not empty");
        let handle = match builder.install_recorder() {
            Ok(handle) => handle,
            // One recorder per process: a second install (tests) gets a handle that renders nothing.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        };
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".to_owned())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            })
            .ok();
        Metrics { handle }
    }

    /// Serves `GET /metrics` on `listener` until the runtime ends; `pool`
    /// is read at each scrape for its gauges.
    pub fn serve(&self, listener: tokio::net::TcpListener, pool: sea_orm::DatabaseConnection) {
        let state = (self.handle.clone(), pool);
        let app = Router::new().route("/metrics", get(render)).with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
}

async fn render(State((handle, pool)): State<(PrometheusHandle, sea_orm::DatabaseConnection)>) -> String {
    let pg = pool.get_postgres_connection_pool();
    let max = pg.options().get_max_connections();
    let (size, idle) = (pg.size(), u32::try_from(pg.num_idle()).unwrap_or(u32::MAX));
    ::metrics::gauge!(DB_POOL_CONNECTIONS).set(f64::from(size));
    ::metrics::gauge!(DB_POOL_IN_USE).set(f64::from(size.saturating_sub(idle)));
    ::metrics::gauge!(DB_POOL_MAX).set(f64::from(max));
    handle.run_upkeep();
    handle.render()
}

/// An operation's name as a label: the client's name when it is a GraphQL
/// name of at most 64 characters and one of the first 200 seen, else `other`
/// (names are the client's to choose: they must not grow the series without bound).
pub fn operation_label(name: Option<&str>) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = name else { return "anonymous".to_owned() };
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !valid {
        return "other".to_owned();
    }
    let mut seen = SEEN.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if seen.contains(name) || (seen.len() < MAX_OPERATION_NAMES && seen.insert(name.to_owned())) {
        name.to_owned()
    } else {
        "other".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::operation_label;

    #[test]
    fn operation_labels_are_bounded_names() {
        assert_eq!(operation_label(Some("DoorList")), "DoorList");
        assert_eq!(operation_label(None), "anonymous");
        assert_eq!(operation_label(Some("ana@example.com")), "other");
        assert_eq!(operation_label(Some(&"x".repeat(65))), "other");
        for n in 0..300 {
            operation_label(Some(&format!("Op{n}")));
        }
        assert_eq!(operation_label(Some("DoorList")), "DoorList", "seen before the cap");
        assert_eq!(operation_label(Some("Op299")), "other");
    }
}
