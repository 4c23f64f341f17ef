//! Group commit for scans: the scans that arrive while earlier ones are
//! being written go to the database together, as one statement
//! (`common::batch`).
//!
//! At the door, dozens of scanners check people in at once. Written one by
//! one, each check-in pays for its own round trip, statement and commit; a
//! batch pays for them once.

use common::{
    batch::{Batcher, Limits},
    db::{Pool, StorageError},
};
use sea_orm::DbErr;

use super::{record_scans, NewScan, Recorded};

/// The most check-ins in one statement.
const MAX_BATCH: usize = 256;
/// Check-ins waiting for a writer; beyond this, callers wait to queue.
const MAX_QUEUED: usize = 4096;

#[derive(Clone)]
pub struct ScanWriter {
    batches: Batcher<NewScan, Result<Recorded, StorageError>>,
}

impl ScanWriter {
    /// Starts writing up to `writers` batches at once, on a thread of their
    /// own (see [`Batcher::start_on_own_thread`]) and through `db`, a lazily
    /// connected pool of their own (`common::db::connect_busy`): every
    /// check-in waiting on a batch waits for the writer's round trip, so the
    /// writer neither queues behind HTTP work for a worker nor pings a
    /// connection before each batch.
    pub fn start(db: Pool, writers: usize) -> std::io::Result<Self> {
        let limits = Limits { max_group: MAX_BATCH, max_queued: MAX_QUEUED, concurrency: writers };
        let batches = Batcher::start_on_own_thread("checkin-writer", limits, move |scans| {
            let db = db.clone();
            async move { write(&db, scans).await }
        })?;
        Ok(ScanWriter { batches })
    }

    /// Records one check-in, in whichever batch it lands in.
    pub async fn record(&self, scan: NewScan) -> Result<Recorded, StorageError> {
        let stopped = || StorageError::from(DbErr::Custom("the scan writer has stopped".into()));
        self.batches.call(scan).await.ok_or_else(stopped)?
    }
}

/// Writes a batch: one outcome per check-in in it.
async fn write(db: &Pool, scans: Vec<NewScan>) -> Vec<Result<Recorded, StorageError>> {
    match record_scans(db, &scans).await {
        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
        // The database is unreachable or overloaded: every check-in hears so.
        Err(e) if scans.len() == 1 || is_transient(&e) => scans.iter().map(|_| Err(e.clone())).collect(),
        // Anything else may be one check-in's fault: each is tried on its own,
        // so that it cannot fail the others.
        Err(e) => {
            tracing::warn!(error = %e, size = scans.len(), "a check-in batch failed; writing its check-ins one by one");
            let mut outcomes = Vec::with_capacity(scans.len());
            for scan in &scans {
                let outcome = record_scans(db, std::slice::from_ref(scan)).await;
                outcomes.push(outcome.and_then(|mut o| {
                    o.pop().ok_or_else(|| DbErr::Custom("record_scans returned no outcome".into()).into())
                }));
            }
            outcomes
        }
    }
}

fn is_transient(e: &StorageError) -> bool {
    let e = e.db_err();
    common::db::is_connection_error(e) || common::db::pg_error(e).is_some_and(|(code, _)| code == "57014")
}
