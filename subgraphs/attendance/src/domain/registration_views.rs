//! Reading registrations and tickets, as far as the reader may. A
//! registration is seen by its holder, the event's organizer and check-in
//! staff, and ADMINs; its ticket (with the secret, signed when shown) by the
//! holder, the organizer and ADMINs only: staff scan tickets, they do not
//! hand them out.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use common::page::{Cursor, Page};
use uuid::Uuid;

use super::{
    registration::{Registration, RegistrationStatus, RevokedTicket, Ticket},
    tickets::{KeyId, TicketClaims},
    AttendanceError, AttendanceService, EventRole, ListBy, Viewer, Visible,
};
use crate::storage;

/// Revoked tickets in one answer, at most: bounds `Event.revokedTickets`
/// (the cost estimate prices it at this many).
pub const MAX_REVOKED_TICKETS: u64 = 1_000;

/// A registration as one reader sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationView {
    pub registration: Registration,
    /// While confirmed, for the holder, the organizer and ADMINs.
    pub ticket: Option<Ticket>,
}

impl AttendanceService {
    /// Registrations by id, each shown only to those who may see it (two
    /// statements for any number, and a signature per ticket shown).
    pub async fn registrations_for(
        &self,
        viewer: Viewer,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, Visible<RegistrationView>)>, AttendanceError> {
        let rows = storage::registrations::find_many(&self.db, ids).await?;
        let roles = self.roles(viewer, rows.iter().map(|r| r.event_id)).await?;
        let mut found = Vec::with_capacity(rows.len());
        for registration in rows {
            let own = viewer.user == Some(registration.user_id);
            let role = roles.get(&registration.event_id);
            let id = registration.id;
            let shown = if viewer.everything || own || role.is_some() {
                let ticket_shown = viewer.everything || own || role == Some(&EventRole::Organizer);
                Visible::Shown(self.view(registration, ticket_shown).await?)
            } else {
                Visible::Hidden
            };
            found.push((id, shown));
        }
        Ok(found)
    }

    /// Pages of registrations of many events (for their organizer, check-in
    /// staff and ADMINs) or people (for themselves and ADMINs), oldest first,
    /// optionally of one status; empty for anyone else (one query).
    pub async fn registration_pages(
        &self,
        by: ListBy,
        owners: &[Uuid],
        viewer: Viewer,
        status: Option<RegistrationStatus>,
        first: u64,
        after: Option<Cursor>,
    ) -> Result<Vec<(Uuid, Page<RegistrationView>)>, AttendanceError> {
        let rows = storage::registrations::pages(&self.db, by, owners, viewer, status, after, first + 1).await?;
        // Staff list an event's registrations without tickets.
        let organizes = match by {
            ListBy::Event => self.roles(viewer, owners.iter().copied()).await?,
            ListBy::User => HashMap::new(),
        };
        let mut views = HashMap::with_capacity(rows.len());
        for (owner, registrations) in rows {
            let ticket_shown = viewer.everything
                || match by {
                    ListBy::User => true,
                    ListBy::Event => organizes.get(&owner) == Some(&EventRole::Organizer),
                };
            let mut page = Vec::with_capacity(registrations.len());
            for registration in registrations {
                page.push(self.view(registration, ticket_shown).await?);
            }
            views.insert(owner, page);
        }
        Ok(Page::per_owner(owners, views, first))
    }

    /// One event's registrations that `viewer` may list (the event must exist).
    pub async fn event_registrations(
        &self,
        viewer: Viewer,
        event_id: Uuid,
        status: Option<RegistrationStatus>,
        first: u64,
        after: Option<Cursor>,
    ) -> Result<Page<RegistrationView>, AttendanceError> {
        self.event(event_id).await?;
        let mut pages = self.registration_pages(ListBy::Event, &[event_id], viewer, status, first, after).await?;
        Ok(pages.pop().map(|(_, page)| page).unwrap_or_else(Page::empty))
    }

    /// One registration, for those who may see it.
    pub async fn readable_registration(&self, viewer: Viewer, id: Uuid) -> Result<RegistrationView, AttendanceError> {
        match self.registrations_for(viewer, &[id]).await?.pop() {
            None => Err(AttendanceError::RegistrationNotFound),
            Some((_, Visible::Shown(view))) => Ok(view),
            Some((_, Visible::Hidden)) => {
                Err(AttendanceError::Hidden { what: "registration", anonymous: viewer.user.is_none() })
            }
        }
    }

    /// How many registrations of each owner `viewer` may list (one query).
    pub async fn registration_counts(
        &self,
        by: ListBy,
        owners: &[Uuid],
        viewer: Viewer,
        status: Option<RegistrationStatus>,
    ) -> Result<HashMap<Uuid, i64>, AttendanceError> {
        Ok(storage::registrations::counts(&self.db, by, owners, viewer, status).await?)
    }

    /// Each event's first `MAX_REVOKED_TICKETS` tickets revoked after
    /// `since` (all, without), oldest first: for the event's organizer,
    /// check-in staff and ADMINs, whose scanners check tickets offline (and
    /// ask again from the last one's `revoked_at` for more); none for anyone
    /// else (one query).
    pub async fn revoked_tickets(
        &self,
        viewer: Viewer,
        events: &[Uuid],
        since: Option<DateTime<Utc>>,
    ) -> Result<HashMap<Uuid, Vec<RevokedTicket>>, AttendanceError> {
        Ok(storage::registrations::revoked_tickets(&self.db, events, viewer, since, MAX_REVOKED_TICKETS).await?)
    }

    /// The public halves of the ticket keys, for scanners that check tickets
    /// offline: the signing key first.
    pub fn ticket_keys(&self) -> Vec<(KeyId, [u8; 32])> {
        self.tickets.public_keys().collect()
    }

    /// A registration as shown, with its ticket signed when `ticket_shown`.
    pub(super) async fn view(
        &self,
        registration: Registration,
        ticket_shown: bool,
    ) -> Result<RegistrationView, AttendanceError> {
        let ticket = if ticket_shown { self.signed_ticket(&registration).await? } else { None };
        Ok(RegistrationView { registration, ticket })
    }

    /// The registration's ticket with its secret. A ticket whose key was
    /// retired is reissued with the current key first (the old one is
    /// revoked, so scanners learn of it).
    async fn signed_ticket(&self, registration: &Registration) -> Result<Option<Ticket>, AttendanceError> {
        let Some(facts) = &registration.ticket else { return Ok(None) };
        let claims = |facts: &super::registration::TicketFacts| TicketClaims {
            ticket_id: facts.id,
            event_id: registration.event_id,
            valid_until: facts.valid_until,
            key_id: facts.key_id,
        };
        if let Some(secret) = self.tickets.secret(&claims(facts)) {
            return Ok(Some(Ticket { id: facts.id, secret, key_id: facts.key_id, issued_at: facts.issued_at }));
        }
        let event = self.event(registration.event_id).await?;
        let reissued = storage::registrations::reissue(&self.db, registration.id, &self.issuing(&event)).await?;
        tracing::info!(registration_id = %registration.id, retired_key = %facts.key_id, "ticket reissued");
        Ok(reissued.and_then(|r| {
            let facts = r.ticket?;
            let secret = self.tickets.secret(&claims(&facts))?;
            Some(Ticket { id: facts.id, secret, key_id: facts.key_id, issued_at: facts.issued_at })
        }))
    }
}
