//! Auth service settings.

use std::{path::PathBuf, time::Duration};

use common::{
    auth::TokenRules,
    config::{CommonSettings, ConfigError, Env},
    ServiceKind,
};

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub common: CommonSettings,
    /// Lifetime of access tokens (`JWT_EXPIRE`: `7d`, `12h`, `15m`, `3600`).
    pub token_ttl: Duration,
    pub token_rules: TokenRules,
    pub signing_key: SigningKeySource,
}

/// Where the Ed25519 signing key(s) come from.
#[derive(Clone)]
pub enum SigningKeySource {
    /// PKCS#8 PEM text; several keys may follow each other: the first signs,
    /// all are published in the JWKS (for rotation).
    Pem(String),
    /// Development only: read from this file, generated there if absent.
    DevFile(PathBuf),
}

impl std::fmt::Debug for SigningKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigningKeySource::Pem(_) => f.write_str("Pem(***)"),
            SigningKeySource::DevFile(path) => f.debug_tuple("DevFile").field(path).finish(),
        }
    }
}

impl AuthSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let common = CommonSettings::from_env(env, ServiceKind::Auth)?;
        let signing_key = match env.secret("JWT_PRIVATE_KEY")? {
            Some(pem) => SigningKeySource::Pem(pem.replace("\\n", "\n")),
            None if common.app_env.is_production() => {
                return Err(ConfigError::missing(
                    "JWT_PRIVATE_KEY",
                    "or JWT_PRIVATE_KEY_FILE: an Ed25519 PKCS#8 PEM key; production never generates one",
                ))
            }
            None => SigningKeySource::DevFile(
                env.get("JWT_DEV_KEY_FILE")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from(".dev/jwt-signing-key.pem")),
            ),
        };
        if env.get("JWT_SECRET").is_some() {
            tracing::warn!("JWT_SECRET is ignored: tokens are signed with the Ed25519 key (JWT_PRIVATE_KEY)");
        }
        let defaults = TokenRules::default();
        Ok(AuthSettings {
            token_ttl: env.duration_or("JWT_EXPIRE", Duration::from_secs(7 * 86_400))?,
            token_rules: TokenRules {
                issuer: env.get("JWT_ISSUER").map(str::to_owned).unwrap_or(defaults.issuer),
                audience: env.get("JWT_AUDIENCE").map(str::to_owned).unwrap_or(defaults.audience),
                leeway: defaults.leeway,
            },
            signing_key,
            common,
        })
    }
}
