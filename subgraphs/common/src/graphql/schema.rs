//! Building a subgraph's schema: federation on, hardened against hostile
//! operations, the federation SDL, and what resolvers read from
//! the request (the caller, the client address, ids).

use async_graphql::{
    EmptySubscription, ObjectType, SDLExportOptions, Schema, SchemaBuilder, SimpleObject, SubscriptionType,
};
use query_cost::document::{MAX_DIRECTIVES, MAX_NESTING};
use uuid::Uuid;

use crate::{auth::Caller, config::CommonSettings, error::ApiError, net::ClientAddress};

/// Deepest selection nesting accepted (the router's own plans stay far below).
pub const MAX_DEPTH: usize = 16;

/// The limits every subgraph's schema applies, so a hostile operation is
/// refused before it costs anything: depth, resolved fields, recursion while
/// parsing, directives per field, and no introspection in production (the
/// router has the supergraph; `_service` stays available for composition).
/// The transports add the document limits and the cost ([`super::limits`]).
pub fn harden<Q, M, S>(builder: SchemaBuilder<Q, M, S>, production: bool) -> SchemaBuilder<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let builder = builder
        .limit_depth(MAX_DEPTH)
        .limit_complexity(query_cost::MAX_RESOLVED_FIELDS as usize)
        .limit_recursive_depth(MAX_NESTING)
        .limit_directives(MAX_DIRECTIVES);
    if production {
        builder.disable_introspection()
    } else {
        builder
    }
}

/// A subgraph's schema builder: federation on, [`harden`]ed for the settings' environment.
pub fn subgraph<Q, M>(query: Q, mutation: M, settings: &CommonSettings) -> SchemaBuilder<Q, M, EmptySubscription>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
{
    subgraph_with_subscription(query, mutation, EmptySubscription, settings)
}

/// As [`subgraph`], with subscriptions (served over WebSocket by the subgraph
/// itself: [`subgraph_sdl`] leaves them out of the federation SDL, since the
/// open-source router does not carry them).
pub fn subgraph_with_subscription<Q, M, S>(
    query: Q,
    mutation: M,
    subscription: S,
    settings: &CommonSettings,
) -> SchemaBuilder<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    harden(Schema::build(query, mutation, subscription).enable_federation(), settings.app_env.is_production())
}

/// A subgraph's federation SDL, printed without a service behind the resolvers.
pub fn subgraph_sdl<Q, M>(query: Q, mutation: M) -> String
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
{
    federation_sdl(&Schema::build(query, mutation, EmptySubscription).enable_federation().finish())
}

/// The federation SDL of a subgraph, as composition expects it.
pub fn federation_sdl<Q, M, S>(schema: &Schema<Q, M, S>) -> String
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    schema.sdl_with_options(SDLExportOptions::new().federation())
}

/// The keys of one loader batch grouped by what one query shares
/// (`split` gives a key's group and its owner): one statement per group, in
/// practice one per request. Keys carry the viewer wherever rights apply:
/// loaders are shared by concurrent requests, and what one reader may see
/// says nothing about another.
pub fn grouped<K, G, O>(keys: &[K], split: impl Fn(&K) -> (G, O)) -> std::collections::HashMap<G, Vec<O>>
where
    G: std::hash::Hash + Eq,
{
    let mut groups: std::collections::HashMap<G, Vec<O>> = Default::default();
    for key in keys {
        let (group, owner) = split(key);
        groups.entry(group).or_default().push(owner);
    }
    groups
}

/// Relay-style page info; defined identically by several subgraphs.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
#[graphql(shareable)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// Where the current operation came from (set by [`super::router`] when known).
pub fn client_address(ctx: &async_graphql::Context<'_>) -> Option<ClientAddress> {
    ctx.data_opt::<ClientAddress>().copied()
}

/// The caller of the current operation (set by each transport).
pub fn caller<'a>(ctx: &async_graphql::Context<'a>) -> &'a Caller {
    ctx.data_opt::<Caller>().unwrap_or(&Caller::Anonymous)
}

/// Parses a GraphQL `ID` that must be a UUID (the one rule: [`crate::page::parse_id`]).
pub fn parse_id(field: &str, id: &async_graphql::ID) -> Result<Uuid, ApiError> {
    crate::page::parse_id(field, id.as_str())
}
