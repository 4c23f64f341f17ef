//! Batched lookups for resolvers: the keys asked for within `delay` of the
//! first go to the loader together, as one batch (one SQL statement).
//!
//! async-graphql's `DataLoader` batches the same way, with bookkeeping for
//! each key (a channel, a set of keys and its copy, a map of answers for each
//! caller), about a fifth of the auth service's CPU when it answers the
//! router's 1,000 `User` references of a door list. Here the callers of one
//! batch share one answer: a key costs a push and, once answered, a lookup.
//! Loaders themselves are async-graphql's [`Loader`]s.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use async_graphql::{dataloader::Loader, Context};
use futures::{future::Shared, FutureExt};
use tokio::sync::oneshot;
use tracing::Instrument;

use crate::error::ApiError;

/// The most keys in one batch; a batch this full goes at once.
const MAX_BATCH: usize = 5_000;

/// What a loader is asked by: as async-graphql's [`Loader`] requires.
pub trait Key: Send + Sync + std::hash::Hash + Eq + Clone + 'static {}
impl<K: Send + Sync + std::hash::Hash + Eq + Clone + 'static> Key for K {}

/// One answer for every caller of a batch.
type Answer<K, V> = Arc<Result<HashMap<K, V>, ApiError>>;

/// Batches `T`'s lookups by `K`. Shared by concurrent requests: keys carry
/// the viewer wherever rights apply (see [`super::grouped`]).
pub struct BatchLoader<T: Loader<K>, K: Key> {
    shared: Arc<Inner<T, K>>,
}

struct Inner<T: Loader<K>, K: Key> {
    loader: T,
    delay: Duration,
    open: Mutex<Open<K, T::Value>>,
}

struct Open<K, V> {
    batch: Option<Batch<K, V>>,
    /// Numbers batches, so that a batch's timer does not send a later one early.
    opened: u64,
}

struct Batch<K, V> {
    number: u64,
    keys: Vec<K>,
    reply: oneshot::Sender<Answer<K, V>>,
    answer: Shared<oneshot::Receiver<Answer<K, V>>>,
}

/// A loader as every subgraph uses them: keys asked for within `delay` of
/// each other become one batch.
pub fn loader<T, K>(loader: T, delay: Duration) -> BatchLoader<T, K>
where
    T: Loader<K, Error = ApiError>,
    K: Key,
{
    let open = Mutex::new(Open { batch: None, opened: 0 });
    BatchLoader { shared: Arc::new(Inner { loader, delay, open }) }
}

/// `key`'s value from the request's [`BatchLoader`] of `T`.
pub async fn load_one<T, K>(ctx: &Context<'_>, key: K) -> Result<Option<T::Value>, ApiError>
where
    T: Loader<K, Error = ApiError>,
    K: Key,
{
    let loader = ctx
        .data::<BatchLoader<T, K>>()
        .map_err(|_| ApiError::internal(format_args!("no loader for {}", std::any::type_name::<T>())))?;
    loader.load_one(key).await
}

impl<T, K> BatchLoader<T, K>
where
    T: Loader<K, Error = ApiError>,
    K: Key,
{
    /// `key`'s value, `None` if the loader found none.
    pub async fn load_one(&self, key: K) -> Result<Option<T::Value>, ApiError> {
        let answer = self.enqueue(key.clone()).await.map_err(|_| ApiError::internal("a batched lookup failed"))?;
        match &*answer {
            Ok(found) => Ok(found.get(&key).cloned()),
            Err(e) => Err(e.clone()),
        }
    }

    /// Adds `key` to the open batch (opening one, with its timer, if none
    /// is) and returns the batch's answer; sends the batch if it is full.
    fn enqueue(&self, key: K) -> Shared<oneshot::Receiver<Answer<K, T::Value>>> {
        let mut open = self.shared.open.lock().unwrap_or_else(PoisonError::into_inner);
        let Open { batch, opened } = &mut *open;
        let timer = batch.is_none().then(|| *opened + 1);
        let batch = batch.get_or_insert_with(|| {
            *opened += 1;
            let (reply, answer) = oneshot::channel();
            Batch { number: *opened, keys: Vec::new(), reply, answer: answer.shared() }
        });
        batch.keys.push(key);
        let answer = batch.answer.clone();
        let full = (batch.keys.len() >= MAX_BATCH).then(|| open.batch.take()).flatten();
        drop(open);

        // A batch runs in the span of the request that opened it, so that
        // its SQL shows in that request's trace (it may answer others too).
        if let Some(full) = full {
            let shared = self.shared.clone();
            tokio::spawn(async move { shared.send(full).await }.in_current_span());
        } else if let Some(number) = timer {
            let shared = self.shared.clone();
            tokio::spawn(
                async move {
                    async_io::Timer::after(shared.delay).await;
                    let due = {
                        let mut open = shared.open.lock().unwrap_or_else(PoisonError::into_inner);
                        match &open.batch {
                            Some(batch) if batch.number == number => open.batch.take(),
                            _ => None,
                        }
                    };
                    if let Some(batch) = due {
                        shared.send(batch).await;
                    }
                }
                .in_current_span(),
            );
        }
        answer
    }
}

impl<T, K> Inner<T, K>
where
    T: Loader<K, Error = ApiError>,
    K: Key,
{
    /// Loads a batch's keys, each once, and answers its callers. If loading
    /// panics, the reply is dropped and the callers get an error.
    async fn send(&self, batch: Batch<K, T::Value>) {
        let keys: Vec<K> = batch.keys.into_iter().collect::<HashSet<K>>().into_iter().collect();
        let answer = self.loader.load(&keys).await;
        let _ = batch.reply.send(Arc::new(answer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Doubles its keys, except 13, which it has no value for, and [`FAILS`],
    /// on which it fails; counts batches and keys.
    struct Doubler(Arc<Counts>);

    const FAILS: u32 = u32::MAX;

    #[derive(Default)]
    struct Counts {
        batches: AtomicUsize,
        keys: AtomicUsize,
    }

    impl Loader<u32> for Doubler {
        type Value = u32;
        type Error = ApiError;

        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, ApiError> {
            self.0.batches.fetch_add(1, Ordering::SeqCst);
            self.0.keys.fetch_add(keys.len(), Ordering::SeqCst);
            if keys.contains(&FAILS) {
                return Err(ApiError::unavailable("no"));
            }
            Ok(keys.iter().filter(|&&k| k != 13).map(|&k| (k, k * 2)).collect())
        }
    }

    fn doubler() -> (Arc<Counts>, BatchLoader<Doubler, u32>) {
        let counts = Arc::new(Counts::default());
        (counts.clone(), loader(Doubler(counts.clone()), Duration::from_millis(5)))
    }

    #[tokio::test]
    async fn keys_asked_together_go_out_as_one_batch_each_once() {
        let (counts, loader) = doubler();
        let keys = (0..2_000).map(|k| k % 1_000);
        let answers = futures::future::join_all(keys.clone().map(|k| loader.load_one(k))).await;
        let expected: Vec<_> = keys.map(|k| Ok((k != 13).then_some(k * 2))).collect();
        assert!(answers == expected, "wrong answers");
        assert_eq!(counts.batches.load(Ordering::SeqCst), 1);
        assert_eq!(counts.keys.load(Ordering::SeqCst), 1_000, "a key asked twice is loaded once");
    }

    #[tokio::test]
    async fn a_full_batch_goes_at_once_and_the_rest_follows() {
        let (counts, loader) = doubler();
        let answers = futures::future::join_all((0..MAX_BATCH as u32 + 10).map(|k| loader.load_one(k))).await;
        assert!(answers.iter().all(Result::is_ok));
        assert_eq!(counts.batches.load(Ordering::SeqCst), 2);
        // Later keys open a batch of their own, not the sent one's.
        assert_eq!(loader.load_one(21).await, Ok(Some(42)));
        assert_eq!(counts.batches.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_failed_batch_fails_its_own_callers_only() {
        let (_, loader) = doubler();
        let (bad, other) = futures::join!(loader.load_one(FAILS), loader.load_one(1));
        assert_eq!(bad, Err(ApiError::unavailable("no")));
        assert_eq!(other, Err(ApiError::unavailable("no")), "same batch, same answer");
        assert_eq!(loader.load_one(1).await, Ok(Some(2)));
    }

    struct Panics;

    impl Loader<u32> for Panics {
        type Value = u32;
        type Error = ApiError;

        async fn load(&self, _: &[u32]) -> Result<HashMap<u32, u32>, ApiError> {
            panic!("a bug in a loader")
        }
    }

    #[tokio::test]
    async fn a_loader_that_panics_gives_its_callers_an_error() {
        let loader = loader(Panics, Duration::from_millis(1));
        let error = loader.load_one(1).await.expect_err("no answer from a panicking loader");
        assert_eq!(error.code, crate::ErrorCode::InternalServerError);
    }
}
