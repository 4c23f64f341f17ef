//! Attendance service settings.

use std::time::Duration;

use common::{
    auth::{remote_verifier_from_env, TokenVerifier},
    config::{CommonSettings, ConfigError, Env},
    ServiceKind,
};

#[derive(Debug, Clone)]
pub struct AttendanceSettings {
    pub common: CommonSettings,
    pub verifier: TokenVerifier,
    /// The event service's REST base URL (`EVENT_SERVICE_URL`).
    pub event_service_url: String,
    /// The auth service's REST base URL (`AUTH_SERVICE_URL`).
    pub auth_service_url: String,
    /// How long before an event starts check-in opens (`CHECKIN_OPENS_BEFORE`, default 60m).
    pub checkin_opens_before: Duration,
    /// How far in the future a supplied check-in time may be (`CHECKIN_CLOCK_SKEW`, default 2m).
    pub clock_skew: Duration,
    /// How long event details fetched from the event service are reused (`EVENT_CACHE_TTL`, default 5s).
    pub event_cache_ttl: Duration,
    /// Timeout of each call to another service (`SERVICE_TIMEOUT`, default 2s).
    pub service_timeout: Duration,
}

impl AttendanceSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(AttendanceSettings {
            common: CommonSettings::from_env(env, ServiceKind::Attendance)?,
            verifier: remote_verifier_from_env(env)?,
            event_service_url: base_url(env, "EVENT_SERVICE_URL", "http://localhost:3002")?,
            auth_service_url: base_url(env, "AUTH_SERVICE_URL", "http://localhost:3001")?,
            checkin_opens_before: env.duration_or("CHECKIN_OPENS_BEFORE", Duration::from_secs(3600))?,
            clock_skew: env.duration_or("CHECKIN_CLOCK_SKEW", Duration::from_secs(120))?,
            event_cache_ttl: match env.get("EVENT_CACHE_TTL") {
                Some("0") => Duration::ZERO,
                _ => env.duration_or("EVENT_CACHE_TTL", Duration::from_secs(5))?,
            },
            service_timeout: env.duration_or("SERVICE_TIMEOUT", Duration::from_secs(2))?,
        })
    }
}

fn base_url(env: &Env, name: &str, default: &str) -> Result<String, ConfigError> {
    let raw = env.get(name).unwrap_or(default);
    let url = url::Url::parse(raw).map_err(|e| ConfigError::invalid(name, e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::invalid(name, "must be an http(s) URL"));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}
