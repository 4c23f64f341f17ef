//! Migrations of `event_schema`.

use sea_orm_migration::prelude::*;

mod m20260101_000001_create_events;
mod m20261202_000001_event_timezone;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20260101_000001_create_events::Migration), Box::new(m20261202_000001_event_timezone::Migration)]
    }
}
