//! Live attendance: organizers (and staff, and ADMINs) watch an event's
//! statistics change as scans happen, on whichever instance they happen.
//! Per event and instance one `watch` channel holds the latest state: a
//! slow subscriber skips to it, never queues, and an update costs one
//! statistics query per instance whatever the number of subscribers.
//!
//! Each subscriber sees what the scan log shows them: the organizer and
//! ADMINs every scan, check-in staff the counts and their own scans. A staff
//! member's right is checked again whenever an update was read after a right
//! at the event was taken away (the event's rights version, read after the
//! update's statistics, differs from the one their right was last checked
//! at), however many updates they skipped; a revoked stream ends.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use common::{auth::Caller, db::Pool};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::{AttendanceError, AttendanceStats, Scan};
use crate::{
    clients::EventDirectory,
    storage::{self, live::Notice},
};

/// How long notices gather before an update is computed: bounds the updates
/// per event and instance to 20 a second, the fan-out work with them.
const GATHER: Duration = Duration::from_millis(50);

/// One message of a subscription: the event's statistics and the scan that
/// changed them (none in a first message, after a resynchronisation, or for
/// a reader who may not see that scan).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveUpdate {
    pub stats: AttendanceStats,
    pub scan: Option<Scan>,
    /// An edge's rendering of this update, made once and shared by every
    /// stream that sends it.
    pub rendered: OnceLock<Arc<str>>,
}

impl LiveUpdate {
    fn new(stats: AttendanceStats, scan: Option<Scan>) -> Arc<Self> {
        Arc::new(LiveUpdate { stats, scan, rendered: OnceLock::new() })
    }
}

/// What a topic's channel carries: the latest update, in the two views
/// readers get, and the event's rights version read after it.
#[derive(Debug, Clone)]
struct Published {
    with_scan: Arc<LiveUpdate>,
    counts_only: Arc<LiveUpdate>,
    rights_version: i64,
}

impl Published {
    fn says_the_same_as(&self, other: &Published) -> bool {
        let (a, b) = (&self.with_scan, &other.with_scan);
        a.stats == b.stats && a.scan == b.scan && self.rights_version == other.rights_version
    }
}

struct Topics {
    events: HashMap<Uuid, watch::Sender<Published>>,
    per_user: HashMap<Uuid, usize>,
}

#[derive(Clone)]
pub struct LiveHub {
    db: Pool,
    events: EventDirectory,
    topics: Arc<Mutex<Topics>>,
    /// Set when the service shuts down: every subscription ends.
    closing: Arc<watch::Sender<bool>>,
    /// Live subscriptions one person may hold on this instance.
    per_user_limit: usize,
}

impl LiveHub {
    pub fn new(db: Pool, events: EventDirectory, per_user_limit: usize) -> Self {
        let topics = Topics { events: HashMap::new(), per_user: HashMap::new() };
        let closing = Arc::new(watch::channel(false).0);
        LiveHub { db, events, topics: Arc::new(Mutex::new(topics)), closing, per_user_limit }
    }

    /// Ends every subscription (the service is shutting down).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Listens to the database (a session of its own at `session_url`) and
    /// publishes, for as long as the runtime runs.
    pub fn start(&self, session_url: String) {
        let (notices, received) = mpsc::channel(1024);
        tokio::spawn(storage::live::listen(session_url, notices));
        tokio::spawn(self.clone().publish(received));
    }

    /// The event's state now, read from the database; the rights version is
    /// read last, so an update whose statistics come after a right was taken
    /// away carries the version that says so.
    async fn snapshot(&self, event: Uuid, scan: Option<Uuid>) -> Result<Published, AttendanceError> {
        let start = self.events.get(event).await?.ok_or(AttendanceError::EventNotFound)?.start_time;
        let mut stats = storage::stats(&self.db, &[(event, start.0)]).await?;
        let stats = stats.remove(&event).unwrap_or_else(|| AttendanceStats::empty(event));
        let scan = match scan {
            Some(id) => storage::find_scan(&self.db, id).await?,
            None => None,
        };
        let rights_version = storage::rights_version(&self.db, event).await?;
        let counts_only = LiveUpdate::new(stats.clone(), None);
        let with_scan = if scan.is_some() { LiveUpdate::new(stats, scan) } else { counts_only.clone() };
        Ok(Published { with_scan, counts_only, rights_version })
    }

    /// Publishes what the notices say, coalesced: the notices that queued
    /// while an update was computed become one update per event.
    async fn publish(self, mut notices: mpsc::Receiver<Notice>) {
        while let Some(first) = notices.recv().await {
            // Let a burst gather: at most one update per event every
            // `GATHER`, however fast the scans come.
            tokio::time::sleep(GATHER).await;
            let mut changed: HashMap<Uuid, Option<Uuid>> = HashMap::new();
            let mut resync = false;
            let mut note = |notice: Notice| match notice {
                Notice::Changed { event, scan } => {
                    let last = changed.entry(event).or_default();
                    *last = scan.or(*last);
                }
                // The update it causes carries the new rights version.
                Notice::StaffRemoved { event } => {
                    changed.entry(event).or_default();
                }
                Notice::Resync => resync = true,
            };
            note(first);
            while let Ok(notice) = notices.try_recv() {
                note(notice);
            }
            let watched: Vec<Uuid> = {
                let mut topics = self.topics.lock().expect("topics lock");
                topics.events.retain(|_, topic| topic.receiver_count() > 0);
                topics.events.keys().copied().collect()
            };
            for event in watched {
                let scan = match changed.get(&event) {
                    Some(scan) => *scan,
                    None if resync => None,
                    None => continue,
                };
                match self.snapshot(event, scan).await {
                    Ok(published) => {
                        if let Some(topic) = self.topics.lock().expect("topics lock").events.get(&event) {
                            // A resynchronisation that finds nothing new tells nobody.
                            topic.send_if_modified(|current| {
                                let new = !published.says_the_same_as(current);
                                if new {
                                    *current = published;
                                }
                                new
                            });
                        }
                    }
                    Err(e) => tracing::warn!(%event, error = %e, "live update not computed"),
                }
            }
        }
    }

    /// Subscribes `caller`, who must run the event (organizer, check-in
    /// staff) or be an ADMIN, as for the door list.
    pub async fn subscribe(&self, caller: &Caller, event_id: Uuid) -> Result<Subscription, AttendanceError> {
        let claims = caller.claims().ok_or(AttendanceError::TokenRequired(common::auth::TokenRequired))?;
        let user = claims.sub;
        let event = self.events.get(event_id).await?.ok_or(AttendanceError::EventNotFound)?;
        let by_role = caller.is_admin() || event.organizer_id == Some(user);
        // Staff: the version is read before the right is checked, so any
        // change after the check shows as a newer version.
        let checked_at = match by_role {
            true => None,
            false => {
                let version = storage::rights_version(&self.db, event_id).await?;
                if !self.runs_event(user, event_id).await? {
                    return Err(AttendanceError::Forbidden(
                        "only the event's organizer, its check-in staff or an admin may watch its attendance",
                    ));
                }
                Some(version)
            }
        };
        let first = self.snapshot(event_id, None).await?;
        let updates = {
            let mut topics = self.topics.lock().expect("topics lock");
            let held = topics.per_user.entry(user).or_default();
            if *held >= self.per_user_limit {
                dropped("limit");
                return Err(AttendanceError::TooManySubscriptions(self.per_user_limit));
            }
            *held += 1;
            metrics::gauge!(common::telemetry::metrics::LIVE_SUBSCRIBERS).increment(1.0);
            let topic = topics.events.entry(event_id).or_insert_with(|| watch::channel(first.clone()).0);
            let mut updates = topic.subscribe();
            updates.mark_unchanged();
            updates
        };
        let lifetime = claims.exp - chrono::Utc::now().timestamp();
        let expires = tokio::time::Instant::now() + Duration::from_secs(lifetime.max(0) as u64);
        Ok(Subscription {
            closing: self.closing.subscribe(),
            hub: self.clone(),
            user,
            event: event_id,
            checked_at,
            first: Some(first),
            updates,
            expires,
        })
    }

    /// The rule `AttendanceService::runs_event` applies: organizer or check-in staff.
    async fn runs_event(&self, user: Uuid, event: Uuid) -> Result<bool, AttendanceError> {
        Ok(storage::runs_event(&self.db, user, event).await?)
    }
}

/// One subscriber's stream of updates: the current state first, then every
/// change (coalesced); it ends when the token expires or the right is taken away.
pub struct Subscription {
    closing: watch::Receiver<bool>,
    hub: LiveHub,
    user: Uuid,
    event: Uuid,
    /// For check-in staff, the rights version their right was last checked
    /// at; `None` for an ADMIN or the organizer, whose rights no staff
    /// change takes away (and who see every scan).
    checked_at: Option<i64>,
    first: Option<Published>,
    updates: watch::Receiver<Published>,
    expires: tokio::time::Instant,
}

impl Subscription {
    /// The next update; `None` when the subscription is over.
    pub async fn next(&mut self) -> Option<Arc<LiveUpdate>> {
        if *self.closing.borrow() {
            return None;
        }
        let published = match self.first.take() {
            Some(first) => first,
            None => {
                tokio::select! {
                    changed = self.updates.changed() => changed.ok()?,
                    _ = tokio::time::sleep_until(self.expires) => {
                        dropped("expired");
                        return None;
                    }
                    _ = self.closing.wait_for(|closing| *closing) => return None,
                }
                self.updates.borrow_and_update().clone()
            }
        };
        let Some(checked_at) = self.checked_at else {
            return Some(published.with_scan);
        };
        if published.rights_version != checked_at {
            match self.hub.runs_event(self.user, self.event).await {
                Ok(true) => self.checked_at = Some(published.rights_version),
                _ => {
                    dropped("revoked");
                    return None;
                }
            }
        }
        // Staff see their own scans, as in the scan log.
        let own = published.with_scan.scan.as_ref().is_some_and(|scan| scan.scanned_by == Some(self.user));
        Some(if own { published.with_scan } else { published.counts_only })
    }
}

/// A subscriber the hub let go of, or refused, and why.
fn dropped(reason: &'static str) {
    metrics::counter!(common::telemetry::metrics::LIVE_DROPPED, "reason" => reason).increment(1);
}

impl Drop for Subscription {
    fn drop(&mut self) {
        metrics::gauge!(common::telemetry::metrics::LIVE_SUBSCRIBERS).decrement(1.0);
        let mut topics = self.hub.topics.lock().expect("topics lock");
        if let Some(held) = topics.per_user.get_mut(&self.user) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                topics.per_user.remove(&self.user);
            }
        }
    }
}
