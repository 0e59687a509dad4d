//! The event loop users hold.
//!
//! Owns: [`EventLoop`]: entering the loop on this thread, polling the root
//! future when its turn comes (`run_until_complete`), and closing the loop
//! once (`close` or drop). Must not: decide the order in which things run
//! or touch the ready queue beyond the root's entry (that is the
//! scheduler core's, `scheduler.rs`).

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use super::scheduler::{Core, BUDGET};
use super::{context, remote, Builder};
use crate::task::Kind;

/// An event loop: the scheduler, timers, poller and blocking pool of one
/// thread.
///
/// Most programs never name it: [`run`](super::run) makes one, runs a future on it and
/// closes it, like `asyncio.run`. Use `EventLoop` directly to keep a loop
/// across several `run_until_complete` calls, or to configure it.
///
/// ```
/// let mut lp = solo::EventLoop::new().unwrap();
/// let a = lp.run_until_complete(async { 1 });
/// let b = lp.run_until_complete(async { solo::sleep(std::time::Duration::from_millis(1)).await; 2 });
/// assert_eq!(a + b, 3);
/// lp.close();
/// ```
pub struct EventLoop {
    pub(super) core: Rc<Core>,
    pub(super) closed: bool,
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop")
            .field("id", &self.core.id)
            .field("tasks", &self.core.sched.tasks.borrow().len())
            .field("closed", &self.closed)
            .finish()
    }
}

impl EventLoop {
    /// A loop with default settings (debug mode if `SOLO_DEBUG=1`).
    ///
    /// ```
    /// let lp = solo::EventLoop::new().unwrap();
    /// drop(lp);
    /// ```
    pub fn new() -> std::io::Result<EventLoop> {
        Builder::new().build()
    }

    /// Configure a loop: debug mode, paused clock, blocking pool size.
    ///
    /// ```
    /// let lp = solo::EventLoop::builder().debug(true).build().unwrap();
    /// assert!(lp.is_debug());
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// True when the loop reports slow callbacks (asyncio's debug mode).
    ///
    /// ```
    /// assert!(!solo::EventLoop::builder().debug(false).build().unwrap().is_debug());
    /// ```
    pub fn is_debug(&self) -> bool {
        self.core.debug.slow.is_some()
    }

    /// Runs the loop until `future` completes and returns its output.
    /// Tasks spawned meanwhile keep their state between calls.
    ///
    /// Panics if a loop is already running on this thread, or if the loop
    /// was closed. A panic in `future` itself propagates to the caller.
    ///
    /// ```
    /// let mut lp = solo::EventLoop::new().unwrap();
    /// let t = lp.run_until_complete(async { solo::spawn(async { 40 + 2 }) });
    /// assert_eq!(lp.run_until_complete(t).unwrap(), 42);
    /// ```
    #[track_caller]
    pub fn run_until_complete<F: Future>(&mut self, future: F) -> F::Output {
        assert!(!self.closed, "run_until_complete on a closed EventLoop");
        let core = &*self.core;
        let _enter = context::Enter::new(core);
        let mut future = pin!(future);
        let waker = Waker::from(core.inbox.root.clone());
        let mut cx = Context::from_waker(&waker);
        core.inbox.root.queued.store(true, Ordering::Release);
        core.sched
            .queue
            .borrow_mut()
            .push_back(core.sched.root_marker.clone());
        loop {
            if core.tick(true) {
                core.inbox.root.queued.store(false, Ordering::Release);
                core.sched.budget.set(BUDGET);
                let start = core.debug.slow.map(|_| Instant::now());
                let r = future.as_mut().poll(&mut cx);
                if let (Some(start), Some(limit)) = (start, core.debug.slow) {
                    let took = start.elapsed();
                    if took >= limit {
                        crate::debug::slow_main(took);
                    }
                }
                if let Poll::Ready(v) = r {
                    // A stale Root entry may remain; it is harmless (the
                    // next run pushes its own) but drop it for tidiness.
                    core.sched
                        .queue
                        .borrow_mut()
                        .retain(|r| r.snapshot().kind() != Kind::Root);
                    return v;
                }
            }
        }
    }

    /// Cancels every task still alive, runs them until their futures are
    /// dropped, joins the blocking pool and closes the loop. Dropping the
    /// loop does the same.
    ///
    /// ```
    /// let mut lp = solo::EventLoop::new().unwrap();
    /// let t = lp.run_until_complete(async { solo::spawn(std::future::pending::<()>()) });
    /// lp.close();
    /// assert!(t.is_cancelled());
    /// ```
    pub fn close(mut self) {
        self.close_inner();
    }

    fn close_inner(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        {
            // `swap`, not `new`: a loop may be dropped inside a task of
            // another loop (or while unwinding from a nested `run`).
            let _enter = context::Enter::swap(&self.core);
            self.core.shutdown();
        }
        remote::unregister(self.core.id);
        context::closed(self.core.id);
    }
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        self.close_inner();
    }
}
