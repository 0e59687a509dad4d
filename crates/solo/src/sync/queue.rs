//! Queues between tasks: asyncio's `Queue`, `LifoQueue` and
//! `PriorityQueue`.
//!
//! Owns: [`GenericQueue`], its three names ([`Queue`], [`LifoQueue`],
//! [`PriorityQueue`]) and its errors. One implementation serves the three
//! orders; the container comes from the [`Order`] parameter (see
//! `order`). The waiting is two [`Semaphore`]s:
//!
//! - `slots`, one permit per free place (bounded queues only): `put` takes
//!   one before storing its item, `get` gives one back;
//! - `ready`, one permit per stored item not yet promised to a `get`:
//!   `put` adds one, `get` takes one before taking an item.
//!
//! So putters and getters are each served first come, first served, an
//! item put while a `get` waits is promised to that `get` (a
//! [`get_nowait`](GenericQueue::get_nowait) in between cannot take it), and a
//! cancelled `put` or `get` gives back its place or promise. The
//! `task_done` count and `join` follow asyncio. Shutting down (asyncio
//! 3.13's `shutdown`) is in the child module `shutdown`: it closes
//! `slots`, and wakes (drain) or closes (immediate) `ready`.

mod shutdown;

use std::cell::{Cell, RefCell};
use std::fmt;

pub use shutdown::QueueShutDown;

use super::event::Event;
use super::order::{Fifo, Lifo, Order, Priority};
use super::semaphore::Semaphore;

/// An async FIFO queue (asyncio's `Queue`): producers [`put`](GenericQueue::put),
/// consumers [`get`](GenericQueue::get). Share it between tasks in an `Rc`.
///
/// With a `maxsize`, `put` waits while the queue is full (backpressure).
/// The methods are those of [`GenericQueue`], shared with [`LifoQueue`]
/// and [`PriorityQueue`].
///
/// ```
/// use std::rc::Rc;
/// use solo::sync::Queue;
/// solo::run(async {
///     let q = Rc::new(Queue::new(2));
///     let q2 = q.clone();
///     let producer = solo::spawn(async move {
///         for i in 0..5 { q2.put(i).await; } // waits while 2 are queued
///     });
///     let mut got = Vec::new();
///     for _ in 0..5 {
///         got.push(q.get().await);
///         q.task_done();
///     }
///     producer.await.unwrap();
///     q.join().await;
///     assert_eq!(got, [0, 1, 2, 3, 4]);
/// });
/// ```
pub type Queue<T> = GenericQueue<T, Fifo>;

/// A last in, first out queue (asyncio's `LifoQueue`).
///
/// ```
/// solo::run(async {
///     let q = solo::sync::LifoQueue::new(0);
///     for i in 1..=3 { q.put(i).await; }
///     assert_eq!(q.get().await, 3);
/// });
/// ```
pub type LifoQueue<T> = GenericQueue<T, Lifo>;

/// A queue that hands out the smallest item first (asyncio's
/// `PriorityQueue`).
///
/// ```
/// solo::run(async {
///     let q = solo::sync::PriorityQueue::new(0);
///     for job in [(3, "c"), (1, "a"), (2, "b")] { q.put(job).await; }
///     assert_eq!(q.get().await, (1, "a"));
/// });
/// ```
pub type PriorityQueue<T> = GenericQueue<T, Priority>;

/// The one queue type behind [`Queue`], [`LifoQueue`] and
/// [`PriorityQueue`]; `O` is the [`Order`] items come out in. Use it by
/// those names.
///
/// # Shutting down
///
/// [`shutdown`](GenericQueue::shutdown) is asyncio 3.13's
/// `Queue.shutdown(immediate)`: the queue takes no more items, and once it
/// is empty (at once with `immediate`, which drops what is stored) getters
/// fail instead of waiting. asyncio reports this by raising
/// `QueueShutDown` from `put` and `get`. Here [`put`](GenericQueue::put)
/// and [`get`](GenericQueue::get) keep their infallible signatures, so code
/// that never shuts a queue down does not handle an error it cannot get;
/// code that does uses [`checked_put`](GenericQueue::checked_put) and
/// [`checked_get`](GenericQueue::checked_get), which return
/// [`QueueShutDown`] (holding the item a put could not store). The names
/// follow `checked_add` beside `+`: the plain forms panic where the
/// checked ones return the error. The `nowait` forms need no twin: on one
/// thread nothing can shut the queue down between
/// [`is_shut_down`](GenericQueue::is_shut_down) and a `put_nowait` or
/// `get_nowait`, which fail as if full (giving the item back) and empty.
///
/// ```
/// use solo::sync::{GenericQueue, Lifo, LifoQueue};
/// let q: GenericQueue<u8, Lifo> = LifoQueue::new(0);
/// q.put_nowait(1).unwrap();
/// ```
pub struct GenericQueue<T, O: Order<T>> {
    items: RefCell<O::Store>,
    maxsize: usize,
    slots: Option<Semaphore>,
    ready: Semaphore,
    unfinished: Cell<usize>,
    finished: Event,
    shut_down: Cell<bool>,
}

impl<T, O: Order<T>> GenericQueue<T, O> {
    /// A queue holding at most `maxsize` items; 0 means no limit.
    ///
    /// ```
    /// let q = solo::sync::Queue::<u8>::new(10);
    /// assert_eq!(q.maxsize(), 10);
    /// let unbounded = solo::sync::PriorityQueue::<u8>::new(0);
    /// assert!(!unbounded.full());
    /// ```
    pub fn new(maxsize: usize) -> GenericQueue<T, O> {
        let finished = Event::new();
        finished.set();
        GenericQueue {
            items: RefCell::new(O::Store::default()),
            maxsize,
            slots: (maxsize > 0).then(|| Semaphore::new(maxsize)),
            ready: Semaphore::new(0),
            unfinished: Cell::new(0),
            finished,
            shut_down: Cell::new(false),
        }
    }

    /// Adds `item`, first waiting for a free slot if the queue is full.
    /// Putters waiting for a slot get one in the order they came. If the
    /// future is dropped before it finishes, `item` is dropped with it.
    ///
    /// # Panics
    ///
    /// If the queue is [shut down](GenericQueue::shutdown), before or while
    /// this waits (asyncio raises `QueueShutDown`); `item` is dropped. Use
    /// [`checked_put`](GenericQueue::checked_put) on a queue that may be.
    ///
    /// ```
    /// solo::run(async {
    ///     let q = solo::sync::Queue::new(0);
    ///     q.put("job").await;
    ///     assert_eq!(q.qsize(), 1);
    /// });
    /// ```
    pub async fn put(&self, item: T) {
        if self.checked_put(item).await.is_err() {
            panic!(
                "solo::sync::Queue::put on a queue that is shut down \
                 (use checked_put where it may be)"
            );
        }
    }

    /// Takes the next item, first waiting for one if the queue is empty.
    /// Getters are served in the order they came.
    ///
    /// # Panics
    ///
    /// If the queue is [shut down](GenericQueue::shutdown) and empty,
    /// before or while this waits (asyncio raises `QueueShutDown`). Use
    /// [`checked_get`](GenericQueue::checked_get) on a queue that may be.
    ///
    /// ```
    /// use std::rc::Rc;
    /// solo::run(async {
    ///     let q = Rc::new(solo::sync::Queue::new(0));
    ///     let q2 = q.clone();
    ///     solo::call_soon(move || q2.put_nowait(42).unwrap());
    ///     assert_eq!(q.get().await, 42);
    /// });
    /// ```
    pub async fn get(&self) -> T {
        match self.checked_get().await {
            Ok(item) => item,
            Err(_) => panic!(
                "solo::sync::Queue::get on a queue that is shut down and empty \
                 (use checked_get where it may be)"
            ),
        }
    }

    /// Adds `item` if there is a free slot, or gives it back in
    /// [`QueueFull`]. A [shut down](GenericQueue::shutdown) queue takes no
    /// more items: this fails as if it were full
    /// ([`is_shut_down`](GenericQueue::is_shut_down) tells them apart).
    ///
    /// ```
    /// let q = solo::sync::Queue::new(1);
    /// q.put_nowait('a').unwrap();
    /// assert_eq!(q.put_nowait('b').unwrap_err().0, 'b');
    /// ```
    pub fn put_nowait(&self, item: T) -> Result<(), QueueFull<T>> {
        if self.shut_down.get() {
            return Err(QueueFull(item));
        }
        if let Some(slots) = &self.slots {
            match slots.try_acquire() {
                Ok(permit) => permit.forget(),
                Err(_) => return Err(QueueFull(item)),
            }
        }
        self.push(item);
        Ok(())
    }

    /// Takes an item if one is there and not promised to a waiting
    /// [`get`](GenericQueue::get). Once a [shut down](GenericQueue::shutdown)
    /// queue is empty this fails with [`QueueEmpty`] too
    /// ([`is_shut_down`](GenericQueue::is_shut_down) says it stays so).
    ///
    /// ```
    /// let q = solo::sync::Queue::new(0);
    /// assert_eq!(q.get_nowait(), Err(solo::sync::QueueEmpty));
    /// q.put_nowait(1).unwrap();
    /// assert_eq!(q.get_nowait(), Ok(1));
    /// ```
    pub fn get_nowait(&self) -> Result<T, QueueEmpty> {
        match self.ready.try_acquire() {
            Ok(permit) => {
                permit.forget();
                self.take().ok_or(QueueEmpty)
            }
            Err(_) => Err(QueueEmpty),
        }
    }

    /// Marks one item taken by `get` as processed. When every item put
    /// has been marked, [`join`](GenericQueue::join) completes.
    ///
    /// # Panics
    ///
    /// If called more times than items were put: a bug in the caller, like
    /// asyncio's `ValueError('task_done() called too many times')`.
    ///
    /// ```
    /// solo::run(async {
    ///     let q = solo::sync::Queue::new(0);
    ///     q.put(1).await;
    ///     q.get().await;
    ///     q.task_done();
    ///     q.join().await;
    /// });
    /// ```
    #[track_caller]
    pub fn task_done(&self) {
        let left = self.unfinished.get();
        assert!(
            left > 0,
            "solo::sync::Queue::task_done() called too many times \
             (more often than items were put)"
        );
        self.unfinished.set(left - 1);
        if left == 1 {
            self.finished.set();
        }
    }

    /// Waits until every item put has been marked with
    /// [`task_done`](GenericQueue::task_done). Completes at once if none are
    /// pending.
    ///
    /// ```
    /// use std::rc::Rc;
    /// solo::run(async {
    ///     let q = Rc::new(solo::sync::Queue::new(0));
    ///     q.put("work").await;
    ///     let worker = q.clone();
    ///     solo::spawn(async move {
    ///         worker.get().await;
    ///         worker.task_done();
    ///     });
    ///     q.join().await; // returns once the worker is done
    ///     assert!(q.empty());
    /// });
    /// ```
    pub async fn join(&self) {
        self.finished.wait().await;
    }

    /// How many items are stored, including any already promised to a
    /// waiting `get` that has not run yet.
    ///
    /// ```
    /// let q = solo::sync::Queue::new(0);
    /// q.put_nowait(()).unwrap();
    /// assert_eq!(q.qsize(), 1);
    /// ```
    pub fn qsize(&self) -> usize {
        O::len(&self.items.borrow())
    }

    /// The limit given to `new`; 0 means none.
    ///
    /// ```
    /// assert_eq!(solo::sync::Queue::<()>::new(3).maxsize(), 3);
    /// ```
    pub fn maxsize(&self) -> usize {
        self.maxsize
    }

    /// True if [`get_nowait`](GenericQueue::get_nowait) would fail now: no item,
    /// or every item is promised to a waiting `get`.
    ///
    /// ```
    /// let q = solo::sync::Queue::new(0);
    /// assert!(q.empty());
    /// q.put_nowait(1).unwrap();
    /// assert!(!q.empty());
    /// ```
    pub fn empty(&self) -> bool {
        // Closed by an immediate shutdown, which emptied the store.
        self.ready.is_closed() || self.ready.available_permits() == 0
    }

    /// True if [`put_nowait`](GenericQueue::put_nowait) would fail now: every
    /// slot is taken or promised to a waiting `put`, or the queue is
    /// [shut down](GenericQueue::shutdown). Never true for an unbounded
    /// queue that is not shut down.
    ///
    /// ```
    /// let q = solo::sync::Queue::new(1);
    /// assert!(!q.full());
    /// q.put_nowait(1).unwrap();
    /// assert!(q.full());
    /// ```
    pub fn full(&self) -> bool {
        self.shut_down.get()
            || self
                .slots
                .as_ref()
                .is_some_and(|s| s.available_permits() == 0)
    }

    fn push(&self, item: T) {
        O::push(&mut self.items.borrow_mut(), item);
        self.unfinished.set(self.unfinished.get() + 1);
        self.finished.clear();
        self.ready.add_permits(1);
    }

    /// Takes the item a `ready` permit stands for. None only after an
    /// immediate shutdown dropped it.
    fn take(&self) -> Option<T> {
        let item = O::pop(&mut self.items.borrow_mut())?;
        if let Some(slots) = &self.slots {
            slots.add_permits(1);
        }
        Some(item)
    }
}

impl<T, O: Order<T>> fmt::Debug for GenericQueue<T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("qsize", &self.qsize())
            .field("maxsize", &self.maxsize)
            .field("unfinished", &self.unfinished.get())
            .finish_non_exhaustive()
    }
}

item_error! {
    /// The error of [`GenericQueue::put_nowait`]: the queue is full. Holds the
    /// item that was not put.
    ///
    /// ```
    /// let q = solo::sync::Queue::new(1);
    /// q.put_nowait(1).unwrap();
    /// let e: solo::sync::QueueFull<i32> = q.put_nowait(2).unwrap_err();
    /// assert_eq!(e.0, 2);
    /// assert_eq!(e.to_string(), "queue is full");
    /// ```
    QueueFull, "queue is full"
}

/// The error of [`GenericQueue::get_nowait`]: no item is available.
///
/// ```
/// let q = solo::sync::Queue::<u8>::new(0);
/// assert_eq!(q.get_nowait().unwrap_err().to_string(), "queue is empty");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueEmpty;

impl fmt::Display for QueueEmpty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is empty")
    }
}

impl std::error::Error for QueueEmpty {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::testing::Probe;
    use std::rc::Rc;

    fn drain<T, O: Order<T>>(q: &GenericQueue<T, O>) -> Vec<T> {
        std::iter::from_fn(|| q.get_nowait().ok()).collect()
    }

    #[test]
    fn the_three_orders() {
        let fifo = Queue::new(0);
        let lifo = LifoQueue::new(0);
        let prio = PriorityQueue::new(0);
        for n in [3, 1, 2] {
            fifo.put_nowait(n).unwrap();
            lifo.put_nowait(n).unwrap();
            prio.put_nowait(n).unwrap();
        }
        assert_eq!(drain(&fifo), [3, 1, 2]);
        assert_eq!(drain(&lifo), [2, 1, 3]);
        assert_eq!(drain(&prio), [1, 2, 3]);
    }

    #[test]
    fn put_waits_while_full_and_keeps_its_slot_from_put_nowait() {
        let q = Queue::new(1);
        q.put_nowait('a').unwrap();
        assert!(q.full());
        let mut put = Probe::new(q.put('b'));
        put.pending();
        assert_eq!(q.get_nowait(), Ok('a'));
        assert_eq!(put.wakes(), 1);
        assert!(q.full(), "the free slot is promised to the waiting put");
        assert_eq!(q.put_nowait('x').unwrap_err().0, 'x');
        put.ready();
        assert_eq!(q.qsize(), 1);
        assert_eq!(q.get_nowait(), Ok('b'));
    }

    #[test]
    fn item_put_while_a_get_waits_is_promised_to_it() {
        let q = Queue::new(0);
        let mut get = Probe::new(q.get());
        get.pending();
        q.put_nowait(1).unwrap();
        assert_eq!(get.wakes(), 1);
        assert_eq!(q.qsize(), 1);
        assert!(q.empty(), "the only item is promised");
        assert_eq!(q.get_nowait(), Err(QueueEmpty));
        assert_eq!(get.ready(), 1);
    }

    #[test]
    fn cancelled_gets_pass_their_item_on() {
        let q = Queue::new(0);
        let mut a = Probe::new(q.get());
        let mut b = Probe::new(q.get());
        let mut c = Probe::new(q.get());
        a.pending();
        b.pending();
        c.pending();
        drop(b); // waiting: leaves the line
        q.put_nowait("x").unwrap();
        drop(a); // granted: the item goes to c
        assert_eq!(c.wakes(), 1);
        assert_eq!(c.ready(), "x");
        assert!(q.empty());
        assert_eq!(q.qsize(), 0);
    }

    #[test]
    fn cancelled_put_drops_its_item_and_frees_its_slot() {
        let q = Queue::new(1);
        let item = Rc::new(());
        q.put_nowait(Rc::new(())).unwrap();
        let mut a = Probe::new(q.put(item.clone()));
        let mut b = Probe::new(q.put(Rc::new(())));
        a.pending();
        b.pending();
        q.get_nowait().unwrap(); // slot promised to a
        drop(a);
        assert_eq!(Rc::strong_count(&item), 1, "a's item dropped with it");
        assert_eq!(b.wakes(), 1, "a's slot went to b");
        b.ready();
        assert!(q.full());
    }

    #[test]
    fn join_waits_for_task_done_of_every_put() {
        let q = Queue::new(0);
        Probe::new(q.join()).ready();
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        let mut join = Probe::new(q.join());
        join.pending();
        q.get_nowait().unwrap();
        q.task_done();
        assert_eq!(join.wakes(), 0);
        q.get_nowait().unwrap();
        q.task_done();
        assert_eq!(join.wakes(), 1);
        join.ready();
        assert_eq!(
            format!("{q:?}"),
            "Queue { qsize: 0, maxsize: 0, unfinished: 0, .. }"
        );
    }

    #[test]
    #[should_panic(expected = "task_done() called too many times")]
    fn task_done_too_often_panics() {
        let q = Queue::<()>::new(0);
        q.task_done();
    }

    #[test]
    fn errors_do_not_need_debug_items() {
        struct Opaque;
        let q = Queue::new(1);
        q.put_nowait(Opaque).unwrap();
        let e = q.put_nowait(Opaque).unwrap_err();
        assert_eq!(format!("{e:?}"), "QueueFull(..)");
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert_eq!(boxed.to_string(), "queue is full");
    }
}
