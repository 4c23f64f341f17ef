//! The auth subgraph: owns the `User` entity.

use std::collections::HashMap;

use async_graphql::{
    dataloader::{DataLoader, Loader},
    Context, EmptySubscription, InputObject, Object, Schema, SimpleObject, ID,
};
use common::{
    auth::Role,
    graphql::{caller, client_address, parse_id},
    time::Timestamp,
    ApiError,
};
use uuid::Uuid;

use crate::domain::{self, AuthError, AuthService, ProfileViewer};

pub type AuthSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn build(service: AuthService, settings: &common::config::CommonSettings) -> AuthSchema {
    let users = common::graphql::loader(UserLoader(service.clone()), settings.batch_delay);
    common::graphql::harden(
        Schema::build(Query, Mutation, EmptySubscription).enable_federation(),
        settings.app_env.is_production(),
    )
    .data(service)
    .data(users)
    .finish()
}

/// A schema for printing the SDL; resolvers need a real service.
pub fn sdl() -> String {
    let schema = Schema::build(Query, Mutation, EmptySubscription).enable_federation().finish();
    common::graphql::federation_sdl(&schema)
}

/// A person. Anyone may read `id` and `name`. `email`, `role` and
/// `createdAt` are for the person, ADMINs, and the organizers of events the
/// person checked in to; for anyone else they are null, with a `FORBIDDEN`
/// error at their path (`UNAUTHENTICATED` without a token).
#[derive(Clone)]
pub struct User {
    user: domain::User,
    personal: Personal,
}

/// Whether the caller may read a user's personal fields, decided when the
/// user is loaded. The answer does not depend on how the reference got here
/// (an organizer, a door list, `user(id)`, `_entities`): auth owns these fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Personal {
    Shown,
    NeedsSignIn,
    Hidden,
    /// Who may see them cannot be told right now (the attendance service is down).
    Unknown,
}

impl User {
    /// The user behind the tokens of this very answer (register, login,
    /// refresh, validateToken): theirs to read in full.
    fn own(user: domain::User) -> Self {
        User { user, personal: Personal::Shown }
    }

    fn personal_fields(&self) -> Result<(), ApiError> {
        match self.personal {
            Personal::Shown => Ok(()),
            Personal::NeedsSignIn => Err(AuthError::ProfileNeedsSignIn.into()),
            Personal::Hidden => Err(AuthError::ProfileHidden.into()),
            Personal::Unknown => {
                Err(AuthError::Unavailable(common::internal::Unavailable { service: "attendance" }).into())
            }
        }
    }
}

/// One user by id as the caller sees them (batched with every other lookup
/// of the same moment, see [`UserLoader`]).
async fn load_user(ctx: &Context<'_>, id: Uuid) -> Result<Option<User>, ApiError> {
    let viewer = ProfileViewer::of(caller(ctx));
    ctx.data_unchecked::<DataLoader<UserLoader>>().load_one((viewer, id)).await
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.user.id.to_string())
    }

    async fn name(&self) -> Option<&str> {
        self.user.name.as_deref()
    }

    async fn email(&self) -> Result<Option<&str>, ApiError> {
        self.personal_fields()?;
        Ok(Some(&self.user.email))
    }

    async fn role(&self) -> Result<Option<Role>, ApiError> {
        self.personal_fields()?;
        Ok(Some(self.user.role))
    }

    async fn created_at(&self) -> Result<Option<Timestamp>, ApiError> {
        self.personal_fields()?;
        Ok(Some(self.user.created_at))
    }
}

#[derive(SimpleObject)]
pub struct AuthPayload {
    /// The access token: `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: Timestamp,
    pub user: User,
    /// Single use: trade it at `refreshToken` for new tokens before it expires.
    pub refresh_token: String,
    pub refresh_expires_at: Timestamp,
}

impl From<domain::AuthPayload> for AuthPayload {
    fn from(p: domain::AuthPayload) -> Self {
        AuthPayload {
            token: p.token,
            expires_at: p.expires_at,
            user: User::own(p.user),
            refresh_token: p.refresh_token,
            refresh_expires_at: p.refresh_expires_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct TokenValidation {
    pub valid: bool,
    pub user: Option<User>,
    pub expires_at: Option<Timestamp>,
    pub error: Option<String>,
}

#[derive(InputObject)]
pub struct RegisterInput {
    pub email: String,
    pub password: String,
    pub name: Option<String>,
}

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

/// Batches user lookups (entity references, `user(id)`, `me`) per viewer:
/// one query for the users and, at the same time, one question to the
/// attendance service about which of them the viewer may read in full.
pub struct UserLoader(AuthService);

impl Loader<(Option<ProfileViewer>, Uuid)> for UserLoader {
    type Value = User;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[(Option<ProfileViewer>, Uuid)],
    ) -> Result<HashMap<(Option<ProfileViewer>, Uuid), User>, ApiError> {
        let mut by_viewer: HashMap<Option<ProfileViewer>, Vec<Uuid>> = HashMap::new();
        for (viewer, id) in keys {
            by_viewer.entry(*viewer).or_default().push(*id);
        }
        let mut users = HashMap::new();
        for (viewer, ids) in by_viewer {
            for (user, shown) in self.0.users_seen_by(viewer, &ids).await? {
                let personal = match (shown, viewer) {
                    (Some(true), _) => Personal::Shown,
                    (Some(false), None) => Personal::NeedsSignIn,
                    (Some(false), Some(_)) => Personal::Hidden,
                    (None, _) => Personal::Unknown,
                };
                users.insert((viewer, user.id), User { user, personal });
            }
        }
        Ok(users)
    }
}

pub struct Query;

#[Object]
impl Query {
    /// The user the bearer token belongs to; null without a token.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>, ApiError> {
        let Some(id) = caller(ctx).user_id() else {
            return Ok(None);
        };
        load_user(ctx, id).await
    }

    /// Anyone by id: `id` and `name` for everyone, the rest as `User` says.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>, ApiError> {
        load_user(ctx, parse_id("id", &id)?).await
    }

    /// Resolves `User` references from other subgraphs. Unknown or malformed
    /// ids resolve to null without failing the rest of the batch.
    #[graphql(entity)]
    async fn find_user_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>, ApiError> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        load_user(ctx, id).await
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<AuthPayload, ApiError> {
        let service = ctx.data_unchecked::<AuthService>();
        let client = client_address(ctx).map(|c| c.0);
        Ok(service.register(&input.email, input.password, input.name, client).await?.into())
    }

    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AuthPayload, ApiError> {
        let service = ctx.data_unchecked::<AuthService>();
        let client = client_address(ctx).map(|c| c.0);
        Ok(service.login(&input.email, &input.password, client).await?.into())
    }

    /// New tokens for a refresh token, which is used up. Presenting a used
    /// refresh token again revokes every session of its login.
    async fn refresh_token(&self, ctx: &Context<'_>, refresh_token: String) -> Result<AuthPayload, ApiError> {
        Ok(ctx.data_unchecked::<AuthService>().refresh(&refresh_token).await?.into())
    }

    /// Ends the session of a refresh token. Access tokens already issued stay
    /// valid until they expire (keep them short-lived: `JWT_EXPIRE`).
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> Result<bool, ApiError> {
        ctx.data_unchecked::<AuthService>().logout(&refresh_token).await?;
        Ok(true)
    }

    async fn validate_token(&self, ctx: &Context<'_>, token: String) -> Result<TokenValidation, ApiError> {
        let v = ctx.data_unchecked::<AuthService>().validation(&token).await?;
        Ok(TokenValidation { valid: v.valid, user: v.user.map(User::own), expires_at: v.expires_at, error: v.error })
    }
}
