-- registration_answers, version 1 (migration m20261208_000001_registrations).
--
-- A registration as every answer shows it: its own columns, its place on the
-- waitlist while it waits (first come, first served: 1 is next), and its live
-- ticket while it is confirmed (the facts the ticket's secret is signed from).
CREATE OR REPLACE VIEW registration_answers AS
SELECT r.id, r.event_id, r.user_id, r.status, r.created_at, r.updated_at,
       CASE WHEN r.status = 'WAITLISTED' THEN (
           SELECT count(*) FROM registrations w
           WHERE w.event_id = r.event_id AND w.status = 'WAITLISTED'
             AND (w.waitlisted_at, w.id) <= (r.waitlisted_at, r.id)
       ) END AS waitlist_position,
       t.id AS ticket_id, t.key_id, t.valid_until, t.issued_at
FROM registrations r
LEFT JOIN tickets t ON t.registration_id = r.id AND t.revoked_at IS NULL;
