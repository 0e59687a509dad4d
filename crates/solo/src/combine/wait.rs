//! `wait(tasks, return_when, timeout)` and `as_completed(iter)`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::panic::{resume_unwind, Location};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::Stream;

use super::{spawn_each, CatchUnwind, Children};
use crate::Task;

/// When [`wait`] returns (asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`,
/// `ALL_COMPLETED`).
///
/// ```
/// assert_ne!(solo::ReturnWhen::FirstCompleted, solo::ReturnWhen::AllCompleted);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnWhen {
    /// As soon as any task finishes.
    FirstCompleted,
    /// As soon as any task panics (solo's "exception"); if none does, when
    /// all have finished.
    FirstException,
    /// When every task has finished.
    AllCompleted,
}

/// Waits for `tasks` until `return_when` holds or `timeout` passes, and
/// returns them split into `(done, pending)` (asyncio's `asyncio.wait`).
///
/// Nothing is cancelled: on timeout the pending tasks keep running. The
/// done tasks can be awaited to get their results without waiting. `done`
/// lists tasks in the order their completion was noticed, `pending` in
/// input order.
///
/// ```
/// use std::time::Duration;
/// use solo::ReturnWhen;
/// solo::run(async {
///     let tasks: Vec<_> = [30u64, 10, 20]
///         .into_iter()
///         .map(|ms| solo::spawn(async move { solo::sleep(Duration::from_millis(ms)).await; ms }))
///         .collect();
///     let (done, pending) = solo::wait(tasks, ReturnWhen::FirstCompleted, None).await;
///     assert_eq!(done.len(), 1);
///     assert_eq!(pending.len(), 2);
///     assert_eq!(done.into_iter().next().unwrap().await.unwrap(), 10);
///
///     let (done, pending) =
///         solo::wait(pending, ReturnWhen::AllCompleted, Some(Duration::from_secs(5))).await;
///     assert_eq!((done.len(), pending.len()), (2, 0));
/// });
/// ```
pub async fn wait<T, I>(
    tasks: I,
    return_when: ReturnWhen,
    timeout: Option<Duration>,
) -> (Vec<Task<T>>, Vec<Task<T>>)
where
    I: IntoIterator<Item = Task<T>>,
{
    let mut sleep = timeout.map(crate::sleep);
    let mut pending: Vec<Task<T>> = tasks.into_iter().collect();
    let mut done: Vec<Task<T>> = Vec::new();
    // AllCompleted needs only the first unfinished task watched: tasks
    // before it are done, and it must finish anyway. Keeps this O(n).
    let mut cursor = 0;
    poll_fn(|cx| {
        let finished = match return_when {
            ReturnWhen::AllCompleted => {
                while cursor < pending.len() && pending[cursor].is_done() {
                    cursor += 1;
                }
                if cursor < pending.len() {
                    pending[cursor].raw().set_join_waker(cx.waker());
                    false
                } else {
                    true
                }
            }
            ReturnWhen::FirstCompleted | ReturnWhen::FirstException => {
                let mut i = 0;
                let mut panicked = false;
                while i < pending.len() {
                    if pending[i].is_done() {
                        let t = pending.remove(i);
                        panicked |= t.raw().snapshot().is_panicked();
                        done.push(t);
                    } else {
                        pending[i].raw().set_join_waker(cx.waker());
                        i += 1;
                    }
                }
                pending.is_empty()
                    || match return_when {
                        ReturnWhen::FirstCompleted => !done.is_empty(),
                        _ => panicked,
                    }
            }
        };
        if finished {
            return Poll::Ready(());
        }
        match sleep.as_mut().map(|s| Pin::new(s).poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(()),
            _ => Poll::Pending,
        }
    })
    .await;
    if return_when == ReturnWhen::AllCompleted {
        let rest = pending.split_off(cursor);
        done = pending;
        pending = Vec::new();
        for t in rest {
            if t.is_done() {
                done.push(t);
            } else {
                pending.push(t);
            }
        }
    }
    (done, pending)
}

struct Shared<T> {
    ready: RefCell<VecDeque<std::thread::Result<T>>>,
    waker: Cell<Option<Waker>>,
}

/// Runs every future concurrently and yields their outputs in the order
/// they finish (asyncio's `as_completed`), as a `futures::Stream`.
///
/// Each future becomes a task at once (or, called outside a running
/// loop, when the stream is first polled, as [`gather`](crate::gather)
/// does). A panic in one resumes when its turn comes in the stream.
/// Dropping the stream cancels the tasks that have not finished.
///
/// ```
/// use futures::StreamExt;
/// use std::time::Duration;
/// solo::run(async {
///     let mut first_done = solo::as_completed([30u64, 10, 20].map(|ms| async move {
///         solo::sleep(Duration::from_millis(ms)).await;
///         ms
///     }));
///     let mut order = Vec::new();
///     while let Some(ms) = first_done.next().await {
///         order.push(ms);
///     }
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
#[track_caller]
pub fn as_completed<I>(futures: I) -> AsCompleted<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future + 'static,
{
    let location = Location::caller();
    let shared = Rc::new(Shared {
        ready: RefCell::new(VecDeque::new()),
        waker: Cell::new(None),
    });
    let tasks = spawn_each(futures, location, |f| {
        let shared = shared.clone();
        async move {
            let r = CatchUnwind::new(f).await;
            shared.ready.borrow_mut().push_back(r);
            if let Some(w) = shared.waker.take() {
                w.wake();
            }
        }
    });
    AsCompleted {
        remaining: tasks.len(),
        tasks,
        shared,
    }
}

/// The stream returned by [`as_completed`].
///
/// ```
/// use futures::StreamExt;
/// solo::run(async {
///     let s: solo::AsCompleted<u8> = solo::as_completed([async { 1u8 }]);
///     assert_eq!(s.remaining(), 1);
///     assert_eq!(s.collect::<Vec<_>>().await, [1]);
/// });
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<T> {
    tasks: Children<()>,
    shared: Rc<Shared<T>>,
    remaining: usize,
}

impl<T> AsCompleted<T> {
    /// How many outputs have not been yielded yet.
    ///
    /// ```
    /// solo::run(async { assert_eq!(solo::as_completed(Vec::<std::future::Ready<()>>::new()).remaining(), 0) });
    /// ```
    pub fn remaining(&self) -> usize {
        self.remaining
    }
}

impl<T> std::fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsCompleted")
            .field("remaining", &self.remaining)
            .finish()
    }
}

impl<T> Unpin for AsCompleted<T> {}

impl<T> Stream for AsCompleted<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        self.tasks.tasks();
        let next = self.shared.ready.borrow_mut().pop_front();
        match next {
            Some(Ok(v)) => {
                self.remaining -= 1;
                Poll::Ready(Some(v))
            }
            Some(Err(p)) => {
                self.remaining -= 1;
                resume_unwind(p)
            }
            None => {
                self.shared.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T> Drop for AsCompleted<T> {
    fn drop(&mut self) {
        for t in self.tasks.spawned() {
            t.cancel();
        }
    }
}
