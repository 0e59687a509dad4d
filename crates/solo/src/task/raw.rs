//! The task cell: one heap block per task, and the waker that points into it.
//!
//! This file and `time/wheel.rs`'s safe slab are the whole of solo's task
//! memory management; every `unsafe` block of the task core lives here.
//!
//! # Layout
//!
//! ```text
//! +--------------------------------------------+
//! | Header  (type-erased, #[repr(C)] first)     |
//! |   vtable  refs(atomic)  state  ids  ...     |
//! +--------------------------------------------+
//! | Stage<F>                                   |
//! |   Running(F) -> Finished(Result<Output>)   |
//! |              -> Consumed                   |
//! +--------------------------------------------+
//! ```
//!
//! A task is one allocation: the header, then the future, whose slot is
//! reused for the output once the future is done. Everything typed lives
//! behind the [`Vtable`], so the scheduler and wakers handle a thin pointer.
//!
//! # State machine
//!
//! The `state` flags are only ever touched on the loop's thread:
//!
//! ```text
//!            spawn
//!              |
//!              v        wake            pop
//!   idle <----------- SCHEDULED ---------------> RUNNING
//!     ^  (poll: Pending)                            |
//!     +---------------------------------------------+
//!                                                   | poll: Ready / panic,
//!                                                   | or CANCEL_REQUESTED at pop
//!                                                   v
//!                                               COMPLETE (+CANCELLED / +PANICKED)
//! ```
//!
//! `cancel()` sets `CANCEL_REQUESTED` and wakes the task; when the loop pops
//! it, it drops the future instead of polling it and stores
//! `Err(TaskError::Cancelled)`.
//!
//! # References
//!
//! `refs` counts owners of the allocation: the [`Task`](super::Task) handle,
//! the loop's table of live tasks, a run-queue entry, and every [`Waker`].
//! Only the count is atomic, because a `Waker` may be cloned or dropped on
//! any thread. Everything else in the header is loop-thread only: a waker
//! used on another thread never reads it; it hands its reference to the
//! loop's remote queue (see `runtime::remote`).
//!
//! Invariant that makes a foreign-thread free sound: the future, the output
//! and the done callbacks (all possibly `!Send`) are dropped on the loop
//! thread — at completion, when the handle is dropped, or when the loop
//! closes and cancels every live task. So when the last reference goes away
//! on another thread, only plain memory and `Send` fields remain.

use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use super::TaskError;

/// In the run queue.
pub(crate) const SCHEDULED: u32 = 1;
/// Being polled right now.
pub(crate) const RUNNING: u32 = 1 << 1;
/// The future is gone; the stage holds the output or has been consumed.
pub(crate) const COMPLETE: u32 = 1 << 2;
/// `cancel()` was called; the future is dropped at the next scheduling point.
pub(crate) const CANCEL_REQUESTED: u32 = 1 << 3;
/// No `Task` handle exists: the output is dropped as soon as it is made.
pub(crate) const DETACHED: u32 = 1 << 4;
/// Completed by cancellation.
pub(crate) const CANCELLED: u32 = 1 << 5;
/// Completed by a panic.
pub(crate) const PANICKED: u32 = 1 << 6;
/// The panic was seen by someone (an await or a done callback).
pub(crate) const PANIC_RETRIEVED: u32 = 1 << 7;
/// The output has been moved out of the stage.
pub(crate) const OUTPUT_TAKEN: u32 = 1 << 8;
/// Done callbacks are queued in `extras` (a flag, so the hot path of a
/// task without callbacks never touches `extras`).
const HAS_CALLBACKS: u32 = 1 << 9;
/// The cell holds a `call_soon` callback, not a task: the loop runs it as
/// a callback and it is in no table of tasks.
pub(crate) const IS_CALLBACK: u32 = 1 << 10;
/// The cell is the loop's marker for "poll the root future now".
pub(crate) const IS_ROOT: u32 = 1 << 11;

/// A done callback, erased over the output type. It receives a pointer to
/// the task's `Result<T, TaskError>`.
pub(crate) type ErasedCallback = Box<dyn FnOnce(*const ())>;

/// Rarely used per-task data, boxed so the header stays small.
#[derive(Default)]
pub(crate) struct Extras {
    pub(crate) name: Option<Box<str>>,
    pub(crate) callbacks: Vec<ErasedCallback>,
}

/// The typed operations on a task, one table per future type.
struct Vtable {
    /// Poll the future once. Returns true when the task completed.
    poll: unsafe fn(NonNull<Header>) -> bool,
    /// Drop the future and store `Err(Cancelled)`.
    cancel: unsafe fn(NonNull<Header>),
    /// Move the output into `*mut Result<T, TaskError>` (caller knows `T`).
    take_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Pointer to the `Result<T, TaskError>` in the stage, or null.
    output_ptr: unsafe fn(NonNull<Header>) -> *const (),
    /// Drop whatever the stage holds.
    drop_stage: unsafe fn(NonNull<Header>),
    /// Free the allocation.
    dealloc: unsafe fn(NonNull<Header>),
}

/// The type-erased front of every task allocation.
pub(crate) struct Header {
    vtable: &'static Vtable,
    refs: AtomicU32,
    state: Cell<u32>,
    /// Which loop owns the task; the only field besides `refs` that other
    /// threads read (it never changes).
    loop_id: u32,
    /// Index of this task in its loop's table of live tasks.
    pub(crate) slot: Cell<u32>,
    id: u64,
    location: &'static Location<'static>,
    join_waker: Cell<Option<Waker>>,
    extras: Cell<Option<Box<Extras>>>,
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, TaskError>),
    Consumed,
}

#[repr(C)]
struct RawCell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

/// An owned, counted reference to a task allocation.
pub(crate) struct TaskRef {
    ptr: NonNull<Header>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: a `TaskRef` crosses threads only inside the loop's remote queue
// and inside wakers. Off the loop thread it is only moved, and dropped
// (an atomic decrement, plus a free that by the module invariant touches no
// `!Send` data); all other uses happen after it came back to the loop thread.
unsafe impl Send for TaskRef {}

impl TaskRef {
    /// Allocates a task for `future`. The returned reference is the first of
    /// `initial_refs` references the caller distributes.
    pub(crate) fn new<F>(
        future: F,
        loop_id: u32,
        id: u64,
        location: &'static Location<'static>,
    ) -> TaskRef
    where
        F: Future + 'static,
    {
        let cell = Box::new(RawCell {
            header: Header {
                vtable: vtable_of::<F>(),
                refs: AtomicU32::new(1),
                state: Cell::new(0),
                loop_id,
                slot: Cell::new(u32::MAX),
                id,
                location,
                join_waker: Cell::new(None),
                extras: Cell::new(None),
            },
            stage: UnsafeCell::new(Stage::Running(future)),
        });
        // `RawCell` is `repr(C)` with the header first, so a pointer to the
        // cell is a pointer to its header.
        let ptr = NonNull::from(Box::leak(cell)).cast::<Header>();
        TaskRef {
            ptr,
            _not_send: PhantomData,
        }
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: we own a reference, so the allocation is alive.
        unsafe { self.ptr.as_ref() }
    }

    /// Hints the CPU to start loading the task's header into cache. The
    /// scheduler calls it for the entry after the next, so with many tasks
    /// queued the header is in cache by the time it is popped (a miss there
    /// was over half of `tick`'s time with 1M queued tasks).
    #[inline]
    pub(crate) fn prefetch(&self) {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse", not(miri)))]
        // SAFETY: `_mm_prefetch` needs SSE, which the cfg guarantees; a
        // prefetch never faults and does not read the memory observably,
        // and the pointer is to a live allocation anyway.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let p = self.ptr.as_ptr().cast::<i8>();
            _mm_prefetch::<_MM_HINT_T0>(p);
            // The future starts right after the 64-byte header: the next
            // cache line. `wrapping_add` keeps the address computation
            // free of any in-bounds requirement.
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
        }
    }

    /// Polls the task's future once. Returns true when it completed (by
    /// finishing, panicking). Must be called on the loop thread, with the
    /// task not complete.
    pub(crate) fn poll(&self) -> bool {
        // SAFETY: the header belongs to a live allocation whose vtable
        // matches its future type; the caller (the scheduler) is on the loop
        // thread and does not poll a complete task.
        unsafe { (self.header().vtable.poll)(self.ptr) }
    }

    /// Drops the future and records the cancellation.
    pub(crate) fn cancel_now(&self) {
        // SAFETY: as for `poll`.
        unsafe { (self.header().vtable.cancel)(self.ptr) }
    }

    /// Moves the output out; `T` must be the task's output type.
    ///
    /// # Safety
    /// `T` must be the output type of the future this task was made from,
    /// and the task must be complete with its output not yet taken.
    pub(crate) unsafe fn take_output<T>(&self) -> Result<T, TaskError> {
        let mut out = std::mem::MaybeUninit::<Result<T, TaskError>>::uninit();
        // SAFETY: the caller guarantees the type and the stage; `out` is
        // valid for a write of `Result<T, TaskError>`.
        unsafe {
            (self.header().vtable.take_output)(self.ptr, out.as_mut_ptr().cast());
            out.assume_init()
        }
    }

    /// Runs the done callbacks that are queued now, in order, with the
    /// output. Does nothing if the output is gone.
    pub(crate) fn run_callbacks(&self) {
        loop {
            let header = self.header();
            if !header.has_callbacks() {
                return;
            }
            let Some(mut extras) = header.extras.take() else {
                return;
            };
            let callbacks = std::mem::take(&mut extras.callbacks);
            header.extras.set(Some(extras));
            header.remove(HAS_CALLBACKS);
            if callbacks.is_empty() {
                return;
            }
            // SAFETY: loop thread, live allocation.
            let out = unsafe { (header.vtable.output_ptr)(self.ptr) };
            if out.is_null() {
                return;
            }
            if header.state() & PANICKED != 0 {
                header.insert(PANIC_RETRIEVED);
            }
            for cb in callbacks {
                // A panicking callback must not tear down the loop, nor skip
                // the callbacks after it.
                let r = panic::catch_unwind(AssertUnwindSafe(|| cb(out)));
                if let Err(p) = r {
                    tracing::error!(
                        target: "solo",
                        task = %header.display_name(),
                        "done callback panicked: {}",
                        super::panic_message(&*p)
                    );
                }
            }
        }
    }

    /// Drops the output (or whatever the stage holds) now.
    pub(crate) fn drop_stage(&self) {
        // SAFETY: loop thread, live allocation.
        unsafe { (self.header().vtable.drop_stage)(self.ptr) }
    }

    /// A waker that owns a new reference to this task.
    #[cfg(test)]
    pub(crate) fn waker(&self) -> Waker {
        let raw = clone_waker(self.ptr.as_ptr() as *const ());
        // SAFETY: `raw` was made by our vtable and owns one reference.
        unsafe { Waker::from_raw(raw) }
    }

    /// # Safety
    /// `ptr` must carry one owned reference.
    unsafe fn from_raw(ptr: NonNull<Header>) -> TaskRef {
        TaskRef {
            ptr,
            _not_send: PhantomData,
        }
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> TaskRef {
        self.header().incr_ref();
        TaskRef {
            ptr: self.ptr,
            _not_send: PhantomData,
        }
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // Release our writes to the allocation; the thread that frees it
        // acquires them.
        if self.header().refs.fetch_sub(1, Ordering::Release) == 1 {
            std::sync::atomic::fence(Ordering::Acquire);
            // SAFETY: that was the last reference: nobody else can reach the
            // allocation, and the vtable matches it.
            unsafe { (self.header().vtable.dealloc)(self.ptr) }
        }
    }
}

impl Header {
    fn incr_ref(&self) {
        // Relaxed is enough for an increment: the caller already holds a
        // reference, which keeps the allocation alive.
        let old = self.refs.fetch_add(1, Ordering::Relaxed);
        // A 32-bit count keeps the header small; more than 2^31 wakers of
        // one task means a leak of clones: abort like `Arc` does on
        // overflow instead of wrapping into a use-after-free.
        if old > i32::MAX as u32 {
            std::process::abort();
        }
    }

    pub(crate) fn state(&self) -> u32 {
        self.state.get()
    }

    pub(crate) fn insert(&self, flags: u32) {
        self.state.set(self.state.get() | flags);
    }

    pub(crate) fn remove(&self, flags: u32) {
        self.state.set(self.state.get() & !flags);
    }

    pub(crate) fn loop_id(&self) -> u32 {
        self.loop_id
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn location(&self) -> &'static Location<'static> {
        self.location
    }

    pub(crate) fn set_join_waker(&self, waker: &Waker) {
        let old = self.join_waker.take();
        match old {
            Some(w) if w.will_wake(waker) => self.join_waker.set(Some(w)),
            _ => self.join_waker.set(Some(waker.clone())),
        }
    }

    pub(crate) fn take_join_waker(&self) -> Option<Waker> {
        self.join_waker.take()
    }

    /// Runs `f` on the extras, creating them if needed.
    pub(crate) fn with_extras<R>(&self, f: impl FnOnce(&mut Extras) -> R) -> R {
        let mut extras = self.extras.take().unwrap_or_default();
        let r = f(&mut extras);
        self.extras.set(Some(extras));
        r
    }

    pub(crate) fn has_callbacks(&self) -> bool {
        self.state() & HAS_CALLBACKS != 0
    }

    /// Queues a done callback.
    pub(crate) fn push_callback(&self, cb: ErasedCallback) {
        self.with_extras(|e| e.callbacks.push(cb));
        self.insert(HAS_CALLBACKS);
    }

    /// The task's name, or asyncio's default `Task-<id>`.
    pub(crate) fn display_name(&self) -> String {
        let extras = self.extras.take();
        let name = match extras.as_ref().and_then(|e| e.name.as_deref()) {
            Some(n) => n.to_owned(),
            None => format!("Task-{}", self.id),
        };
        self.extras.set(extras);
        name
    }
}

fn vtable_of<F: Future + 'static>() -> &'static Vtable {
    struct Table<F>(PhantomData<F>);
    impl<F: Future + 'static> Table<F> {
        const VTABLE: Vtable = Vtable {
            poll: poll::<F>,
            cancel: cancel::<F>,
            take_output: take_output::<F>,
            output_ptr: output_ptr::<F>,
            drop_stage: drop_stage::<F>,
            dealloc: dealloc::<F>,
        };
    }
    &Table::<F>::VTABLE
}

/// # Safety
/// `ptr` points to a live `RawCell<F>`; loop thread only.
unsafe fn stage<'a, F: Future>(ptr: NonNull<Header>) -> &'a mut Stage<F> {
    // SAFETY: the caller guarantees the cell type; the loop thread is the
    // only one touching the stage and never holds two of these at once.
    unsafe { &mut *ptr.cast::<RawCell<F>>().as_ref().stage.get() }
}

/// Drops the stage in place, catching a panic from a destructor, then
/// writes `next`.
///
/// # Safety
/// As for [`stage`].
unsafe fn replace_stage<F: Future>(ptr: NonNull<Header>, next: Stage<F>) {
    // SAFETY: as the caller guarantees. The future may be pinned, so it is
    // dropped where it lies, never moved. `drop_in_place` that unwinds still
    // drops the remaining fields, so the slot counts as dropped either way,
    // and we overwrite it without reading it.
    unsafe {
        let slot: *mut Stage<F> = stage::<F>(ptr);
        let r = panic::catch_unwind(AssertUnwindSafe(|| std::ptr::drop_in_place(slot)));
        std::ptr::write(slot, next);
        if let Err(p) = r {
            tracing::error!(
                target: "solo",
                "a task's destructor panicked: {}",
                super::panic_message(&*p)
            );
        }
    }
}

unsafe fn poll<F: Future>(ptr: NonNull<Header>) -> bool {
    // SAFETY (whole function): `ptr` is a live `RawCell<F>` (vtable
    // invariant) and we are on the loop thread (scheduler invariant).
    unsafe {
        // A waker that borrows the scheduler's reference: no count change
        // unless the future clones it.
        let waker = ManuallyDrop::new(Waker::from_raw(RawWaker::new(
            ptr.as_ptr() as *const (),
            &WAKER_VTABLE,
        )));
        let mut cx = Context::from_waker(&waker);
        let Stage::Running(fut) = stage::<F>(ptr) else {
            return true;
        };
        // The future lives in the heap block until it is dropped in place,
        // so it never moves: pinning it is sound.
        let fut = Pin::new_unchecked(fut);
        match panic::catch_unwind(AssertUnwindSafe(|| fut.poll(&mut cx))) {
            Ok(Poll::Pending) => false,
            Ok(Poll::Ready(out)) => {
                replace_stage::<F>(ptr, Stage::Finished(Ok(out)));
                true
            }
            Err(payload) => {
                ptr.as_ref().insert(PANICKED);
                replace_stage::<F>(ptr, Stage::Finished(Err(TaskError::Panicked(payload))));
                true
            }
        }
    }
}

unsafe fn cancel<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: as in `poll`.
    unsafe {
        ptr.as_ref().insert(CANCELLED);
        replace_stage::<F>(ptr, Stage::Finished(Err(TaskError::Cancelled)));
    }
}

unsafe fn take_output<F: Future>(ptr: NonNull<Header>, dst: *mut ()) {
    // SAFETY: as in `poll`; the caller passes a slot for exactly
    // `Result<F::Output, TaskError>`.
    unsafe {
        let s = stage::<F>(ptr);
        match std::mem::replace(s, Stage::Consumed) {
            Stage::Finished(out) => {
                dst.cast::<Result<F::Output, TaskError>>().write(out);
            }
            // Callers check COMPLETE and OUTPUT_TAKEN first.
            _ => unreachable!("task output taken twice"),
        }
    }
}

unsafe fn output_ptr<F: Future>(ptr: NonNull<Header>) -> *const () {
    // SAFETY: as in `poll`.
    unsafe {
        match stage::<F>(ptr) {
            Stage::Finished(out) => out as *const Result<F::Output, TaskError> as *const (),
            _ => std::ptr::null(),
        }
    }
}

unsafe fn drop_stage<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: as in `poll`.
    unsafe { replace_stage::<F>(ptr, Stage::Consumed) }
}

unsafe fn dealloc<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: the last reference is gone; the allocation came from
    // `Box<RawCell<F>>` in `TaskRef::new`.
    unsafe { drop(Box::from_raw(ptr.cast::<RawCell<F>>().as_ptr())) }
}

// ---- the waker ---------------------------------------------------------

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_waker, wake_owned, wake_by_ref, drop_waker);

fn clone_waker(data: *const ()) -> RawWaker {
    // SAFETY: `data` is the header of a live task: the waker being cloned
    // owns (or borrows from the scheduler) a reference. Only the atomic
    // count is touched, which is sound from any thread.
    unsafe { (*(data as *const Header)).incr_ref() };
    RawWaker::new(data, &WAKER_VTABLE)
}

fn wake_owned(data: *const ()) {
    // SAFETY: a waker owns one reference; we take it over.
    let task = unsafe { TaskRef::from_raw(NonNull::new_unchecked(data as *mut Header)) };
    crate::runtime::schedule(task);
}

fn wake_by_ref(data: *const ()) {
    // Take a reference of our own for the queue.
    let _ = clone_waker(data);
    wake_owned(data);
}

fn drop_waker(data: *const ()) {
    // SAFETY: a waker owns one reference; dropping the `TaskRef` releases it.
    drop(unsafe { TaskRef::from_raw(NonNull::new_unchecked(data as *mut Header)) });
}

/// A type-erased handle to a completed task's output, for done callbacks.
///
/// # Safety
/// `out` must point to a live `Result<T, TaskError>`.
pub(crate) unsafe fn callback_arg<'a, T>(out: *const ()) -> &'a Result<T, TaskError> {
    // SAFETY: guaranteed by the caller.
    unsafe { &*(out as *const Result<T, TaskError>) }
}

impl TaskRef {
    /// Leaks this reference into a raw pointer; balanced by
    /// [`TaskRef::from_raw`].
    #[cfg(test)]
    fn leak(self) -> NonNull<Header> {
        ManuallyDrop::new(self).ptr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    struct DropFlag(Rc<Cell<u32>>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    #[test]
    fn poll_complete_take_free() {
        let drops = Rc::new(Cell::new(0));
        let flag = DropFlag(drops.clone());
        let t = TaskRef::new(
            async move {
                let _f = flag;
                7u32
            },
            0,
            1,
            Location::caller(),
        );
        assert!(t.poll());
        assert_eq!(drops.get(), 1, "future dropped at completion");
        // SAFETY: output type is u32 and not yet taken.
        let out = unsafe { t.take_output::<u32>() };
        assert_eq!(out.unwrap(), 7);
        drop(t);
    }

    #[test]
    fn cancel_drops_future_in_place() {
        let drops = Rc::new(Cell::new(0));
        let flag = DropFlag(drops.clone());
        let t = TaskRef::new(
            async move {
                let _f = flag;
                std::future::pending::<()>().await;
            },
            0,
            1,
            Location::caller(),
        );
        assert!(!t.poll());
        t.cancel_now();
        assert_eq!(drops.get(), 1);
        assert!(t.header().state() & CANCELLED != 0);
        // SAFETY: output type is () and not yet taken.
        assert!(matches!(
            unsafe { t.take_output::<()>() },
            Err(TaskError::Cancelled)
        ));
    }

    #[test]
    fn panic_is_caught() {
        let t = TaskRef::new(
            async {
                if true {
                    panic!("boom");
                }
            },
            0,
            1,
            Location::caller(),
        );
        let prev = panic::take_hook();
        panic::set_hook(Box::new(|_| {}));
        let done = t.poll();
        panic::set_hook(prev);
        assert!(done);
        assert!(t.header().state() & PANICKED != 0);
        // SAFETY: output type is () and not yet taken.
        match unsafe { t.take_output::<()>() } {
            Err(TaskError::Panicked(p)) => assert_eq!(crate::task::panic_message(&*p), "boom"),
            _ => panic!("expected a panic"),
        }
    }

    #[test]
    fn refcount_through_wakers_and_threads() {
        let t = TaskRef::new(async {}, 0, 1, Location::caller());
        let w = t.waker();
        let w2 = w.clone();
        let h = std::thread::spawn(move || {
            let w3 = w2.clone();
            drop(w2);
            w3
        });
        let w3 = h.join().unwrap();
        assert_eq!(t.header().refs.load(Ordering::Relaxed), 3);
        drop(w);
        drop(w3);
        assert_eq!(t.header().refs.load(Ordering::Relaxed), 1);
        let raw = t.clone().leak();
        // SAFETY: `raw` carries the reference leaked just above.
        drop(unsafe { TaskRef::from_raw(raw) });
        t.drop_stage();
    }
}
