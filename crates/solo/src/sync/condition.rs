//! Condition variable: wait, with a [`Mutex`] unlocked, until notified.
//!
//! Owns: [`Condition`]. Like `std::sync::Condvar`, it is separate from the
//! mutex it works with: [`wait`](Condition::wait) takes a [`MutexGuard`],
//! unlocks, waits for [`notify`](Condition::notify), locks again and gives
//! the guard back. asyncio's `Condition(lock)` bundles the two; here you
//! keep the mutex (or a [`Lock`](super::Lock)) and the condition side by
//! side.
//!
//! Notifications are not stored: `notify` with nobody waiting does
//! nothing. A waiter that is notified but dropped (cancelled) before it
//! has the lock again passes its notification to the next waiter, so
//! `notify(1)` is never lost to a cancelled task.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::mutex::MutexGuard;
use super::waiters::{grant, WaitList, WaiterId};

/// asyncio's `Condition`, used with a [`Mutex`](super::Mutex) or
/// [`Lock`](super::Lock). Share it between tasks in an `Rc`.
///
/// ```
/// use std::rc::Rc;
/// use solo::sync::{Condition, Mutex};
/// solo::run(async {
///     let state = Rc::new((Mutex::new(Vec::<u32>::new()), Condition::new()));
///     let s = state.clone();
///     let consumer = solo::spawn(async move {
///         let (items, cond) = &*s;
///         let mut guard = cond.wait_for(items.lock().await, |v| !v.is_empty()).await;
///         guard.pop().unwrap()
///     });
///     solo::yield_now().await;
///     let (items, cond) = &*state;
///     items.lock().await.push(7);
///     cond.notify(1);
///     assert_eq!(consumer.await.unwrap(), 7);
/// });
/// ```
#[derive(Default)]
pub struct Condition {
    waiters: RefCell<WaitList>,
}

impl Condition {
    /// A condition with no waiters.
    ///
    /// ```
    /// let _c = solo::sync::Condition::new();
    /// ```
    pub const fn new() -> Condition {
        Condition {
            waiters: RefCell::new(WaitList::new()),
        }
    }

    /// Unlocks `guard`'s mutex, waits to be notified, then locks it again
    /// and returns the new guard. Always waits for a notification, so
    /// check the state in a loop (or use [`wait_for`](Condition::wait_for)).
    ///
    /// ```
    /// use std::rc::Rc;
    /// use solo::sync::{Condition, Lock};
    /// solo::run(async {
    ///     let pair = Rc::new((Lock::new(), Condition::new()));
    ///     let p = pair.clone();
    ///     let t = solo::spawn(async move {
    ///         let guard = p.0.lock().await;
    ///         let _guard = p.1.wait(guard).await; // holds the lock again
    ///         "woken"
    ///     });
    ///     solo::yield_now().await;
    ///     pair.1.notify_all();
    ///     assert_eq!(t.await.unwrap(), "woken");
    /// });
    /// ```
    pub async fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = guard.mutex();
        let mut notified = Notified {
            cond: self,
            state: NotifiedState::Idle,
        };
        drop(guard);
        (&mut notified).await;
        let guard = mutex.lock().await;
        notified.state = NotifiedState::Consumed;
        guard
    }

    /// Waits until `predicate` holds for the guarded value, checking it
    /// first and after every notification, with the lock held.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use solo::sync::{Condition, Mutex};
    /// solo::run(async {
    ///     let st = Rc::new((Mutex::new(0), Condition::new()));
    ///     let s = st.clone();
    ///     let t = solo::spawn(async move {
    ///         *s.1.wait_for(s.0.lock().await, |n| *n >= 3).await
    ///     });
    ///     for _ in 0..3 {
    ///         solo::yield_now().await;
    ///         *st.0.lock().await += 1;
    ///         st.1.notify_all();
    ///     }
    ///     assert_eq!(t.await.unwrap(), 3);
    /// });
    /// ```
    pub async fn wait_for<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut predicate: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while !predicate(&mut guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Wakes up to `n` waiters, longest waiting first.
    ///
    /// ```
    /// let c = solo::sync::Condition::new();
    /// c.notify(1); // nobody waits: nothing happens, nothing is stored
    /// ```
    pub fn notify(&self, n: usize) {
        grant(&self.waiters, n);
    }

    /// Wakes every waiter.
    ///
    /// ```
    /// solo::sync::Condition::new().notify_all();
    /// ```
    pub fn notify_all(&self) {
        self.notify(usize::MAX);
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("waiters", &self.waiters.borrow().len())
            .finish()
    }
}

enum NotifiedState {
    Idle,
    Waiting(WaiterId),
    /// Notified, lock not yet taken again.
    Notified,
    Consumed,
}

/// The wait for a notification inside [`Condition::wait`]. Its drop passes
/// an unconsumed notification on.
struct Notified<'a> {
    cond: &'a Condition,
    state: NotifiedState,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut waiters = this.cond.waiters.borrow_mut();
        match this.state {
            NotifiedState::Idle => {
                this.state = NotifiedState::Waiting(waiters.push(cx.waker(), 1));
                Poll::Pending
            }
            NotifiedState::Waiting(id) if waiters.poll(id, cx.waker()) => {
                this.state = NotifiedState::Notified;
                Poll::Ready(())
            }
            NotifiedState::Waiting(_) => Poll::Pending,
            NotifiedState::Notified | NotifiedState::Consumed => Poll::Ready(()),
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let pass_on = match self.state {
            NotifiedState::Waiting(id) => !self.cond.waiters.borrow_mut().remove(id),
            NotifiedState::Notified => true,
            NotifiedState::Idle | NotifiedState::Consumed => false,
        };
        if pass_on {
            self.cond.notify(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::testing::Probe;
    use crate::sync::Mutex;

    #[test]
    fn notify_one_wakes_exactly_the_first_waiter() {
        let (m, c) = (Mutex::new(0), Condition::new());
        let mut a = Probe::new(async { *c.wait(m.lock().await).await = 1 });
        let mut b = Probe::new(async { *c.wait(m.lock().await).await = 2 });
        a.pending();
        b.pending();
        assert!(!m.locked(), "waiting releases the lock");
        c.notify(1);
        assert_eq!((a.wakes(), b.wakes()), (1, 0));
        a.ready();
        assert_eq!(*m.try_lock().unwrap(), 1);
        b.pending();
        c.notify_all();
        b.ready();
        assert_eq!(*m.try_lock().unwrap(), 2);
    }

    #[test]
    fn notify_without_waiters_is_not_stored() {
        let (m, c) = (Mutex::new(()), Condition::new());
        c.notify(5);
        let mut w = Probe::new(async { drop(c.wait(m.lock().await).await) });
        w.pending();
        assert_eq!(w.wakes(), 0);
    }

    #[test]
    fn wait_relocks_before_returning() {
        let (m, c) = (Mutex::new(()), Condition::new());
        let mut w = Probe::new(async { drop(c.wait(m.lock().await).await) });
        w.pending();
        let held = m.try_lock().unwrap();
        c.notify(1);
        w.pending(); // notified, but the lock is held
        drop(held);
        w.ready();
    }

    #[test]
    fn cancelled_notified_waiter_passes_the_notification_on() {
        let (m, c) = (Mutex::new(()), Condition::new());
        let mut a = Probe::new(async { drop(c.wait(m.lock().await).await) });
        let mut b = Probe::new(async { drop(c.wait(m.lock().await).await) });
        a.pending();
        b.pending();
        c.notify(1);
        drop(a); // notified, never ran
        assert_eq!(b.wakes(), 1);
        b.ready();
        // Also when the waiter was cancelled while locking again.
        let held = m.try_lock().unwrap();
        let mut d = Probe::new(async { drop(c.wait(m.lock().await).await) });
        let mut e = Probe::new(async { drop(c.wait(m.lock().await).await) });
        drop(held);
        d.pending();
        e.pending();
        let held = m.try_lock().unwrap();
        c.notify(1);
        d.pending(); // past the notification, waiting for the lock
        drop(d);
        assert_eq!(e.wakes(), 1);
        drop(held);
        e.ready();
        assert!(c.waiters.borrow().is_empty());
    }

    #[test]
    fn wait_for_checks_first_and_after_each_notify() {
        let (m, c) = (Mutex::new(0), Condition::new());
        drop(Probe::new(c.wait_for(m.try_lock().unwrap(), |_| true)).ready());
        let mut w = Probe::new(async { *c.wait_for(m.lock().await, |n| *n == 2).await });
        w.pending();
        for n in 1..=2 {
            *m.try_lock().unwrap() = n;
            c.notify_all();
            if n < 2 {
                w.pending();
            }
        }
        assert_eq!(w.ready(), 2);
        assert_eq!(format!("{c:?}"), "Condition { waiters: 0 }");
    }
}
