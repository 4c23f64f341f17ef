//! Throttle buckets per key, in fixed windows, with a block once a bucket
//! reaches its limit: attempts are taken before a password is hashed and
//! given back on success (the `reserve_attempt` and `refund_attempt`
//! functions, `migration/sql/auth/`).

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

/// One throttle bucket an attempt counts in: what it is kept for, its key,
/// and how many attempts it lets through its window.
#[derive(Debug, Clone, Copy)]
pub struct Bucket<'a> {
    pub scope: Scope,
    pub key: &'a str,
    pub limit: u32,
}

/// The buckets as `reserve_attempt` and `refund_attempt` take them: three parallel arrays.
fn arrays(buckets: &[Bucket<'_>]) -> [sea_orm::Value; 3] {
    let scopes: Vec<String> = buckets.iter().map(|b| b.scope.as_str().to_owned()).collect();
    let keys: Vec<String> = buckets.iter().map(|b| b.key.to_owned()).collect();
    let limits: Vec<i32> = buckets.iter().map(|b| i32::try_from(b.limit).unwrap_or(i32::MAX)).collect();
    [scopes.into(), keys.into(), limits.into()]
}

/// Takes one attempt from each of `buckets`, all or none, before any
/// password is checked (`reserve_attempt`: concurrent attempts queue on the
/// buckets' rows, so a bucket of limit N lets at most N through). `None`
/// when taken; else how long the longest block lasts (nothing counted). A
/// caller at `address` is not held by an account's soft lock (`Email`) if it
/// signed in to that account before.
pub async fn reserve(
    db: &Pool,
    buckets: &[Bucket<'_>],
    address: Option<&str>,
    window: Duration,
    lockout: Duration,
) -> Result<Option<Duration>, StorageError> {
    let [scopes, keys, limits] = arrays(buckets);
    let values = [
        scopes,
        keys,
        limits,
        address.map(str::to_owned).into(),
        window.as_secs_f64().into(),
        lockout.as_secs_f64().into(),
    ];
    let row = db.query_one_raw(statement("SELECT reserve_attempt($1, $2, $3, $4, $5, $6) AS seconds", values)).await?;
    let seconds: Option<f64> = match row {
        Some(row) => row.try_get("", "seconds")?,
        None => None,
    };
    Ok(seconds.map(|s| Duration::from_secs_f64(s.max(0.001))))
}

/// Gives back an attempt [`reserve`] took from `buckets` (the password was
/// right): only failures stay counted.
pub async fn refund(db: &Pool, buckets: &[Bucket<'_>]) -> Result<(), StorageError> {
    db.execute_raw(statement("SELECT refund_attempt($1, $2, $3)", arrays(buckets))).await?;
    Ok(())
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
