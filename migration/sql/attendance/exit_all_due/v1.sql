-- exit_all_due, version 1 (migration m20261203_000001_scans).

-- Marks everyone still inside out at the event's `exit_all_at`,
-- once, if that time has come. Takes the event's row lock.
CREATE OR REPLACE FUNCTION exit_all_due(ev uuid) RETURNS integer LANGUAGE plpgsql AS $$
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
