//! Builds the auth service from its settings.

use anyhow::Context;
use axum::Router;
use common::{db, server::Application, ServiceKind};

use crate::{config::AuthSettings, domain::AuthService, keys::SigningKeys, rest, schema};

pub async fn build(settings: &AuthSettings) -> anyhow::Result<Application> {
    let keys = SigningKeys::load(&settings.signing_key)?;
    build_with_keys(settings, keys).await
}

/// As [`build`], with the signing keys given (tests generate theirs).
pub async fn build_with_keys(
    settings: &AuthSettings,
    keys: SigningKeys,
) -> anyhow::Result<Application> {
    let common = &settings.common;
    let db = db::connect(&common.database).await.with_context(|| {
        format!(
            "cannot connect to the database as {}",
            common.database.username()
        )
    })?;
    if common.run_migrations {
        migration::apply(ServiceKind::Auth, &db.conn)
            .await
            .context("cannot apply migrations")?;
    }
    let service = AuthService::new(
        db.conn.clone(),
        keys,
        settings.token_rules.clone(),
        settings.token_ttl,
    );
    let graphql = common::graphql::router(
        schema::build(service.clone(), common.batch_delay),
        service.verifier().clone(),
        None,
        !common.app_env.is_production(),
    );
    let app = Router::new()
        .merge(graphql)
        .merge(rest::router(service))
        .merge(common::health::router(migration::readiness_probe(
            ServiceKind::Auth,
            db.conn.clone(),
        )))
        .fallback(common::rest::not_found);
    let app = common::server::with_common_layers(app, common.body_limit);
    Application::bind(common.host, common.port, app, db)
        .await
        .with_context(|| format!("cannot listen on port {}", common.port))
}
