//! Barrier: tasks wait until a set number of them have arrived.
//!
//! Owns: [`Barrier`] and its error [`BrokenBarrier`]. The waiting tasks of
//! the current round sit in one wait list; the last to arrive empties it,
//! telling each waiter its arrival index, and the next round starts at
//! once. `reset` and `abort` empty it too, telling each waiter the barrier
//! broke. Must not: count a waiter that left (a dropped `wait` before the
//! round filled is out of the list, so out of the count and the indexes).
//!
//! Each granted waiter's outcome is kept by id until it polls (or is
//! dropped), so a waiter woken by one round still learns its own outcome
//! if later rounds fill, or break, before it runs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use super::waiters::{WaitList, WaiterId};
use crate::coop::poll_proceed;

/// asyncio's `Barrier` (3.11): [`wait`](Barrier::wait) blocks until
/// `parties` tasks are waiting, then releases them all together. It can be
/// used again at once, round after round. Share it between tasks in an
/// `Rc`.
///
/// Each waiter gets its arrival index in the round, `0..parties`, in the
/// order they came (the last to arrive, which releases the others, gets
/// `parties - 1`), so exactly one task of each round sees any given index,
/// to do some work once per round. A `wait` dropped before the round fills
/// (a cancelled task, a lost [`timeout`](crate::timeout)) leaves the
/// round as if it had never come: the round still needs `parties` waiters,
/// and the indexes of the others close up. (asyncio gives each task the
/// count of waiters when it came, so after a cancellation two tasks of a
/// round can share an index: row D16 of the guide's differences table.)
///
/// [`reset`](Barrier::reset) breaks the round in progress and makes the
/// barrier usable again; [`abort`](Barrier::abort) breaks it until the
/// next `reset`. A broken `wait` returns [`BrokenBarrier`] (asyncio's
/// `BrokenBarrierError`).
///
/// Compared with tokio's `Barrier`: tokio's `wait` returns a
/// `BarrierWaitResult` whose `is_leader()` is true for one waiter of each
/// round; here that is the waiter whose index is a chosen value (such as
/// `parties - 1`, the last to arrive, which is the one tokio picks). tokio
/// has no `reset`, `abort` or broken state (its `wait` cannot fail), and
/// its `wait` is not cancel safe (a dropped waiter still counts).
/// `Barrier::new(0)` is a barrier of 1 in tokio; here it panics, as
/// asyncio's `Barrier(0)` raises `ValueError`.
///
/// ```
/// use std::rc::Rc;
/// use solo::sync::Barrier;
/// solo::run(async {
///     let barrier = Rc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3).map(|_| {
///         let b = barrier.clone();
///         solo::spawn(async move { b.wait().await.unwrap() })
///     }).collect();
///     let mut indexes = Vec::new();
///     for t in tasks { indexes.push(t.await.unwrap()); }
///     assert_eq!(indexes, [0, 1, 2]);
///     assert_eq!(barrier.n_waiting(), 0); // ready for the next round
/// });
/// ```
pub struct Barrier {
    state: RefCell<State>,
}

struct State {
    parties: usize,
    broken: bool,
    /// The waiters of the round in progress, in arrival order.
    waiters: WaitList,
    /// What granted waiters that have not polled since will be told.
    outcomes: HashMap<WaiterId, Result<usize, BrokenBarrier>>,
}

impl State {
    /// Grants every waiter: the `n`th to have come is told `outcome(n)`.
    fn grant_all(&mut self, outcome: impl Fn(usize) -> Result<usize, BrokenBarrier>) -> Vec<Waker> {
        let granted = self.waiters.pop_all();
        let mut wakers = Vec::with_capacity(granted.len());
        for (n, (id, waker)) in granted.into_iter().enumerate() {
            self.outcomes.insert(id, outcome(n));
            wakers.push(waker);
        }
        wakers
    }
}

impl Barrier {
    /// A barrier that releases its waiters once `parties` wait.
    ///
    /// # Panics
    ///
    /// If `parties` is 0 (asyncio raises `ValueError`).
    ///
    /// ```
    /// let b = solo::sync::Barrier::new(2);
    /// assert_eq!(b.parties(), 2);
    /// ```
    #[track_caller]
    pub fn new(parties: usize) -> Barrier {
        assert!(
            parties > 0,
            "solo::sync::Barrier::new: parties must be at least 1"
        );
        Barrier {
            state: RefCell::new(State {
                parties,
                broken: false,
                waiters: WaitList::new(),
                outcomes: HashMap::new(),
            }),
        }
    }

    /// Waits until `parties` tasks wait, and returns this one's arrival
    /// index, `0..parties`. The last to arrive does not wait: it releases
    /// the others and returns `parties - 1`. Fails with [`BrokenBarrier`]
    /// if the barrier is broken, or breaks ([`reset`](Barrier::reset),
    /// [`abort`](Barrier::abort)) while this waits.
    ///
    /// Dropping the future before the round fills takes this task out of
    /// the round (it is not counted). Dropped after the round filled, it
    /// was counted: the others have been released.
    ///
    /// ```
    /// use std::rc::Rc;
    /// solo::run(async {
    ///     let b = Rc::new(solo::sync::Barrier::new(2));
    ///     let b2 = b.clone();
    ///     let first = solo::spawn(async move { b2.wait().await });
    ///     solo::yield_now().await;
    ///     assert_eq!(b.n_waiting(), 1);
    ///     assert_eq!(b.wait().await, Ok(1)); // the last: releases `first`
    ///     assert_eq!(first.await.unwrap(), Ok(0));
    /// });
    /// ```
    pub async fn wait(&self) -> Result<usize, BrokenBarrier> {
        Wait {
            barrier: self,
            id: None,
        }
        .await
    }

    /// Breaks the round in progress: its waiters get [`BrokenBarrier`].
    /// The barrier is then usable again, empty (asyncio's `reset()`); an
    /// [aborted](Barrier::abort) one is mended.
    ///
    /// ```
    /// use std::rc::Rc;
    /// solo::run(async {
    ///     let b = Rc::new(solo::sync::Barrier::new(2));
    ///     let b2 = b.clone();
    ///     let waiter = solo::spawn(async move { b2.wait().await });
    ///     solo::yield_now().await;
    ///     b.reset();
    ///     assert!(waiter.await.unwrap().is_err());
    ///     assert!(!b.broken());
    /// });
    /// ```
    pub fn reset(&self) {
        let wakers = {
            let mut s = self.state.borrow_mut();
            s.broken = false;
            s.grant_all(|_| Err(BrokenBarrier(())))
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Breaks the barrier until the next [`reset`](Barrier::reset): the
    /// waiters and every later `wait` get [`BrokenBarrier`] (asyncio's
    /// `abort()`).
    ///
    /// ```
    /// solo::run(async {
    ///     let b = solo::sync::Barrier::new(2);
    ///     b.abort();
    ///     assert!(b.broken());
    ///     assert!(b.wait().await.is_err());
    ///     b.reset();
    ///     assert!(!b.broken());
    /// });
    /// ```
    pub fn abort(&self) {
        let wakers = {
            let mut s = self.state.borrow_mut();
            s.broken = true;
            s.grant_all(|_| Err(BrokenBarrier(())))
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// How many tasks a round needs.
    ///
    /// ```
    /// assert_eq!(solo::sync::Barrier::new(4).parties(), 4);
    /// ```
    pub fn parties(&self) -> usize {
        self.state.borrow().parties
    }

    /// How many tasks wait in the round in progress.
    ///
    /// ```
    /// assert_eq!(solo::sync::Barrier::new(4).n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> usize {
        self.state.borrow().waiters.len()
    }

    /// True once [`abort`](Barrier::abort) was called, until the next
    /// [`reset`](Barrier::reset).
    ///
    /// ```
    /// let b = solo::sync::Barrier::new(1);
    /// assert!(!b.broken());
    /// b.abort();
    /// assert!(b.broken());
    /// ```
    pub fn broken(&self) -> bool {
        self.state.borrow().broken
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.borrow();
        f.debug_struct("Barrier")
            .field("parties", &s.parties)
            .field("waiting", &s.waiters.len())
            .field("broken", &s.broken)
            .finish()
    }
}

struct Wait<'a> {
    barrier: &'a Barrier,
    id: Option<WaiterId>,
}

impl Future for Wait<'_> {
    type Output = Result<usize, BrokenBarrier>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(id) = this.id {
            let mut s = this.barrier.state.borrow_mut();
            if !s.waiters.poll(id, cx.waker()) {
                return Poll::Pending;
            }
            this.id = None;
            let outcome = s.outcomes.remove(&id);
            return Poll::Ready(outcome.expect("a granted barrier waiter has an outcome"));
        }
        let (broken, last) = {
            let s = this.barrier.state.borrow();
            (s.broken, s.waiters.len() + 1 == s.parties)
        };
        if !broken && !last {
            let mut s = this.barrier.state.borrow_mut();
            this.id = Some(s.waiters.push(cx.waker(), 1));
            return Poll::Pending;
        }
        // Completes at once: spends the budget first, as the others do.
        ready!(poll_proceed(cx));
        if broken {
            return Poll::Ready(Err(BrokenBarrier(())));
        }
        let (wakers, index) = {
            let mut s = this.barrier.state.borrow_mut();
            (s.grant_all(Ok), s.parties - 1)
        };
        wakers.into_iter().for_each(Waker::wake);
        Poll::Ready(Ok(index))
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            let mut s = self.barrier.state.borrow_mut();
            if !s.waiters.remove(id) {
                // Granted but never told: the round it was counted in is
                // over, so there is nothing to pass on.
                s.outcomes.remove(&id);
            }
        }
    }
}

/// The error of [`Barrier::wait`]: the barrier was broken by
/// [`reset`](Barrier::reset) or [`abort`](Barrier::abort) (asyncio's
/// `BrokenBarrierError`).
///
/// ```
/// solo::run(async {
///     let b = solo::sync::Barrier::new(2);
///     b.abort();
///     let e: solo::sync::BrokenBarrier = b.wait().await.unwrap_err();
///     assert_eq!(e.to_string(), "barrier is broken");
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenBarrier(());

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("barrier is broken")
    }
}

impl std::error::Error for BrokenBarrier {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::testing::Probe;

    #[test]
    fn last_arrival_releases_the_round_with_arrival_indexes() {
        let b = Barrier::new(3);
        let mut first = Probe::new(b.wait());
        let mut second = Probe::new(b.wait());
        first.pending();
        second.pending();
        assert_eq!(b.n_waiting(), 2);
        assert_eq!(Probe::new(b.wait()).ready(), Ok(2));
        assert_eq!((first.wakes(), second.wakes()), (1, 1));
        assert_eq!(b.n_waiting(), 0, "the next round starts at once");
        assert_eq!(second.ready(), Ok(1));
        assert_eq!(first.ready(), Ok(0));
        assert!(b.state.borrow().outcomes.is_empty());
    }

    #[test]
    fn one_party_never_waits() {
        let b = Barrier::new(1);
        for _ in 0..3 {
            assert_eq!(Probe::new(b.wait()).ready(), Ok(0));
        }
    }

    #[test]
    fn a_waiter_dropped_before_the_round_fills_is_not_counted() {
        let b = Barrier::new(3);
        let mut a = Probe::new(b.wait());
        let mut gone = Probe::new(b.wait());
        a.pending();
        gone.pending();
        drop(gone);
        assert_eq!(b.n_waiting(), 1);
        let mut c = Probe::new(b.wait());
        c.pending();
        assert_eq!(a.wakes(), 0, "two of three: still filling");
        assert_eq!(Probe::new(b.wait()).ready(), Ok(2));
        assert_eq!(a.ready(), Ok(0));
        assert_eq!(c.ready(), Ok(1), "the indexes close up");
    }

    #[test]
    fn a_released_waiter_dropped_before_it_runs_leaves_no_outcome() {
        let b = Barrier::new(2);
        let mut a = Probe::new(b.wait());
        a.pending();
        Probe::new(b.wait()).ready().unwrap();
        assert_eq!(b.state.borrow().outcomes.len(), 1);
        drop(a);
        assert!(b.state.borrow().outcomes.is_empty());
        assert_eq!(b.n_waiting(), 0);
    }

    #[test]
    fn a_waiter_learns_its_own_round_even_after_later_ones() {
        let b = Barrier::new(2);
        let mut old = Probe::new(b.wait());
        old.pending();
        assert_eq!(Probe::new(b.wait()).ready(), Ok(1)); // round 1 fills
        let mut next = Probe::new(b.wait());
        next.pending();
        b.reset(); // round 2 breaks before `old` runs
        assert_eq!(next.ready(), Err(BrokenBarrier(())));
        assert_eq!(old.ready(), Ok(0));
    }

    #[test]
    fn reset_breaks_the_waiters_and_the_barrier_is_usable_again() {
        let b = Barrier::new(3);
        let mut a = Probe::new(b.wait());
        let mut c = Probe::new(b.wait());
        a.pending();
        c.pending();
        b.reset();
        assert_eq!((a.wakes(), c.wakes()), (1, 1));
        assert!(!b.broken());
        assert_eq!(b.n_waiting(), 0);
        assert_eq!(a.ready(), Err(BrokenBarrier(())));
        assert_eq!(c.ready(), Err(BrokenBarrier(())));
        let mut x = Probe::new(b.wait());
        let mut y = Probe::new(b.wait());
        x.pending();
        y.pending();
        assert_eq!(Probe::new(b.wait()).ready(), Ok(2));
        assert_eq!((x.ready(), y.ready()), (Ok(0), Ok(1)));
    }

    #[test]
    fn abort_breaks_waiters_and_later_callers_until_reset() {
        let b = Barrier::new(2);
        let mut a = Probe::new(b.wait());
        a.pending();
        b.abort();
        assert!(b.broken());
        assert_eq!(a.ready(), Err(BrokenBarrier(())));
        assert_eq!(Probe::new(b.wait()).ready(), Err(BrokenBarrier(())));
        assert_eq!(b.n_waiting(), 0, "a broken wait does not queue");
        assert_eq!(
            format!("{b:?}"),
            "Barrier { parties: 2, waiting: 0, broken: true }"
        );
        b.reset();
        let mut a = Probe::new(b.wait());
        a.pending();
        assert_eq!(Probe::new(b.wait()).ready(), Ok(1));
        assert_eq!(a.ready(), Ok(0));
    }

    #[test]
    fn repoll_with_a_new_waker_is_woken_there() {
        use crate::sync::testing::counting_waker;
        let b = Barrier::new(2);
        let (first, first_wakes) = counting_waker();
        let (second, second_wakes) = counting_waker();
        let mut w = std::pin::pin!(b.wait());
        assert!(w
            .as_mut()
            .poll(&mut Context::from_waker(&first))
            .is_pending());
        assert!(w
            .as_mut()
            .poll(&mut Context::from_waker(&second))
            .is_pending());
        Probe::new(b.wait()).ready().unwrap();
        assert_eq!((first_wakes(), second_wakes()), (0, 1));
        let done = w.as_mut().poll(&mut Context::from_waker(&second));
        assert_eq!(done, Poll::Ready(Ok(0)));
    }

    #[test]
    #[should_panic(expected = "parties must be at least 1")]
    fn zero_parties_panics() {
        Barrier::new(0);
    }
}
