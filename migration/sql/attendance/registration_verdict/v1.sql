-- registration_verdict, version 1 (migration m20261208_000001_registrations).
--
-- The registration desk's one rule: what becomes of a request to register
-- (or of an organizer's approval, with `approving`). Every function that
-- places someone asks it, under the event's registration row lock. The first
-- rule that applies decides:
--
--   the person holds a registration already            EXISTING (answered as it is)
--   the event is cancelled                             EVENT_CANCELLED
--   registration is closed, or the event is over       REGISTRATION_CLOSED
--   the event takes requests for approval              PENDING_APPROVAL
--   a place is free (or the event has no limit)        CONFIRMED
--   no place, and the event keeps a waitlist           WAITLISTED
--   no place, no waitlist                              EVENT_FULL
--
-- A cancelled registration holds nothing: its person may register again. An
-- approval skips the first three rules (the request was made while they
-- allowed it) and asks only for a place.
CREATE OR REPLACE FUNCTION registration_verdict(
    existing_status text,
    approving boolean,
    event_cancelled boolean,
    event_ended boolean,
    mode text,
    capacity integer,
    confirmed integer,
    waitlist boolean
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN NOT approving AND existing_status IS NOT NULL AND existing_status <> 'CANCELLED' THEN 'EXISTING'
        WHEN NOT approving AND event_cancelled THEN 'EVENT_CANCELLED'
        WHEN NOT approving AND (mode = 'CLOSED' OR event_ended) THEN 'REGISTRATION_CLOSED'
        WHEN NOT approving AND mode = 'APPROVAL' THEN 'PENDING_APPROVAL'
        WHEN capacity IS NULL OR confirmed < capacity THEN 'CONFIRMED'
        WHEN waitlist THEN 'WAITLISTED'
        ELSE 'EVENT_FULL'
    END
$$;
