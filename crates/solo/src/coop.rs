//! Cooperative scheduling: giving other tasks a turn.
//!
//! Owns: [`yield_now`] and the per-poll budget. A task that never returns
//! `Pending` on its own (it loops on a channel that always has data) would
//! starve every other task and timer of a single-threaded loop. Each poll of
//! a task starts with a budget; solo's own primitives spend one unit per
//! ready operation through [`poll_proceed`], and once it is spent they
//! return `Pending` (after waking the task), which sends the task to the
//! back of the ready queue.
//!
//! Outside a running solo loop the budget is unlimited, so the primitives
//! also work on other executors.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::runtime::try_with_core;

/// Spends one unit of the running task's budget. `Pending` (with the task
/// already woken) means: give the loop back now.
///
/// For authors of primitives that can be ready many times in a row:
///
/// ```
/// use std::task::Poll;
/// solo::run(async {
///     let mut yields = 0;
///     for _ in 0..1000 {
///         if std::future::poll_fn(|cx| Poll::Ready(solo::coop::poll_proceed(cx))).await.is_pending() {
///             yields += 1;
///             solo::yield_now().await;
///         }
///     }
///     assert!(yields > 0);
/// });
/// ```
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    let spent = try_with_core(|core| {
        let left = core.sched.budget.get();
        if left == 0 {
            true
        } else {
            core.sched.budget.set(left - 1);
            false
        }
    });
    if spent == Some(true) {
        cx.waker().wake_by_ref();
        Poll::Pending
    } else {
        Poll::Ready(())
    }
}

/// Gives the other ready tasks a turn: the current task goes to the back
/// of the ready queue (asyncio's `await asyncio.sleep(0)`).
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// solo::run(async {
///     let log = Rc::new(RefCell::new(Vec::new()));
///     let l = log.clone();
///     let t = solo::spawn(async move { l.borrow_mut().push("other") });
///     log.borrow_mut().push("before");
///     solo::yield_now().await;
///     log.borrow_mut().push("after");
///     t.await.unwrap();
///     assert_eq!(*log.borrow(), ["before", "other", "after"]);
/// });
/// ```
#[doc(alias = "sleep(0)")]
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
///
/// ```
/// solo::run(async { let y: solo::coop::YieldNow = solo::yield_now(); y.await });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
