-- scan_verdict, version 1 (migration m20261207_000001_door_rules).
--
-- The door's one rule: what becomes of a scan. Every path that records scans
-- (both parts of `record_scans`) asks this function, and nothing else decides
-- a verdict; the service only gathers the facts it is given. The facts are
-- what the service learnt before the database (the scan is malformed, the
-- event's copy, whether the person exists at the auth service), then the
-- person's attendance at the event and the event's counters and policy, read
-- under the event's row lock. The first rule that applies decides:
--
--   the scan is malformed                              BAD_USER_INPUT
--   the event is cancelled                             EVENT_CANCELLED
--   scanned outside [opens_at, closes_at]              CHECKIN_CLOSED
--   the person does not exist                          NOT_FOUND
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
    event_cancelled boolean,
    opens_at timestamptz,
    closes_at timestamptz,
    scanned_at timestamptz,
    person_exists boolean,
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
        WHEN event_cancelled THEN 'EVENT_CANCELLED'
        WHEN scanned_at < opens_at OR scanned_at > closes_at THEN 'CHECKIN_CLOSED'
        WHEN NOT person_exists THEN 'NOT_FOUND'
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
