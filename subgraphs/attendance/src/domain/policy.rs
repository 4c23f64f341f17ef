//! How an event's door works, set by its organizer or an ADMIN.

use std::collections::HashMap;

use common::auth::Caller;
use uuid::Uuid;

use super::{AttendanceError, AttendanceService, CheckInPolicy, CheckInPolicyPatch};
use crate::storage;

impl AttendanceService {
    /// The check-in policies of many events; anyone may read them (one query).
    pub async fn policies(&self, events: &[Uuid]) -> Result<HashMap<Uuid, CheckInPolicy>, AttendanceError> {
        Ok(storage::policies(&self.db, events).await?)
    }

    /// The organizer or an ADMIN changes how the event's door works; scans
    /// after this call follow the new policy.
    pub async fn set_policy(
        &self,
        caller: &Caller,
        event_id: Uuid,
        patch: CheckInPolicyPatch,
    ) -> Result<CheckInPolicy, AttendanceError> {
        let (by, event) = self.authorize_organizer(caller, event_id, "change its check-in policy").await?;
        let policy = storage::set_policy(&self.db, event.id, event.organizer_id, &patch).await?;
        tracing::info!(%event_id, %by, ?policy, "check-in policy set");
        Ok(policy)
    }
}
