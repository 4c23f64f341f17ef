//! Each event's counter row counts the changes that took a right away at
//! the event (a check-in staff member removed). A live update carries the
//! count it was read with, so a subscriber's right is checked again on every
//! update read after such a change, however many updates it skipped.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE event_checkins ADD COLUMN rights_version bigint NOT NULL DEFAULT 0")
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE event_checkins DROP COLUMN rights_version")
            .await
            .map(|_| ())
    }
}
