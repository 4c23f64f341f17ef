//! `refund_attempt` locks its buckets in `reserve_attempt`'s order (v2), so
//! that a login giving its attempt back cannot deadlock with another login
//! of the same account taking one.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(sql!("auth/refund_attempt/v2.sql")).await.map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(sql!("auth/refund_attempt/v1.sql")).await.map(|_| ())
    }
}
