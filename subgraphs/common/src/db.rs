//! Database connections: a pool per service, working in the service's own
//! schema (`search_path`), with a statement counter so tests and benchmarks
//! can check how many SQL statements a request costs.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, RuntimeErr};

use crate::config::DatabaseSettings;

/// A service's connection pool as its use cases hold it: storage functions
/// take it (by deref) and the domain never names the database library.
#[derive(Debug, Clone)]
pub struct Pool(DatabaseConnection);

impl Pool {
    pub fn new(conn: DatabaseConnection) -> Self {
        Pool(conn)
    }
}

impl std::ops::Deref for Pool {
    type Target = DatabaseConnection;

    fn deref(&self) -> &DatabaseConnection {
        &self.0
    }
}

/// A failed database call, as the domain sees it. Cheap to clone, so one
/// failed batch can fail every request in it.
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct StorageError(Arc<DbErr>);

impl From<DbErr> for StorageError {
    fn from(err: DbErr) -> Self {
        StorageError(Arc::new(err))
    }
}

impl StorageError {
    /// The database library's error, for the edges' mapping to codes.
    pub fn db_err(&self) -> &DbErr {
        &self.0
    }

    /// Whether this is a violation of the named unique constraint.
    pub fn is_unique_violation(&self, constraint: &str) -> bool {
        is_unique_violation(&self.0, constraint)
    }
}

/// Counts SQL statements sent through one connection pool.
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn increment(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A connected pool plus its statement counter.
#[derive(Debug, Clone)]
pub struct Db {
    pub conn: DatabaseConnection,
    pub statements: StatementCounter,
}

pub async fn connect(settings: &DatabaseSettings) -> Result<Db, DbErr> {
    let mut url = url::Url::parse(settings.connect_url()).map_err(|e| DbErr::Custom(format!("database URL: {e}")))?;
    if !url.query_pairs().any(|(key, _)| key.starts_with("options")) {
        let timeout_ms = settings.statement_timeout.as_millis().to_string();
        url.query_pairs_mut().append_pair("options[statement_timeout]", &timeout_ms);
        // JIT compiles plans whose estimated cost is high; the services run short
        // statements, where compiling costs more than it saves (15 ms per call of
        // a statistics query that ran in 80).
        url.query_pairs_mut().append_pair("options[jit]", "off");
    }
    let mut options = ConnectOptions::new(String::from(url));
    options
        .max_connections(settings.max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(settings.acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        .sqlx_logging(false);
    if let Some(schema) = &settings.schema {
        options.set_schema_search_path(schema.clone());
    }
    let mut conn = Database::connect(options).await?;
    let statements = StatementCounter::default();
    let counter = statements.clone();
    conn.set_metric_callback(move |_info| counter.increment());
    Ok(Db { conn, statements })
}

/// A raw PostgreSQL statement with positional (`$1`) parameters.
pub fn statement(sql: &str, values: impl IntoIterator<Item = sea_orm::Value>) -> sea_orm::Statement {
    sea_orm::Statement::from_sql_and_values(sea_orm::DbBackend::Postgres, sql, values)
}

/// Whether the database answered lately, watched from a connection of its
/// own (so its pings are not counted among a service's statements). While it
/// does not answer, requests are refused at once instead of each waiting for
/// a pool connection until the acquire timeout.
#[derive(Debug, Clone)]
pub struct DbHealth {
    up: Arc<std::sync::atomic::AtomicBool>,
}

impl DbHealth {
    /// Pings every `every`; a ping that fails, or takes three times as long,
    /// marks the database down (a busy database is not a down one).
    pub fn watch(settings: &DatabaseSettings, every: Duration) -> DbHealth {
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let mut options = ConnectOptions::new(settings.connect_url().to_owned());
        options
            .max_connections(1)
            .min_connections(0)
            .connect_timeout(every * 3)
            .acquire_timeout(every * 3)
            .connect_lazy(true)
            .sqlx_logging(false);
        let flag = up.clone();
        tokio::spawn(async move {
            let Ok(conn) = Database::connect(options).await else {
                return; // A lazy pool does not connect here; nothing to watch without one.
            };
            loop {
                tokio::time::sleep(every).await;
                let answered = matches!(tokio::time::timeout(every * 3, ping(&conn)).await, Ok(Ok(())));
                if flag.swap(answered, Ordering::Relaxed) != answered {
                    if answered {
                        tracing::info!("the database answers again");
                    } else {
                        tracing::warn!("the database does not answer: refusing requests until it does");
                    }
                }
                // The service was dropped (tests start and stop many).
                if Arc::strong_count(&flag) == 1 {
                    return;
                }
            }
        });
        DbHealth { up }
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }
}

/// `SELECT 1`, for readiness checks.
pub async fn ping(conn: &DatabaseConnection) -> Result<(), DbErr> {
    conn.execute_unprepared("SELECT 1").await.map(|_| ())
}

fn sqlx_error(err: &DbErr) -> Option<&sea_orm::sqlx::Error> {
    match err {
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => Some(e),
        _ => None,
    }
}

/// SQLSTATE and constraint name of a PostgreSQL error, if that is what `err` is.
pub fn pg_error(err: &DbErr) -> Option<(String, Option<String>)> {
    match sqlx_error(err)? {
        sea_orm::sqlx::Error::Database(db) => {
            Some((db.code().map(|c| c.into_owned()).unwrap_or_default(), db.constraint().map(str::to_owned)))
        }
        _ => None,
    }
}

/// Whether `err` is a violation of the named unique constraint.
pub fn is_unique_violation(err: &DbErr, constraint: &str) -> bool {
    matches!(pg_error(err), Some((code, Some(name))) if code == "23505" && name == constraint)
}

/// Whether `err` means the database cannot be reached right now (as opposed
/// to a bug in a query): such errors become `SERVICE_UNAVAILABLE`.
pub fn is_connection_error(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as E;
    if matches!(err, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) {
        return true;
    }
    match sqlx_error(err) {
        Some(E::Io(_) | E::PoolTimedOut | E::PoolClosed | E::Tls(_) | E::WorkerCrashed) => true,
        // Class 08: connection exception; 57P01..57P03: server shutting down or starting.
        Some(E::Database(db)) => {
            db.code().is_some_and(|c| c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03"))
        }
        _ => false,
    }
}
