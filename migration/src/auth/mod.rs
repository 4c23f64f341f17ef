//! Migrations of `auth_schema`.

use sea_orm_migration::prelude::*;

mod m20260101_000001_create_users;
mod m20260201_000001_sessions_and_login_throttle;
mod m20261201_000001_throttle_buckets;
mod m20261207_000001_reserve_attempts;
mod m20261209_000001_refund_in_lock_order;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_create_users::Migration),
            Box::new(m20260201_000001_sessions_and_login_throttle::Migration),
            Box::new(m20261201_000001_throttle_buckets::Migration),
            Box::new(m20261207_000001_reserve_attempts::Migration),
            Box::new(m20261209_000001_refund_in_lock_order::Migration),
        ]
    }
}
