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

use crate::domain::{self, AuthService};

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

#[derive(SimpleObject)]
pub struct User {
    pub id: ID,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub created_at: Timestamp,
}

impl From<domain::User> for User {
    fn from(u: domain::User) -> Self {
        User { id: ID(u.id.to_string()), email: u.email, name: u.name, role: u.role, created_at: u.created_at }
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
            user: p.user.into(),
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

/// Batches user lookups (entity references, `user(id)`) into one query.
pub struct UserLoader(AuthService);

impl Loader<Uuid> for UserLoader {
    type Value = domain::User;
    type Error = ApiError;

    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        Ok(self.0.users(ids).await?.into_iter().map(|u| (u.id, u)).collect())
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
        Ok(ctx.data_unchecked::<DataLoader<UserLoader>>().load_one(id).await?.map(User::from))
    }

    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>, ApiError> {
        let id = parse_id("id", &id)?;
        Ok(ctx.data_unchecked::<DataLoader<UserLoader>>().load_one(id).await?.map(User::from))
    }

    /// Resolves `User` references from other subgraphs. Unknown or malformed
    /// ids resolve to null without failing the rest of the batch.
    #[graphql(entity)]
    async fn find_user_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>, ApiError> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        Ok(ctx.data_unchecked::<DataLoader<UserLoader>>().load_one(id).await?.map(User::from))
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<AuthPayload, ApiError> {
        let service = ctx.data_unchecked::<AuthService>();
        Ok(service.register(&input.email, input.password, input.name).await?.into())
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
        Ok(TokenValidation { valid: v.valid, user: v.user.map(User::from), expires_at: v.expires_at, error: v.error })
    }
}
