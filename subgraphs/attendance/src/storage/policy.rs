//! Each event's check-in policy, kept on its counter row, and the exit-all it may name.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use common::{
    db::{statement as stmt, Pool, StorageError},
    time::Timestamp,
};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use uuid::Uuid;

use crate::domain::records::{CheckInPolicy, CheckInPolicyPatch};

/// The check-in policies of many events (the default for those never set), in one statement.
pub async fn policies(db: &Pool, events: &[Uuid]) -> Result<HashMap<Uuid, CheckInPolicy>, StorageError> {
    let sql = "SELECT c.event_id, c.allow_reentry, c.allow_multiple_entries, c.exit_all_at
               FROM event_checkins c WHERE c.event_id = ANY($1)";
    let mut policies: HashMap<Uuid, CheckInPolicy> = events.iter().map(|e| (*e, CheckInPolicy::default())).collect();
    for row in db.query_all_raw(stmt(sql, [events.to_vec().into()])).await? {
        let (event, policy) = policy_row(&row)?;
        policies.insert(event, policy);
    }
    Ok(policies)
}

fn policy_row(row: &sea_orm::QueryResult) -> Result<(Uuid, CheckInPolicy), DbErr> {
    let exit_all_at: Option<DateTime<Utc>> = row.try_get("", "exit_all_at")?;
    Ok((
        row.try_get("", "event_id")?,
        CheckInPolicy {
            allow_reentry: row.try_get("", "allow_reentry")?,
            allow_multiple_entries: row.try_get("", "allow_multiple_entries")?,
            exit_all_at: exit_all_at.map(Timestamp),
        },
    ))
}

/// Changes an event's policy (absent fields stay); a new `exit_all_at`
/// happens once again. An `exit_all_at` already past applies at once.
pub async fn set_policy(
    db: &Pool,
    event: Uuid,
    organizer: Option<Uuid>,
    patch: &CheckInPolicyPatch,
) -> Result<CheckInPolicy, StorageError> {
    let sql = "UPDATE event_checkins c SET
                   allow_reentry = coalesce($2, c.allow_reentry),
                   allow_multiple_entries = coalesce($3, c.allow_multiple_entries),
                   exit_all_at = CASE WHEN $4 THEN $5 ELSE c.exit_all_at END,
                   exit_all_done = CASE WHEN $4 THEN false ELSE c.exit_all_done END
               WHERE c.event_id = $1
               RETURNING c.event_id, c.allow_reentry, c.allow_multiple_entries, c.exit_all_at";
    let exit_all_at = patch.exit_all_at.map(|t| t.map(|t| t.0));
    let values = [
        event.into(),
        patch.allow_reentry.into(),
        patch.allow_multiple_entries.into(),
        exit_all_at.is_some().into(),
        exit_all_at.flatten().into(),
    ];
    let txn = db.begin().await?;
    // The counter row may not exist yet (no scan so far).
    txn.execute_raw(stmt(
        "INSERT INTO event_checkins AS c (event_id, organizer_id) VALUES ($1, $2)
         ON CONFLICT (event_id) DO UPDATE SET organizer_id = coalesce(c.organizer_id, excluded.organizer_id)",
        [event.into(), organizer.into()],
    ))
    .await?;
    let row =
        txn.query_one_raw(stmt(sql, values)).await?.ok_or_else(|| DbErr::Custom("set_policy updated no row".into()))?;
    txn.query_one_raw(stmt("SELECT exit_all_due($1)", [event.into()])).await?;
    txn.commit().await?;
    Ok(policy_row(&row)?.1)
}

/// Applies the `exit_all_at` of those of `events` whose time has come (each once).
pub async fn apply_due_exits(db: &Pool, events: &[Uuid]) -> Result<(), StorageError> {
    // In event id order, as `record_scans` locks them, so the two cannot deadlock.
    let sql = "SELECT exit_all_due(due.event_id) FROM (
                   SELECT c.event_id FROM event_checkins c
                   WHERE c.event_id = ANY($1) AND c.exit_all_at <= now() AND NOT c.exit_all_done
                   ORDER BY c.event_id
               ) due";
    db.query_all_raw(stmt(sql, [events.to_vec().into()])).await?;
    Ok(())
}
