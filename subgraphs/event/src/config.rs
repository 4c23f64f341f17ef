//! Event service settings.

use common::{
    auth::{remote_verifier_from_env, TokenVerifier},
    config::{CommonSettings, ConfigError, Env},
    ServiceKind,
};

#[derive(Debug, Clone)]
pub struct EventSettings {
    pub common: CommonSettings,
    /// Verifies tokens with the auth service's public keys (`AUTH_JWKS_URL`).
    pub verifier: TokenVerifier,
    /// The attendance service's REST base URL (`ATTENDANCE_SERVICE_URL`): told
    /// of every change to an event before the change is acknowledged, so the
    /// door follows it at once.
    pub attendance_service_url: String,
    /// Timeout of each call to another service (`SERVICE_TIMEOUT`, default 2s).
    pub service_timeout: std::time::Duration,
}

impl EventSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(EventSettings {
            common: CommonSettings::from_env(env, ServiceKind::Event)?,
            verifier: remote_verifier_from_env(env)?,
            attendance_service_url: env.base_url_or("ATTENDANCE_SERVICE_URL", "http://localhost:3004")?,
            service_timeout: env.duration_or("SERVICE_TIMEOUT", std::time::Duration::from_secs(2))?,
        })
    }
}
