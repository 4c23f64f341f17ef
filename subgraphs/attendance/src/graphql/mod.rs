//! The attendance subgraph: owns `Attendance` and `Registration`;
//! contributes `Event.attendance`, `Event.attendanceStats`,
//! `Event.registrations` (and the other fields in `entities`),
//! `User.attendances` and `User.registrations` to the other subgraphs'
//! entities. Every list and count is batched across parents (loaders), so
//! a page of events with their attendance costs a constant number of queries.

mod entities;
mod loaders;
mod registration_loaders;
mod registrations;
pub mod ws;

use async_graphql::{Context, MaybeUndefined, Object, Schema, ID};
use common::{
    graphql::{caller, parse_id},
    time::Timestamp,
    ApiError,
};
use futures::Stream;
use uuid::Uuid;

use crate::{
    domain::{AttendanceService, ListBy, Viewer},
    wire::{
        Attendance, AttendanceStats, AttendanceUpdate, CheckInInput, CheckInPolicy, CheckInPolicyInput, Registration,
        RegistrationPolicy, RegistrationPolicyInput, Scan, ScanInput, ScanResult,
    },
};
use entities::{page_args, readable_attendance, user_refs, AttendanceConnection};
pub use entities::{EventRef, UserRef};
use loaders::{
    AttendanceLoader, CountKey, CountLoader, PageLoader, PolicyLoader, ScanLogLoader, StaffLoader, StaffedEventsLoader,
    StatsLoader,
};
use registration_loaders::{
    RegistrationCountLoader, RegistrationLoader, RegistrationPageLoader, RegistrationPolicyLoader, RevokedLoader,
    SummaryLoader,
};
use registrations::readable_registration;

pub type AttendanceSchema = Schema<Query, Mutation, Subscription>;

pub fn build(service: AttendanceService, settings: &common::config::CommonSettings) -> AttendanceSchema {
    let batch_delay = settings.batch_delay;
    common::graphql::subgraph_with_subscription(Query, Mutation, Subscription, settings)
        .data(common::graphql::loader(AttendanceLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(PageLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(CountLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(StatsLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(StaffLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(StaffedEventsLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(ScanLogLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(PolicyLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(RegistrationLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(RegistrationPageLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(RegistrationCountLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(RegistrationPolicyLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(SummaryLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(RevokedLoader(service.clone()), batch_delay))
        .data(service)
        .finish()
}

pub fn sdl() -> String {
    common::graphql::subgraph_sdl(Query, Mutation)
}

pub struct Query;

#[Object]
impl Query {
    /// One check-in: for the person, the event's organizer and check-in staff, and ADMINs.
    async fn attendance(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Attendance>, ApiError> {
        readable_attendance(ctx, parse_id("id", &id)?).await
    }

    /// Check-ins of an event, oldest first: all of them for its organizer,
    /// check-in staff and ADMINs; a signed-in attendee sees their own.
    async fn event_attendance(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> Result<AttendanceConnection, ApiError> {
        let event_id = parse_id("eventId", &event_id)?;
        let (first, after) = page_args(first, after)?;
        let viewer = Viewer::of(caller(ctx));
        let page = ctx.data_unchecked::<AttendanceService>().event_attendance(viewer, event_id, first, after).await?;
        Ok(AttendanceConnection { page, count_key: CountKey { by: ListBy::Event, owner: event_id, viewer } })
    }

    async fn attendance_stats(&self, ctx: &Context<'_>, event_id: ID) -> Result<AttendanceStats, ApiError> {
        let event_id = parse_id("eventId", &event_id)?;
        Ok(ctx.data_unchecked::<AttendanceService>().event_stats(event_id).await?.into())
    }

    #[graphql(entity)]
    async fn find_attendance_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Attendance>, ApiError> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        readable_attendance(ctx, id).await
    }

    /// One registration: for the person registered, the event's organizer
    /// and check-in staff (without the ticket), and ADMINs.
    async fn registration(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Registration>, ApiError> {
        readable_registration(ctx, parse_id("id", &id)?).await
    }

    #[graphql(entity)]
    async fn find_registration_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Registration>, ApiError> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        readable_registration(ctx, id).await
    }

    #[graphql(entity)]
    async fn find_event_by_id(
        &self,
        #[graphql(key)] id: ID,
        start_time: Option<Timestamp>,
        capacity: MaybeUndefined<i32>,
    ) -> Option<EventRef> {
        let capacity = match capacity {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(c) => Some(Some(c)),
        };
        Uuid::parse_str(&id).ok().map(|id| EventRef { id, start_time, capacity })
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<UserRef> {
        Uuid::parse_str(&id).ok().map(|id| UserRef { id })
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    async fn check_in(&self, ctx: &Context<'_>, input: CheckInInput) -> Result<Attendance, ApiError> {
        let request = input.try_into()?;
        Ok(ctx.data_unchecked::<AttendanceService>().check_in(caller(ctx), request).await?.into())
    }

    /// Sets how an event's door works (organizer or ADMIN); absent fields stay.
    async fn set_check_in_policy(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        input: CheckInPolicyInput,
    ) -> Result<CheckInPolicy, ApiError> {
        let event_id = parse_id("eventId", &event_id)?;
        let service = ctx.data_unchecked::<AttendanceService>();
        Ok(service.set_policy(caller(ctx), event_id, input.into()).await?.into())
    }

    /// An offline scanner's upload (organizer, check-in staff or ADMIN): at
    /// most 500 scans of one event, applied in `scannedAt` order, one result
    /// per scan in the order sent. Uploading the same scans again changes nothing.
    async fn sync_scans(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        scans: Vec<ScanInput>,
    ) -> Result<Vec<ScanResult>, ApiError> {
        let event_id = parse_id("eventId", &event_id)?;
        let service = ctx.data_unchecked::<AttendanceService>();
        let scans = scans.into_iter().map(Into::into).collect();
        Ok(service.sync_scans(caller(ctx), event_id, scans).await?.into_iter().map(ScanResult::from).collect())
    }

    /// Undoes a mistaken scan (the organizer, an ADMIN, or the staff member
    /// who made it within 15 minutes): it stays in the log, marked annulled,
    /// and the counts give the place back.
    async fn annul_scan(&self, ctx: &Context<'_>, id: ID, reason: Option<String>) -> Result<Scan, ApiError> {
        let id = parse_id("id", &id)?;
        let service = ctx.data_unchecked::<AttendanceService>();
        Ok(service.annul_scan(caller(ctx), id, reason).await?.into())
    }

    /// Names a person check-in staff of an event (organizer or ADMIN): they
    /// may then check people in there and read its door list, without emails.
    /// Returns the event's staff.
    async fn add_check_in_staff(&self, ctx: &Context<'_>, event_id: ID, user_id: ID) -> Result<Vec<UserRef>, ApiError> {
        let (event_id, user_id) = (parse_id("eventId", &event_id)?, parse_id("userId", &user_id)?);
        let service = ctx.data_unchecked::<AttendanceService>();
        Ok(user_refs(service.add_staff(caller(ctx), event_id, user_id).await?))
    }

    /// Takes a person's check-in rights at an event away (organizer or
    /// ADMIN); removing someone who is not staff changes nothing. Returns the
    /// event's staff.
    async fn remove_check_in_staff(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        user_id: ID,
    ) -> Result<Vec<UserRef>, ApiError> {
        let (event_id, user_id) = (parse_id("eventId", &event_id)?, parse_id("userId", &user_id)?);
        let service = ctx.data_unchecked::<AttendanceService>();
        Ok(user_refs(service.remove_staff(caller(ctx), event_id, user_id).await?))
    }

    /// Registers the signed-in caller for an event: confirmed with a ticket
    /// while there is room, else waitlisted (where the event keeps a
    /// waitlist) or `EVENT_FULL`; pending where the organizer approves each
    /// request. Registering again answers the existing registration.
    async fn register_for_event(&self, ctx: &Context<'_>, event_id: ID) -> Result<Registration, ApiError> {
        let event_id = parse_id("eventId", &event_id)?;
        let service = ctx.data_unchecked::<AttendanceService>();
        Ok(service.register(caller(ctx), event_id).await?.into())
    }

    /// Cancels a registration (the person registered, the organizer or an
    /// ADMIN): its ticket is revoked, its place goes to the waitlist.
    async fn cancel_registration(&self, ctx: &Context<'_>, id: ID) -> Result<Registration, ApiError> {
        let id = parse_id("id", &id)?;
        let service = ctx.data_unchecked::<AttendanceService>();
        Ok(service.cancel_registration(caller(ctx), id).await?.into())
    }

    /// Approves a pending request (the organizer or an ADMIN).
    async fn approve_registration(&self, ctx: &Context<'_>, id: ID) -> Result<Registration, ApiError> {
        let id = parse_id("id", &id)?;
        let service = ctx.data_unchecked::<AttendanceService>();
        Ok(service.decide_registration(caller(ctx), id, true).await?.into())
    }

    /// Declines a pending (or waitlisted) request (the organizer or an ADMIN).
    async fn decline_registration(&self, ctx: &Context<'_>, id: ID) -> Result<Registration, ApiError> {
        let id = parse_id("id", &id)?;
        let service = ctx.data_unchecked::<AttendanceService>();
        Ok(service.decide_registration(caller(ctx), id, false).await?.into())
    }

    /// Sets how an event takes registrations (organizer or ADMIN); absent
    /// fields stay. Places a larger capacity frees go to the waitlist.
    async fn set_registration_policy(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        input: RegistrationPolicyInput,
    ) -> Result<RegistrationPolicy, ApiError> {
        let event_id = parse_id("eventId", &event_id)?;
        let service = ctx.data_unchecked::<AttendanceService>();
        Ok(service.set_registration_policy(caller(ctx), event_id, input.into()).await?.into())
    }
}

/// Served over WebSocket at `/graphql/ws` by the attendance service itself
/// (not part of the federation SDL: the open-source router carries no
/// subscriptions).
pub struct Subscription;

#[async_graphql::Subscription]
impl Subscription {
    /// The event's statistics on every accepted or annulled scan, with the
    /// scan; the first message is the current state (`scan` null). For the
    /// organizer, the event's check-in staff and ADMINs; it ends when the
    /// token expires or the right is taken away.
    async fn attendance_updates(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
    ) -> Result<impl Stream<Item = AttendanceUpdate>, ApiError> {
        let event_id = parse_id("eventId", &event_id)?;
        let guard = ws::SubscriptionSlot::take(ctx)?;
        let subscription = ctx.data_unchecked::<AttendanceService>().live().subscribe(caller(ctx), event_id).await?;
        Ok(futures::stream::unfold((subscription, guard), |(mut subscription, guard)| async move {
            let update = subscription.next().await?;
            Some((AttendanceUpdate::from(update.as_ref()), (subscription, guard)))
        }))
    }
}
