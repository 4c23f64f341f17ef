//! `record_scans` writes the usual batch as sets.
//!
//! Each event's scans in a batch that are entries of different people, with
//! no nonce seen before, no stale copy of the event and room for all of them,
//! cannot change each other's verdicts, so they are written with one insert
//! of the first entries, one of the log rows and one update of the counts,
//! instead of a statement or two per scan. Anything else (exits, the same
//! person twice, replays, the last places) is applied one by one in
//! `scanned_at` order, as before. The nonce lookup now spells the scanner as
//! the nonce index does, so it is an index probe per nonce instead of a walk
//! through all of the event's scans with nonces, and a stale copy of the event
//! is noticed per scan rather than per event.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(sql!("attendance/record_scans/v2.sql")).await.map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(sql!("attendance/record_scans/v1.sql")).await.map(|_| ())
    }
}
