//! `auth-service [serve]` runs the service; `auth-service print-schema` prints
//! its federation SDL and `print-openapi` its REST API's OpenAPI document (no
//! database needed); `auth-service generate-key` prints
//! a new Ed25519 signing key (PKCS#8 PEM); `auth-service promote <email>`
//! makes a user ADMIN.

use auth_service::{config::AuthSettings, domain::AuthService, graphql, keys::SigningKeys, rest, startup};
use common::{config::Env, server};

const NAME: &str = "auth-service";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("generate-key") => print!("{}", SigningKeys::generate_pem()),
        Some("promote") => {
            let email = args.get(1).unwrap_or_else(|| server::exit_with(NAME, "usage: auth-service promote <email>"));
            promote(email).await
        }
        _ => {
            server::service_main(
                NAME,
                env!("CARGO_MANIFEST_DIR"),
                graphql::sdl,
                rest::openapi,
                AuthSettings::from_env,
                startup::build,
            )
            .await
        }
    }
}

async fn promote(email: &str) {
    let env = Env::load(Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))));
    let settings = AuthSettings::from_env(&env).unwrap_or_else(|e| server::exit_with(NAME, e));
    let db = common::db::connect(&settings.common.database).await.unwrap_or_else(|e| server::exit_with(NAME, e));
    // Promotion needs no signing key; a throwaway one keeps the service whole.
    let service = AuthService::new(db.pool(), SigningKeys::generate(), &settings);
    match service.promote(email).await {
        Ok(()) => println!("{email} is now ADMIN"),
        Err(e) => server::exit_with(NAME, e),
    }
}
