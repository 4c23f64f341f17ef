-- refund_attempt, version 1 (migration m20261207_000001_reserve_attempts).
--
-- Gives back an attempt that `reserve_attempt` took, once the password was
-- right: it was no failure. A bucket that the attempt filled is unblocked
-- again, since its failures are below the limit once more (a block stands
-- exactly while a bucket's failures reach its limit).
CREATE OR REPLACE FUNCTION refund_attempt(scopes text[], keys text[], limits integer[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE login_throttle t SET
        failures = greatest(t.failures - 1, 0),
        blocked_until = CASE WHEN t.failures - 1 < u.max THEN NULL ELSE t.blocked_until END
    FROM unnest(scopes, keys, limits) AS u(scope, key, max)
    WHERE t.scope = u.scope AND t.key = u.key;
$$;
