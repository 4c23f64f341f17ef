//! Migrations of `attendance_schema`.

use sea_orm_migration::prelude::*;

mod m20260101_000001_create_attendances;
mod m20261126_000001_check_in_batch;
mod m20261201_000001_check_in_staff;
mod m20261203_000001_scans;
mod m20261205_000001_record_scans_in_sets;
mod m20261206_000001_probe_each_nonce;
mod m20261207_000001_one_verdict;
mod m20261207_000002_rights_version;
mod m20261208_000001_registrations;
mod m20261208_000002_checkin_minutes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_create_attendances::Migration),
            Box::new(m20261126_000001_check_in_batch::Migration),
            Box::new(m20261201_000001_check_in_staff::Migration),
            Box::new(m20261203_000001_scans::Migration),
            Box::new(m20261205_000001_record_scans_in_sets::Migration),
            Box::new(m20261206_000001_probe_each_nonce::Migration),
            Box::new(m20261207_000001_one_verdict::Migration),
            Box::new(m20261207_000002_rights_version::Migration),
            Box::new(m20261208_000001_registrations::Migration),
            Box::new(m20261208_000002_checkin_minutes::Migration),
        ]
    }
}
