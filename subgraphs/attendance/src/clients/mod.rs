//! What the attendance service asks the other services, over their REST
//! APIs (never through their schemas), with `common::internal::ServiceClient`:
//! each call has a timeout and the service credential, and the number of
//! calls in flight is bounded so a hung service cannot pile up requests here.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::{
    batch::{Batcher, Limits},
    internal::{ServiceClient, ServiceCredential},
    time::Timestamp,
};
use serde::Deserialize;
use uuid::Uuid;

pub use common::internal::Unavailable;

/// What check-in needs to know about an event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventInfo {
    pub id: Uuid,
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    pub status: EventStatus,
    pub capacity: Option<i32>,
    pub organizer_id: Option<Uuid>,
    /// Which version of the event this is: scans carry it, so a copy older
    /// than the event's last change is noticed where the scan is written.
    pub updated_at: Timestamp,
}

/// An event's status, as the event service spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventStatus {
    Scheduled,
    Cancelled,
}

const MAX_CACHED: usize = 10_000;

/// An answer about one event, and when the call for it started.
type Answer = (Instant, Result<Option<EventInfo>, Unavailable>);

/// What is known of one event. Failures are kept too, so that requests that
/// were waiting for the same call share its failure instead of each trying
/// again in turn.
#[derive(Default)]
struct Slot {
    /// The last answer, and when the call for it started: read without
    /// waiting, so a burst of check-ins for one event never queues here.
    last: Mutex<Option<Answer>>,
    /// Held by the one request that is fetching the event.
    fetching: tokio::sync::Mutex<()>,
}

/// Events, from `GET {EVENT_SERVICE_URL}/events/{id}`, cached briefly.
/// Concurrent requests for the same event share one call (a burst of
/// check-ins at the door costs the event service one request), and none
/// waits longer than about one call's timeout, even if the service hangs.
#[derive(Clone)]
pub struct EventDirectory {
    client: ServiceClient,
    ttl: Duration,
    cache: Arc<Mutex<HashMap<Uuid, Arc<Slot>>>>,
}

impl EventDirectory {
    pub fn new(base_url: &str, timeout: Duration, ttl: Duration, credential: ServiceCredential) -> Self {
        let client = ServiceClient::new(base_url, "event", timeout, credential);
        EventDirectory { client, ttl, cache: Default::default() }
    }

    /// The event, possibly as it was up to the cache's time to live ago.
    /// Scans use it too: they carry its `updated_at`, and one checked against
    /// a copy older than the event's last change is checked again with
    /// [`get_fresh`](Self::get_fresh).
    pub async fn get(&self, id: Uuid) -> Result<Option<EventInfo>, Unavailable> {
        self.lookup(id, false).await
    }

    /// The event as it is now: reflects every change the event service
    /// acknowledged before this call. Concurrent callers still share calls:
    /// one that starts after they asked.
    pub async fn get_fresh(&self, id: Uuid) -> Result<Option<EventInfo>, Unavailable> {
        self.lookup(id, true).await
    }

    /// Drops this instance's copy of an event that changed.
    pub fn forget(&self, id: Uuid) {
        self.cache.lock().expect("cache lock").remove(&id);
    }

    async fn lookup(&self, id: Uuid, fresh: bool) -> Result<Option<EventInfo>, Unavailable> {
        let asked_at = Instant::now();
        let slot = {
            let mut cache = self.cache.lock().expect("cache lock");
            if cache.len() >= MAX_CACHED {
                // Keep what is in use; the rest is refetched when needed.
                cache.retain(|_, slot| Arc::strong_count(slot) > 1);
            }
            cache.entry(id).or_default().clone()
        };
        // Asked for by another request after this one came (success or
        // failure alike), or a success still young enough for a read.
        let usable = |slot: &Slot| {
            let last = slot.last.lock().expect("slot lock");
            let (started_at, answer) = last.as_ref()?;
            let usable = *started_at >= asked_at || (!fresh && answer.is_ok() && started_at.elapsed() < self.ttl);
            usable.then(|| answer.clone())
        };
        if let Some(answer) = usable(&slot) {
            return answer;
        }
        // Whoever holds the lock is fetching; its call ends within the timeout.
        let _fetching = tokio::time::timeout(self.client.timeout() * 2, slot.fetching.lock())
            .await
            .map_err(|_| Unavailable { service: self.client.service() })?;
        if let Some(answer) = usable(&slot) {
            return answer;
        }
        let started_at = Instant::now();
        let answer = self.client.get::<EventInfo>(&format!("/events/{id}")).await;
        *slot.last.lock().expect("slot lock") = Some((started_at, answer.clone()));
        answer
    }
}

/// Users, from `POST {AUTH_SERVICE_URL}/internal/users/existing`. Accounts
/// are never deleted, so a user once found is remembered (up to a bound).
/// Lookups of people not yet known that arrive together (a door checking in
/// first arrivals) go out as one request (`common::batch`).
#[derive(Clone)]
pub struct UserDirectory {
    client: ServiceClient,
    known: Arc<Mutex<std::collections::HashSet<Uuid>>>,
    lookups: Batcher<Uuid, Result<bool, Unavailable>>,
}

const MAX_KNOWN_USERS: usize = 100_000;
/// The most people in one lookup, and lookups in flight at once.
const LOOKUP_LIMITS: Limits = Limits { max_group: 500, max_queued: 4096, concurrency: 4 };

impl UserDirectory {
    /// Needs a Tokio runtime: it starts the task that groups lookups.
    pub fn new(base_url: &str, timeout: Duration, credential: ServiceCredential) -> Self {
        let client = ServiceClient::new(base_url, "auth", timeout, credential);
        let known: Arc<Mutex<std::collections::HashSet<Uuid>>> = Default::default();
        let lookups = Batcher::start(LOOKUP_LIMITS, {
            let (client, known) = (client.clone(), known.clone());
            move |ids: Vec<Uuid>| {
                let (client, known) = (client.clone(), known.clone());
                async move {
                    match ask_existing(&client, &known, &ids).await {
                        Ok(found) => ids.iter().map(|id| Ok(found.contains(id))).collect(),
                        Err(e) => ids.iter().map(|_| Err(e.clone())).collect(),
                    }
                }
            }
        });
        UserDirectory { client, known, lookups }
    }

    pub async fn exists(&self, id: Uuid) -> Result<bool, Unavailable> {
        if self.known.lock().expect("users lock").contains(&id) {
            return Ok(true);
        }
        let stopped = Unavailable { service: self.client.service() };
        self.lookups.call(id).await.unwrap_or(Err(stopped))
    }

    /// Of `ids`, those of existing people: one call for all the unknown ones.
    pub async fn existing(&self, ids: &[Uuid]) -> Result<std::collections::HashSet<Uuid>, Unavailable> {
        ask_existing(&self.client, &self.known, ids).await
    }
}

/// Of `ids`, those of existing people: the known ones from memory, the rest
/// in one call, remembered when found.
async fn ask_existing(
    client: &ServiceClient,
    known: &Mutex<std::collections::HashSet<Uuid>>,
    ids: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, Unavailable> {
    let mut found = std::collections::HashSet::new();
    let mut unknown: Vec<Uuid> = {
        let known = known.lock().expect("users lock");
        let (seen, unseen): (Vec<Uuid>, Vec<Uuid>) = ids.iter().partition(|id| known.contains(id));
        found.extend(seen);
        unseen
    };
    if unknown.is_empty() {
        return Ok(found);
    }
    unknown.sort_unstable();
    unknown.dedup();
    let body = serde_json::json!({ "ids": unknown });
    let answer: Option<UserIds> = client.post("/internal/users/existing", &body).await?;
    let existing = answer.map(|a| a.ids).unwrap_or_default();
    let mut known = known.lock().expect("users lock");
    if known.len() + existing.len() >= MAX_KNOWN_USERS {
        known.clear();
    }
    known.extend(existing.iter().copied());
    found.extend(existing);
    Ok(found)
}

#[derive(Deserialize)]
struct UserIds {
    ids: Vec<Uuid>,
}
