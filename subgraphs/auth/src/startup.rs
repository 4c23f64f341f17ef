//! Builds the auth service from its settings.

use common::{server::Application, ServiceKind};

use crate::{config::AuthSettings, domain::AuthService, graphql, keys::SigningKeys, rest};

pub async fn build(settings: &AuthSettings) -> anyhow::Result<Application> {
    let keys = SigningKeys::load(&settings.signing_key)?;
    build_with_keys(settings, keys).await
}

/// As [`build`], with the signing keys given (tests generate theirs).
pub async fn build_with_keys(settings: &AuthSettings, keys: SigningKeys) -> anyhow::Result<Application> {
    let common = &settings.common;
    let db = migration::connect_service(ServiceKind::Auth, common).await?;
    let service = AuthService::new(db.pool(), keys, settings);
    let (schema, verifier) = (graphql::build(service.clone(), common), service.verifier().clone());
    let rest = rest::router(service, common.service_credential.clone());
    Application::for_service(common, db, schema, verifier, rest, &rest::openapi()).await
}
