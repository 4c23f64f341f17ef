//! Builds the event service from its settings.

use anyhow::Context;
use axum::Router;
use common::{db, server::Application, ServiceKind};

use crate::{config::EventSettings, domain::EventService, rest, schema};

pub async fn build(settings: &EventSettings) -> anyhow::Result<Application> {
    let common = &settings.common;
    let db = db::connect(&common.database).await.with_context(|| {
        format!(
            "cannot connect to the database as {}",
            common.database.username()
        )
    })?;
    if common.run_migrations {
        migration::apply(ServiceKind::Event, &db.conn)
            .await
            .context("cannot apply migrations")?;
    }
    let service = EventService::new(db.conn.clone(), common.app_env);
    let graphql = common::graphql::router(
        schema::build(service.clone(), common.batch_delay),
        settings.verifier.clone(),
        None,
        !common.app_env.is_production(),
    );
    let app = Router::new()
        .merge(graphql)
        .merge(rest::router(service, settings.verifier.clone()))
        .merge(common::health::router(migration::readiness_probe(
            ServiceKind::Event,
            db.conn.clone(),
        )))
        .fallback(common::rest::not_found);
    let app = common::server::with_common_layers(app, common.body_limit);
    Application::bind(common.host, common.port, app, db)
        .await
        .with_context(|| format!("cannot listen on port {}", common.port))
}
