//! DataLoaders: every per-parent lookup goes through one of these, so the
//! router's batched `_entities` calls become one SQL statement per kind.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use common::{graphql::Cursor, time::Timestamp, ApiError};
use uuid::Uuid;

use crate::domain::{Attendance, AttendanceService, AttendanceStats, ListBy, Page};

pub struct AttendanceLoader(pub AttendanceService);

impl Loader<Uuid> for AttendanceLoader {
    type Value = Attendance;
    type Error = ApiError;

    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Attendance>, ApiError> {
        Ok(self.0.get_many(ids).await?.into_iter().map(|a| (a.id, a)).collect())
    }
}

/// One page of one owner's check-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub by: ListBy,
    pub owner: Uuid,
    pub first: u64,
    pub after: Option<Cursor>,
}

pub struct PageLoader(pub AttendanceService);

impl Loader<PageKey> for PageLoader {
    type Value = Page<Attendance>;
    type Error = ApiError;

    /// One query per distinct (list kind, page size, cursor): in practice one.
    async fn load(&self, keys: &[PageKey]) -> Result<HashMap<PageKey, Self::Value>, ApiError> {
        let mut groups: HashMap<(ListBy, u64, Option<Cursor>), Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups.entry((key.by, key.first, key.after)).or_default().push(key.owner);
        }
        let mut pages = HashMap::new();
        for ((by, first, after), owners) in groups {
            for (owner, page) in self.0.pages(by, &owners, first, after).await? {
                pages.insert(PageKey { by, owner, first, after }, page);
            }
        }
        Ok(pages)
    }
}

pub struct CountLoader(pub AttendanceService);

impl Loader<(ListBy, Uuid)> for CountLoader {
    type Value = i64;
    type Error = ApiError;

    async fn load(&self, keys: &[(ListBy, Uuid)]) -> Result<HashMap<(ListBy, Uuid), i64>, ApiError> {
        let mut counts = HashMap::new();
        for by in [ListBy::Event, ListBy::User] {
            let owners: Vec<Uuid> = keys.iter().filter(|(b, _)| *b == by).map(|(_, o)| *o).collect();
            if owners.is_empty() {
                continue;
            }
            for (owner, n) in self.0.counts(by, &owners).await? {
                counts.insert((by, owner), n);
            }
        }
        Ok(counts)
    }
}

/// Statistics keyed by event and its start time (provided by the router).
pub struct StatsLoader(pub AttendanceService);

impl Loader<(Uuid, Timestamp)> for StatsLoader {
    type Value = AttendanceStats;
    type Error = ApiError;

    async fn load(&self, keys: &[(Uuid, Timestamp)]) -> Result<HashMap<(Uuid, Timestamp), AttendanceStats>, ApiError> {
        let mut stats = self.0.stats(keys).await?;
        Ok(keys.iter().filter_map(|key| Some((*key, stats.remove(&key.0)?))).collect())
    }
}
