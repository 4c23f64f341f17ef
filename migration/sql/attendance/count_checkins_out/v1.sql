-- count_checkins_out, version 1 (migration m20261208_000002_checkin_minutes).
--
-- After each statement that deletes check-ins (an annulled first entry):
-- they are taken out of their events' minutes (see `count_checkins_in`).
CREATE OR REPLACE FUNCTION count_checkins_out() RETURNS trigger LANGUAGE plpgsql
    -- Fired by whoever writes check-ins (an operator's import too): the
    -- schema is the one the function was made in.
    SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE checkin_minutes m SET n = m.n - o.n
    FROM (
        SELECT a.event_id, date_bin('1 minute', a.check_in_time, timestamptz '2000-01-01 00:00+00') AS minute,
               count(*) AS n
        FROM old_checkins a
        GROUP BY 1, 2
    ) o
    WHERE m.event_id = o.event_id AND m.minute = o.minute;
    RETURN NULL;
END
$$;
