-- reissue_ticket, version 1 (migration m20261208_000001_registrations).
--
-- A confirmed registration's ticket again, signed by `signing_key`: its live
-- ticket is revoked (scanners learn of it through the revoked list) and a new
-- one issued. The service asks for this when the key a ticket was signed with
-- has been retired. Nothing for a registration that is not confirmed.
CREATE OR REPLACE FUNCTION reissue_ticket(registration uuid, signing_key text, ticket_valid_until timestamptz)
RETURNS SETOF registration_answers LANGUAGE plpgsql AS $$
DECLARE
    r registrations;
BEGIN
    r := lock_registration(registration);
    IF r.id IS NULL OR r.status <> 'CONFIRMED' THEN
        RETURN;
    END IF;
    UPDATE tickets t SET revoked_at = clock_timestamp() WHERE t.registration_id = registration AND t.revoked_at IS NULL;
    INSERT INTO tickets (id, registration_id, event_id, user_id, key_id, valid_until)
    VALUES (gen_random_uuid(), registration, r.event_id, r.user_id, signing_key, ticket_valid_until);
    RETURN QUERY SELECT * FROM registration_answers a WHERE a.id = registration;
END
$$;
