//! Builds the event service from its settings.

use axum::Router;
use common::{server::Application, ServiceKind};

use crate::{config::EventSettings, domain::EventService, graphql, rest};

pub async fn build(settings: &EventSettings) -> anyhow::Result<Application> {
    let common = &settings.common;
    let db = migration::connect_service(ServiceKind::Event, common).await?;
    let service = EventService::new(db.conn.clone(), common.app_env);
    let routes = Router::new()
        .merge(common::graphql::router(graphql::build(service.clone(), common), settings.verifier.clone(), common))
        .merge(rest::router(service, settings.verifier.clone()));
    let readiness = migration::readiness_probe(ServiceKind::Event, db.conn.clone());
    Application::for_service(common, routes, readiness, db).await
}
