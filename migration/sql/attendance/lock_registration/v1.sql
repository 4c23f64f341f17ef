-- lock_registration, version 1 (migration m20261208_000001_registrations).
--
-- A registration, read under its event's registration row lock, which every
-- change to an event's registrations takes first: what the caller reads in
-- it stays true until it commits. NULL when there is no such registration.
CREATE OR REPLACE FUNCTION lock_registration(registration uuid) RETURNS registrations LANGUAGE plpgsql AS $$
DECLARE
    r registrations;
BEGIN
    SELECT * INTO r FROM registrations x WHERE x.id = registration;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM event_registrations x WHERE x.event_id = r.event_id FOR UPDATE;
    -- Read again: it may have changed while the lock was waited for.
    SELECT * INTO r FROM registrations x WHERE x.id = registration;
    RETURN r;
END
$$;
