//! The auth service: users, passwords, tokens. A federated subgraph owning the
//! `User` entity, plus the original guide's REST endpoints.

pub mod clients;
pub mod config;
pub mod domain;
pub mod graphql;
pub mod keys;
pub mod rest;
pub mod startup;
pub mod storage;
pub mod wire;
