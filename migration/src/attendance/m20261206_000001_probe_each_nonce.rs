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

use super::m20261205_000001_record_scans_in_sets::RECORD_SCANS_IN_SETS;

/// The end of the nonce lookup's `EXISTS`, as the previous version has it.
const SEMI_JOINED: &str = "= k.scanner\n                    )";
const PROBED_PER_NONCE: &str = "= k.scanner\n                        OFFSET 0\n                    )";

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The previous `record_scans` with its nonce lookup probing per nonce.
fn record_scans_probing_each_nonce() -> Result<String, DbErr> {
    if RECORD_SCANS_IN_SETS.matches(SEMI_JOINED).count() != 1 {
        return Err(DbErr::Migration("record_scans: the nonce lookup to change was not found once".into()));
    }
    Ok(RECORD_SCANS_IN_SETS.replacen(SEMI_JOINED, PROBED_PER_NONCE, 1))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(&record_scans_probing_each_nonce()?).await.map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(RECORD_SCANS_IN_SETS).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_nonce_lookup_changes() {
        let changed = super::record_scans_probing_each_nonce().unwrap();
        assert_eq!(changed.matches("OFFSET 0").count(), super::RECORD_SCANS_IN_SETS.matches("OFFSET 0").count() + 1);
        assert_eq!(changed.len(), super::RECORD_SCANS_IN_SETS.len() + "\n                        OFFSET 0".len());
    }
}
