use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Door scanning: every scan attempt is a row of `scans` (refused ones
        // too, with their code), entries and exits alike. `attendances` keeps
        // one row per person who entered an event (their first entry; its id is
        // that scan's id), now with whether they are inside. The counter row of
        // each event also holds its check-in policy and the exact `inside_now`,
        // `entries` and `exits`: every scan of an event locks that row, so the
        // counts and the capacity check are exact under concurrency, with no
        // cache. Existing check-ins become entries of people inside.
        //
        // `record_scans` replaces `check_in_batch`: one statement for a batch
        // of scans (a JSON array of objects with the keys `ordinal`, `id`,
        // `event_id`, `user_id`, `direction`, `scanned_at`, `scanned_by`,
        // `nonce`, `capacity`, `organizer_id`, `event_updated_at` (of the copy
        // of the event the service checked the scan against) and `refused`, the
        // code of a scan the service refused before it got here, which is only
        // logged). Scans of an event that changed since that copy are answered
        // `STALE` and write nothing. Scans
        // are applied per event in `scanned_at` order. A scan whose `nonce` the
        // same scanner already sent for the event writes nothing and answers
        // the original scan (`replayed`). Each batch, annulment and exit-all
        // notifies channel `attendance_updates` with `<event id>[ <scan id>]`
        // for live subscribers on every instance.
        let connection = manager.get_connection();
        connection
            .execute_unprepared(
                r#"
                ALTER TABLE event_checkins
                    ADD COLUMN inside_now integer NOT NULL DEFAULT 0 CHECK (inside_now >= 0),
                    ADD COLUMN entries integer NOT NULL DEFAULT 0 CHECK (entries >= 0),
                    ADD COLUMN exits integer NOT NULL DEFAULT 0 CHECK (exits >= 0),
                    ADD COLUMN allow_reentry boolean NOT NULL DEFAULT true,
                    ADD COLUMN allow_multiple_entries boolean NOT NULL DEFAULT false,
                    ADD COLUMN exit_all_at timestamptz,
                    ADD COLUMN exit_all_done boolean NOT NULL DEFAULT false;
                UPDATE event_checkins SET inside_now = checked_in, entries = checked_in;
                CREATE INDEX event_checkins_exit_all_idx ON event_checkins (exit_all_at)
                    WHERE exit_all_at IS NOT NULL AND NOT exit_all_done;

                ALTER TABLE attendances
                    ADD COLUMN inside boolean NOT NULL DEFAULT true,
                    ADD COLUMN exited boolean NOT NULL DEFAULT false;

                CREATE TABLE scans (
                    id           uuid PRIMARY KEY,
                    event_id     uuid NOT NULL,
                    user_id      uuid NOT NULL,
                    direction    text NOT NULL CHECK (direction IN ('ENTRY', 'EXIT')),
                    scanned_at   timestamptz NOT NULL,
                    received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
                    status       text NOT NULL,
                    scanned_by   uuid,
                    nonce        text CHECK (length(nonce) BETWEEN 1 AND 200),
                    annulled_at  timestamptz,
                    annulled_by  uuid,
                    annul_reason text
                );
                CREATE UNIQUE INDEX scans_nonce_key
                    ON scans (event_id, coalesce(scanned_by, '00000000-0000-0000-0000-000000000000'::uuid), nonce)
                    WHERE nonce IS NOT NULL;
                CREATE INDEX scans_log_idx ON scans (event_id, received_at DESC, id DESC);

                -- When each event last changed, as the event service tells
                -- (before it acknowledges the change): a scan checked against
                -- an older copy of the event is answered `STALE` and checked
                -- again, on every instance of the attendance service.
                CREATE TABLE event_changes (
                    event_id   uuid PRIMARY KEY,
                    changed_at timestamptz NOT NULL
                );
                INSERT INTO scans (id, event_id, user_id, direction, scanned_at, received_at, status, scanned_by)
                    SELECT id, event_id, user_id, 'ENTRY', check_in_time, created_at, 'OK', recorded_by
                    FROM attendances;

                DROP FUNCTION check_in_batch(jsonb);
                "#,
            )
            .await?;
        for function in [
            sql!("attendance/exit_all_due/v1.sql"),
            sql!("attendance/record_scans/v1.sql"),
            sql!("attendance/annul_scan/v1.sql"),
        ] {
            connection.execute_unprepared(function).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Back to one check-in per person: scans other than first entries go.
        let connection = manager.get_connection();
        connection
            .execute_unprepared(
                "DROP FUNCTION annul_scan(uuid, uuid, text);
                 DROP FUNCTION record_scans(jsonb);
                 DROP FUNCTION exit_all_due(uuid);
                 DROP TABLE scans;
                 DROP TABLE event_changes;
                 ALTER TABLE attendances DROP COLUMN inside, DROP COLUMN exited;
                 DROP INDEX event_checkins_exit_all_idx;
                 ALTER TABLE event_checkins DROP COLUMN inside_now, DROP COLUMN entries, DROP COLUMN exits,
                     DROP COLUMN allow_reentry, DROP COLUMN allow_multiple_entries, DROP COLUMN exit_all_at,
                     DROP COLUMN exit_all_done;",
            )
            .await?;
        connection.execute_unprepared(sql!("attendance/check_in_batch/v2.sql")).await.map(|_| ())
    }
}
