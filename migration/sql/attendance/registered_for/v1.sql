-- registered_for, version 1 (migration m20261208_000001_registrations).
--
-- Whether `person` holds a confirmed registration for event `ev`: what an
-- event that requires tickets asks of a scan by id (`scan_verdict`'s
-- `registered`).
CREATE OR REPLACE FUNCTION registered_for(ev uuid, person uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM registrations x WHERE x.event_id = ev AND x.user_id = person AND x.status = 'CONFIRMED'
    )
$$;
