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

use std::{future::Future, pin::Pin};

use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, IsolationLevel, QueryResult, RuntimeErr, Statement, TransactionError, TransactionOptions,
    TransactionTrait,
};

use crate::{config::DatabaseSettings, error::ApiError};

/// A service's connection pool as its use cases hold it: storage functions
/// take it and the domain never names the database library.
///
/// Through a transaction-mode pooler (`pooled`) each prepared statement runs
/// in a transaction of its own, and every transaction starts by dropping
/// the prepared statements earlier clients left on the server connection.
/// sqlx names its statements even with its cache off, and prepares and
/// executes in two exchanges; only a transaction keeps both on one server
/// connection, and a name left behind by another client would collide.
/// Statements sent as plain SQL (`execute_unprepared`) need neither.
#[derive(Debug, Clone)]
pub struct Pool {
    conn: DatabaseConnection,
    pooled: bool,
}

impl Pool {
    pub fn new(conn: DatabaseConnection, pooled: bool) -> Self {
        Pool { conn, pooled }
    }

    /// The pool itself, for what needs SeaORM's own type (a readiness probe's migrator).
    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// `run` alone on a connection of the pool: directly, or in a transaction of its own when pooled.
    async fn pinned<T: Send>(
        &self,
        run: impl for<'t> FnOnce(&'t DatabaseTransaction) -> Pin<Box<dyn Future<Output = Result<T, DbErr>> + Send + 't>>
            + Send,
    ) -> Result<T, DbErr> {
        let txn = self.begin().await?;
        let result = run(&txn).await?;
        txn.commit().await?;
        Ok(result)
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Pool {
    fn get_database_backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self.pooled {
            false => self.conn.execute_raw(stmt).await,
            true => self.pinned(|txn| Box::pin(txn.execute_raw(stmt))).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.conn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self.pooled {
            false => self.conn.query_one_raw(stmt).await,
            true => self.pinned(|txn| Box::pin(txn.query_one_raw(stmt))).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self.pooled {
            false => self.conn.query_all_raw(stmt).await,
            true => self.pinned(|txn| Box::pin(txn.query_all_raw(stmt))).await,
        }
    }
}

#[async_trait::async_trait]
impl TransactionTrait for Pool {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.begin_with_options(TransactionOptions::default()).await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.begin_with_options(TransactionOptions { isolation_level, access_mode, ..Default::default() }).await
    }

    async fn begin_with_options(&self, options: TransactionOptions) -> Result<DatabaseTransaction, DbErr> {
        let txn = self.conn.begin_with_options(options).await?;
        if self.pooled {
            txn.execute_unprepared("DEALLOCATE ALL").await?;
        }
        Ok(txn)
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(&'c DatabaseTransaction) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.transaction_with_config(callback, None, None).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(&'c DatabaseTransaction) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let txn = self.begin_with_config(isolation_level, access_mode).await.map_err(TransactionError::Connection)?;
        match callback(&txn).await {
            Ok(value) => {
                txn.commit().await.map_err(TransactionError::Connection)?;
                Ok(value)
            }
            Err(e) => {
                txn.rollback().await.map_err(TransactionError::Connection)?;
                Err(TransactionError::Transaction(e))
            }
        }
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

/// The one mapping of database errors to the public error model.
impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        ApiError::from(&err)
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        ApiError::from(err.db_err())
    }
}

/// Also for an error shared by several requests (a failed batch).
impl From<&sea_orm::DbErr> for ApiError {
    fn from(err: &sea_orm::DbErr) -> Self {
        if is_connection_error(err) {
            if is_pool_timeout(err) {
                metrics::counter!(crate::telemetry::metrics::DB_POOL_TIMEOUTS).increment(1);
            }
            tracing::warn!(error = %err, "database unavailable");
            return ApiError::unavailable("the database is unavailable, try again shortly");
        }
        let sqlstate = pg_error(err).map(|(code, _)| code).unwrap_or_default();
        // 57014: cancelled by `statement_timeout`; the database is overloaded
        // or something holds a lock: try again later.
        if sqlstate == "57014" {
            tracing::warn!(error = %err, "statement timed out");
            return ApiError::unavailable("the database did not answer in time, try again shortly");
        }
        // Class 22, data exception: a value PostgreSQL cannot represent (a NUL
        // character in text, a number out of range). The client's input, so a
        // 400 that names no SQL; the statement failed, so nothing was written.
        if sqlstate.starts_with("22") {
            tracing::info!(error = %err, "input the database cannot store");
            return ApiError::bad_input(
                "a value cannot be stored (e.g. it contains a NUL character or is out of range)",
            );
        }
        ApiError::internal(err)
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
    /// Through a transaction-mode pooler (see [`Pool`]).
    pub pooled: bool,
}

impl Db {
    /// The pool as storage uses it.
    pub fn pool(&self) -> Pool {
        Pool::new(self.conn.clone(), self.pooled)
    }
}

/// Connects a pool. Directly, each connection is set up at start (search
/// path, statement timeout, no JIT); through a transaction-mode pooler
/// (`pooled`) a connection carries no session state, so those come from the
/// role's own settings (bootstrap writes them) and statements are never
/// named (sqlx's statement cache is off, as Prisma's `pgbouncer=true` does).
pub async fn connect(settings: &DatabaseSettings) -> Result<Db, DbErr> {
    let statements = StatementCounter::default();
    let conn = connect_counted(settings, settings.max_connections, false, &statements).await?;
    Ok(Db { conn, statements, pooled: settings.pooled })
}

/// A pool of `connections` for a task that sends one statement after
/// another, as the check-in writer does, counted with the service's other
/// statements. Its connections are opened on first use, so on the runtime
/// of the task that uses them (see `Batcher::start_on_own_thread`), and
/// handed out without a ping: sqlx's ping costs each checkout a round trip
/// before the statement's own, and the writer's round trip is what every
/// check-in waiting on it waits for. A connection that broke meanwhile fails
/// its statement with a connection error, which callers treat as the
/// database being unavailable, and is replaced at the next checkout.
pub async fn connect_busy(
    settings: &DatabaseSettings,
    connections: u32,
    statements: &StatementCounter,
) -> Result<Pool, DbErr> {
    let conn = connect_counted(settings, connections, true, statements).await?;
    Ok(Pool::new(conn, settings.pooled))
}

async fn connect_counted(
    settings: &DatabaseSettings,
    connections: u32,
    busy: bool,
    statements: &StatementCounter,
) -> Result<DatabaseConnection, DbErr> {
    let mut url = url::Url::parse(settings.connect_url()).map_err(|e| DbErr::Custom(format!("database URL: {e}")))?;
    if !settings.pooled && !url.query_pairs().any(|(key, _)| key.starts_with("options")) {
        let timeout_ms = settings.statement_timeout.as_millis().to_string();
        url.query_pairs_mut().append_pair("options[statement_timeout]", &timeout_ms);
        // JIT compiles plans whose estimated cost is high; the services run short
        // statements, where compiling costs more than it saves (15 ms per call of
        // a statistics query that ran in 80).
        url.query_pairs_mut().append_pair("options[jit]", "off");
    }
    let mut options = ConnectOptions::new(String::from(url));
    options
        .max_connections(connections)
        .min_connections(if busy { 0 } else { 1 })
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(settings.acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        .test_before_acquire(!busy)
        .connect_lazy(busy)
        .sqlx_logging(false);
    match &settings.schema {
        _ if settings.pooled => {
            options.map_sqlx_postgres_opts(|pg| pg.statement_cache_capacity(0));
        }
        Some(schema) => {
            options.set_schema_search_path(schema.clone());
        }
        None => {}
    }
    let mut conn = Database::connect(options).await?;
    if settings.pooled && !busy {
        check_role_settings(&Pool::new(conn.clone(), true), settings).await?;
    }
    let counter = statements.clone();
    conn.set_metric_callback(move |info| {
        counter.increment();
        crate::telemetry::record_statement(&info.statement.sql, info.elapsed, info.failed);
    });
    Ok(conn)
}

/// Through a pooler the role's settings are all there is: without its
/// search path every query would miss its tables, so say how to fix it.
async fn check_role_settings(conn: &Pool, settings: &DatabaseSettings) -> Result<(), DbErr> {
    let Some(schema) = &settings.schema else { return Ok(()) };
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT current_setting('search_path') AS search_path",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("no answer to current_setting".to_owned()))?;
    let search_path: String = row.try_get("", "search_path")?;
    if search_path.split(',').map(|s| s.trim().trim_matches('"')).any(|s| s == schema) {
        return Ok(());
    }
    Err(DbErr::Custom(format!(
        "through the pooler (pgbouncer=true) role {} has search_path `{search_path}`, not {schema}: \
         run `migrate bootstrap` (it sets each service role's search_path, statement_timeout and jit)",
        settings.username()
    )))
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

/// Whether `err` is a request that waited for a connection longer than
/// the pool's acquire timeout (the pool is saturated).
fn is_pool_timeout(err: &DbErr) -> bool {
    matches!(err, DbErr::ConnectionAcquire(sea_orm::error::ConnAcquireErr::Timeout))
        || matches!(sqlx_error(err), Some(sea_orm::sqlx::Error::PoolTimedOut))
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
