//! The pieces every TitikTemu subgraph shares, so that each exists once:
//! configuration, telemetry, database connections, the error model, JWT
//! verification, GraphQL and REST helpers, health checks and server start-up.

pub mod auth;
pub mod batch;
pub mod config;
pub mod credential;
pub mod db;
pub mod error;
pub mod graphql;
pub mod health;
pub mod internal;
pub mod keys;
pub mod net;
pub mod openapi;
pub mod page;
pub mod rest;
pub mod server;
pub mod service;
pub mod telemetry;
pub mod text;
pub mod time;

pub use error::{ApiError, ErrorCode};
pub use service::ServiceKind;

/// Every binary built on these pieces allocates with jemalloc, as the router
/// does: a request that builds a thousand small JSON values and futures spent
/// a third of its CPU in glibc's malloc and free.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
