//! An event's attendance statistics.

use std::collections::HashMap;

use common::time::Timestamp;
use uuid::Uuid;

use super::{AttendanceError, AttendanceService, AttendanceStats};
use crate::storage;

impl AttendanceService {
    /// Statistics of one event; its start time comes from the event service.
    pub async fn event_stats(&self, event_id: Uuid) -> Result<AttendanceStats, AttendanceError> {
        let event = self.event(event_id).await?;
        let mut stats = self.stats(&[(event_id, event.start_time)]).await?;
        Ok(stats.remove(&event_id).unwrap_or_else(|| AttendanceStats::empty(event_id)))
    }

    /// Statistics of many events whose start times are known (one query).
    pub async fn stats(&self, events: &[(Uuid, Timestamp)]) -> Result<HashMap<Uuid, AttendanceStats>, AttendanceError> {
        let events: Vec<_> = events.iter().map(|(id, start)| (*id, start.0)).collect();
        Ok(storage::stats(&self.db, &events).await?)
    }
}
