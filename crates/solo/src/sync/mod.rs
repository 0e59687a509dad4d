//! Synchronisation between tasks: asyncio's `Queue`, `Lock`, `Event`,
//! `Condition`, `Semaphore` and `Barrier`, plus channels.
//!
//! Owns: the primitives tasks of one loop use to wait for each other. They
//! are for one thread: no atomics, no `Send` bounds, state in `Cell` and
//! `RefCell`. They never touch the event loop (only the per-task budget of
//! [`coop`](crate::coop), which is a no-op elsewhere), so they also work
//! under other executors.
//!
//! # Sharing: one rule
//!
//! - The primitives, [`Queue`] (and [`LifoQueue`], [`PriorityQueue`], all
//!   three a [`GenericQueue`]), [`Lock`], [`Mutex`], [`Event`],
//!   [`Condition`], [`Semaphore`] and [`Barrier`], are plain values with
//!   `&self` methods, like the asyncio objects you pass around. To share
//!   one between tasks put it in an `Rc` (or borrow it, for futures that
//!   do not outlive it). Guards and permits borrow it.
//! - The channels, [`oneshot`] and [`mpsc`], come as a pair of handles
//!   that already share their state through an `Rc`: move each handle
//!   where it is used; `mpsc::Sender` is `Clone`.
//!
//! # Waiting: one set of rules
//!
//! Every primitive queues its waiters on one building block (a FIFO wait
//! list, `waiters`), and the counting ones are built on [`Semaphore`]
//! (a [`Mutex`] is a one-permit semaphore; a bounded [`Queue`] and a
//! bounded [`mpsc`] channel count free slots with one). Hence:
//!
//! - **FIFO, no barging.** Whoever waited first is served first. Releasing
//!   a lock or a permit, or putting an item, while someone waits hands it
//!   straight to the first waiter, and `try_*` / `*_nowait` calls cannot
//!   take it in between.
//! - **Cancellation-safe.** Dropping a waiting future (a cancelled task, a
//!   lost [`timeout`](crate::timeout) or select) takes it out of the line.
//!   If it had already been handed the lock, permits, item slot or
//!   notification, it passes them on: nothing is lost, nobody deadlocks.
//!   The value given to a dropped `put` or `send` is dropped with it.
//! - **Cooperative.** An operation that can complete at once (a `get` of
//!   an available item, `recv`, `send`, `acquire` of a free permit, `lock`
//!   of a free lock) first spends one unit of the task's
//!   [budget](crate::coop::poll_proceed), so a task looping on an
//!   always-ready channel still lets the loop run others.
//!
//! | asyncio | solo |
//! |---|---|
//! | `Queue(maxsize)`, `LifoQueue`, `PriorityQueue` | [`Queue::new`], [`LifoQueue`], [`PriorityQueue`] |
//! | `queue.shutdown(immediate)`, `except QueueShutDown` (3.13) | [`GenericQueue::shutdown`], `while let Ok(item) = queue.checked_get().await`, [`GenericQueue::checked_put`], [`QueueShutDown`] |
//! | `Lock()`, `async with lock:` | [`Lock::new`], `let _g = lock.lock().await;` (or [`Mutex<T>`] for data) |
//! | `Event()` | [`Event`] |
//! | `Condition(lock)` | [`Condition`] beside a [`Mutex`] or [`Lock`] |
//! | `Semaphore(n)`, `async with sem:` | [`Semaphore::new`], `let _p = sem.acquire().await?;` |
//! | `Barrier(parties)`, `await barrier.wait()`, `reset()`, `abort()`, `BrokenBarrierError` | [`Barrier::new`], `let index = barrier.wait().await?;`, [`Barrier::reset`], [`Barrier::abort`], [`BrokenBarrier`] |
//! | a `Future` resolved by one task, awaited by another | [`oneshot::channel`] |
//!
//! ```
//! use std::rc::Rc;
//! use solo::sync::{Event, Queue};
//! solo::run(async {
//!     let q = Rc::new(Queue::new(10));
//!     let done = Rc::new(Event::new());
//!     let (q2, done2) = (q.clone(), done.clone());
//!     let worker = solo::spawn(async move {
//!         let mut sum = 0;
//!         loop {
//!             let n: u32 = q2.get().await;
//!             sum += n;
//!             q2.task_done();
//!             if n == 0 { done2.set(); return sum; }
//!         }
//!     });
//!     for n in [3, 2, 1, 0] { q.put(n).await; }
//!     done.wait().await;
//!     q.join().await;
//!     assert_eq!(worker.await.unwrap(), 6);
//! });
//! ```

/// Declares an error type that carries back the value it could not
/// deliver, with `Debug` that does not need `T: Debug`.
macro_rules! item_error {
    ($(#[$doc:meta])* $name:ident, $msg:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub struct $name<T>(pub T);

        impl<T> std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }

        impl<T> std::fmt::Display for $name<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($msg)
            }
        }

        impl<T> std::error::Error for $name<T> {}
    };
}

mod barrier;
mod condition;
mod event;
pub mod mpsc;
mod mutex;
pub mod oneshot;
mod order;
mod queue;
mod semaphore;
mod waiters;

pub use barrier::{Barrier, BrokenBarrier};
pub use condition::Condition;
pub use event::Event;
pub use mutex::{Lock, LockGuard, Mutex, MutexGuard, TryLockError};
pub use order::{Fifo, Lifo, Order, Priority};
pub use queue::{
    GenericQueue, LifoQueue, PriorityQueue, Queue, QueueEmpty, QueueFull, QueueShutDown,
};
pub use semaphore::{AcquireError, Semaphore, SemaphorePermit, TryAcquireError};

#[cfg(test)]
mod testing;
