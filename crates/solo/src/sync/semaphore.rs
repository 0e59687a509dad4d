//! Semaphore: a counter of permits, handed out in arrival order.
//!
//! Owns: [`Semaphore`], its RAII [`SemaphorePermit`] and its errors. It is
//! also the engine of [`Mutex`](super::Mutex) (one permit), of the bounded
//! [`Queue`](super::Queue) (one permit per free slot and per item) and of
//! the bounded [`mpsc`](super::mpsc) channel, so their fairness and
//! cancellation rules are the ones written here once:
//!
//! - **No barging.** While anyone waits, permits go to the first waiter;
//!   a newcomer (even [`try_acquire`](Semaphore::try_acquire)) gets none,
//!   even if enough are free for it. A waiter for many permits at the
//!   front holds back the ones behind it.
//! - **Hand-off.** Releasing permits grants them to the waiters at the
//!   front right away, before they run; nobody can take them meanwhile.
//! - **Cancellation.** A dropped [`acquire`](Semaphore::acquire) leaves the
//!   queue; if it had been granted already, its permits are released again,
//!   which grants the next waiter.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::waiters::{WaitList, WaiterId};
use crate::coop::poll_proceed;

/// A pool of permits (asyncio's `Semaphore`).
///
/// [`acquire`](Semaphore::acquire) waits for a permit and returns it as a
/// [`SemaphorePermit`], which gives it back when dropped (asyncio's
/// `async with sem:`). Waiters are served first come, first served.
/// Share it between tasks in an `Rc`.
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// use solo::sync::Semaphore;
/// solo::run(async {
///     let sem = Rc::new(Semaphore::new(2));
///     let busy = Rc::new(Cell::new(0));
///     let tasks: Vec<_> = (0..5).map(|_| {
///         let (sem, busy) = (sem.clone(), busy.clone());
///         solo::spawn(async move {
///             let _permit = sem.acquire().await.unwrap();
///             busy.set(busy.get() + 1);
///             assert!(busy.get() <= 2);
///             solo::sleep(Duration::from_millis(1)).await;
///             busy.set(busy.get() - 1);
///         })
///     }).collect();
///     for t in tasks { t.await.unwrap(); }
///     assert_eq!(sem.available_permits(), 2);
/// });
/// ```
pub struct Semaphore {
    state: RefCell<State>,
}

struct State {
    permits: usize,
    closed: bool,
    waiters: WaitList,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    ///
    /// ```
    /// let sem = solo::sync::Semaphore::new(3);
    /// assert_eq!(sem.available_permits(), 3);
    /// ```
    pub const fn new(permits: usize) -> Semaphore {
        Semaphore {
            state: RefCell::new(State {
                permits,
                closed: false,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Waits for one permit. Fails only if the semaphore is
    /// [closed](Semaphore::close) before the permit is granted.
    ///
    /// ```
    /// solo::run(async {
    ///     let sem = solo::sync::Semaphore::new(1);
    ///     let permit = sem.acquire().await.unwrap();
    ///     assert_eq!(sem.available_permits(), 0);
    ///     drop(permit);
    ///     assert_eq!(sem.available_permits(), 1);
    /// });
    /// ```
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many(1).await
    }

    /// Waits for `n` permits at once; they come together, in one permit.
    /// While this waits at the front, later waiters wait behind it.
    ///
    /// ```
    /// solo::run(async {
    ///     let sem = solo::sync::Semaphore::new(5);
    ///     let three = sem.acquire_many(3).await.unwrap();
    ///     assert_eq!(three.num_permits(), 3);
    ///     assert_eq!(sem.available_permits(), 2);
    /// });
    /// ```
    pub async fn acquire_many(&self, n: usize) -> Result<SemaphorePermit<'_>, AcquireError> {
        Acquire::new(self, n).await?;
        Ok(SemaphorePermit { sem: self, n })
    }

    /// Takes a permit if one is free and nobody is waiting.
    ///
    /// ```
    /// use solo::sync::{Semaphore, TryAcquireError};
    /// let sem = Semaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    /// drop(p);
    /// assert!(sem.try_acquire().is_ok());
    /// ```
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody is waiting.
    ///
    /// ```
    /// let sem = solo::sync::Semaphore::new(2);
    /// assert!(sem.try_acquire_many(3).is_err());
    /// assert_eq!(sem.try_acquire_many(2).unwrap().num_permits(), 2);
    /// ```
    pub fn try_acquire_many(&self, n: usize) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        let mut s = self.state.borrow_mut();
        if s.closed {
            Err(TryAcquireError::Closed)
        } else if s.waiters.is_empty() && s.permits >= n {
            s.permits -= n;
            Ok(SemaphorePermit { sem: self, n })
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }

    /// How many permits are free now.
    ///
    /// ```
    /// assert_eq!(solo::sync::Semaphore::new(4).available_permits(), 4);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.state.borrow().permits
    }

    /// Adds `n` permits (asyncio's `release()`), granting them to waiters
    /// first. Panics if the count would overflow `usize`.
    ///
    /// ```
    /// let sem = solo::sync::Semaphore::new(0);
    /// sem.add_permits(2);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    #[doc(alias = "release")]
    #[track_caller]
    pub fn add_permits(&self, n: usize) {
        let mut add = n;
        loop {
            let waker = {
                let mut s = self.state.borrow_mut();
                s.permits = s
                    .permits
                    .checked_add(std::mem::take(&mut add))
                    .expect("solo::sync::Semaphore: permit count overflows usize");
                match s.waiters.front_weight() {
                    Some(w) if !s.closed && w <= s.permits => {
                        s.permits -= w;
                        s.waiters.pop_front()
                    }
                    _ => None,
                }
            };
            match waker {
                Some(w) => w.wake(),
                None => return,
            }
        }
    }

    /// Closes the semaphore: waiting and future `acquire`s fail with
    /// [`AcquireError`]. Permits already handed out stay valid.
    ///
    /// ```
    /// solo::run(async {
    ///     let sem = solo::sync::Semaphore::new(0);
    ///     sem.close();
    ///     assert!(sem.is_closed());
    ///     assert!(sem.acquire().await.is_err());
    /// });
    /// ```
    pub fn close(&self) {
        let wakers = {
            let mut s = self.state.borrow_mut();
            s.closed = true;
            s.waiters.wakers()
        };
        wakers.into_iter().for_each(|w| w.wake());
    }

    /// Wakes every waiter without granting or closing anything: each polls
    /// again and is still in line (for a [`Queue`](super::Queue) shutting
    /// down, whose waiting getters then look whether to give up).
    pub(crate) fn wake_waiters(&self) {
        let wakers = self.state.borrow().waiters.wakers();
        wakers.into_iter().for_each(|w| w.wake());
    }

    /// True once [`close`](Semaphore::close) was called.
    ///
    /// ```
    /// assert!(!solo::sync::Semaphore::new(1).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.state.borrow().closed
    }
}

impl Default for Semaphore {
    /// A semaphore with one permit, like asyncio's `Semaphore()`.
    ///
    /// ```
    /// assert_eq!(solo::sync::Semaphore::default().available_permits(), 1);
    /// ```
    fn default() -> Semaphore {
        Semaphore::new(1)
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.borrow();
        f.debug_struct("Semaphore")
            .field("permits", &s.permits)
            .field("waiters", &s.waiters.len())
            .field("closed", &s.closed)
            .finish()
    }
}

/// Permits taken from a [`Semaphore`]; dropping it gives them back.
///
/// ```
/// solo::run(async {
///     let sem = solo::sync::Semaphore::new(1);
///     {
///         let _p: solo::sync::SemaphorePermit<'_> = sem.acquire().await.unwrap();
///         assert_eq!(sem.available_permits(), 0);
///     }
///     assert_eq!(sem.available_permits(), 1);
/// });
/// ```
#[must_use = "the permits are released as soon as the permit is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    n: usize,
}

impl SemaphorePermit<'_> {
    /// Keeps the permits taken for good: dropping does not return them.
    ///
    /// ```
    /// let sem = solo::sync::Semaphore::new(2);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.n = 0;
    }

    /// How many permits this holds.
    ///
    /// ```
    /// let sem = solo::sync::Semaphore::new(2);
    /// assert_eq!(sem.try_acquire_many(2).unwrap().num_permits(), 2);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.n
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.n > 0 {
            self.sem.add_permits(self.n);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}

/// Waits for `n` permits of `sem`; `Ok` means they were taken.
struct Acquire<'a> {
    sem: &'a Semaphore,
    n: usize,
    id: Option<WaiterId>,
}

impl<'a> Acquire<'a> {
    fn new(sem: &'a Semaphore, n: usize) -> Acquire<'a> {
        Acquire { sem, n, id: None }
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        ready!(poll_proceed(cx));
        let this = &mut *self;
        let mut s = this.sem.state.borrow_mut();
        let done = match this.id {
            None if s.closed => Err(AcquireError(())),
            None if s.waiters.is_empty() && s.permits >= this.n => {
                s.permits -= this.n;
                Ok(())
            }
            None => {
                this.id = Some(s.waiters.push(cx.waker(), this.n));
                return Poll::Pending;
            }
            Some(id) if s.waiters.poll(id, cx.waker()) => Ok(()),
            Some(id) if s.closed => {
                s.waiters.remove(id);
                Err(AcquireError(()))
            }
            Some(_) => return Poll::Pending,
        };
        this.id = None;
        Poll::Ready(done)
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let granted = !self.sem.state.borrow_mut().waiters.remove(id);
            // Granted but never seen: pass the permits on. Not granted: a
            // waiter for more permits than are free may have held up the
            // line behind it, so the next ones are looked at again.
            self.sem.add_permits(if granted { self.n } else { 0 });
        }
    }
}

/// The error of [`Semaphore::acquire`]: the semaphore was closed.
///
/// ```
/// solo::run(async {
///     let sem = solo::sync::Semaphore::new(1);
///     sem.close();
///     let e: solo::sync::AcquireError = sem.acquire().await.unwrap_err();
///     assert_eq!(e.to_string(), "semaphore closed");
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// The error of [`Semaphore::try_acquire`].
///
/// ```
/// use solo::sync::{Semaphore, TryAcquireError};
/// let sem = Semaphore::new(0);
/// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
/// sem.close();
/// assert_eq!(sem.try_acquire().unwrap_err().to_string(), "semaphore closed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are free, or others wait for them first.
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryAcquireError::Closed => "semaphore closed",
            TryAcquireError::NoPermits => "no permits available",
        })
    }
}

impl std::error::Error for TryAcquireError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::testing::{counting_waker, Probe};

    #[test]
    fn front_waiter_for_many_holds_back_later_ones() {
        let sem = Semaphore::new(0);
        let mut two = Probe::new(sem.acquire_many(2));
        let mut one = Probe::new(sem.acquire());
        two.pending();
        one.pending();
        sem.add_permits(1);
        assert_eq!(two.wakes() + one.wakes(), 0, "1 permit: front needs 2");
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
        sem.add_permits(1);
        assert_eq!(two.wakes(), 1);
        assert_eq!(sem.available_permits(), 0, "granted before it runs");
        let p2 = two.ready().unwrap();
        assert_eq!(p2.num_permits(), 2);
        one.pending();
        drop(p2);
        assert_eq!(one.wakes(), 1);
        assert_eq!(one.ready().unwrap().num_permits(), 1);
        assert_eq!(sem.available_permits(), 2, "the permit dropped at once");
    }

    #[test]
    fn dropped_waiter_leaves_the_line() {
        let sem = Semaphore::new(0);
        let mut a = Probe::new(sem.acquire());
        let mut b = Probe::new(sem.acquire());
        a.pending();
        b.pending();
        drop(a);
        sem.add_permits(1);
        assert_eq!(b.wakes(), 1, "b is first now");
        b.ready().unwrap().forget();
        assert_eq!(sem.available_permits(), 0);
        assert!(sem.state.borrow().waiters.is_empty());
    }

    #[test]
    fn granted_then_dropped_waiter_passes_permits_on() {
        let sem = Semaphore::new(1);
        let held = sem.try_acquire().unwrap();
        let mut a = Probe::new(sem.acquire());
        let mut b = Probe::new(sem.acquire());
        a.pending();
        b.pending();
        drop(held);
        assert_eq!((a.wakes(), b.wakes()), (1, 0));
        drop(a); // granted, never saw it
        assert_eq!(b.wakes(), 1);
        let p = b.ready().unwrap();
        assert_eq!(sem.available_permits(), 0);
        drop(p);
        assert_eq!(sem.available_permits(), 1, "nothing lost");
    }

    #[test]
    fn a_cancelled_waiter_for_many_lets_the_line_behind_it_go() {
        // acquire_many(2) waits at the head with 1 permit free; acquire()
        // behind it could go, and must once the head leaves.
        let sem = Semaphore::new(1);
        let mut many = Probe::new(sem.acquire_many(2));
        let mut one = Probe::new(sem.acquire());
        many.pending();
        one.pending();
        drop(many);
        assert_eq!(one.wakes(), 1);
        let p = one.ready().unwrap();
        assert_eq!(sem.available_permits(), 0);
        drop(p);
        assert_eq!(sem.available_permits(), 1, "nothing lost");
    }

    #[test]
    fn close_fails_waiters_but_keeps_granted_permits() {
        let sem = Semaphore::new(1);
        let held = sem.try_acquire().unwrap();
        let mut granted = Probe::new(sem.acquire());
        let mut waiting = Probe::new(sem.acquire());
        granted.pending();
        waiting.pending();
        drop(held);
        sem.close();
        assert_eq!(waiting.wakes(), 1);
        assert_eq!(waiting.ready().unwrap_err(), AcquireError(()));
        let p = granted.ready().expect("granted before the close");
        assert!(sem.state.borrow().waiters.is_empty());
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
        drop(p);
        assert_eq!(sem.available_permits(), 1);
        assert!(Probe::new(sem.acquire()).ready().is_err());
    }

    #[test]
    fn repoll_with_a_new_waker_wakes_the_new_one() {
        let sem = Semaphore::new(0);
        let (first, first_wakes) = counting_waker();
        let (second, second_wakes) = counting_waker();
        let mut acq = std::pin::pin!(Acquire::new(&sem, 1));
        assert!(acq
            .as_mut()
            .poll(&mut Context::from_waker(&first))
            .is_pending());
        assert!(acq
            .as_mut()
            .poll(&mut Context::from_waker(&second))
            .is_pending());
        sem.add_permits(1);
        assert_eq!((first_wakes(), second_wakes()), (0, 1));
        let ready = acq.as_mut().poll(&mut Context::from_waker(&second));
        assert_eq!(ready, Poll::Ready(Ok(())));
    }

    #[test]
    fn debug_and_default() {
        let sem = Semaphore::default();
        assert_eq!(
            format!("{sem:?}"),
            "Semaphore { permits: 1, waiters: 0, closed: false }"
        );
        let p = sem.try_acquire().unwrap();
        assert_eq!(format!("{p:?}"), "SemaphorePermit { permits: 1 }");
    }
}
