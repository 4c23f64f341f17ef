//! Throttled attempts are taken before the password is hashed and given
//! back on success (`reserve_attempt`, `refund_attempt`), so concurrent
//! attempts cannot all pass a bucket that a check before the hash and a count
//! after it let through.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        connection.execute_unprepared(sql!("auth/reserve_attempt/v1.sql")).await?;
        connection.execute_unprepared(sql!("auth/refund_attempt/v1.sql")).await.map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "DROP FUNCTION refund_attempt(text[], text[], integer[]);
                 DROP FUNCTION reserve_attempt(text[], text[], integer[], text, float8, float8);",
            )
            .await
            .map(|_| ())
    }
}
