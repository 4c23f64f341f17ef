//! `event-service [serve]` runs the service; `event-service print-schema`
//! prints its federation SDL and `print-openapi` its REST API's OpenAPI
//! document (no database needed).

use common::server::service_main;
use event_service::{config::EventSettings as Settings, graphql::sdl, rest::openapi, startup::build};

#[tokio::main]
async fn main() {
    service_main("event-service", env!("CARGO_MANIFEST_DIR"), sdl, openapi, Settings::from_env, build).await
}
