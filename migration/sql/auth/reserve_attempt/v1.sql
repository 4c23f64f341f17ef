-- reserve_attempt, version 1 (migration m20261207_000001_reserve_attempts).
--
-- Takes one attempt from each of a login's (or a registration's) throttle
-- buckets before any password is hashed, all or none: however many attempts
-- arrive at once, a bucket of limit N lets at most N through its window. A
-- login that succeeds gives its attempt back (`refund_attempt`), so only
-- failures stay counted.
--
-- Buckets are given as three parallel arrays (`scopes`, `keys`, `limits`).
-- A bucket's count starts again when its window has passed; the attempt that
-- fills it blocks it for `lockout_seconds`. An attempt is refused while any
-- of its buckets is blocked, except the account's soft lock (`email`) for an
-- `address` that signed in to that account before. Answers NULL when the
-- attempt was taken, else the seconds until the longest block ends (and
-- nothing was counted).
CREATE OR REPLACE FUNCTION reserve_attempt(
    scopes text[], keys text[], limits integer[], address text, window_seconds float8, lockout_seconds float8
) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    wait float8;
BEGIN
    -- Every bucket has a row to lock (a new one has counted nothing yet).
    INSERT INTO login_throttle (scope, key, failures, window_started_at)
    SELECT u.scope, u.key, 0, now() FROM unnest(scopes, keys) AS u(scope, key)
    ON CONFLICT (scope, key) DO NOTHING;
    -- Locked in one order, so that concurrent attempts queue here instead of
    -- deadlocking; each then sees what the ones before it counted.
    PERFORM 1 FROM login_throttle t JOIN unnest(scopes, keys) AS u(scope, key) ON t.scope = u.scope AND t.key = u.key
    ORDER BY t.scope, t.key
    FOR UPDATE OF t;
    SELECT extract(epoch FROM max(t.blocked_until) - now())::float8 INTO wait
    FROM login_throttle t JOIN unnest(scopes, keys) AS u(scope, key) ON t.scope = u.scope AND t.key = u.key
    WHERE t.blocked_until > now()
      AND NOT (t.scope = 'email' AND EXISTS (
          SELECT 1 FROM login_known_addresses k WHERE k.email_key = t.key AND k.address = reserve_attempt.address));
    IF wait IS NOT NULL THEN
        RETURN wait;
    END IF;
    UPDATE login_throttle t SET
        failures = counted.failures,
        window_started_at = counted.window_started_at,
        blocked_until = CASE WHEN counted.failures >= counted.max
                             THEN now() + make_interval(secs => lockout_seconds)
                             ELSE t.blocked_until END
    FROM (
        SELECT b.scope, b.key, u.max,
               CASE WHEN b.window_started_at <= now() - make_interval(secs => window_seconds) THEN 1
                    ELSE b.failures + 1 END AS failures,
               CASE WHEN b.window_started_at <= now() - make_interval(secs => window_seconds) THEN now()
                    ELSE b.window_started_at END AS window_started_at
        FROM login_throttle b JOIN unnest(scopes, keys, limits) AS u(scope, key, max)
             ON b.scope = u.scope AND b.key = u.key
    ) counted
    WHERE t.scope = counted.scope AND t.key = counted.key;
    RETURN NULL;
END
$$;
