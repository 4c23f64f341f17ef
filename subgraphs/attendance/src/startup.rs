//! Builds the attendance service from its settings.

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
    let rules = Rules {
        app_env: common.app_env,
        opens_before: settings.checkin_opens_before,
        clock_skew: settings.clock_skew,
        live_subscriptions_per_user: settings.live_subscriptions_per_user,
    };
    let service = AttendanceService::new(db.pool(), settings.checkin_writers, events, users, rules);
    service.live().start(common.database.for_session().connect_url().to_owned());
    let schema = graphql::build(service.clone(), common);
    let rest = rest::router(service.clone(), settings.verifier.clone(), credential).merge(graphql::ws::router(
        schema.clone(),
        settings.verifier.clone(),
        settings.live_client_timeout,
    ));
    let live = service.live().clone();
    let app = Application::for_service(common, db, schema, settings.verifier.clone(), rest).await?;
    Ok(app.on_shutdown(move || live.close()))
}
