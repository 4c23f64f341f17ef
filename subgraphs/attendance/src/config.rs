//! Attendance service settings.

use std::time::Duration;

use common::{
    auth::{remote_verifier_from_env, TokenVerifier},
    config::{CommonSettings, ConfigError, Env},
    keys::KeySource,
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
    /// Check-in batches written at once (`CHECKIN_WRITERS`, default 1), each
    /// on its own pooled connection.
    pub checkin_writers: usize,
    /// Live streams and subscriptions one person may hold on one instance
    /// (`LIVE_SUBSCRIPTIONS_PER_USER`, default 20).
    pub live_subscriptions_per_user: usize,
    /// How long a WebSocket client has to initialise, to answer a ping and to
    /// take a message off the wire before it is dropped (`LIVE_CLIENT_TIMEOUT`, default 10s).
    pub live_client_timeout: Duration,
    /// Self check-ins (entries and exits) one person may make at one event
    /// per minute, per instance (`SELF_SCANS_PER_MINUTE`, default 10); the
    /// organizer, check-in staff and ADMINs are not counted.
    pub self_scans_per_minute: u32,
    /// The Ed25519 key(s) tickets are signed with (`TICKET_SIGNING_KEY` or
    /// `TICKET_SIGNING_KEY_FILE`; several PEM keys to rotate, the signing
    /// one first): required in production, in development generated once
    /// into `TICKET_DEV_KEY_FILE` (default `.dev/ticket-signing-key.pem`).
    /// Not auth's token key: neither service can sign the other's.
    pub ticket_keys: KeySource,
}

impl AttendanceSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let common = CommonSettings::from_env(env, ServiceKind::Attendance)?;
        if !common.database.has_session() {
            return Err(ConfigError::missing(
                "DIRECT_URL",
                "with pgbouncer=true in DATABASE_URL live updates need a direct connection to LISTEN on",
            ));
        }
        let ticket_keys = KeySource::from_env(
            env,
            common.app_env,
            "TICKET_SIGNING_KEY",
            "TICKET_DEV_KEY_FILE",
            ".dev/ticket-signing-key.pem",
        )?;
        Ok(AttendanceSettings {
            ticket_keys,
            checkin_writers: checkin_writers(env, common.database.max_connections as usize)?,
            common,
            verifier: remote_verifier_from_env(env)?,
            event_service_url: env.base_url_or("EVENT_SERVICE_URL", "http://localhost:3002")?,
            auth_service_url: env.base_url_or("AUTH_SERVICE_URL", "http://localhost:3001")?,
            checkin_opens_before: env.duration_or("CHECKIN_OPENS_BEFORE", Duration::from_secs(3600))?,
            clock_skew: env.duration_or("CHECKIN_CLOCK_SKEW", Duration::from_secs(120))?,
            event_cache_ttl: match env.get("EVENT_CACHE_TTL") {
                Some("0") => Duration::ZERO,
                _ => env.duration_or("EVENT_CACHE_TTL", Duration::from_secs(5))?,
            },
            service_timeout: env.duration_or("SERVICE_TIMEOUT", Duration::from_secs(2))?,
            live_subscriptions_per_user: env.parse_or("LIVE_SUBSCRIPTIONS_PER_USER", 20)?,
            live_client_timeout: env.duration_or("LIVE_CLIENT_TIMEOUT", Duration::from_secs(10))?,
            self_scans_per_minute: match env.parse_or("SELF_SCANS_PER_MINUTE", 10)? {
                0 => return Err(ConfigError::invalid("SELF_SCANS_PER_MINUTE", "must be at least 1")),
                n => n,
            },
        })
    }
}

/// One writer by default: check-ins at a door all lock their event's counter
/// row, so concurrent batches for one event only queue behind each other, and
/// one writer lets the batch grow instead (measured on 2 cores: 1 writer 53-80%
/// of pgbench's bare INSERT rate, 2 writers 52-54%, 3 writers 44-52%). More
/// help when many events check in at once on a database with cores to spare.
/// At least one connection of the pool is left for reads (unless the pool has
/// only one, which reads then share with the one writer).
fn checkin_writers(env: &Env, pool: usize) -> Result<usize, ConfigError> {
    let writers: usize = env.parse_or("CHECKIN_WRITERS", 1)?;
    let most = pool.saturating_sub(1).max(1);
    if writers == 0 || writers > most {
        return Err(ConfigError::invalid(
            "CHECKIN_WRITERS",
            format!("must be from 1 to {most} (the pool size less one)"),
        ));
    }
    Ok(writers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkin_writers_default_to_one_and_leave_a_connection_for_reads() {
        let writers = |raw: Option<&str>| checkin_writers(&Env::from_pairs(raw.map(|r| ("CHECKIN_WRITERS", r))), 10);
        assert_eq!(writers(None).unwrap(), 1);
        assert_eq!(writers(Some("3")).unwrap(), 3);
        assert_eq!(writers(Some("9")).unwrap(), 9);
        for refused in ["0", "10", "-1", "two"] {
            let error = writers(Some(refused)).unwrap_err().to_string();
            assert!(error.contains("CHECKIN_WRITERS"), "{refused}: {error}");
        }
        // A pool of one: the writer and the reads share it.
        assert_eq!(checkin_writers(&Env::from_pairs(None::<(&str, &str)>), 1).unwrap(), 1);
    }
}
