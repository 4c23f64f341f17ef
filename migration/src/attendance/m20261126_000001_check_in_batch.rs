use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Check-ins in one statement (see the SQL file).
        manager.get_connection().execute_unprepared(sql!("attendance/check_in_batch/v1.sql")).await.map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP FUNCTION check_in_batch(jsonb);").await.map(|_| ())
    }
}
