//! `attendance-service [serve]` runs the service; `attendance-service
//! print-schema` prints its federation SDL (no database needed).

use attendance_service::{config::AttendanceSettings as Settings, graphql::sdl, startup::build};
use common::server::service_main;

#[tokio::main]
async fn main() {
    service_main("attendance-service", env!("CARGO_MANIFEST_DIR"), sdl, Settings::from_env, build).await
}
