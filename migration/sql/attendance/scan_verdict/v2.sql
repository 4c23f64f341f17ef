-- scan_verdict, version 2 (migration m20261208_000001_registrations).
--
-- As version 1, with tickets. A scan is either of a person's id or of a
-- ticket; a ticket names its holder, and its verdict first says what is wrong
-- with the ticket itself. The first rule that applies decides:
--
--   the scan is malformed                              BAD_USER_INPUT
--   a ticket not ours (forged, altered, unknown key,
--     expired, or no ticket of that id)                TICKET_INVALID
--   a ticket of another event                          TICKET_WRONG_EVENT
--   a revoked ticket (cancelled, reissued)             TICKET_REVOKED
--   the event is cancelled                             EVENT_CANCELLED
--   scanned outside [opens_at, closes_at]              CHECKIN_CLOSED
--   the person does not exist                          NOT_FOUND
--   scanned by id at an event that requires tickets,
--     of a person without a confirmed registration     NOT_REGISTERED
--   an exit of someone not inside                      NOT_INSIDE
--   an entry while inside, multiple entries off        ALREADY_CHECKED_IN
--   an entry after an exit, re-entry off               ALREADY_CHECKED_IN
--   an entry with no room                              EVENT_FULL
--   anything else                                      OK
--
-- Room: with re-entry on, capacity counts the people inside now; with it off,
-- everyone who ever entered (whoever entered before keeps their place).
-- Someone already inside takes no new place.
--
-- These are the scan statuses' only spellings in SQL; Rust's `ScanStatus`
-- spells them once more, and a test runs this function over every case to
-- hold the two together.
CREATE OR REPLACE FUNCTION scan_verdict(
    malformed boolean,
    ticket_scan boolean,
    ticket_valid boolean,
    ticket_wrong_event boolean,
    ticket_revoked boolean,
    event_cancelled boolean,
    opens_at timestamptz,
    closes_at timestamptz,
    scanned_at timestamptz,
    person_exists boolean,
    require_ticket boolean,
    registered boolean,
    direction text,
    entered boolean,
    inside boolean,
    exited boolean,
    allow_reentry boolean,
    allow_multiple_entries boolean,
    capacity integer,
    inside_now integer,
    checked_in integer
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN malformed THEN 'BAD_USER_INPUT'
        WHEN ticket_scan AND NOT ticket_valid THEN 'TICKET_INVALID'
        WHEN ticket_scan AND ticket_wrong_event THEN 'TICKET_WRONG_EVENT'
        WHEN ticket_scan AND ticket_revoked THEN 'TICKET_REVOKED'
        WHEN event_cancelled THEN 'EVENT_CANCELLED'
        WHEN scanned_at < opens_at OR scanned_at > closes_at THEN 'CHECKIN_CLOSED'
        WHEN NOT person_exists THEN 'NOT_FOUND'
        WHEN require_ticket AND NOT ticket_scan AND NOT registered THEN 'NOT_REGISTERED'
        WHEN direction = 'EXIT' THEN CASE WHEN entered AND inside THEN 'OK' ELSE 'NOT_INSIDE' END
        WHEN entered AND inside AND NOT allow_multiple_entries THEN 'ALREADY_CHECKED_IN'
        WHEN entered AND NOT inside AND exited AND NOT allow_reentry THEN 'ALREADY_CHECKED_IN'
        WHEN capacity IS NOT NULL AND NOT (entered AND inside) AND CASE
                 WHEN allow_reentry THEN inside_now >= capacity
                 ELSE NOT entered AND checked_in >= capacity
             END THEN 'EVENT_FULL'
        ELSE 'OK'
    END
$$;
