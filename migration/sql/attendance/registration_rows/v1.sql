-- registration_rows, version 1 (migration m20261208_000001_registrations).
--
-- A registration with its live ticket while it is confirmed (the facts the
-- ticket's secret is signed from). `registration_answers` adds the place on
-- the waitlist, which costs a count; `register_batch` knows it already.
CREATE OR REPLACE VIEW registration_rows AS
SELECT r.id, r.event_id, r.user_id, r.status, r.created_at, r.updated_at, r.waitlisted_at,
       t.id AS ticket_id, t.key_id, t.valid_until, t.issued_at
FROM registrations r
LEFT JOIN tickets t ON t.registration_id = r.id AND t.revoked_at IS NULL;
