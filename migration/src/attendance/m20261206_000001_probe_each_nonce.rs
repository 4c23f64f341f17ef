//! `record_scans` looks each nonce of a batch up in the nonce index, whatever
//! the planner believes about the event's scans.
//!
//! The lookup was a semi-join of the batch's nonces with the event's scans.
//! Once the table had been analysed with many scans but few nonces (single
//! check-ins carry none), the planner took the event for one scan with a
//! nonce and read all of the event's scans with nonces for every nonce of the
//! batch, keeping the nonce and scanner as a join filter: an upload of 500
//! then cost more with every upload before it (4× the PostgreSQL time within
//! ten seconds in `cargo xtask bench`). `OFFSET 0` keeps the `EXISTS` a
//! subquery run per nonce, whose three equalities are the index's key.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(sql!("attendance/record_scans/v3.sql")).await.map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(sql!("attendance/record_scans/v2.sql")).await.map(|_| ())
    }
}
