//! `attendance-service [serve]` runs the service; `attendance-service
//! print-schema` prints its federation SDL and `print-openapi` its REST API's
//! OpenAPI document (no database needed);
//! `attendance-service generate-key` prints a new Ed25519 ticket signing key
//! (PKCS#8 PEM).

use attendance_service::{config::AttendanceSettings as Settings, graphql::sdl, rest::openapi, startup::build};
use common::server::service_main;

#[tokio::main]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("generate-key") => print!("{}", common::keys::generate_pem()),
        _ => {
            service_main("attendance-service", env!("CARGO_MANIFEST_DIR"), sdl, openapi, Settings::from_env, build)
                .await
        }
    }
}
