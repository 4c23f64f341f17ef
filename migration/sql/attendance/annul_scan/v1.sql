-- annul_scan, version 1 (migration m20261203_000001_scans).

-- Annuls an accepted scan: it stays in the log, marked; the
-- person's state is what their other accepted scans say, and
-- the counts give the place back. Only the person's latest
-- accepted scan may be annulled (undo goes backwards, so the
-- counts stay entries - exits): a scan with a later one is
-- returned unchanged, not annulled. Annulling twice changes
-- nothing. No row when the scan does not exist.
CREATE OR REPLACE FUNCTION annul_scan(scan uuid, by_user uuid, reason text) RETURNS SETOF scans
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
