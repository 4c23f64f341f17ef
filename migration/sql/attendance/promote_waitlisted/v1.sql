-- promote_waitlisted, version 1 (migration m20261208_000001_registrations).
--
-- Gives the event's free places to the people on its waitlist, first come
-- first served, once each: the caller holds the event's registration row
-- lock, so concurrent cancellations promote one after the other and no
-- place is given twice. `places` is the event's registration capacity
-- (NULL: no limit). Returns how many were promoted.
CREATE OR REPLACE FUNCTION promote_waitlisted(
    ev uuid, places integer, signing_key text, ticket_valid_until timestamptz
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    free integer;
    next_in_line uuid;
    promoted integer := 0;
BEGIN
    LOOP
        SELECT CASE WHEN places IS NULL THEN e.waitlisted ELSE places - e.confirmed END INTO free
        FROM event_registrations e WHERE e.event_id = ev;
        EXIT WHEN free IS NULL OR free <= 0;
        SELECT x.id INTO next_in_line FROM registrations x
        WHERE x.event_id = ev AND x.status = 'WAITLISTED'
        ORDER BY x.waitlisted_at, x.id
        LIMIT 1;
        EXIT WHEN next_in_line IS NULL;
        PERFORM move_registration(next_in_line, 'CONFIRMED', signing_key, ticket_valid_until);
        promoted := promoted + 1;
    END LOOP;
    RETURN promoted;
END
$$;
