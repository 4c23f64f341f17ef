use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // `event_id` and `user_id` are plain ids (no cross-schema foreign keys).
        // `event_checkins` holds one counter row per event: check-ins lock it,
        // which makes the capacity check exact under concurrency.
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                CREATE TABLE attendances (
                    id            uuid PRIMARY KEY,
                    event_id      uuid NOT NULL,
                    user_id       uuid NOT NULL,
                    check_in_time timestamptz NOT NULL,
                    recorded_by   uuid,
                    created_at    timestamptz NOT NULL DEFAULT now(),
                    CONSTRAINT attendances_event_user_key UNIQUE (event_id, user_id)
                );
                CREATE INDEX attendances_event_time_idx ON attendances (event_id, check_in_time, id);
                CREATE INDEX attendances_user_time_idx ON attendances (user_id, check_in_time, id);

                CREATE TABLE event_checkins (
                    event_id   uuid PRIMARY KEY,
                    checked_in integer NOT NULL DEFAULT 0 CHECK (checked_in >= 0)
                );
                "#,
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE event_checkins; DROP TABLE attendances;")
            .await
            .map(|_| ())
    }
}
