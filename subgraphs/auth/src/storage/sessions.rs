//! Refresh tokens: one row per token, grouped in families (one per login).

use chrono::{DateTime, Utc};
use common::db::statement;
use common::db::{Pool, StorageError};
use sea_orm::{ConnectionTrait, TransactionTrait};
use uuid::Uuid;

pub struct NewRefreshToken<'a> {
    pub id: Uuid,
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub token_hash: &'a [u8],
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, token: NewRefreshToken<'_>) -> Result<(), StorageError> {
    db.execute_raw(statement(
        "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)",
        [
            token.id.into(),
            token.family_id.into(),
            token.user_id.into(),
            token.token_hash.to_vec().into(),
            token.expires_at.into(),
        ],
    ))
    .await
    .map_err(StorageError::from)
    .map(|_| ())
}

/// What presenting a refresh token did.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live: it is now used, and `next` joined its family.
    Rotated { user_id: Uuid },
    /// The token had been used before: someone replayed it, so its whole
    /// family (every session descended from that login) is now revoked.
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
}

/// Rotates `presented` into `next` in one transaction. The presented token's
/// row is locked first, so two concurrent uses of one token cannot both win:
/// the second sees it used and revokes the family.
pub async fn rotate(
    db: &Pool,
    presented: &[u8],
    next_hash: &[u8],
    next_expires_at: DateTime<Utc>,
) -> Result<Rotation, StorageError> {
    let txn = db.begin().await?;
    let row = txn
        .query_one_raw(statement(
            "SELECT family_id, user_id, used_at IS NOT NULL AS used, revoked_at IS NOT NULL AS revoked,
                    expires_at <= now() AS expired
             FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
            [presented.to_vec().into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(Rotation::Invalid);
    };
    let family_id: Uuid = row.try_get("", "family_id")?;
    let user_id: Uuid = row.try_get("", "user_id")?;
    let (used, revoked, expired): (bool, bool, bool) =
        (row.try_get("", "used")?, row.try_get("", "revoked")?, row.try_get("", "expired")?);
    if revoked || expired {
        return Ok(Rotation::Invalid);
    }
    if used {
        revoke_family(&txn, family_id).await?;
        txn.commit().await?;
        return Ok(Rotation::Reused);
    }
    txn.execute_raw(statement(
        "UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1",
        [presented.to_vec().into()],
    ))
    .await?;
    insert(
        &txn,
        NewRefreshToken { id: Uuid::now_v7(), family_id, user_id, token_hash: next_hash, expires_at: next_expires_at },
    )
    .await?;
    txn.commit().await?;
    Ok(Rotation::Rotated { user_id })
}

async fn revoke_family(db: &impl ConnectionTrait, family_id: Uuid) -> Result<(), StorageError> {
    db.execute_raw(statement(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
        [family_id.into()],
    ))
    .await
    .map_err(StorageError::from)
    .map(|_| ())
}

/// Revokes the family of the token with this hash; false when there is none.
pub async fn revoke_family_of(db: &Pool, token_hash: &[u8]) -> Result<bool, StorageError> {
    let result = db
        .execute_raw(statement(
            "UPDATE refresh_tokens SET revoked_at = now()
             WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1) AND revoked_at IS NULL",
            [token_hash.to_vec().into()],
        ))
        .await?;
    Ok(result.rows_affected() > 0)
}
