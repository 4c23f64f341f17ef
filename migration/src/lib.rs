//! Bootstrap and migrations for the three service schemas.
//!
//! * [`bootstrap`] runs as the database admin: it creates the schemas and the
//!   service users exactly as the original guide's SQL does, idempotently.
//! * One sea-orm-migration migrator per schema, applied **as the service's own
//!   user** on a connection whose `search_path` is that schema, so each keeps
//!   its bookkeeping table (`seaql_migrations`) inside its own schema.
//!
//! Migrations are written in SQL and never depend on the services' entities:
//! they are frozen in time.

/// The text of a SQL source file under `migration/sql/`: every PL/pgSQL
/// function has one file per version there, which the migration that brings
/// that version loads (and the next version's `down` loads again).
macro_rules! sql {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/sql/", $path))
    };
}

pub mod attendance;
pub mod auth;
pub mod bootstrap;
pub mod event;
mod ops;

pub use ops::{
    apply, connect_service, fresh, migration_status, pending_count, readiness_probe, reset, rollback, MigrationState,
};
pub use sea_orm_migration;
