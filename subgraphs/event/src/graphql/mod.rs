//! The event subgraph: owns the `Event` entity; `organizer` points into auth.

use std::collections::HashMap;

use async_graphql::{dataloader::Loader, Context, EmptySubscription, InputObject, Object, Schema, ID};
use common::{
    graphql::{caller, load_one, parse_id, PageInfo},
    page::{page_size, Cursor},
    time::Timestamp,
    ApiError,
};
use uuid::Uuid;

use crate::{
    domain::{self, EventService},
    wire::{Event, EventDetails, EventStatus, UpdateEventInput},
};

pub type EventSchema = Schema<Query, Mutation, EmptySubscription>;

pub const MAX_PAGE_SIZE: i32 = 100;

pub fn build(service: EventService, settings: &common::config::CommonSettings) -> EventSchema {
    let events = common::graphql::loader(EventLoader(service.clone()), settings.batch_delay);
    common::graphql::subgraph(Query, Mutation, settings).data(service).data(events).finish()
}

pub fn sdl() -> String {
    common::graphql::subgraph_sdl(Query, Mutation)
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
        let status = self.status.map(Into::into);
        Ok(domain::EventFilter { from: self.from, to: self.to, status, organizer_id, search: self.search }
            .validate()?)
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
        let end_cursor = page.end_cursor(|e| Cursor { at: e.fields.start_time.0, id: e.id });
        Ok(EventConnection {
            nodes: page.items.into_iter().map(Event::from).collect(),
            page_info: PageInfo { has_next_page: page.has_next, end_cursor },
            filter,
        })
    }

    async fn event(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Event>, ApiError> {
        let id = parse_id("id", &id)?;
        Ok(load_one::<EventLoader, _>(ctx, id).await?.map(Event::from))
    }

    /// Resolves `Event` references from other subgraphs; unknown or malformed
    /// ids resolve to null without failing the rest of the batch.
    #[graphql(entity)]
    async fn find_event_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Event>, ApiError> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        Ok(load_one::<EventLoader, _>(ctx, id).await?.map(Event::from))
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// The caller becomes the organizer.
    async fn create_event(&self, ctx: &Context<'_>, input: EventDetails) -> Result<Event, ApiError> {
        Ok(ctx.data_unchecked::<EventService>().create(caller(ctx), input.into()).await?.into())
    }

    /// Organizer or ADMIN only.
    async fn update_event(&self, ctx: &Context<'_>, id: ID, input: UpdateEventInput) -> Result<Event, ApiError> {
        let id = parse_id("id", &id)?;
        Ok(ctx.data_unchecked::<EventService>().update(caller(ctx), id, input.into()).await?.into())
    }

    /// Organizer or ADMIN only.
    async fn cancel_event(&self, ctx: &Context<'_>, id: ID) -> Result<Event, ApiError> {
        let id = parse_id("id", &id)?;
        Ok(ctx.data_unchecked::<EventService>().cancel(caller(ctx), id).await?.into())
    }
}
