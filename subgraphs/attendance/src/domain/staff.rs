//! Check-in staff: people the organizer names to scan at an event, and the
//! rights that follow from running an event.

use std::collections::HashMap;

use common::auth::Caller;
use uuid::Uuid;

use super::{AttendanceError, AttendanceService, Viewer};
use crate::storage;

/// Check-in staff one event may have: bounds `Event.checkInStaff`, an
/// unpaged list (the cost estimate prices it at this many).
pub const MAX_CHECK_IN_STAFF: usize = 50;

/// Events listed in `User.checkInStaffAt`, at most (the most recent grants):
/// an unpaged list, priced at this many.
pub const MAX_STAFFED_EVENTS: u64 = 100;

impl AttendanceService {
    /// The check-in staff of each event, for its organizer and ADMINs; for
    /// everyone else none (one query).
    pub async fn staff(&self, viewer: Viewer, events: &[Uuid]) -> Result<HashMap<Uuid, Vec<Uuid>>, AttendanceError> {
        if viewer.is_nobody() {
            return Ok(Default::default());
        }
        Ok(storage::staff_of(&self.db, events, viewer.everything, viewer.user).await?)
    }

    /// The events each of `users` is check-in staff of, most recently named
    /// first: a person's own, and anyone's for ADMINs; none for everyone
    /// else (one query).
    pub async fn events_staffed_by(
        &self,
        viewer: Viewer,
        users: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<Uuid>>, AttendanceError> {
        let users: Vec<Uuid> = users.iter().copied().filter(|u| viewer.everything || viewer.user == Some(*u)).collect();
        if users.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(storage::events_staffed_by(&self.db, &users, MAX_STAFFED_EVENTS).await?)
    }

    /// The organizer or an ADMIN names `user` check-in staff of the event:
    /// they may then check people in there and read its door list (names and
    /// times; emails stay the auth service's to give). Returns the staff.
    pub async fn add_staff(&self, caller: &Caller, event_id: Uuid, user: Uuid) -> Result<Vec<Uuid>, AttendanceError> {
        let (granter, event) = self.authorize_organizer(caller, event_id, "name its check-in staff").await?;
        let staff = self.all_staff(event_id).await?;
        if staff.len() >= MAX_CHECK_IN_STAFF && !staff.contains(&user) {
            return Err(AttendanceError::Invalid(format!(
                "an event may have at most {MAX_CHECK_IN_STAFF} check-in staff"
            )));
        }
        if !self.users.exists(user).await? {
            return Err(AttendanceError::UserNotFound);
        }
        storage::add_staff(&self.db, event.id, event.organizer_id, user, granter).await?;
        tracing::info!(%event_id, staff = %user, by = %granter, "check-in staff added");
        self.all_staff(event_id).await
    }

    /// The organizer or an ADMIN takes `user`'s check-in rights at the event
    /// away, at once for every request after this one, and for every live
    /// update read after it (the event's rights version moves on). Returns
    /// the staff.
    pub async fn remove_staff(
        &self,
        caller: &Caller,
        event_id: Uuid,
        user: Uuid,
    ) -> Result<Vec<Uuid>, AttendanceError> {
        let (granter, event) = self.authorize_organizer(caller, event_id, "name its check-in staff").await?;
        if storage::remove_staff(&self.db, event.id, user).await? {
            tracing::info!(%event_id, staff = %user, by = %granter, "check-in staff removed");
        }
        self.all_staff(event_id).await
    }

    async fn all_staff(&self, event_id: Uuid) -> Result<Vec<Uuid>, AttendanceError> {
        Ok(storage::staff_of(&self.db, &[event_id], true, None).await?.remove(&event_id).unwrap_or_default())
    }

    /// Of `users`, those registered themselves (any status but declined) for
    /// an event `organizer` organizes: the auth service asks this before it
    /// shows an organizer people's emails.
    pub async fn profiles_visible_to(&self, organizer: Uuid, users: &[Uuid]) -> Result<Vec<Uuid>, AttendanceError> {
        Ok(storage::profiles_visible_to(&self.db, organizer, users).await?)
    }
}
