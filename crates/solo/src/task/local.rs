//! The task core's thread rules, as types, and the harness that drives a
//! task through its state transitions.
//!
//! Owns:
//! - [`Schedule`], the seam to the scheduler: a task knows only the two
//!   functions its scheduler gives it (stored in its vtable), so the task
//!   core runs without the runtime in its tests.
//! - [`Notified`]: a `Send` reference that can only be handed to the
//!   task's loop (what a waker holds, what crosses the remote queue).
//! - [`LoopToken`]: the `!Send` proof of "this is loop N's thread"; the only
//!   way to turn a `Notified` into a `LocalTask` ([`LoopToken::claim`]).
//! - [`LocalTask`]: a `!Send` reference through which a task is polled,
//!   cancelled, joined and dropped. It exists only on its loop's thread:
//!   it is made there (from a token) and never leaves.
//! - [`Current`]: the loop's "task being polled" slot.
//!
//! Must not: decide a transition (it asks `state.rs` and does what the
//! answer says) or know the runtime.

use std::cell::Cell;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe, Location};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, Waker};

use super::raw::{ErasedCallback, Header, Polled, RawRef};
use super::state::TransitionToRunning;
use super::state::{AddCallback, CancelRequest, Completion, Join, Kind, Snapshot, State};
use super::{TaskError, TaskInfo};

/// What a task needs from its scheduler.
///
/// The functions are stored in the task's vtable when it is made, as
/// async-task stores its schedule function; the runtime implements this
/// once, the task core's tests with a queue of their own.
pub(crate) trait Schedule: 'static {
    /// Hands a woken task to its loop. Called from any thread (by wakers,
    /// and by `cancel` on the loop thread).
    fn schedule(task: Notified);
    /// Runs `f` at loop `loop_id`'s next turn (done callbacks), whether
    /// that loop is running now or not. Called on the loop thread only.
    fn call_soon(loop_id: u32, f: Box<dyn FnOnce()>);
    /// Whether loop `loop_id` is still open: not closed, so a callback
    /// queued on it can run. Called on the loop thread only.
    fn is_open(loop_id: u32) -> bool;
}

/// A counted reference to a task that may be on any thread, and can only
/// be handed to the task's loop (or dropped).
pub(crate) struct Notified(RawRef);

// SAFETY: off the loop thread a `Notified` is only moved, asked for its
// loop id (immutable) and dropped (an atomic decrement, plus a free that by
// `raw`'s invariant finds no `!Send` data); everything else needs a
// `LocalTask`, which only the loop's `LoopToken` makes from it.
unsafe impl Send for Notified {}

impl Notified {
    pub(super) fn from_raw(raw: RawRef) -> Notified {
        Notified(raw)
    }

    /// The id of the loop the task belongs to.
    pub(crate) fn loop_id(&self) -> u32 {
        self.0.loop_id()
    }
}

/// Proof that the code holding it runs on loop `id`'s thread.
///
/// Ids are unique in the process, a token is neither `Send`, `Sync` nor
/// `Clone`, and tasks carry the id of the token that made them: so a
/// `LocalTask` obtained through a token is on its own loop's thread.
pub(crate) struct LoopToken {
    id: u32,
    // `*const ()` makes the token `!Send + !Sync`.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl LoopToken {
    /// A token with a new, process-unique id.
    pub(crate) fn new() -> LoopToken {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(id != 0, "more than 4 billion event loops made");
        LoopToken {
            id,
            _not_send: std::marker::PhantomData,
        }
    }

    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// The task as a `LocalTask`, if it belongs to this loop (checked);
    /// otherwise it is given back.
    #[inline]
    pub(crate) fn claim(&self, task: Notified) -> Result<LocalTask, Notified> {
        if task.loop_id() == self.id {
            Ok(LocalTask { raw: task.0 })
        } else {
            Err(task)
        }
    }
}

/// How [`LocalTask::run`] went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ran {
    /// A stale queue entry of a complete task: nothing ran.
    Skipped,
    /// Polled; the future is waiting.
    Pending,
    /// Completed now (finished, cancelled or panicked).
    Completed,
}

/// A counted reference to a task, on its loop's thread. `!Send` and
/// `!Sync` (through `RawRef`'s pointer).
#[derive(Clone)]
pub(crate) struct LocalTask {
    raw: RawRef,
}

impl LocalTask {
    /// The reference count (tests only).
    #[cfg(test)]
    pub(crate) fn refs(&self) -> u32 {
        self.raw.refs()
    }

    /// The id of the loop the task belongs to.
    pub(crate) fn loop_id(&self) -> u32 {
        self.raw.loop_id()
    }

    /// Whether the task's loop is still open (can run callbacks).
    pub(crate) fn loop_is_open(&self) -> bool {
        self.raw.loop_is_open()
    }

    /// Allocates a task for the future `make` builds (in place: see
    /// `RawRef::new`) on `token`'s loop, scheduled by `S`. Tasks and
    /// callbacks are born scheduled: push the returned reference onto the
    /// ready queue.
    pub(crate) fn new<F, S>(
        make: impl FnOnce() -> F,
        token: &LoopToken,
        kind: Kind,
        id: u64,
        location: &'static Location<'static>,
    ) -> LocalTask
    where
        F: Future + 'static,
        S: Schedule,
    {
        LocalTask {
            raw: RawRef::new::<F, S>(make, kind, token.id, id, location),
        }
    }

    #[inline]
    fn header(&self) -> &Header {
        self.raw.header()
    }

    /// The state word, for the scheduler's transitions.
    #[inline]
    pub(crate) fn state(&self) -> &State {
        &self.header().state
    }

    #[inline]
    pub(crate) fn snapshot(&self) -> Snapshot {
        self.state().load()
    }

    pub(crate) fn id(&self) -> u64 {
        self.header().id
    }

    pub(crate) fn location(&self) -> &'static Location<'static> {
        self.header().location
    }

    /// Index in the loop's table of live tasks.
    pub(crate) fn slot(&self) -> u32 {
        self.header().slot.get()
    }

    pub(crate) fn set_slot(&self, slot: u32) {
        self.header().slot.set(slot);
    }

    #[inline]
    pub(crate) fn prefetch(&self) {
        self.raw.prefetch();
    }

    /// A snapshot for `all_tasks`, `Task::info` and debug messages.
    pub(crate) fn info(&self) -> TaskInfo {
        TaskInfo::of(self.header())
    }

    /// The task's name, or asyncio's default `Task-<id>`.
    pub(crate) fn display_name(&self) -> String {
        self.header().display_name()
    }

    pub(crate) fn set_name(&self, name: Box<str>) {
        self.header().with_extras(|e| e.name = Some(name));
    }

    /// Who to wake when the task completes (one waiter; the last one
    /// registered wins).
    pub(crate) fn set_join_waker(&self, waker: &Waker) {
        let h = self.header();
        match h.join_waker.take() {
            Some(w) if w.will_wake(waker) => h.join_waker.set(Some(w)),
            _ => h.join_waker.set(Some(waker.clone())),
        }
    }

    /// A waker that owns a new reference to the task.
    #[cfg(test)]
    pub(crate) fn waker(&self) -> Waker {
        self.raw.waker()
    }

    /// Runs the task once: polls it, or drops its future if cancellation
    /// was requested, and on completion does what the state says (wake the
    /// joiner, schedule done callbacks, drop an output nobody can take).
    /// `current` names the task while it runs.
    pub(crate) fn run(&self, current: &Current) -> Ran {
        self.run_in(Some(current))
    }

    /// Runs a `call_soon` callback cell. Returns false if it had been
    /// cancelled.
    pub(crate) fn run_callback(&self) -> bool {
        self.run_in(None) != Ran::Skipped
    }

    #[inline]
    fn run_in(&self, current: Option<&Current>) -> Ran {
        let how = match self.state().transition_to_running() {
            TransitionToRunning::Skip => return Ran::Skipped,
            TransitionToRunning::Cancel => {
                let prev = current.map(|c| c.enter(self));
                // SAFETY: a `LocalTask` is on its loop's thread, and no
                // stage access is live (the loop runs one task at a time
                // and the state said the task is not running).
                let panicked = unsafe { self.raw.cancel() };
                if let (Some(c), Some(prev)) = (current, prev) {
                    c.leave(prev);
                }
                // A panic in the future's destructor is what the task ends
                // with (tokio's `JoinError::Panic`).
                if panicked {
                    Completion::Panicked
                } else {
                    Completion::Cancelled
                }
            }
            TransitionToRunning::Poll => {
                let prev = current.map(|c| c.enter(self));
                // SAFETY: as above.
                let polled = unsafe { self.raw.poll() };
                if let (Some(c), Some(prev)) = (current, prev) {
                    c.leave(prev);
                }
                match polled {
                    Polled::Pending => {
                        self.state().transition_to_idle();
                        return Ran::Pending;
                    }
                    Polled::Finished => Completion::Finished,
                    Polled::Panicked => Completion::Panicked,
                }
            }
        };
        let done = self.state().transition_to_complete(how);
        if let Some(w) = self.header().join_waker.take() {
            w.wake();
        }
        if done.run_callbacks {
            self.schedule_callbacks();
        }
        if done.drop_output {
            // SAFETY: loop thread (a `LocalTask`); the state gave us the
            // output (nobody else can reach it) and no stage access is live.
            unsafe { self.raw.drop_stage() };
        }
        Ran::Completed
    }

    /// Requests cancellation: the loop drops the future when it next pops
    /// the task. Returns false if the task already completed.
    pub(crate) fn cancel(&self) -> bool {
        match self.state().request_cancel() {
            CancelRequest::TooLate => false,
            CancelRequest::AlreadyRequested => true,
            CancelRequest::Schedule => {
                self.raw.clone().schedule();
                true
            }
        }
    }

    /// `Handle::cancel`: drops a callback that has not run. Returns false
    /// if it already ran or was cancelled.
    pub(crate) fn cancel_callback(&self) -> bool {
        if !self.state().cancel_callback() {
            return false;
        }
        // SAFETY: loop thread; the state gave us the callback (it will
        // never run) and no stage access is live.
        unsafe { self.raw.drop_stage() };
        true
    }

    /// The `Task` handle is gone: drop the output if nobody can take it.
    pub(crate) fn detach(&self) {
        if self.state().transition_to_detached() {
            // SAFETY: loop thread; the state gave us the output.
            unsafe { self.raw.drop_stage() };
        }
    }

    /// Adds a done callback; it gets a pointer to the output.
    pub(super) fn add_callback(&self, cb: ErasedCallback) {
        match self.state().add_callback() {
            AddCallback::Drop => {}
            AddCallback::Queued => self.header().with_extras(|e| e.callbacks.push(cb)),
            AddCallback::RunSoon => {
                self.header().with_extras(|e| e.callbacks.push(cb));
                self.schedule_callbacks();
            }
        }
    }

    /// Runs the done callbacks at the loop's next turn (asyncio's
    /// `call_soon` of each callback), then drops the output if nobody can
    /// take it any more, and wakes a joiner that found them running.
    fn schedule_callbacks(&self) {
        let task = self.clone();
        self.raw.call_soon(Box::new(move || {
            task.run_callbacks();
            if task.state().drop_output_if_unreachable() {
                // SAFETY: loop thread; the state gave us the output.
                unsafe { task.raw.drop_stage() };
            }
            if let Some(w) = task.header().join_waker.take() {
                w.wake();
            }
        }));
    }

    /// Runs the done callbacks queued now, in order, with the output, and
    /// those they add.
    fn run_callbacks(&self) {
        while self.state().transition_to_callbacks_run() {
            let callbacks = self
                .header()
                .with_extras(|e| std::mem::take(&mut e.callbacks));
            // SAFETY: loop thread; no stage access is live. The output
            // stays put until `transition_to_callbacks_done` (the state
            // refuses to give it away while callbacks run).
            let out = unsafe { self.raw.output_ptr() };
            if !out.is_null() {
                for cb in callbacks {
                    // A panicking callback must not tear down the loop, nor
                    // skip the callbacks after it.
                    if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| cb(out))) {
                        tracing::error!(
                            target: "solo",
                            task = %self.display_name(),
                            "done callback panicked: {}",
                            super::panic_message(&*p)
                        );
                    }
                }
            }
            self.state().transition_to_callbacks_done();
        }
    }

    /// An awaiting handle: the output once the task completed (after the
    /// done callbacks queued by then ran), or `Pending` with `cx`'s waker
    /// registered.
    ///
    /// # Safety
    /// `T` must be the output type of the task's future.
    pub(super) unsafe fn poll_join<T>(&self, cx: &Context<'_>) -> Poll<Result<T, TaskError>> {
        match self.state().poll_join() {
            Join::Pending => {
                self.set_join_waker(cx.waker());
                Poll::Pending
            }
            Join::Ready => {
                // Late done callbacks see the output before it moves.
                self.run_callbacks();
                self.state().transition_to_output_taken();
                // SAFETY: loop thread, no stage access live; the caller
                // guarantees `T`; the state said the output is there, and
                // callbacks cannot take it (only the handle can, and it is
                // borrowed by this call).
                Poll::Ready(unsafe { self.raw.take_output::<T>() })
            }
        }
    }
}

/// The loop's "task being polled" slot, for `current_task()`.
#[derive(Default)]
pub(crate) struct Current(Cell<Option<NonNull<Header>>>);

impl Current {
    fn enter(&self, task: &LocalTask) -> Option<NonNull<Header>> {
        self.0.replace(Some(NonNull::from(task.header())))
    }

    fn leave(&self, prev: Option<NonNull<Header>>) {
        self.0.set(prev);
    }

    /// The task being polled, if any.
    pub(crate) fn info(&self) -> Option<TaskInfo> {
        let p = self.0.get()?;
        // SAFETY: the slot holds a header only while `LocalTask::run` runs
        // it, holding a reference (so it is alive); `Current` is `!Send`
        // (a `NonNull` inside), so this is the loop thread that set it.
        Some(TaskInfo::of(unsafe { p.as_ref() }))
    }
}

#[cfg(test)]
#[path = "local_tests.rs"]
mod tests;
