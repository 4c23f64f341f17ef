-- registration_answers, version 1 (migration m20261208_000001_registrations).
--
-- A registration as every answer shows it: `registration_rows`, and its
-- place on the waitlist while it waits (first come, first served: 1 is next),
-- counted along the waitlist's index.
CREATE OR REPLACE VIEW registration_answers AS
SELECT a.id, a.event_id, a.user_id, a.status, a.created_at, a.updated_at,
       CASE WHEN a.status = 'WAITLISTED' THEN (
           SELECT count(*) FROM registrations w
           WHERE w.event_id = a.event_id AND w.status = 'WAITLISTED'
             AND (w.waitlisted_at, w.id) <= (a.waitlisted_at, a.id)
       ) END AS waitlist_position,
       a.ticket_id, a.key_id, a.valid_until, a.issued_at
FROM registration_rows a;
