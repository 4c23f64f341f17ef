//! Builds the attendance service from its settings.

use anyhow::Context;
use common::{server::Application, ServiceKind};

use crate::{
    clients::{EventDirectory, UserDirectory},
    config::AttendanceSettings,
    domain::{tickets::TicketKeys, AttendanceService, Parts, Rules},
    graphql, rest,
};

pub async fn build(settings: &AttendanceSettings) -> anyhow::Result<Application> {
    let writers = settings.checkin_writers;
    // The writers' connections come out of the service's connection budget.
    let mut common = settings.common.clone();
    common.database.max_connections = common.database.max_connections.saturating_sub(writers as u32).max(1);
    let common = &common;
    let db = migration::connect_service(ServiceKind::Attendance, common).await?;
    let writer_pool = common::db::connect_busy(&common.database, writers as u32, &db.db.statements)
        .await
        .context("cannot connect the check-in writer")?;
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
        self_scans_per_minute: settings.self_scans_per_minute,
    };
    let tickets = TicketKeys::new(settings.ticket_keys.load()?).context("no ticket signing key")?;
    let parts = Parts { events, users, tickets };
    let service = AttendanceService::new(db.pool(), writer_pool, writers, parts, rules)
        .context("cannot start the check-in writer")?;
    service.live().start(common.database.for_session().connect_url().to_owned());
    let schema = graphql::build(service.clone(), common);
    let rest = rest::router(service.clone(), settings.verifier.clone(), credential).merge(graphql::ws::router(
        schema.clone(),
        settings.verifier.clone(),
        settings.live_client_timeout,
        common.max_query_cost,
    ));
    let live = service.live().clone();
    let app = Application::for_service(common, db, schema, settings.verifier.clone(), rest, &rest::openapi()).await?;
    Ok(app.on_shutdown(move || live.close()))
}
