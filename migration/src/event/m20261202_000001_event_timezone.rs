use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The zone the event happens in (an IANA name such as `Asia/Jakarta`),
        // so clients show local times; times themselves stay UTC instants.
        // The service checks names against the tz database; the length bound
        // keeps the column honest even when written by hand.
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE events ADD COLUMN timezone text \
                 CONSTRAINT events_timezone_length CHECK (char_length(timezone) BETWEEN 1 AND 64);",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("ALTER TABLE events DROP COLUMN timezone;").await.map(|_| ())
    }
}
