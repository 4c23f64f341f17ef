//! Group calls: the requests that arrive while earlier ones are being
//! answered go out together, as one call.
//!
//! Nothing waits on purpose: a request that finds a free caller goes out at
//! once (a group of one), so groups only form, and grow, when what answers
//! them is the bottleneck. Check-ins use it to write many scans in one
//! statement, and to ask the auth service about many people in one request.

use std::{future::Future, panic::AssertUnwindSafe, sync::Arc};

use futures::FutureExt;
use tokio::sync::{mpsc, oneshot, Mutex};

struct Pending<T, R> {
    item: T,
    reply: oneshot::Sender<R>,
}

/// A handle on running group callers; cheap to clone. The tasks behind it
/// end when the last handle is dropped.
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
    /// Starts `limits.concurrency` callers. `answer` gets each group and
    /// returns one answer per item, in order; an item it gives no answer for
    /// (or whose group's answer panicked) hears that the batcher stopped.
    pub fn start<F, Fut>(limits: Limits, answer: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        let (queue, pending) = mpsc::channel(limits.max_queued.max(1));
        for caller in callers(pending, limits, answer) {
            tokio::spawn(caller);
        }
        Batcher { queue }
    }

    /// As [`Batcher::start`], but the callers run on a thread of their own,
    /// in a runtime of their own, so that a reply from the database wakes
    /// them at once instead of waiting for a busy worker of the service's
    /// runtime to notice it (and to reach them in its queue). `answer` should
    /// do its I/O through connections it opens there (a lazily connected
    /// pool does), which that thread then watches. The thread ends with the
    /// callers, once the last handle is dropped.
    pub fn start_on_own_thread<F, Fut>(name: &str, limits: Limits, answer: F) -> std::io::Result<Self>
    where
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<R>> + 'static,
    {
        let (queue, pending) = mpsc::channel(limits.max_queued.max(1));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new().name(name.to_owned()).spawn(move || {
            runtime.block_on(futures::future::join_all(callers(pending, limits, answer)));
        })?;
        Ok(Batcher { queue })
    }

    /// Items waiting for a group now.
    pub fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// The answer to one item, from whichever group it lands in; `None` if
    /// the batcher stopped (its callers ended or dropped the item).
    pub async fn call(&self, item: T) -> Option<R> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Pending { item, reply }).await.ok()?;
        answer.await.ok()
    }
}

/// The `limits.concurrency` callers sharing one queue and one `answer`.
fn callers<T, R, F, Fut>(
    pending: mpsc::Receiver<Pending<T, R>>,
    limits: Limits,
    answer: F,
) -> Vec<impl Future<Output = ()>>
where
    F: Fn(Vec<T>) -> Fut,
    Fut: Future<Output = Vec<R>>,
{
    let pending = Arc::new(Mutex::new(pending));
    let answer = Arc::new(answer);
    (0..limits.concurrency.max(1)).map(|_| caller(pending.clone(), limits.max_group.max(1), answer.clone())).collect()
}

/// One caller: takes what is waiting as a group, answers it, and comes back
/// for the next group itself. Between two groups there is no hand-over to
/// another task, each of which is a wait in the runtime's queue under load
/// (with one writer, the check-in writer now waits about 0.06 ms between
/// batches of about 1.2 ms).
async fn caller<T, R, F, Fut>(pending: Arc<Mutex<mpsc::Receiver<Pending<T, R>>>>, max_group: usize, answer: Arc<F>)
where
    F: Fn(Vec<T>) -> Fut,
    Fut: Future<Output = Vec<R>>,
{
    loop {
        let group = {
            // Callers take turns at the queue: while one answers a group,
            // requests pile up into the next.
            let mut pending = pending.lock().await;
            let Some(first) = pending.recv().await else { return };
            let mut group = vec![first];
            while group.len() < max_group {
                match pending.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            group
        };
        let (items, replies): (Vec<T>, Vec<_>) = group.into_iter().map(|p| (p.item, p.reply)).unzip();
        // A panic fails its own group only (its callers hear `None`), not the batcher.
        let Ok(answers) = AssertUnwindSafe(answer(items)).catch_unwind().await else { continue };
        for (reply, answer) in replies.into_iter().zip(answers) {
            let _ = reply.send(answer);
        }
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
    async fn a_group_whose_answer_panics_fails_alone() {
        let limits = Limits { max_group: 1, max_queued: 10, concurrency: 1 };
        let batcher = Batcher::start(limits, |items: Vec<u32>| async move {
            assert_ne!(items, [13], "unlucky");
            items
        });
        assert_eq!(batcher.call(13).await, None);
        assert_eq!(batcher.call(14).await, Some(14), "the caller survives a panic");
    }

    #[tokio::test]
    async fn callers_on_their_own_thread_answer_and_end_with_the_last_handle() {
        let limits = Limits { max_group: 10, max_queued: 10, concurrency: 2 };
        let alive = Arc::new(());
        let batcher = Batcher::start_on_own_thread("test-callers", limits, {
            let alive = alive.clone();
            move |items: Vec<u32>| {
                let _alive = alive.clone();
                async move {
                    let thread = std::thread::current().name().map(str::to_owned);
                    items.into_iter().map(|i| (i + 1, thread.clone())).collect::<Vec<_>>()
                }
            }
        })
        .unwrap();
        assert_eq!(batcher.call(1).await, Some((2, Some("test-callers".to_owned()))));
        drop(batcher);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while Arc::strong_count(&alive) > 1 {
            assert!(std::time::Instant::now() < deadline, "the callers' thread outlived the last handle");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn an_item_left_unanswered_hears_that_the_batcher_stopped() {
        let limits = Limits { max_group: 10, max_queued: 10, concurrency: 2 };
        let batcher = Batcher::start(limits, |_: Vec<u32>| async { Vec::<u32>::new() });
        assert_eq!(batcher.call(1).await, None);
    }
}
