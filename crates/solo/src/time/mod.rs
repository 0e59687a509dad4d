//! Time: the loop's clock, sleeping, intervals, timeouts and timed
//! callbacks.
//!
//! Owns: the futures and handles users get for time. The wheel that stores
//! the timers is in `wheel`, the clock in `clock`; both belong to the
//! running loop. Must not: block the thread (only the loop's poller waits).

pub(crate) mod clock;
pub(crate) mod wheel;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Weak;
use std::task::{Context, Poll};
use std::time::Duration;

pub use std::time::Instant;

use crate::runtime::{try_with_core, with_core, Core};
use crate::task::LocalTask;
use wheel::{Key, Payload};

/// The running loop's idea of now (asyncio's `loop.time()`): the real
/// monotonic clock, or the virtual one under
/// [`Builder::paused_clock`](crate::Builder::paused_clock).
///
/// Panics outside a running loop.
///
/// ```
/// solo::run(async {
///     let t0 = solo::time::now();
///     solo::sleep(std::time::Duration::from_millis(5)).await;
///     assert!(solo::time::now() - t0 >= std::time::Duration::from_millis(5));
/// });
/// ```
#[track_caller]
pub fn now() -> Instant {
    with_core(|c| c.timers.clock.now())
}

/// Waits for `duration` (asyncio's `await asyncio.sleep(s)`).
///
/// Panics outside a running loop. `sleep(Duration::ZERO)` completes at
/// once; to give other tasks a turn use [`yield_now`](crate::yield_now).
/// Like solo's other primitives, a sleep that completes spends one unit
/// of the task's [budget](crate::coop::poll_proceed): a loop of
/// `sleep(Duration::ZERO)` (or of `sleep_until` a past instant) still
/// yields now and then, so it cannot starve the loop. A deadline more
/// than about 584 years after the loop started is taken as that moment:
/// never reached on the real clock, reached by a
/// [paused](crate::Builder::paused_clock) one when nothing else is due.
///
/// ```
/// use std::time::{Duration, Instant};
/// solo::run(async {
///     let start = Instant::now();
///     solo::sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let (now, loop_id) = with_core(|c| (c.timers.clock.now(), c.id));
    Sleep::new(
        now.checked_add(duration).unwrap_or_else(far_future),
        loop_id,
    )
}

/// Waits until `deadline` on the loop's clock.
///
/// ```
/// use std::time::Duration;
/// solo::run(async {
///     let at = solo::time::now() + Duration::from_millis(10);
///     solo::sleep_until(at).await;
///     assert!(solo::time::now() >= at);
/// });
/// ```
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline, with_core(|c| c.id))
}

fn far_future() -> Instant {
    // About 30 years: beyond anything a loop will see, and safe to add to.
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// A `Sleep` (and so an [`Interval`] or a [`Timeout`]) follows the loop
/// that polls it: kept across two `solo::run` calls, or polled on one
/// [`EventLoop`](crate::EventLoop) and then on another, it registers its
/// deadline with the loop that polls it now. The timer it left in the
/// first loop only wakes its old waker once, at the deadline.
///
/// ```
/// solo::run(async {
///     let s: solo::time::Sleep = solo::sleep(std::time::Duration::from_millis(1));
///     assert!(!s.is_elapsed());
///     s.await;
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    /// The timer in the wheel of loop `loop_id`, once polled there.
    key: Option<Key>,
    loop_id: u32,
    done: bool,
}

impl Sleep {
    fn new(deadline: Instant, loop_id: u32) -> Sleep {
        Sleep {
            deadline,
            key: None,
            loop_id,
            done: false,
        }
    }

    /// When this sleep ends.
    ///
    /// ```
    /// solo::run(async {
    ///     let s = solo::sleep(std::time::Duration::from_secs(1));
    ///     assert!(s.deadline() > solo::time::now());
    /// });
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the sleep has completed.
    ///
    /// ```
    /// solo::run(async {
    ///     let mut s = solo::sleep(std::time::Duration::ZERO);
    ///     (&mut s).await;
    ///     assert!(s.is_elapsed());
    /// });
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.done
    }

    /// Moves the deadline; the sleep becomes pending again if it moves into
    /// the future.
    ///
    /// ```
    /// use std::time::Duration;
    /// solo::run(async {
    ///     let mut s = solo::sleep(Duration::from_secs(3600));
    ///     s.reset(solo::time::now() + Duration::from_millis(1));
    ///     s.await;
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deregister();
        self.deadline = deadline;
        self.done = false;
    }

    fn deregister(&mut self) {
        if let Some(key) = self.key.take() {
            try_with_core(|c| {
                if c.id == self.loop_id {
                    drop(c.timers.wheel.borrow_mut().remove(key));
                }
            });
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if !this.done && !this.poll_elapsed(cx) {
            return Poll::Pending;
        }
        // Ready: spends the task's budget as solo's other primitives do
        // (and tokio's `Sleep`), so a loop of `sleep(Duration::ZERO)` lets
        // the loop run the others once the budget is spent.
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        this.done = true;
        Poll::Ready(())
    }
}

impl Sleep {
    /// Whether the deadline has passed; if not, makes sure the running
    /// loop's wheel holds this sleep's timer with `cx`'s waker.
    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> bool {
        with_core(|c| {
            let mut timers = c.timers.wheel.borrow_mut();
            if let Some(key) = self.key.filter(|_| self.loop_id == c.id) {
                if timers.set_waker(key, cx.waker()) {
                    return false;
                }
                // Fired (never early): the deadline check below agrees.
            }
            // Not registered here: new, or registered in another loop. That
            // loop's entry is left alone (the loop may run on another thread
            // or be gone); it wakes its old waker once, at the deadline.
            let now = c.timers.clock.now();
            // Past the wheel's range, the wheel fires at its end: so does
            // the sleep, or a paused clock would stop there and spin.
            let deadline = self.deadline.min(timers.latest());
            if deadline <= now {
                self.key = None;
                return true;
            }
            let waker = Payload::Waker(Some(cx.waker().clone()));
            self.key = Some(timers.insert(deadline, now, waker));
            self.loop_id = c.id;
            false
        })
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.deregister();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("elapsed", &self.done)
            .finish()
    }
}

/// Ticks every `period`; the first tick completes at once.
///
/// If the loop falls behind by more than a period, the missed ticks are
/// skipped and the schedule restarts from the late tick (no burst).
/// Panics if `period` is zero or outside a running loop.
///
/// ```
/// use std::time::Duration;
/// solo::run(async {
///     let mut every = solo::time::interval(Duration::from_millis(5));
///     let t0 = every.tick().await;
///     let t1 = every.tick().await;
///     assert!(t1 - t0 >= Duration::from_millis(5));
/// });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "solo::time::interval: period must be non-zero"
    );
    let start = now();
    Interval {
        period,
        sleep: sleep_until(start),
    }
}

/// The stream of ticks made by [`interval`].
///
/// ```
/// solo::run(async {
///     let mut i = solo::time::interval(std::time::Duration::from_millis(1));
///     assert_eq!(i.period(), std::time::Duration::from_millis(1));
///     i.tick().await;
/// });
/// ```
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    sleep: Sleep,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled time.
    ///
    /// ```
    /// solo::run(async {
    ///     let mut i = solo::time::interval(std::time::Duration::from_millis(2));
    ///     for _ in 0..3 { i.tick().await; }
    /// });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Poll-based [`tick`](Interval::tick), for hand-written futures.
    ///
    /// ```
    /// solo::run(async {
    ///     let mut i = solo::time::interval(std::time::Duration::from_millis(1));
    ///     std::future::poll_fn(|cx| i.poll_tick(cx)).await;
    /// });
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let at = self.sleep.deadline();
        let mut next = at.checked_add(self.period).unwrap_or_else(far_future);
        let now = now();
        if next <= now {
            next = now.checked_add(self.period).unwrap_or_else(far_future);
        }
        self.sleep.reset(next);
        Poll::Ready(at)
    }

    /// The period.
    ///
    /// ```
    /// solo::run(async { assert_eq!(solo::time::interval(std::time::Duration::from_secs(1)).period().as_secs(), 1) });
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }
}

/// The error of [`timeout`]: the deadline passed first.
///
/// ```
/// use std::time::Duration;
/// solo::run(async {
///     let r = solo::timeout(Duration::from_millis(5), std::future::pending::<()>()).await;
///     let e: solo::Elapsed = r.unwrap_err();
///     assert_eq!(e.to_string(), "deadline has elapsed");
///     let io: std::io::Error = e.into();
///     assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}

/// Runs `future` with a time limit (asyncio's `async with timeout()`, and
/// `wait_for` on a coroutine).
///
/// If the deadline passes first, `future` is dropped (cancelled) and
/// `Err(Elapsed)` is returned. The future is polled before the deadline is
/// checked, so a future that is ready at once always wins, even with a
/// zero duration (as with `asyncio.timeout(0)`). On a [`Task`](crate::Task)
/// handle, expiry only stops waiting: the task keeps running. To cancel
/// it as asyncio's `wait_for` does, use [`wait_for`](crate::wait_for()).
/// Of nested timeouts due at the same instant, the inner one reports the
/// expiry and the outer returns `Ok(Err(Elapsed))` (as in tokio; in
/// asyncio the outer one raises).
///
/// ```
/// use std::time::Duration;
/// solo::run(async {
///     let fast = solo::timeout(Duration::from_secs(1), async { 7 }).await;
///     assert_eq!(fast, Ok(7));
///     let slow = solo::timeout(Duration::from_millis(1), solo::sleep(Duration::from_secs(60))).await;
///     assert!(slow.is_err());
///     // Nested, due at the same instant: the inner one reports it.
///     let at = solo::time::now() + Duration::from_millis(1);
///     let inner = solo::time::timeout_at(at, std::future::pending::<()>());
///     assert!(matches!(solo::time::timeout_at(at, inner).await, Ok(Err(solo::Elapsed { .. }))));
/// });
/// ```
#[track_caller]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// [`timeout`] with an absolute deadline.
///
/// ```
/// solo::run(async {
///     let at = solo::time::now() + std::time::Duration::from_millis(1);
///     assert!(solo::time::timeout_at(at, std::future::pending::<()>()).await.is_err());
/// });
/// ```
#[track_caller]
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`timeout`].
    ///
    /// ```
    /// solo::run(async {
    ///     let t: solo::time::Timeout<_> = solo::timeout(std::time::Duration::from_secs(1), async { 1 });
    ///     assert_eq!(t.await, Ok(1));
    /// });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    /// The inner future.
    ///
    /// ```
    /// solo::run(async { let t = solo::timeout(std::time::Duration::from_secs(1), async { 1 }); t.into_inner().await; });
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }

    /// When the timeout expires, on the loop's clock (asyncio's
    /// `Timeout.when()`).
    ///
    /// ```
    /// use std::time::Duration;
    /// solo::run(async {
    ///     let at = solo::time::now() + Duration::from_secs(5);
    ///     let t = solo::time::timeout_at(at, async { 1 });
    ///     assert_eq!(t.deadline(), at);
    ///     assert_eq!(t.await, Ok(1));
    /// });
    /// ```
    #[doc(alias = "when")]
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// Moves the deadline, earlier or later, also while the timeout is
    /// running (asyncio's `Timeout.reschedule(when)`); a deadline already
    /// past expires the timeout when it is next polled, once the inner
    /// future has had its turn. It takes the timeout pinned, as it is while
    /// being awaited: `pin!` it and poll it through `as_mut()` (as in a
    /// select loop), or use `Pin::new(&mut t)` for an `Unpin` future.
    ///
    /// asyncio calls `reschedule` from inside the `async with` body; here
    /// the future a `Timeout` wraps cannot reach it, so the code that
    /// awaits the timeout moves it, between polls (for example each time
    /// some progress is reported on a channel, for an idle timeout). For
    /// asyncio's `reschedule(None)` (no deadline), pass a far one:
    /// deadlines past the loop's range are never reached on the real
    /// clock.
    ///
    /// ```
    /// use std::{future::Future, pin::pin, task::Poll, time::Duration};
    /// solo::run(async {
    ///     let ms = Duration::from_millis;
    ///     let start = solo::time::now();
    ///     // 20 ms of work under a 10 ms timeout, pushed back every 5 ms.
    ///     let mut t = pin!(solo::timeout(ms(10), solo::sleep(ms(20))));
    ///     let mut progress = solo::time::interval(ms(5));
    ///     let result = loop {
    ///         let tick = std::future::poll_fn(|cx| match t.as_mut().poll(cx) {
    ///             Poll::Ready(r) => Poll::Ready(Some(r)),
    ///             Poll::Pending => progress.poll_tick(cx).map(|_| None),
    ///         });
    ///         match tick.await {
    ///             Some(r) => break r,
    ///             None => {
    ///                 let later = solo::time::now() + ms(10);
    ///                 t.as_mut().reschedule(later);
    ///             }
    ///         }
    ///     };
    ///     assert_eq!(result, Ok(()));
    ///     assert!(solo::time::now() - start >= ms(20));
    /// });
    /// ```
    pub fn reschedule(self: Pin<&mut Self>, deadline: Instant) {
        self.project().sleep.reset(deadline);
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Runs `f` after `delay` (asyncio's `loop.call_later`). Panics outside a
/// running loop.
///
/// Due timers are queued at every turn of the loop, in deadline order;
/// `Duration::ZERO` runs `f` at the next turn, after what is ready now.
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// solo::run(async {
///     let hit = Rc::new(Cell::new(false));
///     let h = hit.clone();
///     solo::call_later(Duration::from_millis(5), move || h.set(true));
///     solo::sleep(Duration::from_millis(10)).await;
///     assert!(hit.get());
/// });
/// ```
#[track_caller]
pub fn call_later(delay: Duration, f: impl FnOnce() + 'static) -> TimerHandle {
    let at = now().checked_add(delay).unwrap_or_else(far_future);
    call_at(at, f)
}

/// Runs `f` at `when` on the loop's clock (asyncio's `loop.call_at`).
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// solo::run(async {
///     let hit = Rc::new(Cell::new(0));
///     let h = hit.clone();
///     let at = solo::time::now() + Duration::from_millis(2);
///     let handle = solo::call_at(at, move || h.set(1));
///     assert_eq!(handle.when(), at);
///     solo::sleep(Duration::from_millis(5)).await;
///     assert_eq!(hit.get(), 1);
/// });
/// ```
#[track_caller]
pub fn call_at(when: Instant, f: impl FnOnce() + 'static) -> TimerHandle {
    let at = std::panic::Location::caller();
    with_core(|c| {
        let cell = c.callback_cell(Box::new(f), at);
        let key = c.timers.wheel.borrow_mut().insert(
            when,
            c.timers.clock.now(),
            Payload::Callback(cell.clone()),
        );
        TimerHandle {
            core: c.weak(),
            key,
            cell,
            when,
        }
    })
}

/// The handle of a [`call_later`] / [`call_at`] callback.
///
/// ```
/// use std::time::Duration;
/// solo::run(async {
///     let h = solo::call_later(Duration::from_millis(1), || unreachable!());
///     assert!(h.cancel());
///     solo::sleep(Duration::from_millis(5)).await;
/// });
/// ```
pub struct TimerHandle {
    core: Weak<Core>,
    /// The timer in the loop's wheel, until it comes due.
    key: Key,
    /// The callback's cell: in the wheel, then in the ready queue.
    cell: LocalTask,
    when: Instant,
}

impl TimerHandle {
    /// Cancels the callback: it will not run, and what it captured is
    /// dropped now. Works until the callback runs, also once the timer is
    /// due and the callback waits in the ready queue (as asyncio's
    /// `TimerHandle.cancel()`). Returns false if it already ran, was
    /// cancelled, or the loop is gone.
    ///
    /// ```
    /// solo::run(async {
    ///     let h = solo::call_later(std::time::Duration::from_secs(5), || ());
    ///     assert!(h.cancel());
    ///     assert!(!h.cancel());
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        let Some(core) = self.core.upgrade() else {
            return false;
        };
        // Not due yet: frees the timer (the wheel's reference to the cell).
        drop(core.timers.wheel.borrow_mut().remove(self.key));
        self.cell.cancel_callback()
    }

    /// When the callback is due.
    ///
    /// ```
    /// solo::run(async {
    ///     let h = solo::call_later(std::time::Duration::from_secs(5), || ());
    ///     assert!(h.when() > solo::time::now());
    /// });
    /// ```
    pub fn when(&self) -> Instant {
        self.when
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerHandle")
            .field("when", &self.when)
            .finish()
    }
}
