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
}

impl EventSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(EventSettings {
            common: CommonSettings::from_env(env, ServiceKind::Event)?,
            verifier: remote_verifier_from_env(env)?,
        })
    }
}
