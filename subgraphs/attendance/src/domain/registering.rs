//! The registration desk: people register themselves for events; the
//! organizer (or an ADMIN) sets the policy and decides requests; the holder,
//! the organizer or an ADMIN cancels. Who gets a place is decided in SQL,
//! under the event's registration row lock (`registration_verdict`, called by
//! `register_batch` and `decide_registration`); a cancelled place goes to the
//! waitlist in the same transaction (`cancel_registration`).

use chrono::Utc;
use common::auth::{Caller, TokenRequired};
use uuid::Uuid;

use super::{
    registration::{
        Placement, Registration, RegistrationPolicy, RegistrationPolicyPatch, RegistrationStatus, RegistrationSummary,
    },
    AttendanceError, AttendanceService, RegistrationView,
};
use crate::{
    clients::{EventInfo, EventStatus},
    storage::{
        self,
        registrations::{Decision, Issuing, NewRegistration, Registered},
    },
};

/// How long after its event ends a ticket stays valid (a scanner's clock
/// may be off, and an event may run late).
const TICKET_VALID_AFTER_END: chrono::Duration = chrono::Duration::days(2);
/// The most places a registration policy may set.
pub const MAX_REGISTRATION_CAPACITY: i32 = 1_000_000;

impl AttendanceService {
    /// The signed-in caller registers themself for the event: confirmed with
    /// a ticket while there is room, else waitlisted (if the event keeps a
    /// waitlist) or refused with `EVENT_FULL`; a request waits for approval
    /// where the organizer approves each. Registering again answers the
    /// existing registration.
    pub async fn register(&self, caller: &Caller, event_id: Uuid) -> Result<RegistrationView, AttendanceError> {
        let user = caller.user_id().ok_or(AttendanceError::TokenRequired(TokenRequired))?;
        let mut event = self.event(event_id).await?;
        for _ in 0..super::scanning::STALE_RETRIES {
            let issuing = self.issuing(&event);
            let request = NewRegistration {
                event_id: event.id,
                user_id: user,
                organizer_id: event.organizer_id,
                event_capacity: event.capacity,
                event_updated_at: event.updated_at.0,
                event_cancelled: event.status == EventStatus::Cancelled,
                event_ended: event.end_time.0 < Utc::now(),
                signing_key: issuing.signing_key,
                valid_until: issuing.valid_until,
            };
            match self.registrations.write(request).await? {
                Registered::Placement(placement) => {
                    let registration = placed(placement)?;
                    tracing::info!(registration_id = %registration.id, %event_id, status = registration.status.as_str(), "registered");
                    return self.view(registration, true).await;
                }
                Registered::StaleEvent => event = self.changed_event(event.id).await?,
            }
        }
        Err(super::scanning::stale_event())
    }

    /// Cancels a registration: by its holder, the event's organizer or an
    /// ADMIN. Its ticket is revoked and its place goes to the first person
    /// on the waitlist at once. Cancelling again changes nothing.
    pub async fn cancel_registration(&self, caller: &Caller, id: Uuid) -> Result<RegistrationView, AttendanceError> {
        let by = caller.user_id().ok_or(AttendanceError::TokenRequired(TokenRequired))?;
        let registration = self.registration(id).await?;
        let event = self.event(registration.event_id).await?;
        if !(registration.user_id == by || caller.is_admin() || event.organizer_id == Some(by)) {
            return Err(AttendanceError::Forbidden(
                "only the person registered, the event's organizer or an admin may cancel a registration",
            ));
        }
        let cancelled = storage::registrations::cancel(&self.db, id, &self.issuing(&event))
            .await?
            .ok_or(AttendanceError::RegistrationNotFound)?;
        tracing::info!(registration_id = %id, event_id = %event.id, %by, "registration cancelled");
        self.view(cancelled, true).await
    }

    /// The organizer (or an ADMIN) approves a request (confirmed while there
    /// is room, else waitlisted or refused with `EVENT_FULL`) or declines it
    /// (a waitlisted person may be declined too). Deciding again answers the
    /// registration as it is.
    pub async fn decide_registration(
        &self,
        caller: &Caller,
        id: Uuid,
        approve: bool,
    ) -> Result<RegistrationView, AttendanceError> {
        let registration = self.registration(id).await?;
        let action = if approve { "approve its registrations" } else { "decline its registrations" };
        let (by, event) = self.authorize_organizer(caller, registration.event_id, action).await?;
        let decided = match storage::registrations::decide(&self.db, id, approve, &self.issuing(&event)).await? {
            None => return Err(AttendanceError::RegistrationNotFound),
            Some(Decision::Decided(placement)) => placed(placement)?,
            Some(Decision::Unchanged(registration)) => {
                let already = match registration.status {
                    RegistrationStatus::Confirmed | RegistrationStatus::Waitlisted => approve,
                    RegistrationStatus::Declined => !approve,
                    _ => false,
                };
                if !already {
                    return Err(AttendanceError::Invalid(format!(
                        "a {} registration cannot be {}",
                        registration.status.as_str().to_lowercase().replace('_', " "),
                        if approve { "approved" } else { "declined" }
                    )));
                }
                registration
            }
        };
        tracing::info!(registration_id = %id, %by, status = decided.status.as_str(), "registration decided");
        self.view(decided, true).await
    }

    /// The organizer or an ADMIN changes how the event takes registrations
    /// (absent fields stay); places a larger capacity frees go to the waitlist.
    pub async fn set_registration_policy(
        &self,
        caller: &Caller,
        event_id: Uuid,
        patch: RegistrationPolicyPatch,
    ) -> Result<RegistrationPolicy, AttendanceError> {
        if patch.capacity.flatten().is_some_and(|c| !(0..=MAX_REGISTRATION_CAPACITY).contains(&c)) {
            return Err(AttendanceError::Invalid(format!(
                "`capacity` must be from 0 to {MAX_REGISTRATION_CAPACITY}, or null for the event's capacity"
            )));
        }
        let (by, event) = self.authorize_organizer(caller, event_id, "change its registration policy").await?;
        let issuing = self.issuing(&event);
        let policy =
            storage::registrations::set_policy(&self.db, event.id, event.organizer_id, &patch, &issuing).await?;
        tracing::info!(%event_id, %by, ?policy, "registration policy set");
        Ok(policy)
    }

    /// Each event's registration policy (anyone may read them; one query).
    pub async fn registration_policies(
        &self,
        events: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, RegistrationPolicy>, AttendanceError> {
        let found = storage::registrations::policies(&self.db, events).await?;
        Ok(found.into_iter().map(|(event, (policy, _))| (event, policy)).collect())
    }

    /// Each event's registrations counted (public; one query, whatever the
    /// number of registrations), with the event's capacity as given (the
    /// router provides it); an event given as `None` is asked for.
    pub async fn registration_summaries(
        &self,
        events: &[(Uuid, Option<Option<i32>>)],
    ) -> Result<std::collections::HashMap<Uuid, RegistrationSummary>, AttendanceError> {
        let ids: Vec<Uuid> = events.iter().map(|(id, _)| *id).collect();
        let mut found = storage::registrations::policies(&self.db, &ids).await?;
        let mut summaries = std::collections::HashMap::with_capacity(events.len());
        for (event, capacity) in events {
            let event_capacity = match capacity {
                Some(capacity) => *capacity,
                None => self.event(*event).await?.capacity,
            };
            let (policy, [confirmed, waitlisted, pending]) = found.remove(event).unwrap_or_default();
            let capacity = policy.capacity_or(event_capacity);
            let remaining = capacity.map(|c| (c - confirmed).max(0));
            summaries.insert(*event, RegistrationSummary { confirmed, waitlisted, pending, capacity, remaining });
        }
        Ok(summaries)
    }

    /// One registration, whoever asks (for the use cases that check rights themselves).
    async fn registration(&self, id: Uuid) -> Result<Registration, AttendanceError> {
        let mut found = storage::registrations::find_many(&self.db, &[id]).await?;
        found.pop().ok_or(AttendanceError::RegistrationNotFound)
    }

    /// How tickets issued now for the event are made.
    pub(super) fn issuing(&self, event: &EventInfo) -> Issuing {
        Issuing {
            event_capacity: event.capacity,
            signing_key: self.tickets.signing_key_id(),
            valid_until: event.end_time.0 + TICKET_VALID_AFTER_END,
        }
    }

    /// After the event changed: places a larger event capacity frees go to
    /// its waitlist (only events with people waiting are asked about).
    pub(super) async fn promote_after_change(&self, event_id: Uuid) -> Result<(), AttendanceError> {
        let counts = storage::registrations::policies(&self.db, &[event_id]).await?;
        if counts.get(&event_id).is_some_and(|(_, [_, waitlisted, _])| *waitlisted > 0) {
            let event = self.changed_event(event_id).await?;
            storage::registrations::promote(&self.db, event_id, &self.issuing(&event)).await?;
        }
        Ok(())
    }
}

/// A placement as the caller hears it: the registration, or why none.
fn placed(placement: Placement) -> Result<Registration, AttendanceError> {
    match placement {
        Placement::Placed(registration) => Ok(registration),
        Placement::EventFull => Err(AttendanceError::EventFull),
        Placement::EventCancelled => Err(AttendanceError::EventCancelled),
        Placement::RegistrationClosed => Err(AttendanceError::RegistrationClosed),
    }
}
