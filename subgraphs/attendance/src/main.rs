//! `attendance-service [serve]` runs the service; `attendance-service
//! print-schema` prints its federation SDL (no database needed).

use attendance_service::{config::AttendanceSettings, graphql, startup};

#[tokio::main]
async fn main() {
    common::server::service_main(
        "attendance-service",
        env!("CARGO_MANIFEST_DIR"),
        graphql::sdl,
        AttendanceSettings::from_env,
        |s| async move { startup::build(&s).await },
    )
    .await
}
