//! Builds the event service from its settings.

use common::{server::Application, ServiceKind};

use crate::{clients::CheckInDoor, config::EventSettings, domain::EventService, graphql, rest};

pub async fn build(settings: &EventSettings) -> anyhow::Result<Application> {
    let common = &settings.common;
    let db = migration::connect_service(ServiceKind::Event, common).await?;
    let door =
        CheckInDoor::new(&settings.attendance_service_url, settings.service_timeout, common.service_credential.clone());
    let service = EventService::new(db.pool(), common.app_env, door);
    let schema = graphql::build(service.clone(), common);
    let rest = rest::router(service, settings.verifier.clone());
    Application::for_service(common, db, schema, settings.verifier.clone(), rest, &rest::openapi()).await
}
