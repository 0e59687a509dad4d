//! Shutting a queue down: asyncio 3.13's `Queue.shutdown` and
//! `QueueShutDown`.
//!
//! Owns: [`GenericQueue::shutdown`], the waiting forms that report it
//! ([`checked_put`](GenericQueue::checked_put),
//! [`checked_get`](GenericQueue::checked_get), which the plain `put` and
//! `get` wrap) and [`QueueShutDown`]. Must not: change what a queue that
//! is never shut down does. How the two semaphores of `queue` are told:
//!
//! - `slots` is closed: waiting putters fail; no put succeeds again.
//! - `ready`, when draining, stays open (a promised item whose getter is
//!   cancelled goes back to the queue, for the next get), and its waiters
//!   are woken to look again: a getter that finds no item free on a shut
//!   down queue gives up, since none can come.
//! - `ready`, when immediate, is closed and the store emptied: every getter
//!   fails, also one already promised an item (the item was dropped).

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

use super::{GenericQueue, Order};
use crate::coop::poll_proceed;
use crate::sync::SemaphorePermit;

impl<T, O: Order<T>> GenericQueue<T, O> {
    /// Shuts the queue down (asyncio 3.13's `Queue.shutdown(immediate)`):
    /// from now on puts fail, and putters waiting for a slot wake and fail,
    /// giving their item back. Getters get the items still stored, then
    /// fail once the queue is empty; getters waiting on an empty queue wake
    /// and fail.
    ///
    /// With `immediate`, the stored items are dropped first, so every
    /// getter fails at once; each dropped item counts as
    /// [`task_done`](GenericQueue::task_done) for
    /// [`join`](GenericQueue::join), as asyncio does (items already taken
    /// by a get still need theirs). Calling it again does no harm;
    /// `shutdown(true)` after `shutdown(false)` drops what is left.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use solo::sync::Queue;
    /// solo::run(async {
    ///     let q = Rc::new(Queue::new(0));
    ///     let q2 = q.clone();
    ///     let worker = solo::spawn(async move {
    ///         let mut got = Vec::new();
    ///         // asyncio: `except QueueShutDown: break`
    ///         while let Ok(job) = q2.checked_get().await {
    ///             got.push(job);
    ///         }
    ///         got
    ///     });
    ///     for job in 1..=3 { q.put(job).await; }
    ///     q.shutdown(false); // the worker drains the queue, then stops
    ///     assert_eq!(worker.await.unwrap(), [1, 2, 3]);
    ///     assert_eq!(q.checked_put(4).await.unwrap_err().0, 4);
    /// });
    /// ```
    pub fn shutdown(&self, immediate: bool) {
        self.shut_down.set(true);
        if let Some(slots) = &self.slots {
            slots.close();
        }
        if !immediate {
            self.ready.wake_waiters();
            return;
        }
        self.ready.close();
        let dropped = std::mem::take(&mut *self.items.borrow_mut());
        let left = self.unfinished.get().saturating_sub(O::len(&dropped));
        self.unfinished.set(left);
        if left == 0 {
            self.finished.set();
        }
        drop(dropped);
    }

    /// True once [`shutdown`](GenericQueue::shutdown) was called: puts
    /// fail from then on, and gets once the queue is empty.
    ///
    /// ```
    /// let q = solo::sync::Queue::<u8>::new(0);
    /// assert!(!q.is_shut_down());
    /// q.shutdown(false);
    /// assert!(q.is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.shut_down.get()
    }

    /// [`put`](GenericQueue::put) for a queue that may be
    /// [shut down](GenericQueue::shutdown): fails with [`QueueShutDown`],
    /// which gives `item` back, if the queue is shut down before or while
    /// this waits for a slot (asyncio's `put` raising `QueueShutDown`).
    ///
    /// ```
    /// solo::run(async {
    ///     let q = solo::sync::Queue::new(1);
    ///     assert_eq!(q.checked_put("a").await, Ok(()));
    ///     q.shutdown(false);
    ///     assert_eq!(q.checked_put("b").await.unwrap_err().0, "b");
    /// });
    /// ```
    pub async fn checked_put(&self, item: T) -> Result<(), QueueShutDown<T>> {
        match &self.slots {
            Some(slots) => match slots.acquire().await {
                // Granted before a shutdown that came before this ran:
                // dropping the permit gives the slot back.
                Ok(permit) if !self.shut_down.get() => permit.forget(),
                _ => return Err(QueueShutDown(item)),
            },
            None => poll_fn(poll_proceed).await,
        }
        if self.shut_down.get() {
            return Err(QueueShutDown(item));
        }
        self.push(item);
        Ok(())
    }

    /// [`get`](GenericQueue::get) for a queue that may be
    /// [shut down](GenericQueue::shutdown): fails with [`QueueShutDown`]
    /// once the queue is shut down and empty, also while this waits
    /// (asyncio's `get` raising `QueueShutDown`). Items stored before a
    /// draining shutdown still come out first.
    ///
    /// ```
    /// solo::run(async {
    ///     let q = solo::sync::Queue::new(0);
    ///     q.put(1).await;
    ///     q.shutdown(false);
    ///     assert_eq!(q.checked_get().await, Ok(1));
    ///     assert!(q.checked_get().await.is_err());
    /// });
    /// ```
    pub async fn checked_get(&self) -> Result<T, QueueShutDown> {
        let mut acquire = pin!(self.ready.acquire());
        let granted = poll_fn(|cx| match acquire.as_mut().poll(cx) {
            // Err: closed by an immediate shutdown.
            Poll::Ready(permit) => Poll::Ready(permit.map(SemaphorePermit::forget).is_ok()),
            // Shut down and no item free: none will come (one given back
            // by a cancelled getter would come to the first waiter, which
            // is this one if it still waits).
            Poll::Pending if self.shut_down.get() && self.ready.available_permits() == 0 => {
                Poll::Ready(false)
            }
            Poll::Pending => Poll::Pending,
        })
        .await;
        match granted {
            true => self.take().ok_or(QueueShutDown(())),
            false => Err(QueueShutDown(())),
        }
    }
}

/// The error of [`checked_put`](GenericQueue::checked_put) (holding the
/// item that was not put) and of [`checked_get`](GenericQueue::checked_get)
/// (holding nothing): the queue is [shut down](GenericQueue::shutdown)
/// (asyncio's `QueueShutDown`).
///
/// ```
/// solo::run(async {
///     let q = solo::sync::Queue::new(0);
///     q.shutdown(false);
///     let put: solo::sync::QueueShutDown<u8> = q.checked_put(7).await.unwrap_err();
///     assert_eq!(put.0, 7);
///     let get: solo::sync::QueueShutDown = q.checked_get().await.unwrap_err();
///     assert_eq!(get.to_string(), "queue is shut down");
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QueueShutDown<T = ()>(pub T);

impl<T> fmt::Debug for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueShutDown(..)")
    }
}

impl<T> fmt::Display for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is shut down")
    }
}

impl<T> std::error::Error for QueueShutDown<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::testing::Probe;
    use crate::sync::{Queue, QueueEmpty, QueueFull};
    use std::rc::Rc;

    #[test]
    fn draining_shutdown_fails_putters_and_serves_what_is_stored() {
        let q = Queue::new(2);
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        let mut putter = Probe::new(q.checked_put(3));
        putter.pending();
        q.shutdown(false);
        assert_eq!(putter.wakes(), 1);
        assert_eq!(putter.ready(), Err(QueueShutDown(3)), "the item comes back");
        assert_eq!(q.put_nowait(4), Err(QueueFull(4)));
        assert!(q.full() && q.is_shut_down());
        assert_eq!(Probe::new(q.checked_get()).ready(), Ok(1));
        assert_eq!(q.get_nowait(), Ok(2));
        assert_eq!(Probe::new(q.checked_get()).ready(), Err(QueueShutDown(())));
        assert_eq!(q.get_nowait(), Err(QueueEmpty));
        assert!(q.empty());
    }

    #[test]
    fn waiting_getters_wake_and_fail() {
        let q = Queue::<u8>::new(0);
        let mut a = Probe::new(q.checked_get());
        let mut b = Probe::new(q.checked_get());
        a.pending();
        b.pending();
        q.shutdown(false);
        assert_eq!((a.wakes(), b.wakes()), (1, 1));
        assert!(a.ready().is_err());
        assert!(b.ready().is_err());
        assert!(q.ready.available_permits() == 0 && q.qsize() == 0);
    }

    #[test]
    fn an_item_promised_before_a_draining_shutdown_is_still_delivered() {
        let q = Queue::new(0);
        let mut promised = Probe::new(q.checked_get());
        let mut waiting = Probe::new(q.checked_get());
        promised.pending();
        waiting.pending();
        q.put_nowait("x").unwrap(); // promised to the first getter
        q.shutdown(false);
        assert_eq!(waiting.ready(), Err(QueueShutDown(())));
        assert_eq!(promised.ready(), Ok("x"));
    }

    #[test]
    fn a_cancelled_promised_getter_leaves_its_item_for_the_next_get() {
        let q = Queue::new(0);
        let mut promised = Probe::new(q.checked_get());
        promised.pending();
        q.put_nowait("x").unwrap();
        q.shutdown(false);
        drop(promised);
        assert!(!q.empty());
        assert_eq!(Probe::new(q.checked_get()).ready(), Ok("x"));
        assert!(Probe::new(q.checked_get()).ready().is_err());
    }

    #[test]
    fn immediate_shutdown_drops_items_and_counts_them_done() {
        let q = Queue::new(0);
        let item = Rc::new(());
        for _ in 0..3 {
            q.put_nowait(item.clone()).unwrap();
        }
        q.get_nowait().unwrap(); // taken, not yet task_done
        let mut join = Probe::new(q.join());
        join.pending();
        q.shutdown(true);
        assert_eq!(Rc::strong_count(&item), 1, "stored items dropped");
        assert_eq!((q.qsize(), q.empty()), (0, true));
        assert_eq!(join.wakes(), 0, "the item taken still needs task_done");
        q.task_done();
        assert_eq!(join.wakes(), 1);
        join.ready();
        assert!(Probe::new(q.checked_get()).ready().is_err());
        assert_eq!(q.get_nowait(), Err(QueueEmpty));
    }

    #[test]
    fn immediate_shutdown_fails_even_a_getter_promised_an_item() {
        let q = Queue::new(0);
        let mut promised = Probe::new(q.checked_get());
        let mut waiting = Probe::new(q.checked_get());
        promised.pending();
        waiting.pending();
        q.put_nowait(1).unwrap();
        q.shutdown(true);
        assert_eq!(waiting.wakes(), 1);
        assert!(waiting.ready().is_err());
        assert!(promised.ready().is_err(), "its item was dropped");
        assert!(q.empty());
    }

    #[test]
    fn a_putter_granted_a_slot_before_the_shutdown_still_fails() {
        let q = Queue::new(1);
        q.put_nowait('a').unwrap();
        let mut putter = Probe::new(q.checked_put('b'));
        putter.pending();
        assert_eq!(q.get_nowait(), Ok('a')); // the slot goes to the putter
        q.shutdown(false);
        assert_eq!(putter.ready(), Err(QueueShutDown('b')));
        assert_eq!(q.qsize(), 0);
    }

    #[test]
    fn unbounded_queue_refuses_puts_after_shutdown() {
        let q = crate::sync::LifoQueue::new(0);
        q.put_nowait(1).unwrap();
        q.shutdown(false);
        assert!(q.full(), "takes no more");
        assert_eq!(Probe::new(q.checked_put(2)).ready(), Err(QueueShutDown(2)));
        assert_eq!(q.get_nowait(), Ok(1));
    }

    #[test]
    #[should_panic(expected = "use checked_get")]
    fn plain_get_on_a_shut_down_empty_queue_panics() {
        let q = Queue::<u8>::new(0);
        let mut get = Probe::new(q.get());
        get.pending();
        q.shutdown(false);
        get.poll().is_ready();
    }

    #[test]
    #[should_panic(expected = "use checked_put")]
    fn plain_put_on_a_shut_down_queue_panics() {
        let q = Queue::new(0);
        q.shutdown(false);
        Probe::new(q.put(1)).poll().is_ready();
    }

    #[test]
    fn error_does_not_need_debug_items() {
        struct Opaque;
        let e = QueueShutDown(Opaque);
        assert_eq!(format!("{e:?}"), "QueueShutDown(..)");
        let boxed: Box<dyn std::error::Error> = Box::new(QueueShutDown(()));
        assert_eq!(boxed.to_string(), "queue is shut down");
    }
}
