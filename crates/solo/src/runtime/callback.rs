//! Callbacks: `call_soon` and its [`Handle`].
//!
//! Owns: the callback cell's future (`CallbackFn`: runs the callback once,
//! logs its panic), the public [`call_soon`] and [`Handle`]. Must not:
//! queue or run anything itself (the scheduler core queues the cell and
//! runs it; the task core records a cancel).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::context::with_core;
use crate::task::LocalTask;

/// A `call_soon` callback, stored in a task cell (`Kind::Callback`) so
/// the ready queue holds one kind of 8-byte entry: tasks, callbacks and the
/// root marker alike. Polling it runs the callback once; a panic is logged
/// and never reaches the loop.
pub(super) struct CallbackFn(pub(super) Option<Box<dyn FnOnce()>>);

impl Future for CallbackFn {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if let Some(f) = self.0.take() {
            if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                tracing::error!(
                    target: "solo",
                    "callback panicked: {}",
                    crate::task::panic_message(&*p)
                );
            }
        }
        Poll::Ready(())
    }
}

/// Schedules `f` to run at the loop's next turn, after everything already
/// ready (asyncio's `loop.call_soon`). Panics outside a running loop.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// solo::run(async {
///     let hit = Rc::new(Cell::new(false));
///     let h = hit.clone();
///     solo::call_soon(move || h.set(true));
///     solo::yield_now().await;
///     assert!(hit.get());
/// });
/// ```
#[track_caller]
pub fn call_soon(f: impl FnOnce() + 'static) -> Handle {
    let at = std::panic::Location::caller();
    with_core(|core| core.call_soon(Box::new(f), at))
}

/// The handle of a callback scheduled with [`call_soon`].
///
/// ```
/// solo::run(async {
///     let h = solo::call_soon(|| unreachable!());
///     assert!(h.cancel());
///     solo::yield_now().await;
/// });
/// ```
pub struct Handle {
    pub(super) task: LocalTask,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Handle {
    /// Prevents the callback from running. Returns false if it already ran
    /// or was cancelled.
    ///
    /// ```
    /// solo::run(async {
    ///     let h = solo::call_soon(|| ());
    ///     assert!(h.cancel());
    ///     assert!(!h.cancel());
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        // Drops the callback (and what it captured) now, as asyncio does.
        self.task.cancel_callback()
    }

    /// True once [`cancel`](Handle::cancel) stopped the callback
    /// (asyncio's `Handle.cancelled()`); a callback that ran was not
    /// cancelled.
    ///
    /// ```
    /// solo::run(async {
    ///     let ran = solo::call_soon(|| ());
    ///     let stopped = solo::call_soon(|| ());
    ///     assert!(stopped.cancel());
    ///     solo::yield_now().await;
    ///     assert!(!ran.is_cancelled());
    ///     assert!(stopped.is_cancelled());
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.task.snapshot().is_cancelled()
    }
}
