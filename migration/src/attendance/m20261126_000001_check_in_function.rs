use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A check-in in one statement, hence one round trip and one implicit
        // transaction: the event's counter row stays locked only while the
        // server runs these few lines, not across round trips from the service,
        // so a burst of check-ins at one door does not queue on it.
        //
        // The outcome is `recorded` (the new row), `duplicate` (the person's
        // earlier row) or `full` (no row). A duplicate gives its increment back.
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                CREATE FUNCTION check_in(
                    new_id uuid, new_event_id uuid, new_user_id uuid,
                    new_check_in_time timestamptz, new_recorded_by uuid, event_capacity integer
                ) RETURNS TABLE (
                    outcome text, id uuid, event_id uuid, user_id uuid,
                    check_in_time timestamptz, recorded_by uuid, created_at timestamptz
                ) LANGUAGE plpgsql AS $$
                #variable_conflict use_column
                BEGIN
                    INSERT INTO event_checkins AS c (event_id, checked_in) VALUES (new_event_id, 1)
                    ON CONFLICT (event_id) DO UPDATE SET checked_in = c.checked_in + 1
                    WHERE event_capacity IS NULL OR c.checked_in < event_capacity;
                    IF FOUND THEN
                        RETURN QUERY
                            INSERT INTO attendances AS a (id, event_id, user_id, check_in_time, recorded_by)
                            VALUES (new_id, new_event_id, new_user_id, new_check_in_time, new_recorded_by)
                            ON CONFLICT ON CONSTRAINT attendances_event_user_key DO NOTHING
                            RETURNING 'recorded', a.id, a.event_id, a.user_id, a.check_in_time, a.recorded_by,
                                      a.created_at;
                        IF FOUND THEN
                            RETURN;
                        END IF;
                        UPDATE event_checkins SET checked_in = checked_in - 1 WHERE event_id = new_event_id;
                    END IF;
                    RETURN QUERY
                        SELECT 'duplicate', a.id, a.event_id, a.user_id, a.check_in_time, a.recorded_by, a.created_at
                        FROM attendances a WHERE a.event_id = new_event_id AND a.user_id = new_user_id;
                    IF NOT FOUND THEN
                        RETURN QUERY SELECT 'full', NULL::uuid, new_event_id, new_user_id, NULL::timestamptz,
                                            NULL::uuid, NULL::timestamptz;
                    END IF;
                END
                $$;
                "#,
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP FUNCTION check_in(uuid, uuid, uuid, timestamptz, uuid, integer);")
            .await
            .map(|_| ())
    }
}
