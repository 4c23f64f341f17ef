//! Registrations and tickets, one file per kind of work: `placing`
//! (`register_batch`, which asks `registration_verdict`; cancelling, which
//! promotes from the waitlist; the organizer's decisions; reissued tickets),
//! `policy` (each event's policy and counts), `lists` (pages, counts and
//! revoked tickets as far as the reader may). Every answer is a row of the
//! `registration_answers` view (or of `registration_rows` with the place
//! on the waitlist known).

mod lists;
mod placing;
mod policy;

pub use lists::{counts, pages, revoked_tickets};
pub use placing::{
    cancel, decide, promote, register_batch, reissue, Decision, Issuing, NewRegistration, Registered, Registrations,
};
pub use policy::{policies, set_policy};

use chrono::{DateTime, Utc};
use common::db::{statement as stmt, Pool, StorageError};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use uuid::Uuid;

use crate::domain::{
    registration::{Registration, RegistrationStatus, TicketFacts},
    tickets::KeyId,
};

/// The columns of `registration_answers`.
pub(super) const ANSWER: &str =
    "id, event_id, user_id, status, created_at, waitlist_position, ticket_id, key_id, valid_until, issued_at";

#[derive(FromQueryResult)]
struct AnswerRow {
    id: Uuid,
    event_id: Uuid,
    user_id: Uuid,
    status: String,
    created_at: DateTime<Utc>,
    waitlist_position: Option<i64>,
    ticket_id: Option<Uuid>,
    key_id: Option<String>,
    valid_until: Option<DateTime<Utc>>,
    issued_at: Option<DateTime<Utc>>,
}

impl TryFrom<AnswerRow> for Registration {
    type Error = StorageError;

    fn try_from(r: AnswerRow) -> Result<Self, StorageError> {
        let invalid = |what: String| StorageError::from(DbErr::Custom(format!("a registration with {what}")));
        let status = RegistrationStatus::parse(&r.status).ok_or_else(|| invalid(format!("status `{}`", r.status)))?;
        let ticket = match (r.ticket_id, r.key_id, r.valid_until, r.issued_at) {
            (Some(id), Some(key_id), Some(valid_until), Some(issued_at)) => Some(TicketFacts {
                id,
                key_id: KeyId::parse(&key_id).ok_or_else(|| invalid(format!("ticket key `{key_id}`")))?,
                valid_until,
                issued_at: issued_at.into(),
            }),
            _ => None,
        };
        Ok(Registration {
            id: r.id,
            event_id: r.event_id,
            user_id: r.user_id,
            status,
            created_at: r.created_at.into(),
            waitlist_position: r.waitlist_position.map(|p| i32::try_from(p).unwrap_or(i32::MAX)),
            ticket,
        })
    }
}

pub(super) fn answer(row: &sea_orm::QueryResult) -> Result<Registration, StorageError> {
    AnswerRow::from_query_result(row, "")?.try_into()
}

/// Registrations by id, in one statement.
pub async fn find_many(db: &Pool, ids: &[Uuid]) -> Result<Vec<Registration>, StorageError> {
    let sql = format!("SELECT {ANSWER} FROM registration_answers WHERE id = ANY($1)");
    let rows = db.query_all_raw(stmt(&sql, [ids.to_vec().into()])).await?;
    rows.iter().map(answer).collect()
}
