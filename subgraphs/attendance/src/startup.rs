//! Builds the attendance service from its settings.

use axum::Router;
use common::{server::Application, ServiceKind};

use crate::{
    clients::{EventDirectory, UserDirectory},
    config::AttendanceSettings,
    domain::{AttendanceService, Rules},
    graphql, rest,
};

pub async fn build(settings: &AttendanceSettings) -> anyhow::Result<Application> {
    let common = &settings.common;
    let db = migration::connect_service(ServiceKind::Attendance, common).await?;
    let credential = common.service_credential.clone();
    let events = EventDirectory::new(
        &settings.event_service_url,
        settings.service_timeout,
        settings.event_cache_ttl,
        credential.clone(),
    );
    let users = UserDirectory::new(&settings.auth_service_url, settings.service_timeout, credential.clone());
    let rules =
        Rules { app_env: common.app_env, opens_before: settings.checkin_opens_before, clock_skew: settings.clock_skew };
    let service = AttendanceService::new(db.conn.clone(), settings.checkin_writers, events, users, rules);
    let routes = Router::new()
        .merge(common::graphql::router(graphql::build(service.clone(), common), settings.verifier.clone(), common))
        .merge(rest::router(service, settings.verifier.clone(), credential));
    let readiness = migration::readiness_probe(ServiceKind::Attendance, db.conn.clone());
    Application::for_service(common, routes, readiness, db).await
}
