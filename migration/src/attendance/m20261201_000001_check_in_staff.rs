use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Who may read an event's attendance is decided here, where the check-ins
        // are, in the same statement that reads them: so the attendance service
        // keeps the event's organizer beside its counter row (an event's
        // organizer never changes, so the copy cannot go stale), and the check-in
        // staff the organizer names. Rows written before this migration learn
        // their organizer at the event's next check-in (until then only ADMINs
        // see those lists in full).
        //
        // `check_in_batch` takes one more key per check-in, `organizer_id`.
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                ALTER TABLE event_checkins ADD COLUMN organizer_id uuid;
                CREATE INDEX event_checkins_organizer_idx ON event_checkins (organizer_id)
                    WHERE organizer_id IS NOT NULL;

                CREATE TABLE check_in_staff (
                    event_id uuid NOT NULL,
                    user_id  uuid NOT NULL,
                    added_by uuid,
                    added_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (event_id, user_id)
                );
                CREATE INDEX check_in_staff_user_idx ON check_in_staff (user_id, event_id);

                "#,
            )
            .await?;
        manager.get_connection().execute_unprepared(sql!("attendance/check_in_batch/v2.sql")).await.map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        connection
            .execute_unprepared(
                "DROP TABLE check_in_staff;
                 DROP INDEX event_checkins_organizer_idx;
                 ALTER TABLE event_checkins DROP COLUMN organizer_id;",
            )
            .await?;
        connection.execute_unprepared(sql!("attendance/check_in_batch/v1.sql")).await.map(|_| ())
    }
}
