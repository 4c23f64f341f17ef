//! Group commit: the scans (or registrations) that arrive while earlier ones
//! are being written go to the database together, as one statement
//! (`common::batch`).
//!
//! At the door, dozens of scanners check people in at once; when an event
//! opens its registration, hundreds of people race for its places. Written
//! one by one, each pays for its own round trip, statement and commit; a
//! batch pays for them once.

use std::future::Future;

use common::{
    batch::{Batcher, Limits},
    db::{Pool, StorageError},
};
use sea_orm::DbErr;

/// The most items in one statement.
const MAX_BATCH: usize = 256;
/// Items waiting for a writer; beyond this, callers wait to queue.
const MAX_QUEUED: usize = 4096;

/// What a [`GroupWriter`] writes: one statement for many items, one outcome
/// per item, in order.
pub trait Batch: 'static {
    type Item: Send + 'static;
    type Outcome: Send + 'static;
    /// The writer's thread's name.
    const NAME: &'static str;

    fn write(db: &Pool, items: &[Self::Item]) -> impl Future<Output = Result<Vec<Self::Outcome>, StorageError>>;
}

pub struct GroupWriter<B: Batch> {
    batches: Batcher<B::Item, Result<B::Outcome, StorageError>>,
}

impl<B: Batch> Clone for GroupWriter<B> {
    fn clone(&self) -> Self {
        GroupWriter { batches: self.batches.clone() }
    }
}

impl<B: Batch> GroupWriter<B> {
    /// Starts writing up to `writers` batches at once, on a thread of their
    /// own (see [`Batcher::start_on_own_thread`]) and through `db`, a lazily
    /// connected pool of their own (`common::db::connect_busy`): every
    /// caller waiting on a batch waits for the writer's round trip, so the
    /// writer neither queues behind HTTP work for a worker nor pings a
    /// connection before each batch.
    pub fn start(db: Pool, writers: usize) -> std::io::Result<Self> {
        let limits = Limits { max_group: MAX_BATCH, max_queued: MAX_QUEUED, concurrency: writers };
        let batches = Batcher::start_on_own_thread(B::NAME, limits, move |items| {
            let db = db.clone();
            async move { write::<B>(&db, items).await }
        })?;
        Ok(GroupWriter { batches })
    }

    /// Writes one item, in whichever batch it lands in.
    pub async fn write(&self, item: B::Item) -> Result<B::Outcome, StorageError> {
        let stopped = || StorageError::from(DbErr::Custom(format!("the {} has stopped", B::NAME)));
        metrics::gauge!(common::telemetry::metrics::WRITER_QUEUE_DEPTH, "writer" => B::NAME)
            .set(self.batches.queued() as f64);
        self.batches.call(item).await.ok_or_else(stopped)?
    }
}

/// Writes a batch: one outcome per item in it.
async fn write<B: Batch>(db: &Pool, items: Vec<B::Item>) -> Vec<Result<B::Outcome, StorageError>> {
    metrics::histogram!(common::telemetry::metrics::WRITER_BATCH_SIZE, "writer" => B::NAME).record(items.len() as f64);
    match B::write(db, &items).await {
        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
        // The database is unreachable or overloaded: every caller hears so.
        Err(e) if items.len() == 1 || is_transient(&e) => items.iter().map(|_| Err(e.clone())).collect(),
        // Anything else may be one item's fault: each is tried on its own,
        // so that it cannot fail the others.
        Err(e) => {
            tracing::warn!(error = %e, size = items.len(), writer = B::NAME, "a batch failed; writing its items one by one");
            let mut outcomes = Vec::with_capacity(items.len());
            for item in &items {
                let outcome = B::write(db, std::slice::from_ref(item)).await;
                outcomes.push(outcome.and_then(|mut o| {
                    o.pop().ok_or_else(|| DbErr::Custom(format!("the {} wrote no outcome", B::NAME)).into())
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
