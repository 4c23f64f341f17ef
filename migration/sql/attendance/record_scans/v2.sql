-- record_scans, version 2 (migration m20261205_000001_record_scans_in_sets).
--
-- Same signature and answers as version 1. Each event's scans in a batch
-- that are entries of different people, with no nonce seen before, no stale
-- copy of the event and room for all of them, cannot change each other's
-- verdicts, so they are written with one insert of the first entries, one of
-- the log rows and one update of the counts, instead of a statement or two
-- per scan. Anything else (exits, the same person twice, replays, the last
-- places) is applied one by one in `scanned_at` order, as before. The nonce
-- lookup spells the scanner as the nonce index does, so it is an index probe
-- per nonce, and a stale copy of the event is noticed per scan.

CREATE OR REPLACE FUNCTION record_scans(batch jsonb) RETURNS TABLE (
    ordinal bigint, status text, replayed boolean,
    id uuid, event_id uuid, user_id uuid, direction text, scanned_at timestamptz,
    received_at timestamptz, scanned_by uuid, annulled_at timestamptz, annulled_by uuid,
    annul_reason text,
    attendance_id uuid, check_in_time timestamptz, recorded_by uuid, created_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    -- One event's scans in the batch, summed up: whether they can all be
    -- written at once, and what the counts need.
    g record;
    n record;
    -- The event's counter row: locked, and kept here while its scans are
    -- applied one by one, written back once.
    c event_checkins;
    a attendances;
    -- When the event last changed, as the event service told.
    changed timestamptz;
    -- The batch's scanner-and-nonce keys already recorded for the event.
    recorded_keys text[];
    scan_key text;
    -- The event's last scan written, told to live subscribers.
    last_scan uuid;
    known boolean;
    verdict text;
    nobody constant uuid := '00000000-0000-0000-0000-000000000000';
BEGIN
    FOR g IN
        SELECT b.event_id,
               count(*) FILTER (WHERE b.refused IS NULL) AS to_apply,
               min(b.capacity) AS capacity,
               (array_agg(b.organizer_id) FILTER (WHERE b.organizer_id IS NOT NULL))[1] AS organizer_id,
               min(b.event_updated_at) AS oldest_copy,
               coalesce(bool_and(b.direction = 'ENTRY') FILTER (WHERE b.refused IS NULL), true) AS entries_only,
               count(DISTINCT b.user_id) FILTER (WHERE b.refused IS NULL)
                   = count(*) FILTER (WHERE b.refused IS NULL) AS distinct_people,
               count(b.nonce) > 0 AS with_nonces,
               count(DISTINCT (coalesce(b.scanned_by, nobody), b.nonce)) FILTER (WHERE b.nonce IS NOT NULL)
                   = count(b.nonce) AS distinct_nonces,
               (array_agg(b.id ORDER BY b.scanned_at DESC, b.ordinal DESC))[1] AS last_scan
        FROM jsonb_to_recordset(batch) AS b(ordinal bigint, id uuid, event_id uuid, user_id uuid, direction text,
                                            scanned_at timestamptz, scanned_by uuid, nonce text, capacity integer,
                                            organizer_id uuid, refused text, event_updated_at timestamptz)
        GROUP BY b.event_id
        ORDER BY b.event_id
    LOOP
        -- Locked without a new row version: the counters are written once.
        SELECT * INTO c FROM event_checkins e WHERE e.event_id = g.event_id FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO event_checkins (event_id) VALUES (g.event_id) ON CONFLICT DO NOTHING;
            SELECT * INTO c FROM event_checkins e WHERE e.event_id = g.event_id FOR UPDATE;
        END IF;
        IF c.exit_all_at IS NOT NULL AND NOT c.exit_all_done AND c.exit_all_at <= now() THEN
            PERFORM exit_all_due(g.event_id);
            SELECT * INTO c FROM event_checkins e WHERE e.event_id = g.event_id;
        END IF;
        c.organizer_id := coalesce(c.organizer_id, g.organizer_id);
        last_scan := NULL;
        SELECT x.changed_at INTO changed FROM event_changes x WHERE x.event_id = g.event_id;
        -- The scanner is spelt as the nonce index spells it, so the index answers.
        recorded_keys := CASE WHEN NOT g.with_nonces THEN '{}'::text[] ELSE ARRAY(
            SELECT k.scanner::text || ' ' || k.nonce
            FROM (
                SELECT DISTINCT coalesce(b.scanned_by, nobody) AS scanner, b.nonce
                FROM jsonb_to_recordset(batch) AS b(event_id uuid, scanned_by uuid, nonce text)
                WHERE b.event_id = g.event_id AND b.nonce IS NOT NULL
            ) k
            WHERE EXISTS (
                SELECT 1 FROM scans x
                WHERE x.event_id = g.event_id AND x.nonce IS NOT NULL AND x.nonce = k.nonce
                  AND coalesce(x.scanned_by, '00000000-0000-0000-0000-000000000000'::uuid) = k.scanner
            )
        ) END;

        IF g.entries_only AND g.distinct_people AND g.distinct_nonces AND cardinality(recorded_keys) = 0
           AND (changed IS NULL OR changed <= g.oldest_copy)
           AND (g.capacity IS NULL
                OR CASE WHEN c.allow_reentry THEN c.inside_now ELSE c.checked_in END + g.to_apply <= g.capacity)
        THEN
            -- The usual batch: entries of different people, no replay, and room
            -- for all of them. Their order cannot change any verdict, so they
            -- are written as sets: one insert of the first entries, one of the
            -- log rows, one update of the counts. Each scan is read once, with
            -- its person's attendance as it was, and nothing is joined back
            -- (the planner takes these sets for one row each, and a join of
            -- 500 by 500 rows done as a nested loop is the slowest part).
            RETURN QUERY
            WITH judged AS (
                SELECT b.*, k.id IS NULL AND b.refused IS NULL AS first_entry,
                       coalesce(k.inside, false) AS was_inside,
                       CASE WHEN b.refused IS NOT NULL THEN b.refused
                            WHEN k.id IS NULL THEN 'OK'
                            WHEN k.inside AND NOT c.allow_multiple_entries THEN 'ALREADY_CHECKED_IN'
                            WHEN NOT k.inside AND k.exited AND NOT c.allow_reentry THEN 'ALREADY_CHECKED_IN'
                            ELSE 'OK' END AS verdict,
                       CASE WHEN b.refused IS NULL THEN coalesce(k.id, b.id) END AS a_id,
                       CASE WHEN b.refused IS NULL THEN coalesce(k.check_in_time, b.scanned_at) END
                           AS a_check_in_time,
                       CASE WHEN k.id IS NOT NULL THEN k.recorded_by WHEN b.refused IS NULL THEN b.scanned_by END
                           AS a_recorded_by,
                       CASE WHEN b.refused IS NULL THEN coalesce(k.created_at, now()) END AS a_created_at,
                       -- Evaluated after the sort: the log's arrival order is the scan order.
                       clock_timestamp() AS arrived_at
                FROM jsonb_to_recordset(batch)
                    AS b(ordinal bigint, id uuid, event_id uuid, user_id uuid, direction text,
                         scanned_at timestamptz, scanned_by uuid, nonce text, refused text)
                -- One probe of the person's key per scan, never a walk through
                -- the event's attendances (which a join may choose).
                LEFT JOIN LATERAL (
                    SELECT * FROM attendances x
                    WHERE b.refused IS NULL AND x.event_id = b.event_id AND x.user_id = b.user_id
                ) k ON true
                WHERE b.event_id = g.event_id
                ORDER BY b.scanned_at, b.ordinal
            ), first_entries AS (
                -- No conflict is possible: the counter row's lock is held, and
                -- the lookup above saw every committed attendance.
                INSERT INTO attendances (id, event_id, user_id, check_in_time, recorded_by, created_at)
                SELECT j.a_id, j.event_id, j.user_id, j.a_check_in_time, j.a_recorded_by, j.a_created_at
                FROM judged j WHERE j.first_entry
            ), back_in AS (
                UPDATE attendances t SET inside = true
                WHERE t.id = ANY (ARRAY(
                    SELECT j.a_id FROM judged j
                    WHERE j.verdict = 'OK' AND NOT j.first_entry AND NOT j.was_inside
                ))
            ), counted AS (
                UPDATE event_checkins e
                SET checked_in = e.checked_in + (SELECT count(*) FROM judged j WHERE j.first_entry),
                    inside_now = e.inside_now + (SELECT count(*) FROM judged j
                                                 WHERE j.verdict = 'OK' AND NOT j.was_inside),
                    entries = e.entries + (SELECT count(*) FROM judged j WHERE j.verdict = 'OK'),
                    organizer_id = c.organizer_id
                WHERE e.event_id = g.event_id
            ), logged AS (
                INSERT INTO scans
                    (id, event_id, user_id, direction, scanned_at, received_at, status, scanned_by, nonce)
                SELECT j.id, j.event_id, j.user_id, j.direction, j.scanned_at, j.arrived_at, j.verdict,
                       j.scanned_by, j.nonce
                FROM judged j
            )
            SELECT j.ordinal, j.verdict, false, j.id, j.event_id, j.user_id, j.direction, j.scanned_at,
                   j.arrived_at, j.scanned_by, NULL::timestamptz, NULL::uuid, NULL::text,
                   j.a_id, j.a_check_in_time, j.a_recorded_by, j.a_created_at
            FROM judged j;
            last_scan := g.last_scan;
        ELSE
            FOR n IN
                SELECT * FROM jsonb_to_recordset(batch)
                    AS b(ordinal bigint, id uuid, event_id uuid, user_id uuid, direction text,
                         scanned_at timestamptz, scanned_by uuid, nonce text, capacity integer,
                         organizer_id uuid, refused text, event_updated_at timestamptz)
                WHERE b.event_id = g.event_id
                ORDER BY b.scanned_at, b.ordinal
            LOOP
                IF changed > n.event_updated_at THEN
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
                        WHERE x.event_id = n.event_id AND x.nonce IS NOT NULL AND x.nonce = n.nonce
                          AND coalesce(x.scanned_by, '00000000-0000-0000-0000-000000000000'::uuid)
                              = coalesce(n.scanned_by, nobody);
                    CONTINUE;
                END IF;
                a := NULL;
                verdict := n.refused;
                -- A first entry while there is room is one insert (no lookup of the person).
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
            UPDATE event_checkins e
            SET checked_in = c.checked_in, inside_now = c.inside_now, entries = c.entries, exits = c.exits,
                organizer_id = c.organizer_id
            WHERE e.event_id = g.event_id;
        END IF;
        -- Live subscribers (on every instance) hear of the event's last scan when this commits.
        IF last_scan IS NOT NULL THEN
            PERFORM pg_notify('attendance_updates', g.event_id::text || ' ' || last_scan::text);
        END IF;
    END LOOP;
END
$$;
