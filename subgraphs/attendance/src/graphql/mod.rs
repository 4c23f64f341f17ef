//! The attendance subgraph: owns `Attendance`; contributes `Event.attendance`,
//! `Event.attendanceStats` and `User.attendances` to the other subgraphs'
//! entities. Every list and count is batched across parents (DataLoader), so
//! a page of events with their attendance costs a constant number of queries.

mod loaders;
pub mod ws;

use async_graphql::{dataloader::DataLoader, Context, Object, Schema, ID};
use common::{
    graphql::{caller, parse_id, PageInfo},
    page::{page_size, Cursor, Page},
    time::Timestamp,
    ApiError,
};
use futures::Stream;
use uuid::Uuid;

use crate::{
    domain::{self, AttendanceError, AttendanceService, ListBy, Viewer, Visible},
    wire::{
        Attendance, AttendanceStats, AttendanceUpdate, CheckInInput, CheckInPolicy, CheckInPolicyInput, Scan,
        ScanFilterInput, ScanInput, ScanPage, ScanResult,
    },
};
use loaders::{
    AttendanceLoader, CountKey, CountLoader, PageKey, PageLoader, PolicyLoader, ScanLogKey, ScanLogLoader, StaffLoader,
    StatsLoader,
};

pub type AttendanceSchema = Schema<Query, Mutation, Subscription>;

/// Attendance lists may be long (a whole door list at once); events pages are 100 at most.
pub const MAX_PAGE_SIZE: i32 = 1_000;
const DEFAULT_PAGE_SIZE: i32 = 50;

pub fn build(service: AttendanceService, settings: &common::config::CommonSettings) -> AttendanceSchema {
    let batch_delay = settings.batch_delay;
    common::graphql::subgraph_with_subscription(Query, Mutation, Subscription, settings)
        .data(common::graphql::loader(AttendanceLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(PageLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(CountLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(StatsLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(StaffLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(ScanLogLoader(service.clone()), batch_delay))
        .data(common::graphql::loader(PolicyLoader(service.clone()), batch_delay))
        .data(service)
        .finish()
}

pub fn sdl() -> String {
    common::graphql::subgraph_sdl(Query, Mutation)
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
    let page = page.unwrap_or_else(Page::empty);
    Ok(AttendanceConnection { page, count_key: CountKey { by, owner, viewer } })
}

/// One check-in by id, for those who may see it (null for an unknown id;
/// null with `FORBIDDEN`, or `UNAUTHENTICATED` without a token, for a hidden one).
async fn readable_attendance(ctx: &Context<'_>, id: Uuid) -> Result<Option<Attendance>, ApiError> {
    let caller = caller(ctx);
    let found = ctx.data_unchecked::<DataLoader<AttendanceLoader>>().load_one((Viewer::of(caller), id)).await?;
    match found {
        None => Ok(None),
        Some(Visible::Shown(attendance)) => Ok(Some(attendance.into())),
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

impl EventRef {
    pub fn new(id: Uuid, start_time: Option<Timestamp>) -> Self {
        EventRef { id, start_time }
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

    /// How this event's door works (the defaults until the organizer sets it).
    async fn check_in_policy(&self, ctx: &Context<'_>) -> Result<CheckInPolicy, ApiError> {
        let policy = ctx.data_unchecked::<DataLoader<PolicyLoader>>().load_one(self.id).await?;
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
        let page = ctx.data_unchecked::<DataLoader<ScanLogLoader>>().load_one(key).await?;
        Ok(ScanPage::new(page.unwrap_or_else(Page::empty)))
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
        ws::count_subscription(ctx)?;
        let subscription = ctx.data_unchecked::<AttendanceService>().live().subscribe(caller(ctx), event_id).await?;
        let guard = ws::SubscriptionSlot::hold(ctx);
        Ok(futures::stream::unfold((subscription, guard), |(mut subscription, guard)| async move {
            let update = subscription.next().await?;
            Some((AttendanceUpdate::from(update.as_ref()), (subscription, guard)))
        }))
    }
}
