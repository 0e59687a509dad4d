//! The task state word and every transition of it.
//!
//! Owns: the flag bits of a task's state and the rules that move a task
//! from one state to the next. Each transition is one named method that
//! returns what the caller must do next (poll, cancel, drop the output,
//! run the done callbacks, push onto the ready queue); the caller does it.
//! Must not: touch the future, the output, wakers or the scheduler — the
//! harness (`raw.rs`, `local.rs`) acts on what a transition returns.
//!
//! No other file reads or writes a flag bit: everything else asks through
//! [`State`]'s methods or a [`Snapshot`].
//!
//! ```text
//!                 spawn (born SCHEDULED)
//!                   |
//!                   v          transition_to_running           poll: Pending
//!   idle -----> SCHEDULED ---------------------------> RUNNING ------------> idle
//!     transition_to_scheduled   |  CANCEL_REQUESTED     | poll: Ready/panic
//!                               v                       v
//!                          (cancel) -----------> COMPLETE (+CANCELLED | +PANICKED)
//!                                                       |
//!               output taken by the handle, or dropped by the one rule:
//!               complete + DETACHED + no done callbacks => drop it now
//! ```
//!
//! The word is a plain `Cell`: it is read and written on the loop's
//! thread only (the types in `local.rs` make that a compile-time fact).

use std::cell::Cell;

/// In the ready queue.
const SCHEDULED: u32 = 1;
/// Being polled right now.
const RUNNING: u32 = 1 << 1;
/// The future is gone; the stage holds the output or has been consumed.
const COMPLETE: u32 = 1 << 2;
/// `cancel()` was called; the future is dropped at the next scheduling point.
const CANCEL_REQUESTED: u32 = 1 << 3;
/// No `Task` handle exists: the output is dropped as soon as nobody can
/// take it.
const DETACHED: u32 = 1 << 4;
/// Completed by cancellation.
const CANCELLED: u32 = 1 << 5;
/// Completed by a panic.
const PANICKED: u32 = 1 << 6;
/// The panic was seen by someone (an await or a done callback).
const PANIC_RETRIEVED: u32 = 1 << 7;
/// The output has been moved out of the stage (or dropped).
const OUTPUT_TAKEN: u32 = 1 << 8;
/// Done callbacks are queued (a flag, so the hot path of a task without
/// callbacks never touches the boxed extras).
const HAS_CALLBACKS: u32 = 1 << 9;
/// The cell holds a `call_soon` callback, not a task.
const IS_CALLBACK: u32 = 1 << 10;
/// The cell is the loop's marker for "poll the root future now".
const IS_ROOT: u32 = 1 << 11;
/// A batch of done callbacks is running with a pointer to the output: it
/// must not be taken or dropped until they return.
const CALLBACKS_RUNNING: u32 = 1 << 12;

/// What a cell in the ready queue is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A spawned task.
    Task,
    /// A `call_soon` callback (born detached: no handle takes its output).
    Callback,
    /// The loop's "poll the root future" marker: never runs, never changes.
    Root,
}

/// What [`State::transition_to_running`] tells the loop to do with a task
/// it popped from the ready queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransitionToRunning {
    /// Poll the future once; the task is now RUNNING.
    Poll,
    /// Cancellation was requested: drop the future, then
    /// `transition_to_complete(Completion::Cancelled)`.
    Cancel,
    /// Already complete (a stale queue entry): do nothing.
    Skip,
}

/// How a task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Completion {
    /// The future returned a value.
    Finished,
    /// The future was dropped by `cancel()` (or the loop closing).
    Cancelled,
    /// The future panicked.
    Panicked,
}

/// What the caller of [`State::transition_to_complete`] must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) struct Completed {
    /// Done callbacks are queued: schedule them.
    pub(crate) run_callbacks: bool,
    /// Nobody can take the output: drop it now.
    pub(crate) drop_output: bool,
}

/// What [`State::request_cancel`] tells the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum CancelRequest {
    /// The task already completed: too late, nothing to do.
    TooLate,
    /// A cancellation was already requested (and the task scheduled).
    AlreadyRequested,
    /// Newly requested: schedule the task so the loop drops its future.
    Schedule,
}

/// What [`State::add_callback`] tells the caller to do with a new done
/// callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum AddCallback {
    /// The output was already taken: drop the callback without running it.
    Drop,
    /// Store it; it runs when the task completes.
    Queued,
    /// Store it; the task is complete, so schedule the callbacks now.
    RunSoon,
}

/// What an awaiting `Task` handle finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Join {
    /// Not complete: register the join waker.
    Pending,
    /// Complete with the output in place: run late callbacks, then take it.
    Ready,
}

/// The state word of one task.
pub(crate) struct State(Cell<u32>);

/// A copy of the state word at one moment, for questions that do not
/// change it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Snapshot(u32);

impl Snapshot {
    pub(crate) fn is_scheduled(self) -> bool {
        self.0 & SCHEDULED != 0
    }

    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }

    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }

    /// Completed by cancellation.
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }

    /// Completed by a panic.
    pub(crate) fn is_panicked(self) -> bool {
        self.0 & PANICKED != 0
    }

    /// Completed by a panic that nobody looked at (debug mode reports it).
    pub(crate) fn is_panic_unretrieved(self) -> bool {
        self.0 & (PANICKED | PANIC_RETRIEVED) == PANICKED
    }

    pub(crate) fn kind(self) -> Kind {
        if self.0 & IS_ROOT != 0 {
            Kind::Root
        } else if self.0 & IS_CALLBACK != 0 {
            Kind::Callback
        } else {
            Kind::Task
        }
    }
}

impl State {
    /// A new cell's state. Tasks and callbacks are born SCHEDULED: their
    /// creator pushes them onto the ready queue at once. The root marker
    /// is pushed by the loop as often as the root is woken and never
    /// changes state.
    pub(crate) fn new(kind: Kind) -> State {
        State(Cell::new(match kind {
            Kind::Task => SCHEDULED,
            Kind::Callback => SCHEDULED | IS_CALLBACK | DETACHED,
            Kind::Root => IS_ROOT,
        }))
    }

    #[inline]
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.get())
    }

    #[inline]
    fn get(&self) -> u32 {
        self.0.get()
    }

    #[inline]
    fn set(&self, s: u32) {
        self.0.set(s);
    }

    /// A wake: returns true when the caller must push the task onto the
    /// ready queue (it was neither queued nor complete).
    #[inline]
    pub(crate) fn transition_to_scheduled(&self) -> bool {
        let s = self.get();
        if s & (SCHEDULED | COMPLETE) != 0 {
            return false;
        }
        self.set(s | SCHEDULED);
        true
    }

    /// The loop popped the task from the ready queue.
    #[inline]
    pub(crate) fn transition_to_running(&self) -> TransitionToRunning {
        let s = self.get() & !SCHEDULED;
        if s & COMPLETE != 0 {
            self.set(s);
            TransitionToRunning::Skip
        } else if s & CANCEL_REQUESTED != 0 {
            self.set(s);
            TransitionToRunning::Cancel
        } else {
            self.set(s | RUNNING);
            TransitionToRunning::Poll
        }
    }

    /// The poll returned `Pending`. A wake during the poll already set
    /// SCHEDULED (and queued the task); it stays.
    #[inline]
    pub(crate) fn transition_to_idle(&self) {
        self.set(self.get() & !RUNNING);
    }

    /// The future is gone (finished, cancelled or panicked) and the stage
    /// holds the output.
    #[inline]
    pub(crate) fn transition_to_complete(&self, how: Completion) -> Completed {
        let mut s = (self.get() & !RUNNING) | COMPLETE;
        match how {
            Completion::Finished => {}
            Completion::Cancelled => s |= CANCELLED,
            Completion::Panicked => s |= PANICKED,
        }
        self.set(s);
        Completed {
            run_callbacks: s & HAS_CALLBACKS != 0,
            drop_output: self.drop_output_if_unreachable(),
        }
    }

    /// The one rule for an output nobody can take: complete, detached (no
    /// handle), no done callbacks left to see it, and not taken yet. Returns
    /// true when the caller must drop the output now; it then counts as
    /// taken.
    #[inline]
    pub(crate) fn drop_output_if_unreachable(&self) -> bool {
        let s = self.get();
        let mask = COMPLETE | DETACHED | HAS_CALLBACKS | CALLBACKS_RUNNING | OUTPUT_TAKEN;
        if s & mask == COMPLETE | DETACHED {
            self.set(s | OUTPUT_TAKEN);
            true
        } else {
            false
        }
    }

    /// `cancel()` on a task (or the loop closing).
    pub(crate) fn request_cancel(&self) -> CancelRequest {
        let s = self.get();
        if s & COMPLETE != 0 {
            CancelRequest::TooLate
        } else if s & CANCEL_REQUESTED != 0 {
            CancelRequest::AlreadyRequested
        } else {
            self.set(s | CANCEL_REQUESTED);
            CancelRequest::Schedule
        }
    }

    /// `Handle::cancel()` on a callback: returns true when it had neither
    /// run nor been cancelled; the caller then drops the callback. The
    /// queue entry is skipped when popped.
    pub(crate) fn cancel_callback(&self) -> bool {
        let s = self.get();
        if s & COMPLETE != 0 {
            return false;
        }
        self.set(s | COMPLETE | CANCELLED | OUTPUT_TAKEN);
        true
    }

    /// The `Task` handle was dropped. Returns true when the caller must
    /// drop the output now (see [`drop_output_if_unreachable`]).
    ///
    /// [`drop_output_if_unreachable`]: State::drop_output_if_unreachable
    #[inline]
    pub(crate) fn transition_to_detached(&self) -> bool {
        self.set(self.get() | DETACHED);
        self.drop_output_if_unreachable()
    }

    /// A done callback is being added.
    pub(crate) fn add_callback(&self) -> AddCallback {
        let s = self.get();
        if s & OUTPUT_TAKEN != 0 {
            return AddCallback::Drop;
        }
        self.set(s | HAS_CALLBACKS);
        if s & COMPLETE != 0 {
            AddCallback::RunSoon
        } else {
            AddCallback::Queued
        }
    }

    /// The queued done callbacks are about to run (the caller takes them
    /// all). Returns false when none are queued. A panic they see counts
    /// as retrieved. Until [`transition_to_callbacks_done`], the output
    /// stays where they see it: neither the handle nor the drop rule takes
    /// it. Callbacks added meanwhile queue a next batch.
    ///
    /// [`transition_to_callbacks_done`]: State::transition_to_callbacks_done
    pub(crate) fn transition_to_callbacks_run(&self) -> bool {
        let s = self.get();
        if s & HAS_CALLBACKS == 0 {
            return false;
        }
        let mut next = (s & !HAS_CALLBACKS) | CALLBACKS_RUNNING;
        if s & PANICKED != 0 {
            next |= PANIC_RETRIEVED;
        }
        self.set(next);
        true
    }

    /// The batch of callbacks returned.
    pub(crate) fn transition_to_callbacks_done(&self) {
        self.set(self.get() & !CALLBACKS_RUNNING);
    }

    /// An awaiting `Task` handle looks at the task. While done callbacks
    /// run (one of them polls the handle) the answer is `Pending`: the
    /// output they borrow must stay put.
    ///
    /// Panics if the output was already returned: a `Task` polled after it
    /// completed is a bug in the caller.
    #[inline]
    pub(crate) fn poll_join(&self) -> Join {
        let s = self.get();
        if s & (COMPLETE | CALLBACKS_RUNNING) != COMPLETE {
            return Join::Pending;
        }
        assert!(
            s & OUTPUT_TAKEN == 0,
            "Task polled after it returned its output"
        );
        Join::Ready
    }

    /// The handle moves the output out (after [`Join::Ready`]); a panic
    /// counts as retrieved.
    #[inline]
    pub(crate) fn transition_to_output_taken(&self) {
        let s = self.get();
        let mut next = s | OUTPUT_TAKEN;
        if s & PANICKED != 0 {
            next |= PANIC_RETRIEVED;
        }
        self.set(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> State {
        State::new(Kind::Task)
    }

    /// A task that was spawned, popped and polled to `Pending` once.
    fn idle_task() -> State {
        let s = task();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Poll);
        s.transition_to_idle();
        s
    }

    #[test]
    fn born_scheduled_then_runs_and_idles() {
        let s = task();
        assert_eq!(s.load().kind(), Kind::Task);
        assert!(s.load().is_scheduled());
        assert!(!s.transition_to_scheduled(), "already queued");
        assert_eq!(s.transition_to_running(), TransitionToRunning::Poll);
        assert!(s.load().is_running() && !s.load().is_scheduled());
        s.transition_to_idle();
        assert!(!s.load().is_running());
        assert!(
            s.transition_to_scheduled(),
            "an idle task is queued on wake"
        );
        assert!(!s.transition_to_scheduled(), "only once");
    }

    #[test]
    fn woken_while_running_stays_scheduled() {
        let s = task();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Poll);
        assert!(s.transition_to_scheduled());
        s.transition_to_idle();
        assert!(s.load().is_scheduled() && !s.load().is_running());
    }

    #[test]
    fn complete_with_handle_keeps_output() {
        let s = task();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Poll);
        let c = s.transition_to_complete(Completion::Finished);
        assert_eq!(
            c,
            Completed {
                run_callbacks: false,
                drop_output: false
            }
        );
        let snap = s.load();
        assert!(snap.is_complete() && !snap.is_running());
        assert!(!snap.is_cancelled() && !snap.is_panicked());
        assert!(
            !s.transition_to_scheduled(),
            "complete tasks are never queued"
        );
        assert_eq!(s.poll_join(), Join::Ready);
        s.transition_to_output_taken();
        assert!(
            !s.transition_to_detached(),
            "taken output is not dropped twice"
        );
    }

    #[test]
    fn detached_without_callbacks_drops_output_at_completion() {
        let s = task();
        assert!(
            !s.transition_to_detached(),
            "nothing to drop before completion"
        );
        assert_eq!(s.transition_to_running(), TransitionToRunning::Poll);
        let c = s.transition_to_complete(Completion::Finished);
        assert!(c.drop_output && !c.run_callbacks);
        assert!(!s.drop_output_if_unreachable(), "the rule fires once");
    }

    #[test]
    fn handle_dropped_after_completion_drops_output() {
        let s = task();
        let _ = s.transition_to_running();
        assert!(!s.transition_to_complete(Completion::Finished).drop_output);
        assert!(s.transition_to_detached());
        assert!(!s.transition_to_detached());
    }

    #[test]
    fn detached_with_callbacks_keeps_output_until_they_ran() {
        let s = task();
        assert_eq!(s.add_callback(), AddCallback::Queued);
        assert!(!s.transition_to_detached());
        let _ = s.transition_to_running();
        let c = s.transition_to_complete(Completion::Finished);
        assert!(c.run_callbacks && !c.drop_output);
        assert!(s.transition_to_callbacks_run());
        assert!(!s.transition_to_callbacks_run(), "taken all at once");
        assert!(!s.drop_output_if_unreachable(), "not while they run");
        s.transition_to_callbacks_done();
        assert!(s.drop_output_if_unreachable());
    }

    #[test]
    fn callbacks_added_during_completion_run_in_a_second_round() {
        let s = task();
        assert_eq!(s.add_callback(), AddCallback::Queued);
        let _ = s.transition_to_running();
        assert!(s.transition_to_complete(Completion::Finished).run_callbacks);
        assert!(s.transition_to_callbacks_run());
        // A running callback adds another one, and polls the handle.
        assert_eq!(s.add_callback(), AddCallback::RunSoon);
        assert_eq!(s.poll_join(), Join::Pending, "output borrowed by callbacks");
        s.transition_to_callbacks_done();
        assert!(s.transition_to_callbacks_run());
        s.transition_to_callbacks_done();
        assert!(!s.transition_to_callbacks_run());
        // The handle is still there: nothing dropped.
        assert!(!s.drop_output_if_unreachable());
        assert_eq!(s.poll_join(), Join::Ready);
    }

    #[test]
    fn callback_added_after_output_taken_is_dropped() {
        let s = task();
        let _ = s.transition_to_running();
        let _ = s.transition_to_complete(Completion::Finished);
        s.transition_to_output_taken();
        assert_eq!(s.add_callback(), AddCallback::Drop);
        assert!(!s.transition_to_callbacks_run());
    }

    #[test]
    fn handle_dropped_while_callbacks_run_defers_the_drop() {
        let s = task();
        assert_eq!(s.add_callback(), AddCallback::Queued);
        let _ = s.transition_to_running();
        let _ = s.transition_to_complete(Completion::Finished);
        assert!(s.transition_to_callbacks_run());
        assert!(
            !s.transition_to_detached(),
            "a callback still reads the output"
        );
        s.transition_to_callbacks_done();
        assert!(s.drop_output_if_unreachable());
    }

    #[test]
    fn cancel_idle_task() {
        let s = idle_task();
        assert_eq!(s.request_cancel(), CancelRequest::Schedule);
        assert_eq!(s.request_cancel(), CancelRequest::AlreadyRequested);
        assert!(s.transition_to_scheduled());
        assert_eq!(s.transition_to_running(), TransitionToRunning::Cancel);
        assert!(!s.load().is_running(), "a cancelled task is not polled");
        let _ = s.transition_to_complete(Completion::Cancelled);
        assert!(s.load().is_cancelled() && s.load().is_complete());
    }

    #[test]
    fn cancel_while_running_takes_effect_at_next_pop() {
        let s = task();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Poll);
        assert_eq!(s.request_cancel(), CancelRequest::Schedule);
        assert!(s.transition_to_scheduled());
        s.transition_to_idle();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Cancel);
    }

    #[test]
    fn cancel_while_running_then_finishing_keeps_the_value() {
        let s = task();
        let _ = s.transition_to_running();
        assert_eq!(s.request_cancel(), CancelRequest::Schedule);
        assert!(s.transition_to_scheduled());
        let _ = s.transition_to_complete(Completion::Finished);
        assert!(!s.load().is_cancelled());
        // The stale queue entry is skipped.
        assert_eq!(s.transition_to_running(), TransitionToRunning::Skip);
    }

    #[test]
    fn cancel_after_complete_is_too_late() {
        let s = task();
        let _ = s.transition_to_running();
        let _ = s.transition_to_complete(Completion::Finished);
        assert_eq!(s.request_cancel(), CancelRequest::TooLate);
        assert!(!s.load().is_cancelled());
    }

    #[test]
    fn panic_retrieved_by_join_or_callback() {
        let s = task();
        let _ = s.transition_to_running();
        let _ = s.transition_to_complete(Completion::Panicked);
        assert!(s.load().is_panicked() && s.load().is_panic_unretrieved());
        s.transition_to_output_taken();
        assert!(!s.load().is_panic_unretrieved());

        let s = task();
        assert_eq!(s.add_callback(), AddCallback::Queued);
        let _ = s.transition_to_running();
        let _ = s.transition_to_complete(Completion::Panicked);
        assert!(s.load().is_panic_unretrieved());
        assert!(s.transition_to_callbacks_run());
        assert!(!s.load().is_panic_unretrieved());
        s.transition_to_callbacks_done();
    }

    #[test]
    #[should_panic(expected = "Task polled after it returned its output")]
    fn join_after_output_taken_panics() {
        let s = task();
        let _ = s.transition_to_running();
        let _ = s.transition_to_complete(Completion::Finished);
        assert_eq!(s.poll_join(), Join::Ready);
        s.transition_to_output_taken();
        let _ = s.poll_join();
    }

    #[test]
    fn join_pending_until_complete() {
        let s = idle_task();
        assert_eq!(s.poll_join(), Join::Pending);
    }

    #[test]
    fn callback_cell_runs_once_or_is_cancelled() {
        let s = State::new(Kind::Callback);
        assert_eq!(s.load().kind(), Kind::Callback);
        assert_eq!(s.transition_to_running(), TransitionToRunning::Poll);
        let c = s.transition_to_complete(Completion::Finished);
        assert!(c.drop_output, "a callback cell has no handle: drop it");
        assert!(!s.cancel_callback(), "already ran");

        let s = State::new(Kind::Callback);
        assert!(s.cancel_callback());
        assert!(!s.cancel_callback());
        assert!(s.load().is_cancelled());
        assert_eq!(s.transition_to_running(), TransitionToRunning::Skip);
    }

    #[test]
    fn root_marker_never_changes() {
        let s = State::new(Kind::Root);
        assert_eq!(s.load().kind(), Kind::Root);
        assert!(!s.load().is_scheduled());
    }
}
