-- count_checkins_in, version 1 (migration m20261208_000002_checkin_minutes).
--
-- After each statement that inserts check-ins: they are counted into their
-- events' minutes (`checkin_minutes`), once per statement, so that an
-- event's statistics are read from its minutes, whatever its number of
-- check-ins. Minutes are binned from the epoch in UTC (`date_bin`), never by
-- the session's time zone.
CREATE OR REPLACE FUNCTION count_checkins_in() RETURNS trigger LANGUAGE plpgsql
    -- Fired by whoever writes check-ins (an operator's import too): the
    -- schema is the one the function was made in.
    SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO checkin_minutes AS m (event_id, minute, n)
    SELECT a.event_id, date_bin('1 minute', a.check_in_time, timestamptz '2000-01-01 00:00+00'), count(*)
    FROM new_checkins a
    GROUP BY 1, 2
    ON CONFLICT (event_id, minute) DO UPDATE SET n = m.n + excluded.n;
    RETURN NULL;
END
$$;
