//! What the attendance service asks the other services, over their REST
//! APIs (never through their schemas): each call has a timeout, and the
//! number of calls in flight is bounded so a hung service cannot pile up
//! requests here.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::time::Timestamp;
use reqwest::StatusCode;
use serde::Deserialize;
use tokio::sync::Semaphore;
use uuid::Uuid;

/// The other service could not answer (down, slow, or erroring).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the {service} service is unavailable")]
pub struct Unavailable {
    pub service: &'static str,
}

/// What check-in needs to know about an event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventInfo {
    pub id: Uuid,
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    pub status: String,
    pub capacity: Option<i32>,
    pub organizer_id: Option<Uuid>,
}

impl EventInfo {
    pub fn is_cancelled(&self) -> bool {
        self.status == "CANCELLED"
    }
}

const MAX_IN_FLIGHT: usize = 64;
const MAX_CACHED: usize = 10_000;

#[derive(Clone)]
struct RestClient {
    http: reqwest::Client,
    base_url: String,
    service: &'static str,
    timeout: Duration,
    in_flight: Arc<Semaphore>,
}

impl RestClient {
    fn new(base_url: &str, service: &'static str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(1)))
            .build()
            .expect("a reqwest client with only timeouts set always builds");
        RestClient {
            http,
            base_url: base_url.to_owned(),
            service,
            timeout,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }

    /// `GET base_url + path`: `Ok(None)` on 404.
    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Unavailable> {
        let unavailable = Unavailable { service: self.service };
        // At most MAX_IN_FLIGHT calls at once; the rest wait no longer than a
        // call may take, so a stuck service cannot pile requests up here.
        let _permit = tokio::time::timeout(self.timeout, self.in_flight.acquire())
            .await
            .map_err(|_| unavailable.clone())?
            .map_err(|_| unavailable.clone())?;
        let response = self.http.get(format!("{}{path}", self.base_url)).send().await.map_err(|e| {
            tracing::warn!(service = self.service, error = %e, "call failed");
            unavailable.clone()
        })?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => response.json::<T>().await.map(Some).map_err(|e| {
                tracing::warn!(service = self.service, error = %e, "unexpected response");
                unavailable
            }),
            status => {
                tracing::warn!(service = self.service, %status, "call refused");
                Err(unavailable)
            }
        }
    }
}

/// The last answer about one event, and when it was fetched. Failures are
/// kept too, so that requests that were waiting for the same call share its
/// failure instead of each trying again in turn.
type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Result<Option<EventInfo>, Unavailable>)>>>;

/// Events, from `GET {EVENT_SERVICE_URL}/events/{id}`, cached briefly.
/// Concurrent requests for the same event share one call (a burst of
/// check-ins at the door costs the event service one request), and none
/// waits longer than about one call's timeout, even if the service hangs.
#[derive(Clone)]
pub struct EventDirectory {
    client: RestClient,
    ttl: Duration,
    cache: Arc<Mutex<HashMap<Uuid, Slot>>>,
}

impl EventDirectory {
    pub fn new(base_url: &str, timeout: Duration, ttl: Duration) -> Self {
        EventDirectory { client: RestClient::new(base_url, "event", timeout), ttl, cache: Default::default() }
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<EventInfo>, Unavailable> {
        let asked_at = Instant::now();
        let slot = {
            let mut cache = self.cache.lock().expect("cache lock");
            if cache.len() >= MAX_CACHED {
                // Keep what is in use; the rest is refetched when needed.
                cache.retain(|_, slot| Arc::strong_count(slot) > 1);
            }
            cache.entry(id).or_default().clone()
        };
        // Whoever holds the slot is fetching; its call ends within the timeout.
        let mut entry = tokio::time::timeout(self.client.timeout * 2, slot.lock())
            .await
            .map_err(|_| Unavailable { service: self.client.service })?;
        if let Some((fetched_at, answer)) = &*entry {
            // Fetched by another request while this one waited (success or
            // failure alike), or a success still fresh enough.
            if *fetched_at >= asked_at || (answer.is_ok() && fetched_at.elapsed() < self.ttl) {
                return answer.clone();
            }
        }
        let answer = self.client.get::<EventInfo>(&format!("/events/{id}")).await;
        *entry = Some((Instant::now(), answer.clone()));
        answer
    }
}

/// Users, from `GET {AUTH_SERVICE_URL}/internal/users/{id}`. Accounts are
/// never deleted, so a user once found is remembered (up to a bound).
#[derive(Clone)]
pub struct UserDirectory {
    client: RestClient,
    known: Arc<Mutex<std::collections::HashSet<Uuid>>>,
}

const MAX_KNOWN_USERS: usize = 100_000;

impl UserDirectory {
    pub fn new(base_url: &str, timeout: Duration) -> Self {
        UserDirectory { client: RestClient::new(base_url, "auth", timeout), known: Default::default() }
    }

    pub async fn exists(&self, id: Uuid) -> Result<bool, Unavailable> {
        if self.known.lock().expect("users lock").contains(&id) {
            return Ok(true);
        }
        let found = self.client.get::<serde_json::Value>(&format!("/internal/users/{id}")).await?.is_some();
        if found {
            let mut known = self.known.lock().expect("users lock");
            if known.len() >= MAX_KNOWN_USERS {
                known.clear();
            }
            known.insert(id);
        }
        Ok(found)
    }
}
