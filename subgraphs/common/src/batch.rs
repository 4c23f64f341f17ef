//! Group calls: the requests that arrive while earlier ones are being
//! answered go out together, as one call.
//!
//! Nothing waits on purpose: a request that finds a free caller goes out at
//! once (a group of one), so groups only form, and grow, when what answers
//! them is the bottleneck. Check-ins use it to write many scans in one
//! statement, and to ask the auth service about many people in one request.

use std::{future::Future, sync::Arc};

use tokio::sync::{mpsc, oneshot, Semaphore};

struct Pending<T, R> {
    item: T,
    reply: oneshot::Sender<R>,
}

/// A handle on a running group caller; cheap to clone. The task behind it
/// ends when the last handle is dropped.
pub struct Batcher<T, R> {
    queue: mpsc::Sender<Pending<T, R>>,
}

impl<T, R> Clone for Batcher<T, R> {
    fn clone(&self) -> Self {
        Batcher { queue: self.queue.clone() }
    }
}

/// The limits of a [`Batcher`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most items in one group.
    pub max_group: usize,
    /// Items waiting for a group; beyond this, callers wait to queue.
    pub max_queued: usize,
    /// Groups in flight at once.
    pub concurrency: usize,
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// Starts the dispatcher task. `answer` gets each group and returns one
    /// answer per item, in order; an item it gives no answer for hears that
    /// the batcher stopped.
    pub fn start<F, Fut>(limits: Limits, answer: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        let (queue, pending) = mpsc::channel(limits.max_queued.max(1));
        tokio::spawn(dispatch(pending, limits, answer));
        Batcher { queue }
    }

    /// The answer to one item, from whichever group it lands in; `None` if
    /// the batcher stopped (its task ended or dropped the item).
    pub async fn call(&self, item: T) -> Option<R> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Pending { item, reply }).await.ok()?;
        answer.await.ok()
    }
}

async fn dispatch<T, R, F, Fut>(mut pending: mpsc::Receiver<Pending<T, R>>, limits: Limits, answer: F)
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<R>> + Send + 'static,
{
    let callers = Arc::new(Semaphore::new(limits.concurrency.max(1)));
    let max_group = limits.max_group.max(1);
    loop {
        // Wait for a free caller first: meanwhile, requests pile up into the next group.
        let Ok(caller) = callers.clone().acquire_owned().await else { return };
        let Some(first) = pending.recv().await else { return };
        let mut group = vec![first];
        while group.len() < max_group {
            match pending.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let (items, replies): (Vec<T>, Vec<_>) = group.into_iter().map(|p| (p.item, p.reply)).unzip();
        let answers = answer(items);
        tokio::spawn(async move {
            for (reply, answer) in replies.into_iter().zip(answers.await) {
                let _ = reply.send(answer);
            }
            drop(caller);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn requests_that_wait_together_go_out_together_and_each_gets_its_answer() {
        let calls = Arc::new(AtomicUsize::new(0));
        let limits = Limits { max_group: 50, max_queued: 100, concurrency: 1 };
        let batcher = Batcher::start(limits, {
            let calls = calls.clone();
            move |items: Vec<u32>| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    items.into_iter().map(|i| i * 2).collect::<Vec<_>>()
                }
            }
        });
        let answers = futures::future::join_all((0..40).map(|i| {
            let batcher = batcher.clone();
            async move { batcher.call(i).await }
        }))
        .await;
        assert_eq!(answers, (0..40).map(|i| Some(i * 2)).collect::<Vec<_>>());
        assert!(calls.load(Ordering::SeqCst) <= 3, "{} calls for 40 requests", calls.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn an_item_left_unanswered_hears_that_the_batcher_stopped() {
        let limits = Limits { max_group: 10, max_queued: 10, concurrency: 2 };
        let batcher = Batcher::start(limits, |_: Vec<u32>| async { Vec::<u32>::new() });
        assert_eq!(batcher.call(1).await, None);
    }
}
