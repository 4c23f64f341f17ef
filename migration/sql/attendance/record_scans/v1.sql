-- record_scans, version 1 (migration m20261203_000001_scans): replaces
-- check_in_batch.
--
-- Door scanning in one statement for a batch of scans: a JSON array of
-- objects with the keys `ordinal`, `id`, `event_id`, `user_id`, `direction`,
-- `scanned_at`, `scanned_by`, `nonce`, `capacity`, `organizer_id`,
-- `event_updated_at` (of the copy of the event the service checked the scan
-- against) and `refused` (the code of a scan the service refused before it
-- got here, which is only logged). Scans of an event that changed since that
-- copy are answered `STALE` and write nothing. Scans are applied per event in
-- `scanned_at` order, each on its own. A scan whose `nonce` the same scanner
-- already sent for the event writes nothing and answers the original scan
-- (`replayed`). Each event's counter row is locked first, which makes the
-- counts, the capacity check and the nonce check exact under concurrency.
-- Each batch notifies channel `attendance_updates` with
-- `<event id> <last scan id>` for live subscribers on every instance.

CREATE OR REPLACE FUNCTION record_scans(batch jsonb) RETURNS TABLE (
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
