//! Builds the attendance service from its settings.

use anyhow::Context;
use axum::Router;
use common::{db, server::Application, ServiceKind};

use crate::{
    clients::{EventDirectory, UserDirectory},
    config::AttendanceSettings,
    domain::{AttendanceService, Rules},
    rest, schema,
};

pub async fn build(settings: &AttendanceSettings) -> anyhow::Result<Application> {
    let common = &settings.common;
    let db = db::connect(&common.database).await.with_context(|| {
        format!(
            "cannot connect to the database as {}",
            common.database.username()
        )
    })?;
    if common.run_migrations {
        migration::apply(ServiceKind::Attendance, &db.conn)
            .await
            .context("cannot apply migrations")?;
    }
    let events = EventDirectory::new(
        &settings.event_service_url,
        settings.service_timeout,
        settings.event_cache_ttl,
    );
    let users = UserDirectory::new(&settings.auth_service_url, settings.service_timeout);
    let rules = Rules {
        app_env: common.app_env,
        opens_before: settings.checkin_opens_before,
        clock_skew: settings.clock_skew,
    };
    let service = AttendanceService::new(db.conn.clone(), events, users, rules);
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
            ServiceKind::Attendance,
            db.conn.clone(),
        )))
        .fallback(common::rest::not_found);
    let app = common::server::with_common_layers(app, common.body_limit);
    Application::bind(common.host, common.port, app, db)
        .await
        .with_context(|| format!("cannot listen on port {}", common.port))
}
