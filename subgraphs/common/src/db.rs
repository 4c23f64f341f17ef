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
    let mut options = ConnectOptions::new(settings.connect_url().to_owned());
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
