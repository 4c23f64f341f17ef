use sea_orm_migration::prelude::*;

use super::m20261126_000001_check_in_batch::CHECK_IN_BATCH;

/// `check_in_batch` as this migration leaves it (a later migration restores it on `down`).
pub(super) const CHECK_IN_BATCH_WITH_ORGANIZER: &str = r#"
                CREATE OR REPLACE FUNCTION check_in_batch(check_ins jsonb) RETURNS TABLE (
                    ordinal bigint, outcome text, id uuid, event_id uuid, user_id uuid,
                    check_in_time timestamptz, recorded_by uuid, created_at timestamptz
                ) LANGUAGE plpgsql AS $$
                #variable_conflict use_column
                DECLARE
                    n record;
                BEGIN
                    FOR n IN
                        SELECT * FROM jsonb_to_recordset(check_ins)
                            AS c(ordinal bigint, id uuid, event_id uuid, user_id uuid, check_in_time timestamptz,
                                 recorded_by uuid, capacity integer, organizer_id uuid)
                        ORDER BY c.event_id, c.ordinal
                    LOOP
                        INSERT INTO event_checkins AS c (event_id, checked_in, organizer_id)
                        VALUES (n.event_id, 1, n.organizer_id)
                        ON CONFLICT (event_id) DO UPDATE
                            SET checked_in = c.checked_in + 1,
                                organizer_id = coalesce(c.organizer_id, excluded.organizer_id)
                        WHERE n.capacity IS NULL OR c.checked_in < n.capacity;
                        IF FOUND THEN
                            RETURN QUERY
                                INSERT INTO attendances AS a (id, event_id, user_id, check_in_time, recorded_by)
                                VALUES (n.id, n.event_id, n.user_id, n.check_in_time, n.recorded_by)
                                ON CONFLICT ON CONSTRAINT attendances_event_user_key DO NOTHING
                                RETURNING n.ordinal, 'recorded'::text, a.id, a.event_id, a.user_id,
                                          a.check_in_time, a.recorded_by, a.created_at;
                            IF FOUND THEN
                                CONTINUE;
                            END IF;
                            UPDATE event_checkins SET checked_in = checked_in - 1 WHERE event_id = n.event_id;
                        END IF;
                        RETURN QUERY
                            SELECT n.ordinal, 'duplicate'::text, a.id, a.event_id, a.user_id, a.check_in_time,
                                   a.recorded_by, a.created_at
                            FROM attendances a WHERE a.event_id = n.event_id AND a.user_id = n.user_id;
                        IF NOT FOUND THEN
                            RETURN QUERY SELECT n.ordinal, 'full'::text, NULL::uuid, n.event_id, n.user_id,
                                                NULL::timestamptz, NULL::uuid, NULL::timestamptz;
                        END IF;
                    END LOOP;
                END
                $$;
                "#;

#[derive(DeriveMigrationName)]
pub struct Migration;

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
        manager.get_connection().execute_unprepared(CHECK_IN_BATCH_WITH_ORGANIZER).await.map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        connection
            .execute_unprepared(
                "DROP FUNCTION check_in_batch(jsonb);
                 DROP TABLE check_in_staff;
                 DROP INDEX event_checkins_organizer_idx;
                 ALTER TABLE event_checkins DROP COLUMN organizer_id;",
            )
            .await?;
        connection.execute_unprepared(CHECK_IN_BATCH).await.map(|_| ())
    }
}
