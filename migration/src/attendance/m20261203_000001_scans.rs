use sea_orm_migration::prelude::*;

use super::m20261201_000001_check_in_staff::CHECK_IN_BATCH_WITH_ORGANIZER;

#[derive(DeriveMigrationName)]
pub struct Migration;

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

                -- Marks everyone still inside out at the event's `exit_all_at`,
                -- once, if that time has come. Takes the event's row lock.
                CREATE FUNCTION exit_all_due(ev uuid) RETURNS integer LANGUAGE plpgsql AS $$
                DECLARE
                    c record;
                    moved integer;
                BEGIN
                    SELECT * INTO c FROM event_checkins WHERE event_id = ev FOR UPDATE;
                    IF NOT FOUND OR c.exit_all_at IS NULL OR c.exit_all_done OR c.exit_all_at > now() THEN
                        RETURN 0;
                    END IF;
                    WITH moved_out AS (
                        UPDATE attendances SET inside = false, exited = true
                        WHERE event_id = ev AND inside RETURNING user_id
                    )
                    INSERT INTO scans (id, event_id, user_id, direction, scanned_at, status)
                    SELECT gen_random_uuid(), ev, user_id, 'EXIT', c.exit_all_at, 'OK' FROM moved_out;
                    GET DIAGNOSTICS moved = ROW_COUNT;
                    UPDATE event_checkins
                    SET inside_now = inside_now - moved, exits = exits + moved, exit_all_done = true
                    WHERE event_id = ev;
                    PERFORM pg_notify('attendance_updates', ev::text);
                    RETURN moved;
                END
                $$;
                "#,
            )
            .await?;
        connection.execute_unprepared(RECORD_SCANS_ONE_BY_ONE).await?;
        connection
            .execute_unprepared(
                r#"
                -- Annuls an accepted scan: it stays in the log, marked; the
                -- person's state is what their other accepted scans say, and
                -- the counts give the place back. Only the person's latest
                -- accepted scan may be annulled (undo goes backwards, so the
                -- counts stay entries - exits): a scan with a later one is
                -- returned unchanged, not annulled. Annulling twice changes
                -- nothing. No row when the scan does not exist.
                CREATE FUNCTION annul_scan(scan uuid, by_user uuid, reason text) RETURNS SETOF scans
                LANGUAGE plpgsql AS $$
                DECLARE
                    s scans;
                    a record;
                    last_direction text;
                    has_entry boolean;
                    has_exit boolean;
                BEGIN
                    SELECT * INTO s FROM scans WHERE id = scan;
                    IF NOT FOUND THEN
                        RETURN;
                    END IF;
                    PERFORM 1 FROM event_checkins WHERE event_id = s.event_id FOR UPDATE;
                    SELECT * INTO s FROM scans WHERE id = scan;
                    IF s.annulled_at IS NOT NULL OR s.status <> 'OK' OR EXISTS (
                        SELECT 1 FROM scans x
                        WHERE x.event_id = s.event_id AND x.user_id = s.user_id AND x.status = 'OK'
                          AND x.annulled_at IS NULL AND (x.received_at, x.id) > (s.received_at, s.id)
                    ) THEN
                        RETURN NEXT s;
                        RETURN;
                    END IF;
                    UPDATE scans SET annulled_at = clock_timestamp(), annulled_by = by_user, annul_reason = reason
                    WHERE id = scan RETURNING * INTO s;
                    SELECT * INTO a FROM attendances WHERE event_id = s.event_id AND user_id = s.user_id;
                    SELECT x.direction INTO last_direction FROM scans x
                    WHERE x.event_id = s.event_id AND x.user_id = s.user_id AND x.status = 'OK' AND x.annulled_at IS NULL
                    ORDER BY x.received_at DESC, x.id DESC LIMIT 1;
                    SELECT coalesce(bool_or(x.direction = 'ENTRY'), false), coalesce(bool_or(x.direction = 'EXIT'), false)
                    INTO has_entry, has_exit FROM scans x
                    WHERE x.event_id = s.event_id AND x.user_id = s.user_id AND x.status = 'OK' AND x.annulled_at IS NULL;
                    UPDATE event_checkins
                    SET entries = entries - (s.direction = 'ENTRY')::int,
                        exits = exits - (s.direction = 'EXIT')::int,
                        inside_now = inside_now - coalesce(a.inside, false)::int
                                     + (has_entry AND last_direction = 'ENTRY')::int,
                        checked_in = checked_in - (a.id IS NOT NULL AND NOT has_entry)::int
                    WHERE event_id = s.event_id;
                    IF NOT has_entry THEN
                        DELETE FROM attendances WHERE id = a.id;
                    ELSE
                        UPDATE attendances SET inside = (last_direction = 'ENTRY'), exited = has_exit WHERE id = a.id;
                    END IF;
                    PERFORM pg_notify('attendance_updates', s.event_id::text || ' ' || s.id::text);
                    RETURN NEXT s;
                END
                $$;
                "#,
            )
            .await
            .map(|_| ())
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
        connection.execute_unprepared(CHECK_IN_BATCH_WITH_ORGANIZER).await.map(|_| ())
    }
}

/// `record_scans` as this migration made it: every scan on its own, in
/// order (the next migration writes the usual batch as sets; its `down`
/// brings this back).
pub(super) const RECORD_SCANS_ONE_BY_ONE: &str = r#"
                CREATE FUNCTION record_scans(batch jsonb) RETURNS TABLE (
                    ordinal bigint, status text, replayed boolean,
                    id uuid, event_id uuid, user_id uuid, direction text, scanned_at timestamptz,
                    received_at timestamptz, scanned_by uuid, annulled_at timestamptz, annulled_by uuid,
                    annul_reason text,
                    attendance_id uuid, check_in_time timestamptz, recorded_by uuid, created_at timestamptz
                ) LANGUAGE plpgsql AS $$
                #variable_conflict use_column
                DECLARE
                    n record;
                    -- The current event's counter row: locked, and kept here
                    -- while its scans are applied, written back once.
                    c event_checkins;
                    a attendances;
                    current_event uuid;
                    stale boolean;
                    -- The batch's scanner-and-nonce keys already recorded for
                    -- the current event (one lookup per event, not per scan).
                    recorded_keys text[];
                    scan_key text;
                    -- The current event's last scan written, told to live
                    -- subscribers (on every instance) when the batch commits.
                    last_scan uuid;
                    with_nonces constant boolean := jsonb_path_exists(batch, '$[*] ? (@.nonce != null)');
                    known boolean;
                    verdict text;
                    nobody constant uuid := '00000000-0000-0000-0000-000000000000';
                BEGIN
                    FOR n IN
                        SELECT * FROM jsonb_to_recordset(batch)
                            AS b(ordinal bigint, id uuid, event_id uuid, user_id uuid, direction text,
                                 scanned_at timestamptz, scanned_by uuid, nonce text, capacity integer,
                                 organizer_id uuid, refused text, event_updated_at timestamptz)
                        ORDER BY b.event_id, b.scanned_at, b.ordinal
                    LOOP
                        IF current_event IS DISTINCT FROM n.event_id THEN
                            IF current_event IS NOT NULL THEN
                                UPDATE event_checkins e
                                SET checked_in = c.checked_in, inside_now = c.inside_now, entries = c.entries,
                                    exits = c.exits, organizer_id = c.organizer_id
                                WHERE e.event_id = current_event;
                                IF last_scan IS NOT NULL THEN
                                    PERFORM pg_notify('attendance_updates', current_event::text || ' ' || last_scan::text);
                                    last_scan := NULL;
                                END IF;
                            END IF;
                            -- Locked without a new row version: the counters are
                            -- written back once, when the event's scans are done.
                            SELECT * INTO c FROM event_checkins e WHERE e.event_id = n.event_id FOR UPDATE;
                            IF NOT FOUND THEN
                                INSERT INTO event_checkins (event_id) VALUES (n.event_id) ON CONFLICT DO NOTHING;
                                SELECT * INTO c FROM event_checkins e WHERE e.event_id = n.event_id FOR UPDATE;
                            END IF;
                            c.organizer_id := coalesce(c.organizer_id, n.organizer_id);
                            IF c.exit_all_at IS NOT NULL AND NOT c.exit_all_done AND c.exit_all_at <= now() THEN
                                PERFORM exit_all_due(n.event_id);
                                SELECT * INTO c FROM event_checkins e WHERE e.event_id = n.event_id;
                                c.organizer_id := coalesce(c.organizer_id, n.organizer_id);
                            END IF;
                            current_event := n.event_id;
                            stale := EXISTS (
                                SELECT 1 FROM event_changes x
                                WHERE x.event_id = n.event_id AND x.changed_at > n.event_updated_at
                            );
                            recorded_keys := CASE WHEN NOT with_nonces THEN '{}'::text[] ELSE ARRAY(
                                SELECT coalesce(x.scanned_by, nobody)::text || ' ' || x.nonce FROM scans x
                                WHERE x.event_id = n.event_id AND x.nonce IN (
                                    SELECT b.nonce FROM jsonb_to_recordset(batch) AS b(event_id uuid, nonce text)
                                    WHERE b.event_id = n.event_id AND b.nonce IS NOT NULL
                                )
                            ) END;
                        END IF;
                        IF stale THEN
                            RETURN QUERY SELECT n.ordinal, 'STALE'::text, false, n.id, n.event_id, n.user_id,
                                                n.direction, n.scanned_at, now(), n.scanned_by, NULL::timestamptz,
                                                NULL::uuid, NULL::text, NULL::uuid, NULL::timestamptz, NULL::uuid,
                                                NULL::timestamptz;
                            CONTINUE;
                        END IF;
                        scan_key := coalesce(n.scanned_by, nobody)::text || ' ' || n.nonce;
                        IF scan_key = ANY(recorded_keys) THEN
                            RETURN QUERY
                                SELECT n.ordinal, x.status, true, x.id, x.event_id, x.user_id, x.direction,
                                       x.scanned_at, x.received_at, x.scanned_by, x.annulled_at, x.annulled_by,
                                       x.annul_reason, t.id, t.check_in_time, t.recorded_by, t.created_at
                                FROM scans x
                                LEFT JOIN attendances t ON t.event_id = x.event_id AND t.user_id = x.user_id
                                WHERE x.event_id = n.event_id AND x.nonce = n.nonce
                                  AND coalesce(x.scanned_by, nobody) = coalesce(n.scanned_by, nobody);
                            CONTINUE;
                        END IF;
                        a := NULL;
                        verdict := n.refused;
                        -- The usual case first: a first entry while there is room
                        -- is one insert (no lookup of the person).
                        IF verdict IS NULL AND n.direction = 'ENTRY' AND (n.capacity IS NULL OR (
                            CASE WHEN c.allow_reentry THEN c.inside_now ELSE c.checked_in END < n.capacity
                        )) THEN
                            INSERT INTO attendances AS t (id, event_id, user_id, check_in_time, recorded_by)
                            VALUES (n.id, n.event_id, n.user_id, n.scanned_at, n.scanned_by)
                            ON CONFLICT ON CONSTRAINT attendances_event_user_key DO NOTHING
                            RETURNING * INTO a;
                            IF FOUND THEN
                                verdict := 'OK';
                                c.checked_in := c.checked_in + 1;
                                c.inside_now := c.inside_now + 1;
                                c.entries := c.entries + 1;
                            END IF;
                        END IF;
                        IF verdict IS NULL THEN
                            SELECT * INTO a FROM attendances x WHERE x.event_id = n.event_id AND x.user_id = n.user_id;
                            known := FOUND;
                            IF n.direction = 'EXIT' THEN
                                IF NOT known OR NOT a.inside THEN
                                    verdict := 'NOT_INSIDE';
                                ELSE
                                    verdict := 'OK';
                                    UPDATE attendances x SET inside = false, exited = true WHERE x.id = a.id;
                                    c.inside_now := c.inside_now - 1;
                                    c.exits := c.exits + 1;
                                END IF;
                            ELSIF known AND a.inside AND NOT c.allow_multiple_entries THEN
                                verdict := 'ALREADY_CHECKED_IN';
                            ELSIF known AND NOT a.inside AND a.exited AND NOT c.allow_reentry THEN
                                verdict := 'ALREADY_CHECKED_IN';
                            -- Capacity counts the people inside when they may come
                            -- back, else everyone who ever entered.
                            ELSIF n.capacity IS NOT NULL AND NOT (known AND a.inside) AND (
                                (c.allow_reentry AND c.inside_now >= n.capacity)
                                OR (NOT c.allow_reentry AND NOT known AND c.checked_in >= n.capacity)
                            ) THEN
                                verdict := 'EVENT_FULL';
                            ELSIF NOT known THEN
                                -- Only reached when full for a first entry: refused above.
                                verdict := 'EVENT_FULL';
                            ELSE
                                verdict := 'OK';
                                IF NOT a.inside THEN
                                    UPDATE attendances x SET inside = true WHERE x.id = a.id;
                                    c.inside_now := c.inside_now + 1;
                                END IF;
                                c.entries := c.entries + 1;
                            END IF;
                        END IF;
                        INSERT INTO scans AS x (id, event_id, user_id, direction, scanned_at, status, scanned_by, nonce)
                        VALUES (n.id, n.event_id, n.user_id, n.direction, n.scanned_at, verdict, n.scanned_by, n.nonce)
                        RETURNING x.received_at INTO received_at;
                        last_scan := n.id;
                        IF scan_key IS NOT NULL THEN
                            recorded_keys := recorded_keys || scan_key;
                        END IF;
                        ordinal := n.ordinal;
                        status := verdict;
                        replayed := false;
                        id := n.id;
                        event_id := n.event_id;
                        user_id := n.user_id;
                        direction := n.direction;
                        scanned_at := n.scanned_at;
                        scanned_by := n.scanned_by;
                        annulled_at := NULL;
                        annulled_by := NULL;
                        annul_reason := NULL;
                        attendance_id := a.id;
                        check_in_time := a.check_in_time;
                        recorded_by := a.recorded_by;
                        created_at := a.created_at;
                        RETURN NEXT;
                    END LOOP;
                    IF current_event IS NOT NULL THEN
                        UPDATE event_checkins e
                        SET checked_in = c.checked_in, inside_now = c.inside_now, entries = c.entries, exits = c.exits,
                            organizer_id = c.organizer_id
                        WHERE e.event_id = current_event;
                        IF last_scan IS NOT NULL THEN
                            PERFORM pg_notify('attendance_updates', current_event::text || ' ' || last_scan::text);
                        END IF;
                    END IF;
                END
                $$;
"#;
