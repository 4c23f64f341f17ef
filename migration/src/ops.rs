//! Migration operations dispatched by service, shared by the CLI, the
//! services' start-up, readiness checks and the test harness.

use common::{health::ReadinessProbe, ServiceKind};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use sea_orm_migration::{MigrationStatus, MigratorTrait};

/// Runs `$body` with `$M` bound to the migrator of `$kind`.
macro_rules! with_migrator {
    ($kind:expr, $M:ident => $body:expr) => {
        match $kind {
            ServiceKind::Auth => {
                type $M = crate::auth::Migrator;
                $body
            }
            ServiceKind::Event => {
                type $M = crate::event::Migrator;
                $body
            }
            ServiceKind::Attendance => {
                type $M = crate::attendance::Migrator;
                $body
            }
        }
    };
}

/// Applies every pending migration of `kind`, in one transaction, holding an
/// advisory lock so that concurrent starts of the same service cannot race.
pub async fn apply(kind: ServiceKind, db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    lock_schema(kind, &txn).await?;
    with_migrator!(kind, M => M::up(&txn, None).await)?;
    txn.commit().await
}

/// Rolls back the last `steps` migrations (all when `None`).
pub async fn rollback(kind: ServiceKind, db: &DatabaseConnection, steps: Option<u32>) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    lock_schema(kind, &txn).await?;
    with_migrator!(kind, M => M::down(&txn, steps).await)?;
    txn.commit().await
}

/// Rolls back everything, then applies everything again.
pub async fn reset(kind: ServiceKind, db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    lock_schema(kind, &txn).await?;
    with_migrator!(kind, M => M::refresh(&txn).await)?;
    txn.commit().await
}

/// Drops every table in the service's schema, then applies everything again.
pub async fn fresh(kind: ServiceKind, db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    lock_schema(kind, &txn).await?;
    with_migrator!(kind, M => M::fresh(&txn).await)?;
    txn.commit().await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub name: String,
    pub applied: bool,
}

/// Every known migration of `kind` and whether it is applied (read-only).
pub async fn migration_status(kind: ServiceKind, db: &impl ConnectionTrait) -> Result<Vec<MigrationState>, DbErr> {
    let all = with_migrator!(kind, M => M::get_migration_with_status_read_only(db).await)?;
    Ok(all
        .into_iter()
        .map(|m| MigrationState { name: m.name().to_owned(), applied: m.status() == MigrationStatus::Applied })
        .collect())
}

pub async fn pending_count(kind: ServiceKind, db: &impl ConnectionTrait) -> Result<usize, DbErr> {
    Ok(migration_status(kind, db).await?.iter().filter(|m| !m.applied).count())
}

/// Ready when the database answers and no migration is pending.
pub fn readiness_probe(kind: ServiceKind, db: common::db::Pool) -> ReadinessProbe {
    std::sync::Arc::new(move || {
        let db = db.clone();
        Box::pin(async move {
            match pending_count(kind, &db).await {
                Ok(0) => Ok(()),
                Ok(n) => Err(format!("{n} migration(s) pending")),
                Err(e) if common::db::is_connection_error(&e) => Err("database unreachable".to_owned()),
                Err(e) => {
                    tracing::warn!(error = %e, "readiness check failed");
                    Err("database check failed".to_owned())
                }
            }
        })
    })
}

async fn lock_schema(kind: ServiceKind, conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    let sql = format!("SELECT pg_advisory_xact_lock(hashtext('titiktemu-migrate:{}'))", kind.schema());
    conn.execute_unprepared(&sql).await.map(|_| ())
}

/// Connects as the service's own user and, when the settings say so
/// (development by default), applies its pending migrations.
pub async fn connect_service(
    kind: ServiceKind,
    settings: &common::config::CommonSettings,
) -> anyhow::Result<common::server::ServiceDb> {
    use anyhow::Context;
    let db = common::db::connect(&settings.database)
        .await
        .with_context(|| format!("cannot connect to the database as {}", settings.database.username()))?;
    if settings.run_migrations && settings.database.pooled {
        // Through a pooler, on the direct connection (`DIRECT_URL`) when there is one.
        let session =
            common::db::connect(&settings.database.for_session()).await.context("cannot connect to migrate")?;
        apply(kind, &session.conn).await.context("cannot apply migrations")?;
        session.conn.close().await?;
    } else if settings.run_migrations {
        apply(kind, &db.conn).await.context("cannot apply migrations")?;
    }
    let readiness = readiness_probe(kind, db.pool());
    Ok(common::server::ServiceDb { db, readiness })
}
