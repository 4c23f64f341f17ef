//! Loaders of registrations: every per-parent lookup of a registration,
//! a list, a count, a policy, a summary or a revoked list goes through one of
//! these, so a page of events costs one SQL statement per kind.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use chrono::{DateTime, Utc};
use common::{
    graphql::grouped,
    page::{Cursor, Page},
    ApiError,
};
use uuid::Uuid;

use crate::domain::{
    registration::{RegistrationPolicy, RegistrationStatus, RegistrationSummary, RevokedTicket},
    AttendanceService, ListBy, RegistrationView, Viewer, Visible,
};

pub(super) struct RegistrationLoader(pub AttendanceService);

impl Loader<(Viewer, Uuid)> for RegistrationLoader {
    type Value = Visible<RegistrationView>;
    type Error = ApiError;

    async fn load(&self, keys: &[(Viewer, Uuid)]) -> Result<HashMap<(Viewer, Uuid), Self::Value>, ApiError> {
        let mut found = HashMap::new();
        for (viewer, ids) in grouped(keys, |&(viewer, id)| (viewer, id)) {
            for (id, registration) in self.0.registrations_for(viewer, &ids).await? {
                found.insert((viewer, id), registration);
            }
        }
        Ok(found)
    }
}

/// How many registrations of one owner, of one status or all, one viewer may list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct RegistrationCountKey {
    pub by: ListBy,
    pub owner: Uuid,
    pub viewer: Viewer,
    pub status: Option<RegistrationStatus>,
}

/// One page of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct RegistrationPageKey {
    pub list: RegistrationCountKey,
    pub first: u64,
    pub after: Option<Cursor>,
}

pub(super) struct RegistrationPageLoader(pub AttendanceService);

impl Loader<RegistrationPageKey> for RegistrationPageLoader {
    type Value = Page<RegistrationView>;
    type Error = ApiError;

    /// One query per distinct (list kind, viewer, status, page size, cursor).
    async fn load(&self, keys: &[RegistrationPageKey]) -> Result<HashMap<RegistrationPageKey, Self::Value>, ApiError> {
        let mut pages = HashMap::new();
        let groups = grouped(keys, |k| ((k.list.by, k.list.viewer, k.list.status, k.first, k.after), k.list.owner));
        for ((by, viewer, status, first, after), owners) in groups {
            for (owner, page) in self.0.registration_pages(by, &owners, viewer, status, first, after).await? {
                let list = RegistrationCountKey { by, owner, viewer, status };
                pages.insert(RegistrationPageKey { list, first, after }, page);
            }
        }
        Ok(pages)
    }
}

pub(super) struct RegistrationCountLoader(pub AttendanceService);

impl Loader<RegistrationCountKey> for RegistrationCountLoader {
    type Value = i64;
    type Error = ApiError;

    async fn load(&self, keys: &[RegistrationCountKey]) -> Result<HashMap<RegistrationCountKey, i64>, ApiError> {
        let mut counts = HashMap::new();
        for ((by, viewer, status), owners) in grouped(keys, |k| ((k.by, k.viewer, k.status), k.owner)) {
            for (owner, n) in self.0.registration_counts(by, &owners, viewer, status).await? {
                counts.insert(RegistrationCountKey { by, owner, viewer, status }, n);
            }
        }
        Ok(counts)
    }
}

/// Registration policies by event.
pub(super) struct RegistrationPolicyLoader(pub AttendanceService);

impl Loader<Uuid> for RegistrationPolicyLoader {
    type Value = RegistrationPolicy;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, RegistrationPolicy>, ApiError> {
        Ok(self.0.registration_policies(keys).await?)
    }
}

/// Registration summaries by event and its capacity (provided by the
/// router; `None` when not, and then asked for).
pub(super) struct SummaryLoader(pub AttendanceService);

impl Loader<(Uuid, Option<Option<i32>>)> for SummaryLoader {
    type Value = RegistrationSummary;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[(Uuid, Option<Option<i32>>)],
    ) -> Result<HashMap<(Uuid, Option<Option<i32>>), RegistrationSummary>, ApiError> {
        let summaries = self.0.registration_summaries(keys).await?;
        Ok(keys.iter().filter_map(|key| Some((*key, summaries.get(&key.0)?.clone()))).collect())
    }
}

/// One event's revoked tickets since a time, as one viewer may read them.
pub(super) struct RevokedLoader(pub AttendanceService);

impl Loader<(Viewer, Option<DateTime<Utc>>, Uuid)> for RevokedLoader {
    type Value = Vec<RevokedTicket>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[(Viewer, Option<DateTime<Utc>>, Uuid)],
    ) -> Result<HashMap<(Viewer, Option<DateTime<Utc>>, Uuid), Self::Value>, ApiError> {
        let mut found = HashMap::new();
        for ((viewer, since), events) in grouped(keys, |&(viewer, since, event)| ((viewer, since), event)) {
            for (event, revoked) in self.0.revoked_tickets(viewer, &events, since).await? {
                found.insert((viewer, since, event), revoked);
            }
        }
        Ok(found)
    }
}
