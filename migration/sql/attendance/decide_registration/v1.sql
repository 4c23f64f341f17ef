-- decide_registration, version 1 (migration m20261208_000001_registrations).
--
-- The organizer's answer to a request for approval: approved, the request is
-- placed as `registration_verdict` says for an approval (confirmed with a
-- ticket while there is room, else waitlisted or refused with EVENT_FULL);
-- declined, it is DECLINED (a waitlisted person may be declined too). Only a
-- pending (or, to decline, waitlisted) registration is decided: anything
-- else is answered as it is, with the outcome UNCHANGED. The outcome is the
-- status given (or EVENT_FULL); no row when the registration does not exist.
CREATE OR REPLACE FUNCTION decide_registration(
    registration uuid, approve boolean, event_capacity integer, signing_key text, ticket_valid_until timestamptz
) RETURNS TABLE (
    outcome text,
    id uuid, event_id uuid, user_id uuid, status text, created_at timestamptz, updated_at timestamptz,
    waitlist_position bigint, ticket_id uuid, key_id text, valid_until timestamptz, issued_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r registrations;
    e event_registrations;
    verdict text;
BEGIN
    r := lock_registration(registration);
    IF r.id IS NULL THEN
        RETURN;
    END IF;
    SELECT * INTO e FROM event_registrations x WHERE x.event_id = r.event_id;
    IF approve AND r.status = 'PENDING_APPROVAL' THEN
        verdict := registration_verdict(r.status, true, false, false, e.mode, coalesce(e.capacity, event_capacity),
                                        e.confirmed, e.waitlist);
    ELSIF NOT approve AND r.status IN ('PENDING_APPROVAL', 'WAITLISTED') THEN
        verdict := 'DECLINED';
    ELSE
        verdict := 'UNCHANGED';
    END IF;
    IF verdict IN ('CONFIRMED', 'WAITLISTED', 'DECLINED') THEN
        PERFORM move_registration(registration, verdict, signing_key, ticket_valid_until);
    END IF;
    RETURN QUERY SELECT verdict, a.id, a.event_id, a.user_id, a.status, a.created_at, a.updated_at,
                        a.waitlist_position, a.ticket_id, a.key_id, a.valid_until, a.issued_at
                 FROM registration_answers a WHERE a.id = registration;
END
$$;
