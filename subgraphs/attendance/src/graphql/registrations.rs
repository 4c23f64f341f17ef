//! Registrations in the graph: the `Registration` entity, the lists of an
//! event's or a person's registrations, and the fields `Event` gains from
//! them (resolved here, called from `entities`).

use async_graphql::{ComplexObject, Context, Object};
use chrono::{DateTime, Utc};
use common::{
    graphql::{caller, load_one, PageInfo},
    page::{Cursor, Page},
    time::Timestamp,
    ApiError,
};
use uuid::Uuid;

use super::{
    entities::{page_args, EventRef, UserRef},
    registration_loaders::{
        RegistrationCountKey, RegistrationCountLoader, RegistrationLoader, RegistrationPageKey, RegistrationPageLoader,
        RegistrationPolicyLoader, RevokedLoader, SummaryLoader,
    },
};
use crate::{
    domain::{AttendanceError, ListBy, RegistrationView, Viewer, Visible},
    wire::{Registration, RegistrationPolicy, RegistrationStatus, RegistrationSummary, RevokedTicket},
};

/// A list of registrations, holding (and counting) only those its reader
/// may see: lists are filtered, never refused.
pub(super) struct RegistrationConnection {
    page: Page<RegistrationView>,
    count_key: RegistrationCountKey,
}

#[Object]
impl RegistrationConnection {
    /// The registrations of this list the reader may see.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32, ApiError> {
        let count = load_one::<RegistrationCountLoader, _>(ctx, self.count_key).await?.unwrap_or(0);
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    async fn nodes(&self) -> Vec<Registration> {
        self.page.items.iter().cloned().map(Registration::from).collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.page.has_next,
            end_cursor: self.page.end_cursor(|r| Cursor { at: r.registration.created_at.0, id: r.registration.id }),
        }
    }
}

/// An event's or a person's registrations, oldest first, as far as the reader may list them.
pub(super) async fn connection(
    ctx: &Context<'_>,
    by: ListBy,
    owner: Uuid,
    status: Option<RegistrationStatus>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<RegistrationConnection, ApiError> {
    let (first, after) = page_args(first, after)?;
    let viewer = Viewer::of(caller(ctx));
    let count_key = RegistrationCountKey { by, owner, viewer, status: status.map(Into::into) };
    let key = RegistrationPageKey { list: count_key, first, after };
    let page = load_one::<RegistrationPageLoader, _>(ctx, key).await?;
    Ok(RegistrationConnection { page: page.unwrap_or_else(Page::empty), count_key })
}

/// One registration by id, for those who may see it (null for an unknown
/// id; null with `FORBIDDEN`, or `UNAUTHENTICATED` without a token, for a
/// hidden one).
pub(super) async fn readable_registration(ctx: &Context<'_>, id: Uuid) -> Result<Option<Registration>, ApiError> {
    let caller = caller(ctx);
    let found = load_one::<RegistrationLoader, _>(ctx, (Viewer::of(caller), id)).await?;
    match found {
        None => Ok(None),
        Some(Visible::Shown(registration)) => Ok(Some(registration.into())),
        Some(Visible::Hidden) => {
            Err(AttendanceError::Hidden { what: "registration", anonymous: caller.user_id().is_none() }.into())
        }
    }
}

pub(super) async fn policy(ctx: &Context<'_>, event: Uuid) -> Result<RegistrationPolicy, ApiError> {
    let policy = load_one::<RegistrationPolicyLoader, _>(ctx, event).await?;
    Ok(policy.unwrap_or_default().into())
}

pub(super) async fn summary(
    ctx: &Context<'_>,
    event: Uuid,
    capacity: Option<Option<i32>>,
) -> Result<RegistrationSummary, ApiError> {
    let summary = load_one::<SummaryLoader, _>(ctx, (event, capacity)).await?;
    summary.map(Into::into).ok_or_else(|| ApiError::internal("no registration summary"))
}

pub(super) async fn revoked(
    ctx: &Context<'_>,
    event: Uuid,
    since: Option<Timestamp>,
) -> Result<Vec<RevokedTicket>, ApiError> {
    let since: Option<DateTime<Utc>> = since.map(|t| t.0);
    let key = (Viewer::of(caller(ctx)), since, event);
    let revoked = load_one::<RevokedLoader, _>(ctx, key).await?;
    Ok(revoked.unwrap_or_default().into_iter().map(Into::into).collect())
}

#[ComplexObject]
impl Registration {
    /// Resolved by the router through the event subgraph.
    async fn event(&self) -> Option<EventRef> {
        self.event_uuid().map(|id| EventRef::new(id, None))
    }

    /// Resolved by the router through the auth subgraph (the email only for
    /// those the auth service shows it to).
    async fn user(&self) -> Option<UserRef> {
        self.user_uuid().map(UserRef::new)
    }
}
