//! The event subgraph: owns the `Event` entity; `organizer` points into auth.

use std::collections::HashMap;

use async_graphql::{
    dataloader::{DataLoader, Loader},
    ComplexObject, Context, EmptySubscription, InputObject, MaybeUndefined, Object, Schema, SimpleObject, ID,
};
use common::{
    graphql::{caller, page_size, parse_id, Cursor, PageInfo},
    time::Timestamp,
    ApiError,
};
use uuid::Uuid;

use crate::domain::{self, EventFields, EventPatch, EventService, EventStatus, Patch};

pub type EventSchema = Schema<Query, Mutation, EmptySubscription>;

pub const MAX_PAGE_SIZE: i32 = 100;

pub fn build(service: EventService, settings: &common::config::CommonSettings) -> EventSchema {
    let events = common::graphql::loader(EventLoader(service.clone()), settings.batch_delay);
    common::graphql::harden(
        Schema::build(Query, Mutation, EmptySubscription).enable_federation(),
        settings.app_env.is_production(),
    )
    .data(service)
    .data(events)
    .finish()
}

pub fn sdl() -> String {
    let schema = Schema::build(Query, Mutation, EmptySubscription).enable_federation().finish();
    common::graphql::federation_sdl(&schema)
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Event {
    pub id: ID,
    pub title: String,
    pub description: Option<String>,
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    pub location: Option<String>,
    pub capacity: Option<i32>,
    pub status: EventStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[graphql(skip)]
    pub organizer_id: Option<Uuid>,
}

#[ComplexObject]
impl Event {
    /// The organizer, resolved by the router from the auth subgraph; null for
    /// events created anonymously in development.
    async fn organizer(&self) -> Option<User> {
        self.organizer_id.map(|id| User { id: ID(id.to_string()) })
    }
}

impl From<domain::Event> for Event {
    fn from(e: domain::Event) -> Self {
        Event {
            id: ID(e.id.to_string()),
            title: e.title,
            description: e.description,
            start_time: e.start_time,
            end_time: e.end_time,
            location: e.location,
            capacity: e.capacity,
            status: e.status,
            created_at: e.created_at,
            updated_at: e.updated_at,
            organizer_id: e.organizer_id,
        }
    }
}

// A reference to the auth subgraph's entity (kept undocumented: descriptions
// belong to the owner).
#[derive(SimpleObject)]
#[graphql(unresolvable)]
pub struct User {
    pub id: ID,
}

pub struct EventConnection {
    nodes: Vec<Event>,
    page_info: PageInfo,
    filter: domain::EventFilter,
}

#[Object]
impl EventConnection {
    /// All events matching the filter (counted only when asked for).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32, ApiError> {
        let count = ctx.data_unchecked::<EventService>().count(&self.filter).await?;
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    async fn nodes(&self) -> &[Event] {
        &self.nodes
    }

    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
}

/// Events overlapping `from`..`to`, with a status, by an organizer, or whose
/// title contains `search` (case-insensitive).
#[derive(InputObject, Default)]
pub struct EventFilter {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub status: Option<EventStatus>,
    pub organizer_id: Option<ID>,
    pub search: Option<String>,
}

impl EventFilter {
    fn into_domain(self) -> Result<domain::EventFilter, ApiError> {
        let organizer_id = self.organizer_id.as_ref().map(|id| parse_id("filter.organizerId", id)).transpose()?;
        Ok(domain::EventFilter { from: self.from, to: self.to, status: self.status, organizer_id, search: self.search }
            .validate()?)
    }
}

#[derive(InputObject)]
pub struct CreateEventInput {
    pub title: String,
    pub description: Option<String>,
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    pub location: Option<String>,
    pub capacity: Option<i32>,
}

/// Only the fields given change; `null` clears an optional field.
#[derive(InputObject)]
pub struct UpdateEventInput {
    pub title: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
    pub start_time: MaybeUndefined<Timestamp>,
    pub end_time: MaybeUndefined<Timestamp>,
    pub location: MaybeUndefined<String>,
    pub capacity: MaybeUndefined<i32>,
}

fn patch<T>(value: MaybeUndefined<T>) -> Patch<T> {
    match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(v) => Patch::Set(v),
    }
}

/// Batches event lookups (entity references, `event(id)`) into one query.
pub struct EventLoader(EventService);

impl Loader<Uuid> for EventLoader {
    type Value = domain::Event;
    type Error = ApiError;

    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        Ok(self.0.get_many(ids).await?.into_iter().map(|e| (e.id, e)).collect())
    }
}

pub struct Query;

#[Object]
impl Query {
    /// Events ordered by start time, `first` at most 100 per page.
    async fn events(
        &self,
        ctx: &Context<'_>,
        filter: Option<EventFilter>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> Result<EventConnection, ApiError> {
        let first = page_size(first.unwrap_or(20), MAX_PAGE_SIZE)?;
        let after = after.as_deref().map(Cursor::decode).transpose()?;
        let filter = filter.unwrap_or_default().into_domain()?;
        let page = ctx.data_unchecked::<EventService>().list(&filter, first, after).await?;
        let end_cursor = page.items.last().map(|e| Cursor { at: e.start_time.0, id: e.id }.encode());
        Ok(EventConnection {
            nodes: page.items.into_iter().map(Event::from).collect(),
            page_info: PageInfo { has_next_page: page.has_next, end_cursor },
            filter,
        })
    }

    async fn event(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Event>, ApiError> {
        let id = parse_id("id", &id)?;
        Ok(ctx.data_unchecked::<DataLoader<EventLoader>>().load_one(id).await?.map(Event::from))
    }

    /// Resolves `Event` references from other subgraphs; unknown or malformed
    /// ids resolve to null without failing the rest of the batch.
    #[graphql(entity)]
    async fn find_event_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Event>, ApiError> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        Ok(ctx.data_unchecked::<DataLoader<EventLoader>>().load_one(id).await?.map(Event::from))
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// The caller becomes the organizer.
    async fn create_event(&self, ctx: &Context<'_>, input: CreateEventInput) -> Result<Event, ApiError> {
        let fields = EventFields {
            title: input.title,
            description: input.description,
            start_time: input.start_time,
            end_time: input.end_time,
            location: input.location,
            capacity: input.capacity,
        };
        Ok(ctx.data_unchecked::<EventService>().create(caller(ctx), fields).await?.into())
    }

    /// Organizer or ADMIN only.
    async fn update_event(&self, ctx: &Context<'_>, id: ID, input: UpdateEventInput) -> Result<Event, ApiError> {
        let id = parse_id("id", &id)?;
        let patch = EventPatch {
            title: patch(input.title),
            description: patch(input.description),
            start_time: patch(input.start_time),
            end_time: patch(input.end_time),
            location: patch(input.location),
            capacity: patch(input.capacity),
        };
        Ok(ctx.data_unchecked::<EventService>().update(caller(ctx), id, patch).await?.into())
    }

    /// Organizer or ADMIN only.
    async fn cancel_event(&self, ctx: &Context<'_>, id: ID) -> Result<Event, ApiError> {
        let id = parse_id("id", &id)?;
        Ok(ctx.data_unchecked::<EventService>().cancel(caller(ctx), id).await?.into())
    }
}
