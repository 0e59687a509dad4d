//! Event: a flag that tasks can wait to see set.
//!
//! Owns: [`Event`]. Setting it wakes every waiter; a waiter woken by `set`
//! completes even if the flag is cleared again before it runs (as in
//! asyncio). Also used inside [`Queue`](super::Queue) for `join`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::waiters::{grant, WaitList, WaiterId};
use crate::coop::poll_proceed;

/// asyncio's `Event`: [`wait`](Event::wait) until someone calls
/// [`set`](Event::set). Share it between tasks in an `Rc`.
///
/// ```
/// use std::rc::Rc;
/// use solo::sync::Event;
/// solo::run(async {
///     let ready = Rc::new(Event::new());
///     let waiters: Vec<_> = (0..3).map(|i| {
///         let ready = ready.clone();
///         solo::spawn(async move { ready.wait().await; i })
///     }).collect();
///     solo::yield_now().await;
///     ready.set();
///     let mut done = Vec::new();
///     for w in waiters { done.push(w.await.unwrap()); }
///     assert_eq!(done, [0, 1, 2]);
/// });
/// ```
#[derive(Default)]
pub struct Event {
    set: Cell<bool>,
    waiters: RefCell<WaitList>,
}

impl Event {
    /// An event that is not set.
    ///
    /// ```
    /// assert!(!solo::sync::Event::new().is_set());
    /// ```
    pub const fn new() -> Event {
        Event {
            set: Cell::new(false),
            waiters: RefCell::new(WaitList::new()),
        }
    }

    /// Sets the flag and wakes every waiter, in the order they came.
    ///
    /// ```
    /// let e = solo::sync::Event::new();
    /// e.set();
    /// assert!(e.is_set());
    /// ```
    pub fn set(&self) {
        self.set.set(true);
        grant(&self.waiters, usize::MAX);
    }

    /// Resets the flag; later `wait`s block until the next `set`.
    ///
    /// ```
    /// let e = solo::sync::Event::new();
    /// e.set();
    /// e.clear();
    /// assert!(!e.is_set());
    /// ```
    pub fn clear(&self) {
        self.set.set(false);
    }

    /// True while the flag is set.
    ///
    /// ```
    /// assert!(!solo::sync::Event::new().is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.set.get()
    }

    /// Completes at once if the flag is set, else when it is next set.
    ///
    /// ```
    /// solo::run(async {
    ///     let e = std::rc::Rc::new(solo::sync::Event::new());
    ///     let e2 = e.clone();
    ///     solo::call_soon(move || e2.set());
    ///     e.wait().await;
    ///     assert!(e.is_set());
    /// });
    /// ```
    pub async fn wait(&self) {
        Wait {
            event: self,
            id: None,
        }
        .await
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.set.get())
            .field("waiters", &self.waiters.borrow().len())
            .finish()
    }
}

struct Wait<'a> {
    event: &'a Event,
    id: Option<WaiterId>,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut waiters = this.event.waiters.borrow_mut();
        match this.id {
            None if this.event.set.get() => {
                drop(waiters);
                poll_proceed(cx)
            }
            None => {
                this.id = Some(waiters.push(cx.waker(), 1));
                Poll::Pending
            }
            Some(id) if waiters.poll(id, cx.waker()) => {
                this.id = None;
                Poll::Ready(())
            }
            Some(_) => Poll::Pending,
        }
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            // Nothing to pass on if granted: `set` wakes everyone anyway.
            self.event.waiters.borrow_mut().remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::testing::Probe;

    #[test]
    fn set_wakes_every_waiter_even_if_cleared_before_they_run() {
        let e = Event::new();
        let mut waiters: Vec<_> = (0..3).map(|_| Probe::new(e.wait())).collect();
        waiters.iter_mut().for_each(|w| w.pending());
        e.set();
        e.clear();
        for w in &mut waiters {
            assert_eq!(w.wakes(), 1);
            w.ready();
        }
        assert!(e.waiters.borrow().is_empty());
        Probe::new(e.wait()).pending();
    }

    #[test]
    fn wait_on_a_set_event_is_immediate() {
        let e = Event::new();
        e.set();
        Probe::new(e.wait()).ready();
        assert!(e.is_set());
    }

    #[test]
    fn dropped_waiter_leaves_the_list() {
        let e = Event::default();
        let mut a = Probe::new(e.wait());
        let mut b = Probe::new(e.wait());
        a.pending();
        b.pending();
        assert_eq!(format!("{e:?}"), "Event { set: false, waiters: 2 }");
        drop(a);
        assert_eq!(e.waiters.borrow().len(), 1);
        e.set();
        assert_eq!(b.wakes(), 1);
        b.ready();
    }
}
