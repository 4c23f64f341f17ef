//! Loaders: every per-parent lookup goes through one of these, so the
//! router's batched `_entities` calls become one SQL statement per kind.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use common::{
    graphql::grouped,
    page::{Cursor, Page},
    time::Timestamp,
    ApiError,
};
use uuid::Uuid;

use crate::domain::{
    Attendance, AttendanceService, AttendanceStats, CheckInPolicy, ListBy, Scan, ScanFilter, Viewer, Visible,
};

pub(super) struct AttendanceLoader(pub AttendanceService);

impl Loader<(Viewer, Uuid)> for AttendanceLoader {
    type Value = Visible<Attendance>;
    type Error = ApiError;

    async fn load(&self, keys: &[(Viewer, Uuid)]) -> Result<HashMap<(Viewer, Uuid), Self::Value>, ApiError> {
        let mut found = HashMap::new();
        for (viewer, ids) in grouped(keys, |&(viewer, id)| (viewer, id)) {
            for (id, attendance) in self.0.attendances_for(viewer, &ids).await? {
                found.insert((viewer, id), attendance);
            }
        }
        Ok(found)
    }
}

/// The check-in staff of one event, as one viewer may see them.
pub(super) struct StaffLoader(pub AttendanceService);

impl Loader<(Viewer, Uuid)> for StaffLoader {
    type Value = Vec<Uuid>;
    type Error = ApiError;

    async fn load(&self, keys: &[(Viewer, Uuid)]) -> Result<HashMap<(Viewer, Uuid), Vec<Uuid>>, ApiError> {
        let mut found = HashMap::new();
        for (viewer, events) in grouped(keys, |&(viewer, event)| (viewer, event)) {
            for (event, staff) in self.0.staff(viewer, &events).await? {
                found.insert((viewer, event), staff);
            }
        }
        Ok(found)
    }
}

/// The events each person is check-in staff of, as one viewer may see them.
pub(super) struct StaffedEventsLoader(pub AttendanceService);

impl Loader<(Viewer, Uuid)> for StaffedEventsLoader {
    type Value = Vec<Uuid>;
    type Error = ApiError;

    async fn load(&self, keys: &[(Viewer, Uuid)]) -> Result<HashMap<(Viewer, Uuid), Vec<Uuid>>, ApiError> {
        let mut found = HashMap::new();
        for (viewer, users) in grouped(keys, |&(viewer, user)| (viewer, user)) {
            for (user, events) in self.0.events_staffed_by(viewer, &users).await? {
                found.insert((viewer, user), events);
            }
        }
        Ok(found)
    }
}

/// One page of one owner's check-ins, as one viewer may read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct PageKey {
    pub by: ListBy,
    pub owner: Uuid,
    pub viewer: Viewer,
    pub first: u64,
    pub after: Option<Cursor>,
}

pub(super) struct PageLoader(pub AttendanceService);

impl Loader<PageKey> for PageLoader {
    type Value = Page<Attendance>;
    type Error = ApiError;

    /// One query per distinct (list kind, viewer, page size, cursor).
    async fn load(&self, keys: &[PageKey]) -> Result<HashMap<PageKey, Self::Value>, ApiError> {
        let mut pages = HashMap::new();
        for ((by, viewer, first, after), owners) in grouped(keys, |k| ((k.by, k.viewer, k.first, k.after), k.owner)) {
            for (owner, page) in self.0.pages(by, &owners, viewer, first, after).await? {
                pages.insert(PageKey { by, owner, viewer, first, after }, page);
            }
        }
        Ok(pages)
    }
}

/// How many check-ins of one owner one viewer may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct CountKey {
    pub by: ListBy,
    pub owner: Uuid,
    pub viewer: Viewer,
}

pub(super) struct CountLoader(pub AttendanceService);

impl Loader<CountKey> for CountLoader {
    type Value = i64;
    type Error = ApiError;

    async fn load(&self, keys: &[CountKey]) -> Result<HashMap<CountKey, i64>, ApiError> {
        let mut counts = HashMap::new();
        for ((by, viewer), owners) in grouped(keys, |k| ((k.by, k.viewer), k.owner)) {
            for (owner, n) in self.0.counts(by, &owners, viewer).await? {
                counts.insert(CountKey { by, owner, viewer }, n);
            }
        }
        Ok(counts)
    }
}

/// Statistics keyed by event and its start time (provided by the router).
pub(super) struct StatsLoader(pub AttendanceService);

impl Loader<(Uuid, Timestamp)> for StatsLoader {
    type Value = AttendanceStats;
    type Error = ApiError;

    async fn load(&self, keys: &[(Uuid, Timestamp)]) -> Result<HashMap<(Uuid, Timestamp), AttendanceStats>, ApiError> {
        let mut stats = self.0.stats(keys).await?;
        Ok(keys.iter().filter_map(|key| Some((*key, stats.remove(&key.0)?))).collect())
    }
}

/// One page of one event's scan log, as one viewer may read it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct ScanLogKey {
    pub event: Uuid,
    pub viewer: Viewer,
    pub filter: ScanFilter,
    pub first: u64,
    pub after: Option<Cursor>,
}

pub(super) struct ScanLogLoader(pub AttendanceService);

impl Loader<ScanLogKey> for ScanLogLoader {
    type Value = Page<Scan>;
    type Error = ApiError;

    /// One query per distinct (viewer, filter, page size, cursor).
    async fn load(&self, keys: &[ScanLogKey]) -> Result<HashMap<ScanLogKey, Self::Value>, ApiError> {
        let mut pages = HashMap::new();
        let groups = grouped(keys, |k| ((k.viewer, k.filter.clone(), k.first, k.after), k.event));
        for ((viewer, filter, first, after), events) in groups {
            for (event, page) in self.0.scan_logs(viewer, &events, &filter, first, after).await? {
                pages.insert(ScanLogKey { event, viewer, filter: filter.clone(), first, after }, page);
            }
        }
        Ok(pages)
    }
}

/// Check-in policies by event.
pub(super) struct PolicyLoader(pub AttendanceService);

impl Loader<Uuid> for PolicyLoader {
    type Value = CheckInPolicy;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, CheckInPolicy>, ApiError> {
        Ok(self.0.policies(keys).await?)
    }
}
