//! `event-service [serve]` runs the service; `event-service print-schema`
//! prints its federation SDL (no database needed).

use event_service::{config::EventSettings, graphql, startup};

#[tokio::main]
async fn main() {
    common::server::service_main(
        "event-service",
        env!("CARGO_MANIFEST_DIR"),
        graphql::sdl,
        EventSettings::from_env,
        |s| async move { startup::build(&s).await },
    )
    .await
}
