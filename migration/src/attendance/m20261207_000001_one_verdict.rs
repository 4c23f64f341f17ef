//! One SQL function decides every scan's verdict (`scan_verdict`), and
//! `record_scans` asks it in both of its parts, from facts the service
//! gathers (the event's copy, whether the person exists) instead of verdicts
//! the service made. A nonce answers its original scan only when it is the
//! same scan. See the two SQL files.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        connection.execute_unprepared(sql!("attendance/scan_verdict/v1.sql")).await?;
        connection.execute_unprepared(sql!("attendance/record_scans/v4.sql")).await.map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        connection.execute_unprepared(sql!("attendance/record_scans/v3.sql")).await?;
        connection
            .execute_unprepared(
                "DROP FUNCTION scan_verdict(boolean, boolean, timestamptz, timestamptz, timestamptz, boolean, text,
                                            boolean, boolean, boolean, boolean, boolean, integer, integer, integer)",
            )
            .await
            .map(|_| ())
    }
}
