//! Registrations and revoked tickets as far as the reader may list them,
//! the rights read in the same statement as the rows.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use common::{
    db::{statement as stmt, Pool, StorageError},
    page::Cursor,
};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::{answer, ANSWER};
use crate::domain::{
    records::{ListBy, Viewer},
    registration::{Registration, RegistrationStatus, RevokedTicket},
};
use crate::storage::lists::{owner_column, page_values};

/// Which registrations of an owner `viewer` may list, as SQL over `o.owner`
/// (`$A`: the viewer's `everything`, `$B`: its user id): an event's for its
/// organizer and check-in staff; a person's for themself. (ADMINs see all.)
fn lists_all_sql(by: ListBy, everything: &str, user: &str) -> String {
    match by {
        ListBy::Event => crate::storage::lists::sees_all_sql(by, everything, user),
        ListBy::User => format!("{everything}::bool OR o.owner = {user}::uuid"),
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
    let mut values = page_values(owners, after, limit, viewer);
    values.push(status.map(|s| s.as_str().to_owned()).into());
    for row in db.query_all_raw(stmt(&sql, values)).await? {
        let registration = answer(&row)?;
        pages.entry(by.owner(registration.event_id, registration.user_id)).or_default().push(registration);
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
