-- move_registration, version 1 (migration m20261208_000001_registrations).
--
-- Moves a registration to `new_status`, and with it everything that follows
-- from a status, so that nothing else writes them: the event's counts of
-- confirmed, waitlisted and pending people; the waitlist's order (the moment
-- a person joins it); the ticket, revoked when a registration stops being
-- confirmed and issued (signed by `signing_key`, valid until `ticket_valid_until`)
-- when it becomes confirmed. The caller holds the event's registration row
-- lock. Returns the registration as it is now.
CREATE OR REPLACE FUNCTION move_registration(
    registration uuid, new_status text, signing_key text, ticket_valid_until timestamptz
) RETURNS registrations LANGUAGE plpgsql AS $$
DECLARE
    r registrations;
    old_status text;
BEGIN
    SELECT * INTO r FROM registrations x WHERE x.id = registration FOR UPDATE;
    old_status := r.status;
    IF old_status = new_status THEN
        RETURN r;
    END IF;
    UPDATE registrations x
    SET status = new_status,
        updated_at = clock_timestamp(),
        waitlisted_at = CASE WHEN new_status = 'WAITLISTED' THEN clock_timestamp() END
    WHERE x.id = registration
    RETURNING * INTO r;
    UPDATE event_registrations e
    SET confirmed = e.confirmed + (new_status = 'CONFIRMED')::int - (old_status IS NOT DISTINCT FROM 'CONFIRMED')::int,
        waitlisted = e.waitlisted + (new_status = 'WAITLISTED')::int - (old_status IS NOT DISTINCT FROM 'WAITLISTED')::int,
        pending = e.pending + (new_status = 'PENDING_APPROVAL')::int
                  - (old_status IS NOT DISTINCT FROM 'PENDING_APPROVAL')::int
    WHERE e.event_id = r.event_id;
    IF old_status = 'CONFIRMED' THEN
        UPDATE tickets t SET revoked_at = clock_timestamp() WHERE t.registration_id = registration AND t.revoked_at IS NULL;
    END IF;
    IF new_status = 'CONFIRMED' THEN
        INSERT INTO tickets (id, registration_id, event_id, user_id, key_id, valid_until)
        VALUES (gen_random_uuid(), registration, r.event_id, r.user_id, signing_key, ticket_valid_until);
    END IF;
    RETURN r;
END
$$;
