//! The auth subgraph: owns the `User` entity.

use std::collections::HashMap;

use async_graphql::{dataloader::Loader, Context, EmptySubscription, Object, Schema, ID};
use common::{
    graphql::{caller, client_address, load_one, parse_id},
    ApiError,
};
use uuid::Uuid;

use crate::{
    domain::{AuthService, ProfileViewer},
    wire::{AuthPayload, LoginInput, Personal, RegisterInput, TokenValidation, User},
};

pub type AuthSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn build(service: AuthService, settings: &common::config::CommonSettings) -> AuthSchema {
    let users = common::graphql::loader(UserLoader(service.clone()), settings.batch_delay);
    common::graphql::subgraph(Query, Mutation, settings).data(service).data(users).finish()
}

/// A schema for printing the SDL; resolvers need a real service.
pub fn sdl() -> String {
    common::graphql::subgraph_sdl(Query, Mutation)
}

/// One user by id as the caller sees them (batched with every other lookup
/// of the same moment, see [`UserLoader`]).
async fn load_user(ctx: &Context<'_>, id: Uuid) -> Result<Option<User>, ApiError> {
    let viewer = ProfileViewer::of(caller(ctx));
    load_one::<UserLoader, _>(ctx, (viewer, id)).await
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
        let mut users = HashMap::new();
        for (viewer, ids) in common::graphql::grouped(keys, |&(viewer, id)| (viewer, id)) {
            for (user, shown) in self.0.users_seen_by(viewer, &ids).await? {
                let personal = match (shown, viewer) {
                    (Some(true), _) => Personal::Shown,
                    (Some(false), None) => Personal::NeedsSignIn,
                    (Some(false), Some(_)) => Personal::Hidden,
                    (None, _) => Personal::Unknown,
                };
                users.insert((viewer, user.id), User::seen(user, personal));
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
        Ok(ctx.data_unchecked::<AuthService>().validation(&token).await?.into())
    }
}
