//! Configuration from the environment (and an optional `.env`), accepting the
//! original guide's variables unchanged. Loaders return plain values so tests
//! can build settings without touching the process environment.

use std::{
    collections::HashMap,
    fmt,
    net::{IpAddr, Ipv4Addr},
    path::Path,
    str::FromStr,
    time::Duration,
};

use url::Url;

use crate::{
    credential::{ServiceCredential, DEVELOPMENT_SECRET, MIN_SECRET_LEN},
    service::ServiceKind,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration error: {name} is not set{hint}")]
    Missing { name: String, hint: String },
    #[error("configuration error: {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

impl ConfigError {
    pub fn missing(name: &str, hint: &str) -> Self {
        let hint = if hint.is_empty() { String::new() } else { format!(" ({hint})") };
        ConfigError::Missing { name: name.to_owned(), hint }
    }

    pub fn invalid(name: &str, reason: impl Into<String>) -> Self {
        ConfigError::Invalid { name: name.to_owned(), reason: reason.into() }
    }
}

/// A snapshot of environment variables. Empty values count as unset, as in
/// most `.env` tooling.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
    /// Names looked up so far, so a deployment file can be checked for
    /// variables no binary reads (typos, leftovers).
    asked: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
}

impl Env {
    /// The process environment, after loading `.env` files: first from the
    /// current directory, then from `service_dir` (variables already set win).
    pub fn load(service_dir: Option<&Path>) -> Self {
        let _ = dotenvy::dotenv();
        if let Some(dir) = service_dir {
            let _ = dotenvy::from_path(dir.join(".env"));
        }
        Self::from_process()
    }

    pub fn from_process() -> Self {
        Self::from_pairs(std::env::vars())
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Env { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect(), asked: Default::default() }
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    /// Variables that are set but that nothing has asked for.
    pub fn unread(&self) -> Vec<String> {
        let asked = self.asked.lock().expect("env lock");
        let mut unread: Vec<String> = self.vars.keys().filter(|k| !asked.contains(*k)).cloned().collect();
        unread.sort();
        unread
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.asked.lock().expect("env lock").insert(name.to_owned());
        self.vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str, hint: &str) -> Result<&str, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError::missing(name, hint))
    }

    /// A secret given either directly (`NAME`) or as a file path (`NAME_FILE`),
    /// as with Docker and Kubernetes secrets. The file's trailing newline is dropped.
    pub fn secret(&self, name: &str) -> Result<Option<String>, ConfigError> {
        if let Some(value) = self.get(name) {
            return Ok(Some(value.to_owned()));
        }
        let file_var = format!("{name}_FILE");
        match self.get(&file_var) {
            None => Ok(None),
            Some(path) => std::fs::read_to_string(path)
                .map(|s| Some(s.trim_end_matches(['\r', '\n']).to_owned()))
                .map_err(|e| ConfigError::invalid(&file_var, format!("cannot read {path}: {e}"))),
        }
    }

    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|e| ConfigError::invalid(name, format!("`{raw}`: {e}"))),
        }
    }

    /// A comma-separated list; an empty value is the empty list only when set
    /// explicitly to `none`.
    pub fn list_or<T>(&self, name: &str, default: Vec<T>) -> Result<Vec<T>, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some("none") => Ok(Vec::new()),
            Some(raw) => raw
                .split(',')
                .map(|item| {
                    item.trim().parse().map_err(|e| ConfigError::invalid(name, format!("`{}`: {e}", item.trim())))
                })
                .collect(),
        }
    }

    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(ConfigError::invalid(name, format!("`{other}` is not a boolean"))),
        }
    }

    /// The http(s) base URL of another service (`name`, else `default`), without a trailing slash.
    pub fn base_url_or(&self, name: &str, default: &str) -> Result<String, ConfigError> {
        let raw = self.get(name).unwrap_or(default);
        let url = url::Url::parse(raw).map_err(|e| ConfigError::invalid(name, e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::invalid(name, "must be an http(s) URL"));
        }
        Ok(raw.trim_end_matches('/').to_owned())
    }

    /// A duration in the guide's `JWT_EXPIRE` format: `7d`, `12h`, `15m`, `30s` or plain seconds.
    pub fn duration_or(&self, name: &str, default: Duration) -> Result<Duration, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => parse_duration(raw).map_err(|reason| ConfigError::invalid(name, reason)),
        }
    }
}

/// Parses `7d`, `12h`, `15m`, `30s`, `250ms` or a plain number of seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let amount: u64 = digits.parse().map_err(|_| format!("`{raw}` is not a duration like 7d, 12h, 15m or 3600"))?;
    if amount == 0 {
        return Err(format!("`{raw}` must be greater than zero"));
    }
    let seconds = match unit.trim() {
        "" | "s" => Some(amount),
        "ms" => return Ok(Duration::from_millis(amount)),
        "m" => amount.checked_mul(60),
        "h" => amount.checked_mul(3_600),
        "d" => amount.checked_mul(86_400),
        _ => return Err(format!("`{raw}` has an unknown unit (use s, m, h or d)")),
    };
    let seconds = seconds.ok_or_else(|| format!("`{raw}` is too large"))?;
    Ok(Duration::from_secs(seconds))
}

/// `APP_ENV` (or the guide's `NODE_ENV`): production unless told otherwise,
/// so that forgetting it never opens anonymous writes; development (the
/// guide's anonymous curl calls) must be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Test,
    Production,
}

impl AppEnv {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let (name, raw) = match (env.get("APP_ENV"), env.get("NODE_ENV")) {
            (Some(raw), _) => ("APP_ENV", raw),
            (None, Some(raw)) => ("NODE_ENV", raw),
            (None, None) => return Ok(AppEnv::Production),
        };
        match raw.to_ascii_lowercase().as_str() {
            "development" | "dev" | "local" => Ok(AppEnv::Development),
            "test" => Ok(AppEnv::Test),
            "production" | "prod" => Ok(AppEnv::Production),
            other => Err(ConfigError::invalid(name, format!("`{other}` (expected development, test or production)"))),
        }
    }

    /// Whether neither variable is set (the mode is then production, and
    /// start-up says so).
    pub fn is_unset(env: &Env) -> bool {
        env.get("APP_ENV").is_none() && env.get("NODE_ENV").is_none()
    }

    pub fn is_production(self) -> bool {
        self == AppEnv::Production
    }
}

/// Where a PostgreSQL database lives and which schema a connection works in.
///
/// Accepts the guide's Prisma form
/// `postgresql://auth_user:pw@host:5432/postgres?schema=auth_schema`; the
/// `schema` parameter becomes the connection's `search_path`. As with
/// Prisma, `pgbouncer=true` says the URL reaches a transaction-mode pooler
/// (PgBouncer, Supabase's port 6543), and `DIRECT_URL` names the direct
/// connection that work needing a session uses.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseSettings {
    /// Connection URL without the `schema` and `pgbouncer` parameters.
    url: Url,
    pub schema: Option<String>,
    /// Through a transaction-mode pooler: no named prepared statements and
    /// no session state (no startup `options`, no `SET`); the search path and
    /// timeouts come from the role's settings, which bootstrap writes.
    pub pooled: bool,
    /// The direct connection (`DIRECT_URL`) for migrations and LISTEN.
    direct: Option<Url>,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// Server-side limit on any one statement (`statement_timeout`), so a
    /// stuck query fails instead of holding a connection forever.
    pub statement_timeout: Duration,
}

impl DatabaseSettings {
    pub fn parse(var_name: &str, raw: &str) -> Result<Self, ConfigError> {
        let mut url = Url::parse(raw).map_err(|e| ConfigError::invalid(var_name, format!("not a URL ({e})")))?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(ConfigError::invalid(var_name, "must start with postgresql://"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::invalid(var_name, "has no host"));
        }
        let mut schema = None;
        let mut pooled = false;
        let mut kept = Vec::new();
        for (key, value) in url.query_pairs() {
            if key == "pgbouncer" {
                pooled = match value.as_ref() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    other => {
                        return Err(ConfigError::invalid(var_name, format!("pgbouncer=`{other}`: use true or false")))
                    }
                };
            } else if key == "schema" {
                if !is_identifier(&value) {
                    return Err(ConfigError::invalid(var_name, format!("schema `{value}` is not a plain identifier")));
                }
                schema = Some(value.into_owned());
            } else {
                kept.push((key.into_owned(), value.into_owned()));
            }
        }
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
        Ok(DatabaseSettings {
            url,
            schema,
            pooled,
            direct: None,
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
        })
    }

    /// The URL to hand to the driver (the `schema` parameter removed).
    pub fn connect_url(&self) -> &str {
        self.url.as_str()
    }

    /// Sets the direct connection for session work (`DIRECT_URL`); its
    /// `schema` and `pgbouncer` parameters, if any, are ignored.
    pub fn set_direct(&mut self, direct: &DatabaseSettings) {
        self.direct = Some(direct.url.clone());
    }

    /// The settings for work that needs a session of its own (migrations,
    /// LISTEN): the direct URL when one is set, else these settings (a
    /// direct connection already, unless `pooled`).
    pub fn for_session(&self) -> DatabaseSettings {
        match &self.direct {
            Some(direct) => DatabaseSettings { url: direct.clone(), pooled: false, direct: None, ..self.clone() },
            None => self.clone(),
        }
    }

    /// Whether session work has a connection that can hold a session.
    pub fn has_session(&self) -> bool {
        !self.pooled || self.direct.is_some()
    }

    pub fn username(&self) -> &str {
        self.url.username()
    }

    pub fn database_name(&self) -> &str {
        self.url.path().trim_start_matches('/')
    }

    /// The URL in the guide's form again, `schema` included.
    pub fn to_url_with_schema(&self) -> String {
        let mut url = self.url.clone();
        if let Some(schema) = &self.schema {
            url.query_pairs_mut().append_pair("schema", schema);
        }
        url.into()
    }
}

/// Never prints the password.
impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut redacted = self.url.clone();
        if redacted.password().is_some() {
            let _ = redacted.set_password(Some("***"));
        }
        f.debug_struct("DatabaseSettings")
            .field("url", &redacted.as_str())
            .field("schema", &self.schema)
            .field("pooled", &self.pooled)
            .field("direct", &self.direct.is_some())
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 63
}

/// The settings every service reads the same way.
#[derive(Debug, Clone)]
pub struct CommonSettings {
    pub app_env: AppEnv,
    pub host: IpAddr,
    pub port: u16,
    pub database: DatabaseSettings,
    /// Apply pending migrations at start-up (default: on in development only).
    pub run_migrations: bool,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// How long GraphQL loaders wait to gather keys into one batch
    /// (`GRAPHQL_BATCH_DELAY`, default 1ms).
    pub batch_delay: Duration,
    /// Peers whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, comma
    /// separated addresses or networks; default: loopback, where the router
    /// runs in development).
    pub trusted_proxies: Vec<crate::net::TrustedNetwork>,
    /// The most an operation may cost, counting list sizes (`GRAPHQL_MAX_COST`,
    /// default `query_cost::DEFAULT_MAX_COST`); see the `query-cost` crate.
    pub max_query_cost: u64,
    /// The secret the router and the services show each other
    /// (`SERVICE_SECRET` or `SERVICE_SECRET_FILE`; required in production).
    pub service_credential: ServiceCredential,
}

impl CommonSettings {
    pub fn from_env(env: &Env, kind: ServiceKind) -> Result<Self, ConfigError> {
        let app_env = AppEnv::from_env(env)?;
        let database_url = match env.secret("DATABASE_URL")? {
            Some(url) => url,
            None => {
                return Err(ConfigError::missing(
                    "DATABASE_URL",
                    &format!(
                        "e.g. postgresql://{}:PASSWORD@localhost:5432/postgres?schema={}",
                        kind.db_user(),
                        kind.schema()
                    ),
                ))
            }
        };
        let mut database = DatabaseSettings::parse("DATABASE_URL", &database_url)?;
        if database.schema.is_none() {
            database.schema = Some(kind.schema().to_owned());
        }
        database.max_connections = env.parse_or("DATABASE_MAX_CONNECTIONS", database.max_connections)?;
        database.statement_timeout = env.duration_or("DATABASE_STATEMENT_TIMEOUT", database.statement_timeout)?;
        if let Some(direct) = env.secret("DIRECT_URL")? {
            database.set_direct(&DatabaseSettings::parse("DIRECT_URL", &direct)?);
        }
        Ok(CommonSettings {
            app_env,
            host: env.parse_or("HOST", IpAddr::V4(Ipv4Addr::LOCALHOST))?,
            port: env.parse_or("PORT", kind.default_port())?,
            database,
            run_migrations: env.bool_or("RUN_MIGRATIONS", !app_env.is_production())?,
            body_limit: env.parse_or("BODY_LIMIT_BYTES", 1024 * 1024)?,
            batch_delay: env.duration_or("GRAPHQL_BATCH_DELAY", Duration::from_millis(1))?,
            trusted_proxies: env.list_or("TRUSTED_PROXIES", client_address::loopback())?,
            max_query_cost: env.parse_or("GRAPHQL_MAX_COST", query_cost::DEFAULT_MAX_COST)?,
            service_credential: service_credential(env, app_env)?,
        })
    }
}

/// The service credential (`SERVICE_SECRET` or `SERVICE_SECRET_FILE`):
/// required in production, at least [`MIN_SECRET_LEN`](crate::credential::MIN_SECRET_LEN) bytes; development
/// falls back to [`DEVELOPMENT_SECRET`].
fn service_credential(env: &Env, app_env: AppEnv) -> Result<ServiceCredential, ConfigError> {
    match env.secret("SERVICE_SECRET")? {
        Some(secret) if app_env.is_production() && secret.len() < MIN_SECRET_LEN => Err(ConfigError::invalid(
            "SERVICE_SECRET",
            format!("must be at least {MIN_SECRET_LEN} bytes in production (e.g. `openssl rand -hex 32`)"),
        )),
        Some(secret) => Ok(ServiceCredential::new(&secret)),
        None if app_env.is_production() => Err(ConfigError::missing(
            "SERVICE_SECRET",
            "the secret shared by the router and the services (or SERVICE_SECRET_FILE); e.g. `openssl rand -hex 32`",
        )),
        None => Ok(ServiceCredential::new(DEVELOPMENT_SECRET)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guide_database_url_selects_schema() {
        let s = DatabaseSettings::parse(
            "DATABASE_URL",
            "postgresql://auth_user:secret@db.example:5432/postgres?schema=auth_schema&sslmode=prefer",
        )
        .unwrap();
        assert_eq!(s.schema.as_deref(), Some("auth_schema"));
        assert_eq!(s.connect_url(), "postgresql://auth_user:secret@db.example:5432/postgres?sslmode=prefer");
        assert_eq!(s.username(), "auth_user");
        assert!(!format!("{s:?}").contains("secret"), "Debug must redact the password");
    }

    #[test]
    fn a_pooler_url_says_so_and_session_work_takes_the_direct_url() {
        let env = Env::from_pairs([
            ("DATABASE_URL", "postgresql://event_user:pw@pooler:6543/postgres?pgbouncer=true&schema=event_schema"),
            ("DIRECT_URL", "postgresql://event_user:pw@db:5432/postgres?schema=event_schema"),
            ("APP_ENV", "development"),
        ]);
        let settings = CommonSettings::from_env(&env, ServiceKind::Event).unwrap().database;
        assert!(settings.pooled && settings.has_session());
        assert_eq!(settings.connect_url(), "postgresql://event_user:pw@pooler:6543/postgres");
        let session = settings.for_session();
        assert!(!session.pooled);
        assert_eq!(session.connect_url(), "postgresql://event_user:pw@db:5432/postgres");
        assert_eq!(session.schema.as_deref(), Some("event_schema"));
        // Without DIRECT_URL a pooled URL has no session to offer.
        let alone = DatabaseSettings::parse("DATABASE_URL", "postgresql://u:p@pooler:6543/db?pgbouncer=true").unwrap();
        assert!(alone.pooled && !alone.has_session());
        assert!(!DatabaseSettings::parse("DATABASE_URL", "postgresql://u:p@h/db").unwrap().pooled);
        assert!(DatabaseSettings::parse("DATABASE_URL", "postgresql://u:p@h/db?pgbouncer=maybe").is_err());
    }

    #[test]
    fn malformed_database_urls_name_the_variable() {
        for raw in ["not a url", "mysql://u@h/db", "postgresql://u@h/db?schema=x;drop"] {
            let err = DatabaseSettings::parse("DATABASE_URL", raw).unwrap_err();
            assert!(err.to_string().contains("DATABASE_URL"), "{err}");
        }
    }

    #[test]
    fn missing_database_url_is_one_clear_line() {
        let err = CommonSettings::from_env(&Env::default(), ServiceKind::Event).unwrap_err();
        let line = err.to_string();
        assert!(line.contains("DATABASE_URL is not set"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn app_env_prefers_app_env_and_accepts_node_env() {
        let env = Env::from_pairs([("NODE_ENV", "production")]);
        assert_eq!(AppEnv::from_env(&env).unwrap(), AppEnv::Production);
        let env = Env::from_pairs([("NODE_ENV", "production"), ("APP_ENV", "development")]);
        assert_eq!(AppEnv::from_env(&env).unwrap(), AppEnv::Development);
        assert!(AppEnv::from_env(&Env::from_pairs([("NODE_ENV", "staging")])).is_err());
        // Forgetting both is production: safe, and said at start-up.
        let unset = Env::from_pairs(None::<(&str, &str)>);
        assert_eq!(AppEnv::from_env(&unset).unwrap(), AppEnv::Production);
        assert!(AppEnv::is_unset(&unset));
    }

    #[test]
    fn durations_in_the_guides_format() {
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(parse_duration("12h").unwrap(), Duration::from_secs(12 * 3_600));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("3600").unwrap(), Duration::from_secs(3_600));
        assert!(parse_duration("0").is_err());
        assert!(
            parse_duration("0ms").is_err(),
            "zero milliseconds used to be accepted (seen while writing the parser properties)"
        );
        assert!(parse_duration("7 weeks").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn port_must_be_a_number() {
        let env = Env::from_pairs([("DATABASE_URL", "postgresql://u:p@h/db"), ("PORT", "http")]);
        let err = CommonSettings::from_env(&env, ServiceKind::Auth).unwrap_err();
        assert!(err.to_string().contains("PORT is invalid"), "{err}");
    }

    #[test]
    fn production_needs_a_long_secret() {
        let production = AppEnv::Production;
        assert!(service_credential(&Env::from_pairs(None::<(&str, &str)>), production).is_err());
        let short = Env::from_pairs([("SERVICE_SECRET", "short")]);
        assert!(service_credential(&short, production).unwrap_err().to_string().contains("SERVICE_SECRET"));
        let long = Env::from_pairs([("SERVICE_SECRET", "x".repeat(crate::credential::MIN_SECRET_LEN))]);
        assert!(service_credential(&long, production).is_ok());
        let development = service_credential(&Env::from_pairs(None::<(&str, &str)>), AppEnv::Development);
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            crate::credential::HEADER,
            axum::http::HeaderValue::from_static(crate::credential::DEVELOPMENT_SECRET),
        );
        assert!(development.unwrap().admits(&headers));
    }
}
