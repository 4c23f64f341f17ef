//! Persistence of events in `event_schema` (SeaORM).

mod events;

use chrono::Utc;
use common::db::{Pool, StorageError};
use common::page::Cursor;
use sea_orm::{
    sea_query::{extension::postgres::PgExpr, Expr},
    ActiveModelTrait, ColumnTrait, Condition, DbErr, EntityTrait, NotSet, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::domain::{Event, EventFields, EventFilter, EventStatus};

use events::{ActiveModel, Column, Entity, Model};

impl From<Model> for Event {
    fn from(m: Model) -> Self {
        let fields = EventFields {
            title: m.title,
            description: m.description,
            start_time: m.start_time.into(),
            end_time: m.end_time.into(),
            location: m.location,
            timezone: m.timezone,
            capacity: m.capacity,
        };
        Event {
            id: m.id,
            fields,
            // The CHECK constraint allows only the two statuses.
            status: EventStatus::parse(&m.status).unwrap_or(EventStatus::Scheduled),
            organizer_id: m.organizer_id,
            created_at: m.created_at.into(),
            updated_at: m.updated_at.into(),
        }
    }
}

pub async fn insert(db: &Pool, fields: EventFields, organizer_id: Option<Uuid>) -> Result<Event, StorageError> {
    let now = Utc::now();
    let model = ActiveModel {
        id: Set(Uuid::now_v7()),
        organizer_id: Set(organizer_id),
        status: Set(EventStatus::Scheduled.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..with_fields(fields)
    }
    .insert(db)
    .await?;
    Ok(model.into())
}

/// The organizer-editable columns set from `fields`, every other column
/// `NotSet`. Every column is named (no `..Default::default()`), so a new
/// column cannot be left out of inserts and updates without the compiler
/// saying so.
fn with_fields(fields: EventFields) -> ActiveModel {
    ActiveModel {
        id: NotSet,
        title: Set(fields.title),
        description: Set(fields.description),
        start_time: Set(fields.start_time.0),
        end_time: Set(fields.end_time.0),
        location: Set(fields.location),
        timezone: Set(fields.timezone),
        capacity: Set(fields.capacity),
        organizer_id: NotSet,
        status: NotSet,
        created_at: NotSet,
        updated_at: NotSet,
    }
}

pub async fn find(db: &Pool, id: Uuid) -> Result<Option<Event>, StorageError> {
    Ok(Entity::find_by_id(id).one(db).await?.map(Event::from))
}

/// Any number of events in one statement.
pub async fn find_many(db: &Pool, ids: &[Uuid]) -> Result<Vec<Event>, StorageError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = Entity::find().filter(Expr::cust_with_values("id = ANY($1)", [ids.to_vec()])).all(db).await?;
    Ok(rows.into_iter().map(Event::from).collect())
}

/// Overwrites the writable fields; `None` if the event does not exist.
pub async fn update(db: &Pool, id: Uuid, fields: EventFields) -> Result<Option<Event>, StorageError> {
    let model = ActiveModel { id: Set(id), updated_at: Set(Utc::now()), ..with_fields(fields) };
    updated(model.update(db).await)
}

pub async fn set_status(db: &Pool, id: Uuid, status: EventStatus) -> Result<Option<Event>, StorageError> {
    let model = ActiveModel {
        id: Set(id),
        status: Set(status.as_str().to_owned()),
        updated_at: Set(Utc::now()),
        title: NotSet,
        description: NotSet,
        start_time: NotSet,
        end_time: NotSet,
        location: NotSet,
        timezone: NotSet,
        capacity: NotSet,
        organizer_id: NotSet,
        created_at: NotSet,
    };
    updated(model.update(db).await)
}

/// `None` when no row had the id.
fn updated(result: Result<Model, DbErr>) -> Result<Option<Event>, StorageError> {
    match result {
        Ok(model) => Ok(Some(model.into())),
        Err(DbErr::RecordNotUpdated) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn condition(filter: &EventFilter) -> Condition {
    let mut condition = Condition::all();
    if let Some(from) = filter.from {
        condition = condition.add(Column::EndTime.gt(from.0));
    }
    if let Some(to) = filter.to {
        condition = condition.add(Column::StartTime.lt(to.0));
    }
    if let Some(status) = filter.status {
        condition = condition.add(Column::Status.eq(status.as_str()));
    }
    if let Some(organizer) = filter.organizer_id {
        condition = condition.add(Column::OrganizerId.eq(organizer));
    }
    if let Some(search) = &filter.search {
        condition = condition.add(Expr::col(Column::Title).ilike(format!("%{}%", escape_like(search))));
    }
    condition
}

/// `LIKE` wildcards in user input match themselves.
fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Up to `limit` events after `after`, ordered by start time then id.
pub async fn page(
    db: &Pool,
    filter: &EventFilter,
    after: Option<Cursor>,
    limit: u64,
) -> Result<Vec<Event>, StorageError> {
    let mut query = Entity::find().filter(condition(filter));
    if let Some(cursor) = after {
        query = query.filter(Expr::cust_with_values(
            "(start_time, id) > ($1, $2)",
            [cursor.at.into(), sea_orm::Value::from(cursor.id)],
        ));
    }
    let rows = query.order_by_asc(Column::StartTime).order_by_asc(Column::Id).limit(limit).all(db).await?;
    Ok(rows.into_iter().map(Event::from).collect())
}

pub async fn page_by_offset(
    db: &Pool,
    filter: &EventFilter,
    limit: u64,
    offset: u64,
) -> Result<Vec<Event>, StorageError> {
    let rows = Entity::find()
        .filter(condition(filter))
        .order_by_asc(Column::StartTime)
        .order_by_asc(Column::Id)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Event::from).collect())
}

pub async fn count(db: &Pool, filter: &EventFilter) -> Result<u64, StorageError> {
    Entity::find().filter(condition(filter)).count(db).await.map_err(StorageError::from)
}
