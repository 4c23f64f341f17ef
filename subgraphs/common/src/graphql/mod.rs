//! GraphQL shared by the subgraphs: building a hardened federated schema
//! (`schema`), the limits every operation passes before it runs on any
//! transport (`limits`), the `/graphql` endpoint (`http`), and the schema as
//! a subgraph's own WebSocket endpoint runs it (`subscriptions`).

mod http;
pub mod limits;
mod loader;
mod schema;
mod subscriptions;

pub use http::{error_response, router, MediaType};
pub use loader::{load_one, loader, BatchLoader};
pub use schema::{
    caller, client_address, federation_sdl, grouped, harden, parse_id, subgraph, subgraph_sdl,
    subgraph_with_subscription, PageInfo, MAX_DEPTH,
};
pub use subscriptions::SubscriptionsOnly;
