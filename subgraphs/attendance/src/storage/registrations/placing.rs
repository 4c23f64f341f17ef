//! Placing people and changing their places, each in one SQL function under
//! the event's registration row lock.

use chrono::{DateTime, Utc};
use common::db::{statement as stmt, Pool, StorageError};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use uuid::Uuid;

use super::{answer, ANSWER};
use crate::domain::{
    registration::{Placement, Registration},
    tickets::KeyId,
};

/// A request to register, with the facts `register_batch` places it by.
pub struct NewRegistration {
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub organizer_id: Option<Uuid>,
    pub event_capacity: Option<i32>,
    /// The version of the event the facts below come from.
    pub event_updated_at: DateTime<Utc>,
    pub event_cancelled: bool,
    pub event_ended: bool,
    /// The key a ticket issued now is signed with, and until when it is valid.
    pub signing_key: KeyId,
    pub valid_until: DateTime<Utc>,
}

/// What became of a request to register, as `register_batch` answered.
#[derive(Debug, Clone)]
pub enum Registered {
    Placement(Placement),
    /// The event changed since the copy the request was placed by: nothing
    /// was written; place it again with the event as it is.
    StaleEvent,
}

#[derive(serde::Serialize)]
struct RegistrationArgument {
    ordinal: usize,
    id: Uuid,
    event_id: Uuid,
    user_id: Uuid,
    organizer_id: Option<Uuid>,
    event_capacity: Option<i32>,
    event_updated_at: String,
    event_cancelled: bool,
    event_ended: bool,
    signing_key: String,
    valid_until: String,
}

/// Places requests to register, in one statement (`register_batch`); the
/// outcomes come back in the order of `batch`.
pub async fn register_batch(db: &Pool, batch: &[NewRegistration]) -> Result<Vec<Registered>, StorageError> {
    let arguments: Vec<RegistrationArgument> = batch
        .iter()
        .enumerate()
        .map(|(i, r)| RegistrationArgument {
            ordinal: i + 1,
            id: Uuid::now_v7(),
            event_id: r.event_id,
            user_id: r.user_id,
            organizer_id: r.organizer_id,
            event_capacity: r.event_capacity,
            event_updated_at: crate::storage::micros(r.event_updated_at),
            event_cancelled: r.event_cancelled,
            event_ended: r.event_ended,
            signing_key: r.signing_key.to_string(),
            valid_until: crate::storage::micros(r.valid_until),
        })
        .collect();
    let arguments = serde_json::to_string(&arguments).map_err(|e| DbErr::Custom(format!("registrations: {e}")))?;
    let sql = "SELECT * FROM register_batch($1::text::jsonb)";
    let rows = db.query_all_raw(stmt(sql, [arguments.into()])).await?;
    super::super::by_ordinal("register_batch", batch.len(), rows, |row| {
        Ok(match row.try_get::<String>("", "outcome")?.as_str() {
            "STALE" => Registered::StaleEvent,
            outcome => Registered::Placement(placement(outcome, row)?),
        })
    })
}

/// Requests to register, written in groups ([`crate::storage::GroupWriter`]).
pub struct Registrations;

impl crate::storage::writer::Batch for Registrations {
    type Item = NewRegistration;
    type Outcome = Registered;
    const NAME: &'static str = "registration-writer";

    async fn write(db: &Pool, items: &[NewRegistration]) -> Result<Vec<Registered>, StorageError> {
        register_batch(db, items).await
    }
}

/// A verdict of `registration_verdict` with its answer row.
fn placement(outcome: &str, row: &sea_orm::QueryResult) -> Result<Placement, StorageError> {
    Ok(match outcome {
        "CONFIRMED" | "WAITLISTED" | "PENDING_APPROVAL" | "EXISTING" => Placement::Placed(answer(row)?),
        "EVENT_FULL" => Placement::EventFull,
        "EVENT_CANCELLED" => Placement::EventCancelled,
        "REGISTRATION_CLOSED" => Placement::RegistrationClosed,
        other => return Err(DbErr::Custom(format!("a registration outcome `{other}`")).into()),
    })
}

/// What a promotion needs: the event's capacity, the key to sign with, how
/// long a ticket stays valid.
pub struct Issuing {
    pub event_capacity: Option<i32>,
    pub signing_key: KeyId,
    pub valid_until: DateTime<Utc>,
}

/// Cancels a registration, promoting from the waitlist (`cancel_registration`).
pub async fn cancel(db: &Pool, id: Uuid, issuing: &Issuing) -> Result<Option<Registration>, StorageError> {
    let sql = format!("SELECT {ANSWER} FROM cancel_registration($1, $2, $3, $4)");
    let values =
        [id.into(), issuing.event_capacity.into(), issuing.signing_key.to_string().into(), issuing.valid_until.into()];
    db.query_one_raw(stmt(&sql, values)).await?.map(|row| answer(&row)).transpose()
}

/// What became of an organizer's decision (`decide_registration`).
#[derive(Debug, Clone)]
pub enum Decision {
    /// Approved (confirmed, waitlisted or refused for want of room) or declined.
    Decided(Placement),
    /// The registration was not one to decide: as it is.
    Unchanged(Registration),
}

/// The organizer's decision on a request; `None` when there is no such registration.
pub async fn decide(db: &Pool, id: Uuid, approve: bool, issuing: &Issuing) -> Result<Option<Decision>, StorageError> {
    let sql = format!("SELECT outcome, {ANSWER} FROM decide_registration($1, $2, $3, $4, $5)");
    let values = [
        id.into(),
        approve.into(),
        issuing.event_capacity.into(),
        issuing.signing_key.to_string().into(),
        issuing.valid_until.into(),
    ];
    let Some(row) = db.query_one_raw(stmt(&sql, values)).await? else {
        return Ok(None);
    };
    Ok(Some(match row.try_get::<String>("", "outcome")?.as_str() {
        "UNCHANGED" => Decision::Unchanged(answer(&row)?),
        "DECLINED" => Decision::Decided(Placement::Placed(answer(&row)?)),
        other => Decision::Decided(placement(other, &row)?),
    }))
}

/// Gives the event's free places to its waitlist (`promote_waitlisted`),
/// under its registration row lock: after the event's capacity changed.
pub async fn promote(db: &Pool, event: Uuid, issuing: &Issuing) -> Result<(), StorageError> {
    let txn = db.begin().await?;
    let lock = "SELECT capacity FROM event_registrations WHERE event_id = $1 FOR UPDATE";
    let Some(row) = txn.query_one_raw(stmt(lock, [event.into()])).await? else {
        return Ok(());
    };
    let capacity: Option<i32> = row.try_get("", "capacity")?;
    let promote = "SELECT promote_waitlisted($1, $2, $3, $4)";
    let values = [
        event.into(),
        capacity.or(issuing.event_capacity).into(),
        issuing.signing_key.to_string().into(),
        issuing.valid_until.into(),
    ];
    txn.query_one_raw(stmt(promote, values)).await?;
    txn.commit().await?;
    Ok(())
}

/// A confirmed registration's ticket again, with the current key (`reissue_ticket`).
pub async fn reissue(db: &Pool, id: Uuid, issuing: &Issuing) -> Result<Option<Registration>, StorageError> {
    let sql = format!("SELECT {ANSWER} FROM reissue_ticket($1, $2, $3)");
    let values = [id.into(), issuing.signing_key.to_string().into(), issuing.valid_until.into()];
    db.query_one_raw(stmt(&sql, values)).await?.map(|row| answer(&row)).transpose()
}
