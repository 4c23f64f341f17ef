-- check_in_batch, version 2 (migration m20261201_000001_check_in_staff).
--
-- As version 1, and each check-in carries one more key, `organizer_id`: the
-- event's organizer is kept beside its counter row, so that reads can tell
-- who runs the event in the same statement as their rows.

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
