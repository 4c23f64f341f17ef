//! `auth-service [serve]` runs the service; `auth-service print-schema` prints
//! its federation SDL (no database needed); `auth-service generate-key` prints
//! a new Ed25519 signing key (PKCS#8 PEM); `auth-service promote <email>`
//! makes a user ADMIN.

use auth_service::{config::AuthSettings, domain::AuthService, keys::SigningKeys, schema, startup};
use common::{config::Env, server};

const NAME: &str = "auth-service";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("print-schema") => return print!("{}", schema::sdl()),
        Some("generate-key") => return print!("{}", SigningKeys::generate_pem()),
        None | Some("serve") | Some("promote") => {}
        Some(other) => server::exit_with(
            NAME,
            format!(
                "unknown command `{other}` (serve, print-schema, generate-key, promote <email>)"
            ),
        ),
    }
    common::telemetry::init("info,sqlx=warn");
    let env = Env::load(Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))));
    let settings = AuthSettings::from_env(&env).unwrap_or_else(|e| server::exit_with(NAME, e));
    if args.first().map(String::as_str) == Some("promote") {
        let email = args
            .get(1)
            .unwrap_or_else(|| server::exit_with(NAME, "usage: auth-service promote <email>"));
        return promote(&settings, email).await;
    }
    let app = startup::build(&settings)
        .await
        .unwrap_or_else(|e| server::exit_with(NAME, format!("{e:#}")));
    if let Err(e) = app.run_until(server::shutdown_signal()).await {
        server::exit_with(NAME, e);
    }
}

async fn promote(settings: &AuthSettings, email: &str) {
    let db = common::db::connect(&settings.common.database)
        .await
        .unwrap_or_else(|e| server::exit_with(NAME, e));
    // Promotion needs no signing key; a throwaway one keeps the service whole.
    let service = AuthService::new(
        db.conn,
        SigningKeys::generate(),
        settings.token_rules.clone(),
        settings.token_ttl,
    );
    match service.promote(email).await {
        Ok(()) => println!("{email} is now ADMIN"),
        Err(e) => server::exit_with(NAME, e),
    }
}
