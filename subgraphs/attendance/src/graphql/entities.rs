//! The attendance subgraph's view of other subgraphs' entities (`Event`,
//! `User`) with the fields it contributes to them, the fields of its own
//! objects that point at those entities, and the lists of check-ins.

use async_graphql::{ComplexObject, Context, Object, ID};
use common::{
    graphql::{caller, load_one, PageInfo},
    page::{page_size, Cursor, Page},
    time::Timestamp,
    ApiError,
};
use uuid::Uuid;

use super::loaders::{
    AttendanceLoader, CountKey, CountLoader, PageKey, PageLoader, PolicyLoader, ScanLogKey, ScanLogLoader, StaffLoader,
    StaffedEventsLoader, StatsLoader,
};
use super::registrations::{self, RegistrationConnection};
use crate::{
    domain::{self, AttendanceError, AttendanceService, ListBy, Viewer, Visible},
    wire::{
        Attendance, AttendanceStats, CheckInPolicy, RegistrationPolicy, RegistrationStatus, RegistrationSummary,
        RevokedTicket, Scan, ScanFilterInput, ScanPage,
    },
};

/// Attendance lists may be long (a whole door list at once); events pages are 100 at most.
pub(super) const MAX_PAGE_SIZE: i32 = 1_000;
const DEFAULT_PAGE_SIZE: i32 = 50;

/// A list of check-ins, holding only those its reader may see (and counting
/// only those): lists are filtered, never refused.
pub(super) struct AttendanceConnection {
    pub(super) page: Page<domain::Attendance>,
    pub(super) count_key: CountKey,
}

#[Object]
impl AttendanceConnection {
    /// The check-ins of this list the reader may see.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32, ApiError> {
        let count = load_one::<CountLoader, _>(ctx, self.count_key).await?.unwrap_or(0);
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    async fn nodes(&self) -> Vec<Attendance> {
        self.page.items.iter().cloned().map(Attendance::from).collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.page.has_next,
            end_cursor: self.page.end_cursor(|a| Cursor { at: a.check_in_time.0, id: a.id }),
        }
    }
}

/// Arguments shared by every attendance list.
pub(super) fn page_args(first: Option<i32>, after: Option<String>) -> Result<(u64, Option<Cursor>), ApiError> {
    let first = page_size(first.unwrap_or(DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)?;
    let after = after.as_deref().map(Cursor::decode).transpose()?;
    Ok((first, after))
}

pub(super) async fn connection(
    ctx: &Context<'_>,
    by: ListBy,
    owner: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> Result<AttendanceConnection, ApiError> {
    let (first, after) = page_args(first, after)?;
    let viewer = Viewer::of(caller(ctx));
    let key = PageKey { by, owner, viewer, first, after };
    let page = load_one::<PageLoader, _>(ctx, key).await?;
    let page = page.unwrap_or_else(Page::empty);
    Ok(AttendanceConnection { page, count_key: CountKey { by, owner, viewer } })
}

/// One check-in by id, for those who may see it (null for an unknown id;
/// null with `FORBIDDEN`, or `UNAUTHENTICATED` without a token, for a hidden one).
pub(super) async fn readable_attendance(ctx: &Context<'_>, id: Uuid) -> Result<Option<Attendance>, ApiError> {
    let caller = caller(ctx);
    let found = load_one::<AttendanceLoader, _>(ctx, (Viewer::of(caller), id)).await?;
    match found {
        None => Ok(None),
        Some(Visible::Shown(attendance)) => Ok(Some(attendance.into())),
        Some(Visible::Hidden) => {
            Err(AttendanceError::Hidden { what: "check-in", anonymous: caller.user_id().is_none() }.into())
        }
    }
}

pub(super) fn user_refs(ids: Vec<Uuid>) -> Vec<UserRef> {
    ids.into_iter().map(|id| UserRef { id }).collect()
}

// The attendance subgraph's view of the event subgraph's entity (kept
// undocumented: descriptions belong to the owner).
pub struct EventRef {
    pub(super) id: Uuid,
    pub(super) start_time: Option<Timestamp>,
    /// Provided by the router for `registrationSummary` (`None`: not provided).
    pub(super) capacity: Option<Option<i32>>,
}

impl EventRef {
    pub fn new(id: Uuid, start_time: Option<Timestamp>) -> Self {
        EventRef { id, start_time, capacity: None }
    }
}

#[Object(name = "Event")]
impl EventRef {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    #[graphql(external)]
    async fn start_time(&self) -> Result<Timestamp, ApiError> {
        self.start_time.ok_or_else(|| ApiError::internal("startTime was not provided by the router"))
    }

    #[graphql(external)]
    async fn capacity(&self) -> Result<Option<i32>, ApiError> {
        self.capacity.ok_or_else(|| ApiError::internal("capacity was not provided by the router"))
    }

    /// How this event takes registrations (the defaults until its organizer sets it).
    async fn registration_policy(&self, ctx: &Context<'_>) -> Result<RegistrationPolicy, ApiError> {
        registrations::policy(ctx, self.id).await
    }

    /// This event's registrations, counted (public).
    #[graphql(requires = "capacity")]
    async fn registration_summary(&self, ctx: &Context<'_>) -> Result<RegistrationSummary, ApiError> {
        registrations::summary(ctx, self.id, self.capacity).await
    }

    /// This event's registrations, oldest first: for its organizer and
    /// ADMINs (with tickets), and its check-in staff (without); empty for
    /// everyone else. Emails are the auth service's to show: the organizer's.
    async fn registrations(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
        status: Option<RegistrationStatus>,
    ) -> Result<RegistrationConnection, ApiError> {
        registrations::connection(ctx, ListBy::Event, self.id, status, first, after).await
    }

    /// Tickets of this event revoked after `since` (all, without), oldest
    /// first, at most 1,000 (ask again from the last `revokedAt` for more),
    /// for scanners that check tickets offline: for the organizer, check-in
    /// staff and ADMINs; empty for everyone else.
    async fn revoked_tickets(
        &self,
        ctx: &Context<'_>,
        since: Option<Timestamp>,
    ) -> Result<Vec<RevokedTicket>, ApiError> {
        registrations::revoked(ctx, self.id, since).await
    }

    async fn attendance(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> Result<AttendanceConnection, ApiError> {
        connection(ctx, ListBy::Event, self.id, first, after).await
    }

    /// The people the organizer named to check others in at this event: for
    /// the organizer and ADMINs; empty for everyone else.
    async fn check_in_staff(&self, ctx: &Context<'_>) -> Result<Vec<UserRef>, ApiError> {
        let key = (Viewer::of(caller(ctx)), self.id);
        let staff = load_one::<StaffLoader, _>(ctx, key).await?;
        Ok(user_refs(staff.unwrap_or_default()))
    }

    /// How this event's door works (the defaults until the organizer sets it).
    async fn check_in_policy(&self, ctx: &Context<'_>) -> Result<CheckInPolicy, ApiError> {
        let policy = load_one::<PolicyLoader, _>(ctx, self.id).await?;
        Ok(policy.unwrap_or_default().into())
    }

    /// Every scan attempt at this event, refused ones too, newest first: all
    /// of them for the organizer and ADMINs, their own for check-in staff,
    /// none for anyone else.
    async fn scan_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
        filter: Option<ScanFilterInput>,
    ) -> Result<ScanPage, ApiError> {
        let (first, after) = page_args(first, after)?;
        let filter = filter.unwrap_or_default().try_into()?;
        let key = ScanLogKey { event: self.id, viewer: Viewer::of(caller(ctx)), filter, first, after };
        let page = load_one::<ScanLogLoader, _>(ctx, key).await?;
        Ok(ScanPage::new(page.unwrap_or_else(Page::empty)))
    }

    #[graphql(requires = "startTime")]
    async fn attendance_stats(&self, ctx: &Context<'_>) -> Result<AttendanceStats, ApiError> {
        let stats = match self.start_time {
            Some(start) => load_one::<StatsLoader, _>(ctx, (self.id, start)).await?,
            // Not through the router: ask the event service for the start time.
            None => Some(ctx.data_unchecked::<AttendanceService>().event_stats(self.id).await?),
        };
        Ok(stats.unwrap_or_else(|| domain::AttendanceStats::empty(self.id)).into())
    }
}

pub struct UserRef {
    pub(super) id: Uuid,
}

impl UserRef {
    pub fn new(id: Uuid) -> Self {
        UserRef { id }
    }
}

#[Object(name = "User")]
impl UserRef {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    async fn attendances(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> Result<AttendanceConnection, ApiError> {
        connection(ctx, ListBy::User, self.id, first, after).await
    }

    /// This person's registrations, oldest first, with their tickets: for
    /// themself and ADMINs; empty for everyone else.
    async fn registrations(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> Result<RegistrationConnection, ApiError> {
        registrations::connection(ctx, ListBy::User, self.id, None, first, after).await
    }

    /// The events this person is check-in staff of, most recently named
    /// first, at most 100: for themself (the door app lists them) and
    /// ADMINs; empty for everyone else.
    async fn check_in_staff_at(&self, ctx: &Context<'_>) -> Result<Vec<EventRef>, ApiError> {
        let key = (Viewer::of(caller(ctx)), self.id);
        let events = load_one::<StaffedEventsLoader, _>(ctx, key).await?;
        Ok(events.unwrap_or_default().into_iter().map(|id| EventRef::new(id, None)).collect())
    }
}

#[ComplexObject]
impl Attendance {
    // The ids were written from UUIDs (`From<domain::Attendance>`), so they parse.

    /// Resolved by the router through the event subgraph.
    async fn event(&self) -> Option<EventRef> {
        Uuid::parse_str(&self.event_id).ok().map(|id| EventRef::new(id, None))
    }

    /// Resolved by the router through the auth subgraph.
    async fn user(&self) -> Option<UserRef> {
        Uuid::parse_str(&self.user_id).ok().map(UserRef::new)
    }
}

#[ComplexObject]
impl Scan {
    /// Who scanned (none for an anonymous development call or an exit-all).
    async fn scanned_by(&self) -> Option<UserRef> {
        self.scanned_by_id.map(UserRef::new)
    }

    /// Resolved by the router through the auth subgraph.
    async fn user(&self) -> Option<UserRef> {
        Uuid::parse_str(&self.user_id).ok().map(UserRef::new)
    }

    /// Resolved by the router through the event subgraph.
    async fn event(&self) -> Option<EventRef> {
        Uuid::parse_str(&self.event_id).ok().map(|id| EventRef::new(id, None))
    }
}

#[cfg(test)]
mod tests {
    /// The unpaged lists cost what they may return, in the router and here.
    #[test]
    fn unpaged_lists_are_priced_at_their_bounds() {
        let priced = |field: &str| query_cost::PAGED_FIELDS.iter().find(|(f, _)| *f == field).map(|(_, n)| *n);
        assert_eq!(priced("checkInStaff"), Some(crate::domain::MAX_CHECK_IN_STAFF as u64));
        assert_eq!(priced("checkInStaffAt"), Some(crate::domain::MAX_STAFFED_EVENTS));
        assert_eq!(priced("revokedTickets"), Some(crate::domain::MAX_REVOKED_TICKETS));
    }
}
