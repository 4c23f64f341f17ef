//! The event service: events and their organizers. A federated subgraph
//! owning the `Event` entity, plus the original guide's REST endpoints.

pub mod clients;
pub mod config;
pub mod domain;
pub mod graphql;
pub mod rest;
pub mod startup;
pub mod storage;
pub mod wire;
