-- register_batch, version 1 (migration m20261208_000001_registrations).
--
-- People registering themselves for events, in one statement for a batch of
-- requests (the service writes the requests that arrive together as one
-- batch). `batch` is a JSON array of objects with the keys:
--   ordinal          the request's place in the batch (answers are by ordinal)
--   id               the new registration's id
--   event_id, user_id
--   organizer_id     the event's organizer, kept beside its counter row
--                    (`event_checkins`) for reads' rights
--   event_capacity   the event's capacity (NULL: no limit), the registration
--                    capacity unless the organizer set one
--   event_updated_at  the version of the event the facts below come from
--   event_cancelled, event_ended   that version's facts
--   signing_key      the key a ticket issued now is signed with
--   valid_until      how long a ticket issued now stays valid
--
-- Each event's registration row is locked first (in event id order, so two
-- batches cannot deadlock), then its requests are placed in arrival order by
-- `registration_verdict`: exactly `capacity` people are confirmed however many
-- race for the last places, the rest waitlisted in the order they came.
-- Answers: one row per request, `outcome` the verdict (EXISTING: the
-- person's registration, as it was; STALE: the event changed since
-- `event_updated_at`, nothing was written and the service asks again with
-- the event as it is now), with the registration (none when refused).
CREATE OR REPLACE FUNCTION register_batch(batch jsonb) RETURNS TABLE (
    ordinal bigint, outcome text,
    id uuid, event_id uuid, user_id uuid, status text, created_at timestamptz, updated_at timestamptz,
    waitlist_position bigint, ticket_id uuid, key_id text, valid_until timestamptz, issued_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    n record;
    e event_registrations;
    existing registrations;
    verdict text;
    current_event uuid;
    -- When the event last changed, as the event service told.
    changed timestamptz;
BEGIN
    FOR n IN
        SELECT * FROM jsonb_to_recordset(batch)
            AS b(ordinal bigint, id uuid, event_id uuid, user_id uuid, organizer_id uuid, event_capacity integer,
                 event_updated_at timestamptz, event_cancelled boolean, event_ended boolean,
                 signing_key text, valid_until timestamptz)
        ORDER BY b.event_id, b.ordinal
    LOOP
        IF current_event IS DISTINCT FROM n.event_id THEN
            INSERT INTO event_registrations (event_id) VALUES (n.event_id) ON CONFLICT (event_id) DO NOTHING;
            INSERT INTO event_checkins (event_id, organizer_id) VALUES (n.event_id, n.organizer_id)
            ON CONFLICT (event_id) DO NOTHING;
            current_event := n.event_id;
            SELECT x.changed_at INTO changed FROM event_changes x WHERE x.event_id = n.event_id;
        END IF;
        -- Read again for each request: the one before may have taken a place.
        SELECT * INTO e FROM event_registrations r WHERE r.event_id = n.event_id FOR UPDATE;
        SELECT * INTO existing FROM registrations x WHERE x.event_id = n.event_id AND x.user_id = n.user_id;
        IF changed > n.event_updated_at THEN
            verdict := 'STALE';
        ELSE
            verdict := registration_verdict(existing.status, false, n.event_cancelled, n.event_ended, e.mode,
                                            coalesce(e.capacity, n.event_capacity), e.confirmed, e.waitlist);
        END IF;
        IF verdict IN ('CONFIRMED', 'WAITLISTED', 'PENDING_APPROVAL') THEN
            IF existing.id IS NULL THEN
                -- A new registration starts as cancelled, then moves (counts, waitlist, ticket follow).
                INSERT INTO registrations (id, event_id, user_id, status) VALUES (n.id, n.event_id, n.user_id, 'CANCELLED')
                RETURNING * INTO existing;
            END IF;
            PERFORM move_registration(existing.id, verdict, n.signing_key, n.valid_until);
        END IF;
        IF verdict = 'EXISTING' THEN
            RETURN QUERY SELECT n.ordinal, verdict, a.id, a.event_id, a.user_id, a.status, a.created_at, a.updated_at,
                                a.waitlist_position, a.ticket_id, a.key_id, a.valid_until, a.issued_at
                         FROM registration_answers a WHERE a.id = existing.id;
        ELSIF verdict IN ('CONFIRMED', 'WAITLISTED', 'PENDING_APPROVAL') THEN
            -- Placed just now: a newcomer to the waitlist is its last.
            RETURN QUERY SELECT n.ordinal, verdict, a.id, a.event_id, a.user_id, a.status, a.created_at, a.updated_at,
                                CASE WHEN verdict = 'WAITLISTED' THEN
                                    (SELECT x.waitlisted FROM event_registrations x WHERE x.event_id = n.event_id)::bigint
                                END,
                                a.ticket_id, a.key_id, a.valid_until, a.issued_at
                         FROM registration_rows a WHERE a.id = existing.id;
        ELSE
            RETURN QUERY SELECT n.ordinal, verdict, NULL::uuid, n.event_id, n.user_id, NULL::text, NULL::timestamptz,
                                NULL::timestamptz, NULL::bigint, NULL::uuid, NULL::text, NULL::timestamptz,
                                NULL::timestamptz;
        END IF;
    END LOOP;
END
$$;
