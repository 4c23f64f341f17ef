//! Each event's registration policy and counts.

use std::collections::HashMap;

use common::db::{statement as stmt, Pool, StorageError};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use uuid::Uuid;

use super::placing::Issuing;
use crate::domain::registration::{RegistrationMode, RegistrationPolicy, RegistrationPolicyPatch};

/// Each event's registration policy and counts (confirmed, waitlisted,
/// pending); the defaults and zeros for events without a registration row.
pub async fn policies(
    db: &Pool,
    events: &[Uuid],
) -> Result<HashMap<Uuid, (RegistrationPolicy, [i32; 3])>, StorageError> {
    let sql = "SELECT event_id, mode, capacity, waitlist, require_ticket, confirmed, waitlisted, pending
               FROM event_registrations WHERE event_id = ANY($1)";
    let mut found: HashMap<Uuid, (RegistrationPolicy, [i32; 3])> =
        events.iter().map(|e| (*e, (RegistrationPolicy::default(), [0; 3]))).collect();
    for row in db.query_all_raw(stmt(sql, [events.to_vec().into()])).await? {
        let (event, policy) = policy_row(&row)?;
        let counts = [row.try_get("", "confirmed")?, row.try_get("", "waitlisted")?, row.try_get("", "pending")?];
        found.insert(event, (policy, counts));
    }
    Ok(found)
}

fn policy_row(row: &sea_orm::QueryResult) -> Result<(Uuid, RegistrationPolicy), StorageError> {
    let mode: String = row.try_get("", "mode")?;
    let mode = RegistrationMode::parse(&mode).ok_or_else(|| DbErr::Custom(format!("a registration mode `{mode}`")))?;
    Ok((
        row.try_get("", "event_id")?,
        RegistrationPolicy {
            mode,
            capacity: row.try_get("", "capacity")?,
            waitlist: row.try_get("", "waitlist")?,
            require_ticket: row.try_get("", "require_ticket")?,
        },
    ))
}

/// Changes an event's registration policy (absent fields stay), then gives
/// any places it freed to the waitlist, in one transaction under the event's
/// registration row lock.
pub async fn set_policy(
    db: &Pool,
    event: Uuid,
    organizer: Option<Uuid>,
    patch: &RegistrationPolicyPatch,
    issuing: &Issuing,
) -> Result<RegistrationPolicy, StorageError> {
    let txn = db.begin().await?;
    txn.execute_raw(stmt(
        "WITH counter AS (
             INSERT INTO event_checkins (event_id, organizer_id) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING
         )
         INSERT INTO event_registrations (event_id) VALUES ($1) ON CONFLICT (event_id) DO NOTHING",
        [event.into(), organizer.into()],
    ))
    .await?;
    let sql = "UPDATE event_registrations r SET
                   mode = coalesce($2, r.mode),
                   capacity = CASE WHEN $3 THEN $4 ELSE r.capacity END,
                   waitlist = coalesce($5, r.waitlist),
                   require_ticket = coalesce($6, r.require_ticket)
               WHERE r.event_id = $1
               RETURNING r.event_id, r.mode, r.capacity, r.waitlist, r.require_ticket";
    let values = [
        event.into(),
        patch.mode.map(|m| m.as_str().to_owned()).into(),
        patch.capacity.is_some().into(),
        patch.capacity.flatten().into(),
        patch.waitlist.into(),
        patch.require_ticket.into(),
    ];
    let row = txn
        .query_one_raw(stmt(sql, values))
        .await?
        .ok_or_else(|| DbErr::Custom("set_registration_policy updated no row".into()))?;
    let policy = policy_row(&row)?.1;
    let promote = "SELECT promote_waitlisted($1, $2, $3, $4)";
    let capacity = policy.capacity_or(issuing.event_capacity);
    let values = [event.into(), capacity.into(), issuing.signing_key.to_string().into(), issuing.valid_until.into()];
    txn.query_one_raw(stmt(promote, values)).await?;
    txn.commit().await?;
    Ok(policy)
}
