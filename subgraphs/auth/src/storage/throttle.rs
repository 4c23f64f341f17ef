//! Failed-login counters per key, in fixed windows, with a block once a key
//! reaches its limit.

use common::db::{Pool, StorageError};
use std::time::Duration;

use common::db::statement;
use sea_orm::ConnectionTrait;

/// What a counter is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One account, from any address: a soft lock, which addresses that
    /// signed in to the account before are not held to.
    Email,
    /// One client address, whatever account it tries.
    Address,
    /// One account from one address.
    Pair,
    /// Registrations from one address.
    Register,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Email => "email",
            Scope::Address => "address",
            Scope::Pair => "pair",
            Scope::Register => "register",
        }
    }
}

/// The longest remaining block among `keys`, if any is blocked now for a
/// caller at `address`: an account's soft lock (`Email`) does not hold an
/// address that signed in to that account before. One statement.
pub async fn blocked_for(
    db: &Pool,
    keys: &[(Scope, &str)],
    address: Option<&str>,
) -> Result<Option<Duration>, StorageError> {
    let (scopes, values): (Vec<String>, Vec<String>) =
        keys.iter().map(|(s, k)| (s.as_str().to_owned(), (*k).to_owned())).unzip();
    let row = db
        .query_one_raw(statement(
            "SELECT extract(epoch FROM max(blocked_until) - now())::float8 AS seconds
             FROM login_throttle t JOIN unnest($1::text[], $2::text[]) AS k(scope, key)
               ON t.scope = k.scope AND t.key = k.key
             WHERE t.blocked_until > now()
               AND NOT (t.scope = 'email' AND EXISTS (
                   SELECT 1 FROM login_known_addresses a WHERE a.email_key = t.key AND a.address = $3::text))",
            [scopes.into(), values.into(), address.map(str::to_owned).into()],
        ))
        .await?;
    let seconds: Option<f64> = match row {
        Some(row) => row.try_get("", "seconds")?,
        None => None,
    };
    Ok(seconds.filter(|s| *s > 0.0).map(Duration::from_secs_f64))
}

/// Counts one failure for `key`; once `limit` failures fall within `window`,
/// the key is blocked for `lockout`. One statement, so concurrent failures
/// are all counted.
pub async fn record_failure(
    db: &Pool,
    scope: Scope,
    key: &str,
    limit: u32,
    window: Duration,
    lockout: Duration,
) -> Result<(), StorageError> {
    db.execute_raw(statement(
        "INSERT INTO login_throttle AS t (scope, key, failures, window_started_at, blocked_until)
         VALUES ($1, $2, 1, now(), CASE WHEN $3 <= 1 THEN now() + make_interval(secs => $5) END)
         ON CONFLICT (scope, key) DO UPDATE SET
           failures = CASE WHEN t.window_started_at <= now() - make_interval(secs => $4) THEN 1
                           ELSE t.failures + 1 END,
           window_started_at = CASE WHEN t.window_started_at <= now() - make_interval(secs => $4) THEN now()
                                    ELSE t.window_started_at END,
           blocked_until = CASE WHEN (CASE WHEN t.window_started_at <= now() - make_interval(secs => $4) THEN 1
                                           ELSE t.failures + 1 END) >= $3
                                THEN now() + make_interval(secs => $5)
                                ELSE t.blocked_until END",
        [
            scope.as_str().into(),
            key.into(),
            i64::from(limit).into(),
            window.as_secs_f64().into(),
            lockout.as_secs_f64().into(),
        ],
    ))
    .await
    .map_err(StorageError::from)
    .map(|_| ())
}

/// Remembers that the account of `email_key` signed in from `address`, so
/// that its soft lock does not hold that address.
pub async fn remember_address(db: &Pool, email_key: &str, address: &str) -> Result<(), StorageError> {
    db.execute_raw(statement(
        "INSERT INTO login_known_addresses (email_key, address) VALUES ($1, $2)
         ON CONFLICT (email_key, address) DO UPDATE SET last_login_at = now()",
        [email_key.into(), address.into()],
    ))
    .await
    .map_err(StorageError::from)
    .map(|_| ())
}

/// Forgets the counters of `keys` (after a successful login).
pub async fn reset(db: &Pool, keys: &[(Scope, &str)]) -> Result<(), StorageError> {
    let (scopes, values): (Vec<String>, Vec<String>) =
        keys.iter().map(|(s, k)| (s.as_str().to_owned(), (*k).to_owned())).unzip();
    db.execute_raw(statement(
        "DELETE FROM login_throttle t USING unnest($1::text[], $2::text[]) AS k(scope, key)
         WHERE t.scope = k.scope AND t.key = k.key",
        [scopes.into(), values.into()],
    ))
    .await
    .map_err(StorageError::from)
    .map(|_| ())
}
