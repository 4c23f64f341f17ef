//! Auth service settings.

use std::time::Duration;

use common::{
    auth::TokenRules,
    config::{CommonSettings, ConfigError, Env},
    keys::KeySource,
    ServiceKind,
};

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub common: CommonSettings,
    /// Lifetime of access tokens (`JWT_EXPIRE`: `7d`, `12h`, `15m`, `3600`;
    /// default 7d in development as in the guide, 15m in production).
    pub token_ttl: Duration,
    /// Lifetime of a refresh token (`REFRESH_TOKEN_EXPIRE`, default 30d);
    /// each use replaces it with a new one.
    pub refresh_ttl: Duration,
    pub throttle: LoginThrottle,
    pub token_rules: TokenRules,
    /// The Ed25519 key(s) tokens are signed with (`JWT_PRIVATE_KEY`): the
    /// first signs, all are published in the JWKS (for rotation).
    pub signing_key: KeySource,
    /// The attendance service's REST base URL (`ATTENDANCE_SERVICE_URL`): it
    /// says which people an organizer may see in full.
    pub attendance_service_url: String,
    /// Timeout of each call to another service (`SERVICE_TIMEOUT`, default 2s).
    pub service_timeout: Duration,
}

/// Failed-login and registration limits, each within `LOGIN_FAILURE_WINDOW`
/// (default 15m), blocking for `LOGIN_LOCKOUT` (default 15m):
/// - `LOGIN_MAX_FAILURES_PER_EMAIL` (5): one account from one address;
/// - `LOGIN_MAX_FAILURES_PER_ADDRESS` (100): one address, any accounts;
/// - `LOGIN_SOFT_LOCK_FAILURES_PER_EMAIL` (20): one account from anywhere;
///   then only addresses that signed in to it before may try, so strangers
///   alone cannot lock its owner out;
/// - `REGISTER_MAX_PER_ADDRESS` (20 within `REGISTER_WINDOW`, default 1h).
#[derive(Debug, Clone, Copy)]
pub struct LoginThrottle {
    pub max_failures_per_email: u32,
    pub max_failures_per_address: u32,
    pub soft_lock_failures_per_email: u32,
    pub window: Duration,
    pub lockout: Duration,
    pub max_registrations_per_address: u32,
    pub registration_window: Duration,
}

impl LoginThrottle {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let positive = |name: &str, default: u32| -> Result<u32, ConfigError> {
            match env.parse_or(name, default)? {
                0 => Err(ConfigError::invalid(name, "must be at least 1")),
                n => Ok(n),
            }
        };
        Ok(LoginThrottle {
            max_failures_per_email: positive("LOGIN_MAX_FAILURES_PER_EMAIL", 5)?,
            max_failures_per_address: positive("LOGIN_MAX_FAILURES_PER_ADDRESS", 100)?,
            soft_lock_failures_per_email: positive("LOGIN_SOFT_LOCK_FAILURES_PER_EMAIL", 20)?,
            max_registrations_per_address: positive("REGISTER_MAX_PER_ADDRESS", 20)?,
            registration_window: env.duration_or("REGISTER_WINDOW", Duration::from_secs(3600))?,
            window: env.duration_or("LOGIN_FAILURE_WINDOW", Duration::from_secs(15 * 60))?,
            lockout: env.duration_or("LOGIN_LOCKOUT", Duration::from_secs(15 * 60))?,
        })
    }
}

impl AuthSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let common = CommonSettings::from_env(env, ServiceKind::Auth)?;
        let signing_key = KeySource::from_env(
            env,
            common.app_env,
            "JWT_PRIVATE_KEY",
            "JWT_DEV_KEY_FILE",
            ".dev/jwt-signing-key.pem",
        )?;
        if env.get("JWT_SECRET").is_some() {
            tracing::warn!("JWT_SECRET is ignored: tokens are signed with the Ed25519 key (JWT_PRIVATE_KEY)");
        }
        let defaults = TokenRules::default();
        let default_ttl = if common.app_env.is_production() { 15 * 60 } else { 7 * 86_400 };
        Ok(AuthSettings {
            token_ttl: env.duration_or("JWT_EXPIRE", Duration::from_secs(default_ttl))?,
            refresh_ttl: env.duration_or("REFRESH_TOKEN_EXPIRE", Duration::from_secs(30 * 86_400))?,
            throttle: LoginThrottle::from_env(env)?,
            token_rules: TokenRules {
                issuer: env.get("JWT_ISSUER").map(str::to_owned).unwrap_or(defaults.issuer),
                audience: env.get("JWT_AUDIENCE").map(str::to_owned).unwrap_or(defaults.audience),
                leeway: defaults.leeway,
            },
            signing_key,
            attendance_service_url: env.base_url_or("ATTENDANCE_SERVICE_URL", "http://localhost:3004")?,
            service_timeout: env.duration_or("SERVICE_TIMEOUT", Duration::from_secs(2))?,
            common,
        })
    }
}
