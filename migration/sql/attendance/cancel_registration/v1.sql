-- cancel_registration, version 1 (migration m20261208_000001_registrations).
--
-- Cancels a registration (its ticket is revoked) and gives a place it held to
-- the first person on the waitlist, at once, under the event's registration
-- row lock: a place is given once however many cancellations race.
-- `event_capacity`, `signing_key` and `ticket_valid_until` are for that promotion
-- (see `register_batch`). Cancelling a cancelled or declined registration
-- changes nothing. No row when the registration does not exist.
CREATE OR REPLACE FUNCTION cancel_registration(
    registration uuid, event_capacity integer, signing_key text, ticket_valid_until timestamptz
) RETURNS SETOF registration_answers LANGUAGE plpgsql AS $$
DECLARE
    r registrations;
    e event_registrations;
BEGIN
    r := lock_registration(registration);
    IF r.id IS NULL THEN
        RETURN;
    END IF;
    SELECT * INTO e FROM event_registrations x WHERE x.event_id = r.event_id;
    IF r.status NOT IN ('CANCELLED', 'DECLINED') THEN
        PERFORM move_registration(registration, 'CANCELLED', signing_key, ticket_valid_until);
        PERFORM promote_waitlisted(r.event_id, coalesce(e.capacity, event_capacity), signing_key, ticket_valid_until);
    END IF;
    RETURN QUERY SELECT * FROM registration_answers a WHERE a.id = registration;
END
$$;
