//! Check-ins counted per event and minute as they are written
//! (`checkin_minutes`, kept by statement triggers on `attendances`), so that
//! an event's statistics are read from at most one row per minute of its
//! door, however many people came. Existing check-ins are counted in.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        connection
            .execute_unprepared(
                "CREATE TABLE checkin_minutes (
                     event_id uuid NOT NULL,
                     minute   timestamptz NOT NULL,
                     n        integer NOT NULL CHECK (n >= 0),
                     PRIMARY KEY (event_id, minute)
                 );
                 INSERT INTO checkin_minutes (event_id, minute, n)
                 SELECT event_id, date_bin('1 minute', check_in_time, timestamptz '2000-01-01 00:00+00'), count(*)
                 FROM attendances GROUP BY 1, 2;",
            )
            .await?;
        connection.execute_unprepared(sql!("attendance/count_checkins_in/v1.sql")).await?;
        connection.execute_unprepared(sql!("attendance/count_checkins_out/v1.sql")).await?;
        connection
            .execute_unprepared(
                "CREATE TRIGGER attendances_count_in AFTER INSERT ON attendances
                     REFERENCING NEW TABLE AS new_checkins FOR EACH STATEMENT EXECUTE FUNCTION count_checkins_in();
                 CREATE TRIGGER attendances_count_out AFTER DELETE ON attendances
                     REFERENCING OLD TABLE AS old_checkins FOR EACH STATEMENT EXECUTE FUNCTION count_checkins_out();",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "DROP TRIGGER attendances_count_out ON attendances;
                 DROP TRIGGER attendances_count_in ON attendances;
                 DROP FUNCTION count_checkins_out();
                 DROP FUNCTION count_checkins_in();
                 DROP TABLE checkin_minutes;",
            )
            .await
            .map(|_| ())
    }
}
