//! The attendance subgraph: owns `Attendance`; contributes `Event.attendance`,
//! `Event.attendanceStats` and `User.attendances` to the other subgraphs'
//! entities. Every list and count is batched across parents (DataLoader), so
//! a page of events with their attendance costs a constant number of queries.

mod loaders;

use async_graphql::{
    dataloader::DataLoader, Context, EmptySubscription, InputObject, Object, Schema, SimpleObject, ID,
};
use common::{
    graphql::{caller, page_size, parse_id, Cursor, PageInfo},
    time::Timestamp,
    ApiError,
};
use uuid::Uuid;

use crate::domain::{self, AttendanceError, AttendanceService, CheckInRequest, ListBy, Page, Viewer, Visible};
use loaders::{AttendanceLoader, CountKey, CountLoader, PageKey, PageLoader, StaffLoader, StatsLoader};

pub type AttendanceSchema = Schema<Query, Mutation, EmptySubscription>;

/// Attendance lists may be long (a whole door list at once); events pages are 100 at most.
pub const MAX_PAGE_SIZE: i32 = 1_000;
const DEFAULT_PAGE_SIZE: i32 = 50;

pub fn build(service: AttendanceService, settings: &common::config::CommonSettings) -> AttendanceSchema {
    let batch_delay = settings.batch_delay;
    common::graphql::harden(
        Schema::build(Query, Mutation, EmptySubscription).enable_federation(),
        settings.app_env.is_production(),
    )
    .data(common::graphql::loader(AttendanceLoader(service.clone()), batch_delay))
    .data(common::graphql::loader(PageLoader(service.clone()), batch_delay))
    .data(common::graphql::loader(CountLoader(service.clone()), batch_delay))
    .data(common::graphql::loader(StatsLoader(service.clone()), batch_delay))
    .data(common::graphql::loader(StaffLoader(service.clone()), batch_delay))
    .data(service)
    .finish()
}

pub fn sdl() -> String {
    let schema = Schema::build(Query, Mutation, EmptySubscription).enable_federation().finish();
    common::graphql::federation_sdl(&schema)
}

/// One person checked in to one event.
pub struct Attendance(domain::Attendance);

#[Object]
impl Attendance {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn event_id(&self) -> ID {
        ID(self.0.event_id.to_string())
    }

    async fn user_id(&self) -> ID {
        ID(self.0.user_id.to_string())
    }

    async fn check_in_time(&self) -> Timestamp {
        self.0.check_in_time
    }

    /// Resolved by the router through the event subgraph.
    async fn event(&self) -> Option<EventRef> {
        Some(EventRef { id: self.0.event_id, start_time: None })
    }

    /// Resolved by the router through the auth subgraph.
    async fn user(&self) -> Option<UserRef> {
        Some(UserRef { id: self.0.user_id })
    }
}

#[derive(SimpleObject)]
pub struct IntervalCount {
    pub start: Timestamp,
    pub count: i32,
}

#[derive(SimpleObject)]
pub struct AttendanceStats {
    pub event_id: ID,
    /// Distinct users checked in.
    pub total_attendees: i32,
    pub first_check_in: Option<Timestamp>,
    pub last_check_in: Option<Timestamp>,
    /// Checked in at or before the event's start time.
    pub on_time: i32,
    /// Checked in after the event's start time.
    pub late: i32,
    /// Check-ins per 15-minute bucket, oldest first.
    pub by_interval: Vec<IntervalCount>,
}

impl From<domain::AttendanceStats> for AttendanceStats {
    fn from(s: domain::AttendanceStats) -> Self {
        AttendanceStats {
            event_id: ID(s.event_id.to_string()),
            total_attendees: s.total_attendees,
            first_check_in: s.first_check_in,
            last_check_in: s.last_check_in,
            on_time: s.on_time,
            late: s.late,
            by_interval: s.by_interval.into_iter().map(|b| IntervalCount { start: b.start, count: b.count }).collect(),
        }
    }
}

/// A list of check-ins, holding only those its reader may see (and counting
/// only those): lists are filtered, never refused.
pub struct AttendanceConnection {
    page: Page<domain::Attendance>,
    count_key: CountKey,
}

#[Object]
impl AttendanceConnection {
    /// The check-ins of this list the reader may see.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32, ApiError> {
        let count = ctx.data_unchecked::<DataLoader<CountLoader>>().load_one(self.count_key).await?.unwrap_or(0);
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    async fn nodes(&self) -> Vec<Attendance> {
        self.page.items.iter().cloned().map(Attendance).collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.page.has_next,
            end_cursor: self.page.items.last().map(|a| Cursor { at: a.check_in_time.0, id: a.id }.encode()),
        }
    }
}

/// Arguments shared by every attendance list.
fn page_args(first: Option<i32>, after: Option<String>) -> Result<(u64, Option<Cursor>), ApiError> {
    let first = page_size(first.unwrap_or(DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)?;
    let after = after.as_deref().map(Cursor::decode).transpose()?;
    Ok((first, after))
}

async fn connection(
    ctx: &Context<'_>,
    by: ListBy,
    owner: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> Result<AttendanceConnection, ApiError> {
    let (first, after) = page_args(first, after)?;
    let viewer = Viewer::of(caller(ctx));
    let key = PageKey { by, owner, viewer, first, after };
    let page = ctx.data_unchecked::<DataLoader<PageLoader>>().load_one(key).await?;
    let page = page.unwrap_or(Page { items: Vec::new(), has_next: false });
    Ok(AttendanceConnection { page, count_key: CountKey { by, owner, viewer } })
}

/// One check-in by id, for those who may see it (null for an unknown id;
/// null with `FORBIDDEN`, or `UNAUTHENTICATED` without a token, for a hidden one).
async fn readable_attendance(ctx: &Context<'_>, id: Uuid) -> Result<Option<Attendance>, ApiError> {
    let caller = caller(ctx);
    let found = ctx.data_unchecked::<DataLoader<AttendanceLoader>>().load_one((Viewer::of(caller), id)).await?;
    match found {
        None => Ok(None),
        Some(Visible::Shown(attendance)) => Ok(Some(Attendance(attendance))),
        Some(Visible::Hidden) => Err(AttendanceError::Hidden { anonymous: caller.user_id().is_none() }.into()),
    }
}

fn user_refs(ids: Vec<Uuid>) -> Vec<UserRef> {
    ids.into_iter().map(|id| UserRef { id }).collect()
}

// The attendance subgraph's view of the event subgraph's entity (kept
// undocumented: descriptions belong to the owner).
pub struct EventRef {
    id: Uuid,
    start_time: Option<Timestamp>,
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
        let staff = ctx.data_unchecked::<DataLoader<StaffLoader>>().load_one(key).await?;
        Ok(user_refs(staff.unwrap_or_default()))
    }

    #[graphql(requires = "startTime")]
    async fn attendance_stats(&self, ctx: &Context<'_>) -> Result<AttendanceStats, ApiError> {
        let stats = match self.start_time {
            Some(start) => ctx.data_unchecked::<DataLoader<StatsLoader>>().load_one((self.id, start)).await?,
            // Not through the router: ask the event service for the start time.
            None => Some(ctx.data_unchecked::<AttendanceService>().event_stats(self.id).await?),
        };
        Ok(stats.unwrap_or_else(|| domain::AttendanceStats::empty(self.id)).into())
    }
}

pub struct UserRef {
    id: Uuid,
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
}

#[derive(InputObject)]
pub struct CheckInInput {
    pub event_id: ID,
    /// Defaults to the caller; someone else needs the organizer or an ADMIN.
    pub user_id: Option<ID>,
    /// Defaults to now; must not be in the future and must fall in the event's check-in window.
    pub check_in_time: Option<Timestamp>,
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

    #[graphql(entity)]
    async fn find_event_by_id(&self, #[graphql(key)] id: ID, start_time: Option<Timestamp>) -> Option<EventRef> {
        Uuid::parse_str(&id).ok().map(|id| EventRef { id, start_time })
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
        let request = CheckInRequest {
            event_id: parse_id("eventId", &input.event_id)?,
            user_id: input.user_id.as_ref().map(|id| parse_id("userId", id)).transpose()?,
            check_in_time: input.check_in_time,
        };
        Ok(Attendance(ctx.data_unchecked::<AttendanceService>().check_in(caller(ctx), request).await?))
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
}
