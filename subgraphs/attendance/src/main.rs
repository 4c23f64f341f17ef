//! `attendance-service [serve]` runs the service; `attendance-service
//! print-schema` prints its federation SDL (no database needed).

use attendance_service::{config::AttendanceSettings, schema, startup};
use common::{config::Env, server};

const NAME: &str = "attendance-service";

#[tokio::main]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("print-schema") => return print!("{}", schema::sdl()),
        None | Some("serve") => {}
        Some(other) => server::exit_with(
            NAME,
            format!("unknown command `{other}` (serve, print-schema)"),
        ),
    }
    common::telemetry::init("info,sqlx=warn");
    let env = Env::load(Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))));
    let settings =
        AttendanceSettings::from_env(&env).unwrap_or_else(|e| server::exit_with(NAME, e));
    let app = startup::build(&settings)
        .await
        .unwrap_or_else(|e| server::exit_with(NAME, format!("{e:#}")));
    if let Err(e) = app.run_until(server::shutdown_signal()).await {
        server::exit_with(NAME, e);
    }
}
