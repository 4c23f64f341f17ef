use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // `organizer_id` is a plain id: the organizer lives in auth_schema, and
        // schemas never reference each other.
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                CREATE TABLE events (
                    id           uuid PRIMARY KEY,
                    title        text NOT NULL,
                    description  text,
                    start_time   timestamptz NOT NULL,
                    end_time     timestamptz NOT NULL,
                    location     text,
                    capacity     integer,
                    organizer_id uuid,
                    status       text NOT NULL DEFAULT 'SCHEDULED',
                    created_at   timestamptz NOT NULL DEFAULT now(),
                    updated_at   timestamptz NOT NULL DEFAULT now(),
                    CONSTRAINT events_time_order CHECK (end_time > start_time),
                    CONSTRAINT events_title_length CHECK (char_length(btrim(title)) BETWEEN 1 AND 200),
                    CONSTRAINT events_description_length CHECK (char_length(description) <= 10000),
                    CONSTRAINT events_location_length CHECK (char_length(location) <= 500),
                    CONSTRAINT events_capacity_positive CHECK (capacity > 0),
                    CONSTRAINT events_status_check CHECK (status IN ('SCHEDULED', 'CANCELLED'))
                );
                -- Keyset pagination and time-window listing: ORDER BY start_time, id.
                CREATE INDEX events_start_time_id_idx ON events (start_time, id);
                -- Per-organizer listing in the same order.
                CREATE INDEX events_organizer_start_time_idx ON events (organizer_id, start_time, id);
                "#,
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE events").await.map(|_| ())
    }
}
