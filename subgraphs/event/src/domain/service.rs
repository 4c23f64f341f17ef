use common::db::Pool;
use common::{
    auth::{require_writer, Caller, Role},
    config::AppEnv,
    page::{Cursor, Page},
};
use uuid::Uuid;

use super::{Event, EventError, EventFields, EventFilter, EventPatch, EventStatus};
use crate::{clients::CheckInDoor, storage};

#[derive(Clone)]
pub struct EventService {
    db: Pool,
    app_env: AppEnv,
    door: CheckInDoor,
}

impl EventService {
    pub fn new(db: Pool, app_env: AppEnv, door: CheckInDoor) -> Self {
        EventService { db, app_env, door }
    }

    /// The caller becomes the organizer (none for anonymous development writes).
    pub async fn create(&self, caller: &Caller, fields: EventFields) -> Result<Event, EventError> {
        require_writer(caller, self.app_env)?;
        let fields = fields.validate()?;
        let event = storage::insert(&self.db, fields, caller.user_id()).await?;
        tracing::info!(event_id = %event.id, "event created");
        Ok(event)
    }

    pub async fn update(&self, caller: &Caller, id: Uuid, patch: EventPatch) -> Result<Event, EventError> {
        let event = self.get(id).await?.ok_or(EventError::NotFound)?;
        self.authorize_change(caller, &event)?;
        let fields = patch.apply_to(event.fields)?;
        let event = storage::update(&self.db, id, fields).await?.ok_or(EventError::NotFound)?;
        self.tell_the_door(&event).await;
        Ok(event)
    }

    /// Cancelling a cancelled event changes nothing and succeeds.
    pub async fn cancel(&self, caller: &Caller, id: Uuid) -> Result<Event, EventError> {
        let event = self.get(id).await?.ok_or(EventError::NotFound)?;
        self.authorize_change(caller, &event)?;
        if event.status == EventStatus::Cancelled {
            return Ok(event);
        }
        let event = storage::set_status(&self.db, id, EventStatus::Cancelled).await?.ok_or(EventError::NotFound)?;
        self.tell_the_door(&event).await;
        Ok(event)
    }

    /// Before a change is acknowledged, the attendance service hears of it,
    /// so every scan after the acknowledgement follows it. Should it not
    /// answer, the change stands and the door follows within its cache time
    /// (`EVENT_CACHE_TTL`); the failure is logged.
    async fn tell_the_door(&self, event: &Event) {
        if let Err(e) = self.door.event_changed(event.id, event.updated_at.0).await {
            tracing::warn!(event_id = %event.id, error = %e, "the attendance service was not told of a change");
        }
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<Event>, EventError> {
        Ok(storage::find(&self.db, id).await?)
    }

    pub async fn get_many(&self, ids: &[Uuid]) -> Result<Vec<Event>, EventError> {
        Ok(storage::find_many(&self.db, ids).await?)
    }

    pub async fn list(
        &self,
        filter: &EventFilter,
        first: u64,
        after: Option<Cursor>,
    ) -> Result<Page<Event>, EventError> {
        let items = storage::page(&self.db, filter, after, first + 1).await?;
        Ok(Page::from_overfetch(items, first))
    }

    pub async fn list_by_offset(
        &self,
        filter: &EventFilter,
        limit: u64,
        offset: u64,
    ) -> Result<Vec<Event>, EventError> {
        Ok(storage::page_by_offset(&self.db, filter, limit, offset).await?)
    }

    pub async fn count(&self, filter: &EventFilter) -> Result<u64, EventError> {
        Ok(storage::count(&self.db, filter).await?)
    }

    /// Only the organizer or an ADMIN. Anonymous callers (development only)
    /// may change only events that were themselves created anonymously.
    fn authorize_change(&self, caller: &Caller, event: &Event) -> Result<(), EventError> {
        require_writer(caller, self.app_env)?;
        match caller.claims() {
            None if event.organizer_id.is_none() => Ok(()),
            None => Err(EventError::TokenRequired(common::auth::TokenRequired)),
            Some(claims) if claims.role == Role::Admin || Some(claims.sub) == event.organizer_id => Ok(()),
            Some(_) => Err(EventError::Forbidden),
        }
    }
}
