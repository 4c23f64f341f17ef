//! Group commit for scans: the scans that arrive while earlier ones are
//! being written go to the database together, as one statement.
//!
//! At the door, dozens of scanners check people in at once. Written one by
//! one, each check-in pays for its own round trip, statement and commit; a
//! batch pays for them once. Nothing waits on purpose: a check-in that finds
//! a free writer goes out at once (a batch of one), so batches only form, and
//! grow, when the database is the bottleneck.

use std::sync::Arc;

use common::db::{Pool, StorageError};
use sea_orm::DbErr;
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::{record_scans, NewScan, Recorded};

/// The most check-ins in one statement.
const MAX_BATCH: usize = 256;
/// Check-ins waiting for a writer; beyond this, callers wait to queue.
const MAX_QUEUED: usize = 4096;

struct Pending {
    scan: NewScan,
    reply: oneshot::Sender<Result<Recorded, StorageError>>,
}

#[derive(Clone)]
pub struct ScanWriter {
    queue: mpsc::Sender<Pending>,
}

impl ScanWriter {
    /// Starts the dispatcher task, which writes up to `writers` batches at once
    /// (each holds a pooled connection meanwhile; the rest of the pool stays
    /// free for reads). It ends when the last writer handle is dropped.
    pub fn start(db: Pool, writers: usize) -> Self {
        let (queue, pending) = mpsc::channel(MAX_QUEUED);
        tokio::spawn(dispatch(db, pending, writers.max(1)));
        ScanWriter { queue }
    }

    /// Records one check-in, in whichever batch it lands in.
    pub async fn record(&self, scan: NewScan) -> Result<Recorded, StorageError> {
        let (reply, outcome) = oneshot::channel();
        let stopped = || StorageError::from(DbErr::Custom("the scan writer has stopped".into()));
        self.queue.send(Pending { scan, reply }).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

async fn dispatch(db: Pool, mut pending: mpsc::Receiver<Pending>, writers: usize) {
    let writers = Arc::new(Semaphore::new(writers));
    loop {
        // Wait for a free writer first: meanwhile, check-ins pile up into the next batch.
        let Ok(writer) = writers.clone().acquire_owned().await else { return };
        let Some(first) = pending.recv().await else { return };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match pending.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let db = db.clone();
        tokio::spawn(async move {
            write(&db, batch).await;
            drop(writer);
        });
    }
}

/// Writes a batch and answers each check-in in it.
async fn write(db: &Pool, batch: Vec<Pending>) {
    let (scans, replies): (Vec<NewScan>, Vec<_>) = batch.into_iter().map(|p| (p.scan, p.reply)).unzip();
    match record_scans(db, &scans).await {
        Ok(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        // The database is unreachable or overloaded: every check-in hears so.
        Err(e) if replies.len() == 1 || is_transient(&e) => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
        // Anything else may be one check-in's fault: each is tried on its own,
        // so that it cannot fail the others.
        Err(e) => {
            tracing::warn!(error = %e, size = replies.len(), "a check-in batch failed; writing its check-ins one by one");
            for (scan, reply) in scans.into_iter().zip(replies) {
                let outcome = record_scans(db, std::slice::from_ref(&scan)).await;
                let _ = reply.send(outcome.and_then(|mut o| {
                    o.pop().ok_or_else(|| DbErr::Custom("record_scans returned no outcome".into()).into())
                }));
            }
        }
    }
}

fn is_transient(e: &StorageError) -> bool {
    let e = e.db_err();
    common::db::is_connection_error(e) || common::db::pg_error(e).is_some_and(|(code, _)| code == "57014")
}
