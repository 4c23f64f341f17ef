//! Registrations and tickets: placing people (`register_batch`, which asks
//! `registration_verdict`), cancelling (`cancel_registration`, which promotes
//! from the waitlist), the organizer's decisions, reissued tickets, and
//! reading them as far as the reader may. Every answer is a row of the
//! `registration_answers` view.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use common::{
    db::{statement as stmt, Pool, StorageError},
    page::Cursor,
};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, TransactionTrait};
use uuid::Uuid;

use crate::domain::{
    records::{ListBy, Viewer},
    registration::{
        Placement, Registration, RegistrationMode, RegistrationPolicy, RegistrationPolicyPatch, RegistrationStatus,
        RevokedTicket, TicketFacts,
    },
    tickets::KeyId,
};

/// The columns of `registration_answers`.
const ANSWER: &str =
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

fn answer(row: &sea_orm::QueryResult) -> Result<Registration, StorageError> {
    AnswerRow::from_query_result(row, "")?.try_into()
}

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
    let micros = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
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
            event_updated_at: micros(r.event_updated_at),
            event_cancelled: r.event_cancelled,
            event_ended: r.event_ended,
            signing_key: r.signing_key.to_string(),
            valid_until: micros(r.valid_until),
        })
        .collect();
    let arguments = serde_json::to_string(&arguments).map_err(|e| DbErr::Custom(format!("registrations: {e}")))?;
    let sql = "SELECT * FROM register_batch($1::text::jsonb)";
    let rows = db.query_all_raw(stmt(sql, [arguments.into()])).await?;
    super::by_ordinal("register_batch", batch.len(), rows, |row| {
        Ok(match row.try_get::<String>("", "outcome")?.as_str() {
            "STALE" => Registered::StaleEvent,
            outcome => Registered::Placement(placement(outcome, row)?),
        })
    })
}

/// Requests to register, written in groups ([`super::GroupWriter`]).
pub struct Registrations;

impl super::writer::Batch for Registrations {
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

/// Registrations by id, in one statement.
pub async fn find_many(db: &Pool, ids: &[Uuid]) -> Result<Vec<Registration>, StorageError> {
    let sql = format!("SELECT {ANSWER} FROM registration_answers WHERE id = ANY($1)");
    let rows = db.query_all_raw(stmt(&sql, [ids.to_vec().into()])).await?;
    rows.iter().map(answer).collect()
}

/// Which registrations of an owner `viewer` may list, as SQL over `o.owner`
/// (`$A`: the viewer's `everything`, `$B`: its user id): an event's for its
/// organizer and check-in staff; a person's for themself. (ADMINs see all.)
fn lists_all_sql(by: ListBy, everything: &str, user: &str) -> String {
    match by {
        ListBy::Event => super::lists::sees_all_sql(by, everything, user),
        ListBy::User => format!("{everything}::bool OR o.owner = {user}::uuid"),
    }
}

fn owner_column(by: ListBy) -> &'static str {
    match by {
        ListBy::Event => "event_id",
        ListBy::User => "user_id",
    }
}

/// The first `limit` registrations after `after` (by creation, then id) of
/// each owner that `viewer` may list, optionally of one status, in one
/// statement; everyone else's lists are empty.
pub async fn pages(
    db: &Pool,
    by: ListBy,
    owners: &[Uuid],
    viewer: Viewer,
    status: Option<RegistrationStatus>,
    after: Option<Cursor>,
    limit: u64,
) -> Result<HashMap<Uuid, Vec<Registration>>, StorageError> {
    let mut pages: HashMap<Uuid, Vec<Registration>> = owners.iter().map(|o| (*o, Vec::new())).collect();
    if viewer.is_nobody() {
        return Ok(pages);
    }
    let (column, lists_all) = (owner_column(by), lists_all_sql(by, "$5", "$6"));
    let sql = format!(
        "SELECT a.* FROM unnest($1::uuid[]) AS o(owner)
         CROSS JOIN LATERAL (
             SELECT {ANSWER} FROM registration_answers
             WHERE {column} = o.owner AND ({lists_all})
               AND ($7::text IS NULL OR status = $7::text)
               AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid))
             ORDER BY created_at, id
             LIMIT $4
         ) a"
    );
    let (at, id) = Cursor::parts(after);
    let values = [
        owners.to_vec().into(),
        at.into(),
        id.into(),
        (limit as i64).into(),
        viewer.everything.into(),
        viewer.user.into(),
        status.map(|s| s.as_str().to_owned()).into(),
    ];
    for row in db.query_all_raw(stmt(&sql, values)).await? {
        let registration = answer(&row)?;
        let owner = match by {
            ListBy::Event => registration.event_id,
            ListBy::User => registration.user_id,
        };
        pages.entry(owner).or_default().push(registration);
    }
    Ok(pages)
}

/// How many registrations of each owner `viewer` may list (of one status,
/// if given), in one statement.
pub async fn counts(
    db: &Pool,
    by: ListBy,
    owners: &[Uuid],
    viewer: Viewer,
    status: Option<RegistrationStatus>,
) -> Result<HashMap<Uuid, i64>, StorageError> {
    let mut counts: HashMap<Uuid, i64> = owners.iter().map(|o| (*o, 0)).collect();
    if viewer.is_nobody() {
        return Ok(counts);
    }
    let (column, lists_all) = (owner_column(by), lists_all_sql(by, "$2", "$3"));
    let sql = format!(
        "SELECT o.owner, CASE WHEN {lists_all} THEN (
                    SELECT count(*) FROM registrations r
                    WHERE r.{column} = o.owner AND ($4::text IS NULL OR r.status = $4::text)
                ) ELSE 0 END AS n
         FROM unnest($1::uuid[]) AS o(owner)"
    );
    let values = [
        owners.to_vec().into(),
        viewer.everything.into(),
        viewer.user.into(),
        status.map(|s| s.as_str().to_owned()).into(),
    ];
    for row in db.query_all_raw(stmt(&sql, values)).await? {
        counts.insert(row.try_get("", "owner")?, row.try_get("", "n")?);
    }
    Ok(counts)
}

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

/// The first `limit` tickets of each event revoked after `since` (all,
/// without), oldest first, for the events `viewer` scans at (organizer,
/// check-in staff, ADMINs); none for anyone else.
pub async fn revoked_tickets(
    db: &Pool,
    events: &[Uuid],
    viewer: Viewer,
    since: Option<DateTime<Utc>>,
    limit: u64,
) -> Result<HashMap<Uuid, Vec<RevokedTicket>>, StorageError> {
    let mut found: HashMap<Uuid, Vec<RevokedTicket>> = events.iter().map(|e| (*e, Vec::new())).collect();
    if viewer.is_nobody() {
        return Ok(found);
    }
    let runs = lists_all_sql(ListBy::Event, "$2", "$3");
    let sql = format!(
        "SELECT o.owner AS event_id, t.id, t.revoked_at FROM unnest($1::uuid[]) AS o(owner)
         CROSS JOIN LATERAL (
             SELECT t.id, t.revoked_at FROM tickets t
             WHERE t.event_id = o.owner AND t.revoked_at IS NOT NULL
               AND ($4::timestamptz IS NULL OR t.revoked_at > $4::timestamptz)
             ORDER BY t.revoked_at, t.id
             LIMIT $5
         ) t
         WHERE {runs}
         ORDER BY t.revoked_at, t.id"
    );
    let values =
        [events.to_vec().into(), viewer.everything.into(), viewer.user.into(), since.into(), (limit as i64).into()];
    for row in db.query_all_raw(stmt(&sql, values)).await? {
        let revoked_at: DateTime<Utc> = row.try_get("", "revoked_at")?;
        found
            .entry(row.try_get("", "event_id")?)
            .or_default()
            .push(RevokedTicket { ticket_id: row.try_get("", "id")?, revoked_at: revoked_at.into() });
    }
    Ok(found)
}
