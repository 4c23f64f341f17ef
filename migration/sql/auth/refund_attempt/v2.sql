-- refund_attempt, version 2 (migration m20261209_000001_refund_in_lock_order).
--
-- Gives back an attempt that `reserve_attempt` took, once the password was
-- right: it was no failure. A bucket that the attempt filled is unblocked
-- again, since its failures are below the limit once more (a block stands
-- exactly while a bucket's failures reach its limit).
--
-- Version 1 updated the buckets in the order of its arguments (the account's,
-- then the address's) while `reserve_attempt` locks them sorted (address
-- first): a login giving its attempt back and another login of the same
-- account taking one could each hold the row the other waited for, and
-- PostgreSQL ended one of them as a deadlock. The rows are locked in
-- `reserve_attempt`'s order first.
CREATE OR REPLACE FUNCTION refund_attempt(scopes text[], keys text[], limits integer[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM login_throttle t JOIN unnest(scopes, keys) AS u(scope, key) ON t.scope = u.scope AND t.key = u.key
    ORDER BY t.scope, t.key
    FOR UPDATE OF t;
    UPDATE login_throttle t SET
        failures = greatest(t.failures - 1, 0),
        blocked_until = CASE WHEN t.failures - 1 < u.max THEN NULL ELSE t.blocked_until END
    FROM unnest(scopes, keys, limits) AS u(scope, key, max)
    WHERE t.scope = u.scope AND t.key = u.key;
END
$$;
