-- record_scans, version 5 (migration m20261208_000001_registrations).
--
-- Records a batch of scans in one statement and answers each. What changed
-- since version 4: tickets.
-- * A scan may be of a ticket instead of a person's id. The service has
--   checked the ticket's signature (`ticket_invalid` when it failed) and sends
--   the ticket's id and the event its payload names; here the ticket's row
--   names its holder (the scan's person) and says whether it was revoked. A
--   refused ticket whose holder this event has no business knowing (not ours,
--   another event's) is logged with the nil id as its person.
-- * An event that requires tickets (`event_registrations.require_ticket`)
--   refuses a scan by id of a person without a confirmed registration.
-- * The log keeps the ticket each scan redeemed (`scans.ticket_id`).
-- Every verdict is still `scan_verdict`'s (version 2).
--
-- `batch` is a JSON array of objects, one per scan, with the keys:
--   ordinal           the scan's place in the batch (answers are by ordinal)
--   id                the new scan's id (also its attendance's, for a first entry)
--   event_id, direction ('ENTRY' or 'EXIT'), scanned_at, scanned_by, nonce
--   user_id           the person scanned by id (null for a ticket)
--   ticket_id, ticket_event_id, ticket_invalid   a ticket's, as its secret says
--   capacity          the event's capacity (null: no limit)
--   organizer_id      kept beside the event's counter row, for reads' rights
--   event_updated_at  the version of the event the facts below come from
--   event_cancelled, opens_at, closes_at   that version's facts
--   person_exists     whether the auth service knows the person
--   malformed         the service found the scan malformed (it is only logged)
--
-- Answers: one row per scan, by `ordinal`, with `status` the verdict, or
--   STALE         the event changed since `event_updated_at`: nothing was
--                 written; the service checks the scan again with the event
--                 as it is now
--   NONCE_REUSED  the scanner's nonce was used for another scan (another
--                 person or direction): nothing was written
-- and `replayed` true for a nonce's original scan, answered again. Each
-- event's counter row is locked first (in event id order, so two batches
-- cannot deadlock), which makes the counts, the capacity and the nonces exact
-- under concurrency; the counts are written back once per event. Live
-- subscribers on every instance hear `<event id> <last scan id>` on channel
-- `attendance_updates` when the batch commits.
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
    -- written at once.
    g record;
    n record;
    -- The event's counter row: locked, and kept here while its scans are
    -- applied one by one, written back once.
    c event_checkins;
    a attendances;
    original scans;
    known boolean;
    verdict text;
    -- When the event last changed, as the event service told.
    changed timestamptz;
    -- The batch's scanner-and-nonce keys already recorded for the event.
    recorded_keys text[];
    scan_key text;
    -- The event's last scan written, told to live subscribers.
    last_scan uuid;
    -- Whether the event admits only ticket holders (and registered people).
    require_ticket boolean;
    nobody constant uuid := '00000000-0000-0000-0000-000000000000';
BEGIN
    -- Ticket scans name their holder: read from the tickets once, before
    -- anything is grouped by person.
    IF jsonb_path_exists(batch, '$[*] ? (@.ticket_id != null)') THEN
        batch := (
            SELECT jsonb_agg(CASE WHEN b.ticket_id IS NULL THEN s.scan ELSE s.scan || jsonb_build_object(
                       'user_id', CASE WHEN t.event_id = b.event_id AND NOT b.ticket_invalid THEN t.user_id
                                       ELSE nobody END,
                       'ticket_valid', t.id IS NOT NULL AND NOT b.ticket_invalid,
                       'ticket_wrong_event', coalesce(t.event_id, b.ticket_event_id) IS DISTINCT FROM b.event_id,
                       'ticket_revoked', t.revoked_at IS NOT NULL) END ORDER BY b.ordinal)
            FROM jsonb_array_elements(batch) AS s(scan)
            CROSS JOIN LATERAL jsonb_to_record(s.scan)
                AS b(ordinal bigint, event_id uuid, ticket_id uuid, ticket_event_id uuid, ticket_invalid boolean)
            LEFT JOIN tickets t ON t.id = b.ticket_id
        );
    END IF;
    FOR g IN
        SELECT b.event_id,
               count(*) AS scans,
               min(b.capacity) AS capacity,
               (array_agg(b.organizer_id) FILTER (WHERE b.organizer_id IS NOT NULL))[1] AS organizer_id,
               min(b.event_updated_at) AS oldest_copy,
               bool_and(b.direction = 'ENTRY') AS entries_only,
               count(DISTINCT b.user_id) = count(*) AS distinct_people,
               count(b.nonce) > 0 AS with_nonces,
               count(DISTINCT (coalesce(b.scanned_by, nobody), b.nonce)) FILTER (WHERE b.nonce IS NOT NULL)
                   = count(b.nonce) AS distinct_nonces,
               (array_agg(b.id ORDER BY b.scanned_at DESC, b.ordinal DESC))[1] AS last_scan
        FROM jsonb_to_recordset(batch) AS b(ordinal bigint, id uuid, event_id uuid, user_id uuid, direction text,
                                            scanned_at timestamptz, scanned_by uuid, nonce text, capacity integer,
                                            organizer_id uuid, event_updated_at timestamptz)
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
        require_ticket := coalesce((SELECT r.require_ticket FROM event_registrations r WHERE r.event_id = g.event_id),
                                   false);
        -- The scanner is spelt as the nonce index spells it, and each nonce is
        -- its own probe of that index (`OFFSET 0`: never a semi-join).
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
                OFFSET 0
            )
        ) END;

        IF g.entries_only AND g.distinct_people AND g.distinct_nonces AND cardinality(recorded_keys) = 0
           AND (changed IS NULL OR changed <= g.oldest_copy)
           AND (g.capacity IS NULL
                OR CASE WHEN c.allow_reentry THEN c.inside_now ELSE c.checked_in END + g.scans <= g.capacity)
        THEN
            -- The usual batch: entries of different people, no replay, and room
            -- for every one of them. No scan's verdict can change another's, so
            -- they are written as sets: one insert of the first entries, one of
            -- the log rows, one update of the counts. Each scan is read once,
            -- with its person's attendance as it was, and nothing is joined back
            -- (the planner takes these sets for one row each, and a join of 500
            -- by 500 rows done as a nested loop is the slowest part).
            RETURN QUERY
            WITH judged AS (
                SELECT b.*, k.id IS NOT NULL AS entered, coalesce(k.inside, false) AS was_inside,
                       k.id AS known_id, k.check_in_time AS known_check_in_time,
                       k.recorded_by AS known_recorded_by, k.created_at AS known_created_at,
                       scan_verdict(b.malformed, b.ticket_id IS NOT NULL, coalesce(b.ticket_valid, false),
                                    coalesce(b.ticket_wrong_event, false), coalesce(b.ticket_revoked, false),
                                    b.event_cancelled, b.opens_at, b.closes_at, b.scanned_at, b.person_exists,
                                    require_ticket, require_ticket AND registered_for(b.event_id, b.user_id),
                                    b.direction, k.id IS NOT NULL, coalesce(k.inside, false),
                                    coalesce(k.exited, false), c.allow_reentry, c.allow_multiple_entries,
                                    b.capacity, c.inside_now, c.checked_in) AS verdict,
                       -- Evaluated after the sort: the log's arrival order is the scan order.
                       clock_timestamp() AS arrived_at
                FROM jsonb_to_recordset(batch)
                    AS b(ordinal bigint, id uuid, event_id uuid, user_id uuid, direction text,
                         scanned_at timestamptz, scanned_by uuid, nonce text, capacity integer,
                         malformed boolean, person_exists boolean, event_cancelled boolean,
                         opens_at timestamptz, closes_at timestamptz, ticket_id uuid, ticket_valid boolean,
                         ticket_wrong_event boolean, ticket_revoked boolean)
                -- One probe of the person's key per scan, never a walk through
                -- the event's attendances (which a join may choose).
                LEFT JOIN LATERAL (
                    SELECT * FROM attendances x WHERE x.event_id = b.event_id AND x.user_id = b.user_id
                ) k ON true
                WHERE b.event_id = g.event_id
                ORDER BY b.scanned_at, b.ordinal
            ), attended AS (
                SELECT j.*, j.verdict = 'OK' AND NOT j.entered AS first_entry,
                       CASE WHEN j.entered THEN j.known_id WHEN j.verdict = 'OK' THEN j.id END AS a_id,
                       CASE WHEN j.entered THEN j.known_check_in_time WHEN j.verdict = 'OK' THEN j.scanned_at END
                           AS a_check_in_time,
                       CASE WHEN j.entered THEN j.known_recorded_by WHEN j.verdict = 'OK' THEN j.scanned_by END
                           AS a_recorded_by,
                       CASE WHEN j.entered THEN j.known_created_at WHEN j.verdict = 'OK' THEN now() END
                           AS a_created_at
                FROM judged j
            ), first_entries AS (
                -- No conflict is possible: the counter row's lock is held, and
                -- the lookup above saw every committed attendance.
                INSERT INTO attendances (id, event_id, user_id, check_in_time, recorded_by, created_at)
                SELECT j.a_id, j.event_id, j.user_id, j.a_check_in_time, j.a_recorded_by, j.a_created_at
                FROM attended j WHERE j.first_entry
            ), back_in AS (
                UPDATE attendances t SET inside = true
                WHERE t.id = ANY (ARRAY(
                    SELECT j.a_id FROM attended j WHERE j.verdict = 'OK' AND j.entered AND NOT j.was_inside
                ))
            ), counted AS (
                UPDATE event_checkins e
                SET checked_in = e.checked_in + (SELECT count(*) FROM attended j WHERE j.first_entry),
                    inside_now = e.inside_now + (SELECT count(*) FROM attended j
                                                 WHERE j.verdict = 'OK' AND NOT j.was_inside),
                    entries = e.entries + (SELECT count(*) FROM attended j WHERE j.verdict = 'OK'),
                    organizer_id = c.organizer_id
                WHERE e.event_id = g.event_id
            ), logged AS (
                INSERT INTO scans
                    (id, event_id, user_id, direction, scanned_at, received_at, status, scanned_by, nonce, ticket_id)
                SELECT j.id, j.event_id, j.user_id, j.direction, j.scanned_at, j.arrived_at, j.verdict,
                       j.scanned_by, j.nonce, j.ticket_id
                FROM attended j
            )
            SELECT j.ordinal, j.verdict, false, j.id, j.event_id, j.user_id, j.direction, j.scanned_at,
                   j.arrived_at, j.scanned_by, NULL::timestamptz, NULL::uuid, NULL::text,
                   j.a_id, j.a_check_in_time, j.a_recorded_by, j.a_created_at
            FROM attended j;
            last_scan := g.last_scan;
        ELSE
            -- Anything else (exits, the same person twice, replays, the last
            -- places, a stale copy of the event): one scan at a time, in
            -- `scanned_at` order.
            FOR n IN
                SELECT * FROM jsonb_to_recordset(batch)
                    AS b(ordinal bigint, id uuid, event_id uuid, user_id uuid, direction text,
                         scanned_at timestamptz, scanned_by uuid, nonce text, capacity integer,
                         event_updated_at timestamptz, malformed boolean, person_exists boolean,
                         event_cancelled boolean, opens_at timestamptz, closes_at timestamptz, ticket_id uuid,
                         ticket_valid boolean, ticket_wrong_event boolean, ticket_revoked boolean)
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
                    SELECT * INTO original FROM scans x
                    WHERE x.event_id = n.event_id AND x.nonce IS NOT NULL AND x.nonce = n.nonce
                      AND coalesce(x.scanned_by, '00000000-0000-0000-0000-000000000000'::uuid)
                          = coalesce(n.scanned_by, nobody);
                    IF original.user_id = n.user_id AND original.direction = n.direction THEN
                        RETURN QUERY
                            SELECT n.ordinal, original.status, true, original.id, original.event_id,
                                   original.user_id, original.direction, original.scanned_at,
                                   original.received_at, original.scanned_by, original.annulled_at,
                                   original.annulled_by, original.annul_reason,
                                   t.id, t.check_in_time, t.recorded_by, t.created_at
                            FROM (SELECT 1) one
                            LEFT JOIN attendances t ON t.event_id = original.event_id
                                                   AND t.user_id = original.user_id;
                    ELSE
                        RETURN QUERY SELECT n.ordinal, 'NONCE_REUSED'::text, false, n.id, n.event_id,
                                            n.user_id, n.direction, n.scanned_at, now(), n.scanned_by,
                                            NULL::timestamptz, NULL::uuid, NULL::text, NULL::uuid,
                                            NULL::timestamptz, NULL::uuid, NULL::timestamptz;
                    END IF;
                    CONTINUE;
                END IF;
                SELECT * INTO a FROM attendances x WHERE x.event_id = n.event_id AND x.user_id = n.user_id;
                known := FOUND;
                verdict := scan_verdict(n.malformed, n.ticket_id IS NOT NULL, coalesce(n.ticket_valid, false),
                                        coalesce(n.ticket_wrong_event, false), coalesce(n.ticket_revoked, false),
                                        n.event_cancelled, n.opens_at, n.closes_at, n.scanned_at, n.person_exists,
                                        require_ticket, require_ticket AND registered_for(n.event_id, n.user_id),
                                        n.direction, known, coalesce(a.inside, false),
                                        coalesce(a.exited, false), c.allow_reentry, c.allow_multiple_entries,
                                        n.capacity, c.inside_now, c.checked_in);
                IF verdict = 'OK' AND n.direction = 'EXIT' THEN
                    UPDATE attendances x SET inside = false, exited = true WHERE x.id = a.id;
                    c.inside_now := c.inside_now - 1;
                    c.exits := c.exits + 1;
                ELSIF verdict = 'OK' AND NOT known THEN
                    INSERT INTO attendances AS t (id, event_id, user_id, check_in_time, recorded_by)
                    VALUES (n.id, n.event_id, n.user_id, n.scanned_at, n.scanned_by)
                    RETURNING * INTO a;
                    c.checked_in := c.checked_in + 1;
                    c.inside_now := c.inside_now + 1;
                    c.entries := c.entries + 1;
                ELSIF verdict = 'OK' THEN
                    IF NOT a.inside THEN
                        UPDATE attendances x SET inside = true WHERE x.id = a.id;
                        c.inside_now := c.inside_now + 1;
                    END IF;
                    c.entries := c.entries + 1;
                END IF;
                INSERT INTO scans AS x
                    (id, event_id, user_id, direction, scanned_at, status, scanned_by, nonce, ticket_id)
                VALUES (n.id, n.event_id, n.user_id, n.direction, n.scanned_at, verdict, n.scanned_by, n.nonce,
                        n.ticket_id)
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
