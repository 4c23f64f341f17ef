-- check_in_batch, version 1 (migration m20261126_000001_check_in_batch).
--
-- Check-ins in one statement, hence one round trip and one implicit
-- transaction for any number of them: the service writes the check-ins that
-- arrive together as one batch. Each event's counter row is incremented
-- first; its row lock makes the capacity check exact under concurrency, and
-- it is held only while the server runs these lines, not across round trips
-- from the service. Check-ins are taken in event id order, so two batches
-- cannot deadlock.
--
-- `check_ins` is a JSON array of objects with the keys `ordinal`, `id`,
-- `event_id`, `user_id`, `check_in_time`, `recorded_by` and `capacity`.
-- Per check-in (by its `ordinal`) the outcome is `recorded` (the new row),
-- `duplicate` (the person's earlier row) or `full` (no row). A duplicate
-- gives its increment back.

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
                 recorded_by uuid, capacity integer)
        ORDER BY c.event_id, c.ordinal
    LOOP
        INSERT INTO event_checkins AS c (event_id, checked_in) VALUES (n.event_id, 1)
        ON CONFLICT (event_id) DO UPDATE SET checked_in = c.checked_in + 1
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
