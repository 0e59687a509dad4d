//! The task cell: one heap block per task, the counted pointer to it, and
//! the waker that points into it.
//!
//! Owns: the allocation, its reference count, the type-erased vtable and
//! the waker's vtable. With `local.rs` (the thread rules) this is the whole
//! of solo's task memory management: every `unsafe` block of the task core
//! lives in the `task` module. Must not: decide anything about the task's
//! state (that is `state.rs`'s) or know the scheduler (it calls the
//! `Schedule` functions stored in the vtable).
//!
//! # Layout
//!
//! ```text
//! +--------------------------------------------+
//! | Header  (type-erased, #[repr(C)] first)     |
//! |   vtable  refs(atomic)  state  ids  ...     |
//! +--------------------------------------------+
//! | stage: Running -> Finished -> Consumed     |
//! | Slot<F> (a union, chosen by `stage`)       |
//! |   future: F        (Running)               |
//! |   output: Result<Output, TaskError>        |
//! |                    (Finished)              |
//! +--------------------------------------------+
//! ```
//!
//! A task is one allocation: the header, then the future, whose bytes are
//! reused for the output once the future is done. The slot is a union with
//! a separate tag, not an enum, so that storing or taking the output moves
//! only the output's bytes: an enum value is as big as the future, and
//! every write of one copied all of it (kilobytes for a crawler's page
//! task, twice per task). Everything typed lives
//! behind the [`Vtable`], so the scheduler and wakers handle a thin pointer.
//!
//! # References
//!
//! `refs` counts owners of the allocation: the `Task` handle, the loop's
//! table of live tasks, a run-queue entry, and every [`Waker`]. Only the
//! count is atomic, because a `Waker` may be cloned or dropped on any
//! thread. Everything else in the header is loop-thread only: a waker used
//! on another thread reads only `vtable` and `loop_id` (both immutable) and
//! hands its reference to the loop as a [`Notified`](super::local::Notified).
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

use super::local::{Notified, Schedule};
use super::state::{Kind, State};
use super::TaskError;

/// A done callback, erased over the output type. It receives a pointer to
/// the task's `Result<T, TaskError>`.
pub(super) type ErasedCallback = Box<dyn FnOnce(*const ())>;

/// Rarely used per-task data, boxed so the header stays small.
#[derive(Default)]
pub(super) struct Extras {
    pub(super) name: Option<Box<str>>,
    pub(super) callbacks: Vec<ErasedCallback>,
}

/// How one poll of the future ended.
pub(super) enum Polled {
    Pending,
    Finished,
    Panicked,
}

/// The typed operations on a task, one table per future type and
/// scheduler.
///
/// Every function takes the header of a live `RawCell<F>` whose type
/// matches the table (the table is chosen from `F` when the cell is made),
/// and except for `dealloc` and `schedule` must run on the loop's thread.
struct Vtable {
    /// Poll the future once.
    poll: unsafe fn(NonNull<Header>) -> Polled,
    /// Drop the future and store `Err(Cancelled)`, or the panic of its
    /// destructor (then returns true).
    cancel: unsafe fn(NonNull<Header>) -> bool,
    /// Move the output into `*mut Result<T, TaskError>` (caller knows `T`).
    take_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Pointer to the `Result<T, TaskError>` in the stage, or null.
    output_ptr: unsafe fn(NonNull<Header>) -> *const (),
    /// Drop whatever the stage holds.
    drop_stage: unsafe fn(NonNull<Header>),
    /// Free the allocation.
    dealloc: unsafe fn(NonNull<Header>),
    /// The scheduler's wake entry point (any thread).
    schedule: fn(Notified),
    /// The scheduler's `call_soon` (loop thread).
    call_soon: fn(u32, Box<dyn FnOnce()>),
    /// The scheduler's "is this loop still open" (loop thread).
    is_open: fn(u32) -> bool,
}

/// The type-erased front of every task allocation.
pub(super) struct Header {
    vtable: &'static Vtable,
    refs: AtomicU32,
    /// Loop-thread only.
    pub(super) state: State,
    /// Which loop owns the task; with `vtable` the only fields besides
    /// `refs` that other threads read (neither ever changes).
    loop_id: u32,
    /// Index of this task in its loop's table of live tasks.
    pub(super) slot: Cell<u32>,
    pub(super) id: u64,
    pub(super) location: &'static Location<'static>,
    pub(super) join_waker: Cell<Option<Waker>>,
    pub(super) extras: Cell<Option<Box<Extras>>>,
}

// The header is one cache line: the scheduler prefetches it, and the
// benchmarks' bytes per task depend on it.
const _: () = assert!(std::mem::size_of::<Header>() <= 64);

/// What the slot holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stage {
    /// The future.
    Running,
    /// The output.
    Finished,
    /// Nothing (the output was taken, or what was there was dropped).
    Consumed,
}

/// The future, then its output, in the same bytes; `RawCell::stage` says
/// which (neither is dropped by the union itself).
union Slot<F: Future> {
    future: ManuallyDrop<F>,
    output: ManuallyDrop<Result<F::Output, TaskError>>,
}

impl<F: Future> Slot<F> {
    /// Drops the field `stage` says is live, where it lies (a pinned
    /// future is never moved).
    ///
    /// # Safety
    /// `stage` is the slot's stage; the slot counts as dropped afterwards.
    unsafe fn drop_live(&mut self, stage: Stage) {
        // SAFETY: as the caller guarantees, `stage` names the live field.
        unsafe {
            match stage {
                Stage::Running => ManuallyDrop::drop(&mut self.future),
                Stage::Finished => ManuallyDrop::drop(&mut self.output),
                Stage::Consumed => {}
            }
        }
    }
}

#[repr(C)]
struct RawCell<F: Future> {
    header: Header,
    /// Loop-thread only.
    stage: Cell<Stage>,
    /// Loop-thread only; holds what `stage` says.
    slot: UnsafeCell<Slot<F>>,
}

/// One counted reference to a task allocation, with no thread rules of its
/// own: the private core of [`Notified`] (any thread, can only be handed
/// to the loop) and [`LocalTask`](super::local::LocalTask) (loop thread,
/// can do everything). Neither `Send` nor `Sync`.
pub(super) struct RawRef {
    ptr: NonNull<Header>,
}

impl RawRef {
    /// Allocates a task for the future `make` builds, returning its first
    /// reference. The allocation comes first and `make`'s result is
    /// written straight into it: a future built here is not copied (rustc
    /// moves a future by copying all its bytes, kilobytes for one that
    /// awaits deep call chains), where a future passed by value is copied
    /// once, into the allocation.
    pub(super) fn new<F, S>(
        make: impl FnOnce() -> F,
        kind: Kind,
        loop_id: u32,
        id: u64,
        location: &'static Location<'static>,
    ) -> RawRef
    where
        F: Future + 'static,
        S: Schedule,
    {
        let mut cell = Box::<RawCell<F>>::new_uninit();
        let p = cell.as_mut_ptr();
        // SAFETY: `p` points to an allocation sized and aligned for a
        // `RawCell<F>`; each of its three fields is written exactly once
        // through a raw place (no reference to uninitialized memory is
        // made), so the whole cell is initialized at `assume_init`. Should
        // `make` panic, the box is freed as `MaybeUninit`, and the header
        // written before holds nothing that needs dropping.
        let cell = unsafe {
            std::ptr::addr_of_mut!((*p).header).write(Header {
                vtable: vtable_of::<F, S>(),
                refs: AtomicU32::new(1),
                state: State::new(kind),
                loop_id,
                slot: Cell::new(u32::MAX),
                id,
                location,
                join_waker: Cell::new(None),
                extras: Cell::new(None),
            });
            std::ptr::addr_of_mut!((*p).stage).write(Cell::new(Stage::Running));
            std::ptr::addr_of_mut!((*p).slot).write(UnsafeCell::new(Slot {
                future: ManuallyDrop::new(make()),
            }));
            cell.assume_init()
        };
        // `RawCell` is `repr(C)` with the header first, so a pointer to the
        // cell is a pointer to its header (with the whole cell's provenance).
        let ptr = NonNull::from(Box::leak(cell)).cast::<Header>();
        RawRef { ptr }
    }

    /// The header. Its `state`, `slot`, `join_waker` and `extras` are
    /// loop-thread only: `LocalTask` reaches them, `Notified` never does.
    #[inline]
    pub(super) fn header(&self) -> &Header {
        // SAFETY: we own a reference, so the allocation is alive; the
        // header is only ever accessed through shared references (its
        // mutable parts are `Cell`s and an atomic).
        unsafe { self.ptr.as_ref() }
    }

    /// The owning loop's id: readable from any thread (it never changes).
    #[inline]
    pub(super) fn loop_id(&self) -> u32 {
        self.header().loop_id
    }

    /// Hands this reference to the task's scheduler (any thread).
    #[inline]
    pub(super) fn schedule(self) {
        let schedule = self.header().vtable.schedule;
        schedule(Notified::from_raw(self));
    }

    /// Runs `f` at the task's loop's next turn, through its scheduler.
    pub(super) fn call_soon(&self, f: Box<dyn FnOnce()>) {
        (self.header().vtable.call_soon)(self.loop_id(), f)
    }

    /// Whether the task's loop is still open (can run callbacks).
    pub(super) fn loop_is_open(&self) -> bool {
        (self.header().vtable.is_open)(self.loop_id())
    }

    /// Hints the CPU to start loading the task's header into cache. The
    /// scheduler calls it for the entry after the next, so with many tasks
    /// queued the header is in cache by the time it is popped (a miss there
    /// was over half of `tick`'s time with 1M queued tasks).
    #[inline]
    pub(super) fn prefetch(&self) {
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

    /// Polls the future once.
    ///
    /// # Safety
    /// Loop thread only, and not re-entrantly (no other stage access is
    /// live): the future may be `!Send` and its stage is handed out as
    /// `&mut`.
    pub(super) unsafe fn poll(&self) -> Polled {
        // SAFETY: the vtable matches the allocation; the caller guarantees
        // the thread and exclusivity.
        unsafe { (self.header().vtable.poll)(self.ptr) }
    }

    /// Drops the future and stores `Err(TaskError::Cancelled)`; if the
    /// future's destructor panics, stores that panic instead and returns
    /// true (tokio's `JoinError::Panic`; asyncio's exception raised in a
    /// `finally` replacing `CancelledError`).
    ///
    /// # Safety
    /// As for [`RawRef::poll`].
    pub(super) unsafe fn cancel(&self) -> bool {
        // SAFETY: as for `poll`.
        unsafe { (self.header().vtable.cancel)(self.ptr) }
    }

    /// Moves the output out.
    ///
    /// # Safety
    /// As for [`RawRef::poll`]; in addition `T` must be the output type of
    /// the future this task was made from, and the stage must hold the
    /// output (complete, not taken).
    pub(super) unsafe fn take_output<T>(&self) -> Result<T, TaskError> {
        let mut out = std::mem::MaybeUninit::<Result<T, TaskError>>::uninit();
        // SAFETY: the caller guarantees thread, type and stage; `out` is
        // valid for a write of `Result<T, TaskError>`, which `take_output`
        // performs (or it panics, and `out` is never read).
        unsafe {
            (self.header().vtable.take_output)(self.ptr, out.as_mut_ptr().cast());
            out.assume_init()
        }
    }

    /// A pointer to the output in the stage, or null if there is none.
    ///
    /// # Safety
    /// As for [`RawRef::poll`]. The pointer is valid until the stage is
    /// next changed (output taken or dropped).
    pub(super) unsafe fn output_ptr(&self) -> *const () {
        // SAFETY: as for `poll`.
        unsafe { (self.header().vtable.output_ptr)(self.ptr) }
    }

    /// Drops whatever the stage holds (the future or the output) now.
    ///
    /// # Safety
    /// As for [`RawRef::poll`].
    pub(super) unsafe fn drop_stage(&self) {
        // SAFETY: as for `poll`.
        unsafe { (self.header().vtable.drop_stage)(self.ptr) }
    }

    /// Leaks this reference into a raw pointer, for a waker.
    #[cfg(test)]
    fn into_raw(self) -> *const () {
        ManuallyDrop::new(self).ptr.as_ptr() as *const ()
    }

    /// # Safety
    /// `ptr` must be a task header and carry one owned reference, which
    /// the returned `RawRef` takes over.
    unsafe fn from_raw(ptr: *const ()) -> RawRef {
        RawRef {
            // SAFETY: the caller passes a task header, never null.
            ptr: unsafe { NonNull::new_unchecked(ptr as *mut Header) },
        }
    }

    /// A waker that owns a new reference to this task.
    #[cfg(test)]
    pub(super) fn waker(&self) -> Waker {
        let raw = RawWaker::new(self.clone().into_raw(), &WAKER_VTABLE);
        // SAFETY: `raw` points to a live task header with one owned
        // reference, and its vtable is the task waker's, whose functions
        // uphold `RawWaker`'s contract (see their docs).
        unsafe { Waker::from_raw(raw) }
    }

    /// The reference count (tests only).
    #[cfg(test)]
    pub(super) fn refs(&self) -> u32 {
        self.header().refs.load(Ordering::Relaxed)
    }
}

impl Clone for RawRef {
    fn clone(&self) -> RawRef {
        self.header().incr_ref();
        RawRef { ptr: self.ptr }
    }
}

impl Drop for RawRef {
    fn drop(&mut self) {
        // Release our writes to the allocation; the thread that frees it
        // acquires them.
        if self.header().refs.fetch_sub(1, Ordering::Release) == 1 {
            std::sync::atomic::fence(Ordering::Acquire);
            // SAFETY: that was the last reference: nobody else can reach the
            // allocation, and the vtable matches it. Its `!Send` contents
            // are already gone if this is not the loop thread (module
            // invariant).
            unsafe { (self.header().vtable.dealloc)(self.ptr) }
        }
    }
}

impl Header {
    /// Runs `f` on the extras, creating them if needed.
    pub(super) fn with_extras<R>(&self, f: impl FnOnce(&mut Extras) -> R) -> R {
        let mut extras = self.extras.take().unwrap_or_default();
        let r = f(&mut extras);
        self.extras.set(Some(extras));
        r
    }

    /// The name set with `set_name`, if any.
    pub(super) fn name(&self) -> Option<Box<str>> {
        let extras = self.extras.take();
        let name = extras.as_ref().and_then(|e| e.name.clone());
        self.extras.set(extras);
        name
    }

    /// The task's name, or asyncio's default `Task-<id>`.
    pub(super) fn display_name(&self) -> String {
        let extras = self.extras.take();
        let name = match extras.as_ref().and_then(|e| e.name.as_deref()) {
            Some(n) => n.to_owned(),
            None => format!("Task-{}", self.id),
        };
        self.extras.set(extras);
        name
    }

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
}

fn vtable_of<F: Future + 'static, S: Schedule>() -> &'static Vtable {
    struct Table<F, S>(PhantomData<(F, S)>);
    impl<F: Future + 'static, S: Schedule> Table<F, S> {
        const VTABLE: Vtable = Vtable {
            poll: poll::<F>,
            cancel: cancel::<F>,
            take_output: take_output::<F>,
            output_ptr: output_ptr::<F>,
            drop_stage: drop_stage::<F>,
            dealloc: dealloc::<F>,
            schedule: S::schedule,
            call_soon: S::call_soon,
            is_open: S::is_open,
        };
    }
    &Table::<F, S>::VTABLE
}

/// The cell behind `ptr`.
///
/// # Safety
/// `ptr` points to a live `RawCell<F>`; loop thread only.
unsafe fn cell<'a, F: Future>(ptr: NonNull<Header>) -> &'a RawCell<F> {
    // SAFETY: the caller guarantees the cell type and that it is alive;
    // the header is first in the `repr(C)` cell and the pointer carries
    // the whole cell's provenance.
    unsafe { ptr.cast::<RawCell<F>>().as_ref() }
}

/// A panic caught from a destructor.
type Payload = Box<dyn std::any::Any + Send>;

/// Drops what the slot holds (the future or the output) where it lies,
/// catching a panic from a destructor, which it returns; the slot is
/// `Consumed` afterwards (already while the destructor runs).
///
/// # Safety
/// As for [`cell`]; no reference into the slot is live.
#[inline(never)]
unsafe fn drop_slot_caught<F: Future>(ptr: NonNull<Header>) -> Option<Payload> {
    // SAFETY: as the caller guarantees; `stage` says which field of the
    // slot is live. The future may be pinned, so it is dropped where it
    // lies, never moved. Marking the slot consumed first means a
    // destructor that reaches this task again finds nothing to drop, and
    // a destructor that unwinds still leaves it dropped.
    unsafe {
        let c = cell::<F>(ptr);
        let slot = c.slot.get();
        let stage = c.stage.replace(Stage::Consumed);
        panic::catch_unwind(AssertUnwindSafe(|| (*slot).drop_live(stage))).err()
    }
}

/// [`drop_slot_caught`] where nobody can receive the panic (an output
/// nobody can take, a cancelled callback, a second panic): it is logged.
///
/// # Safety
/// As for [`drop_slot_caught`].
unsafe fn drop_slot<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: as the caller guarantees.
    if let Some(p) = unsafe { drop_slot_caught::<F>(ptr) } {
        log_destructor_panic(&p);
    }
}

fn log_destructor_panic(p: &Payload) {
    tracing::error!(
        target: "solo",
        "a task's destructor panicked: {}",
        super::panic_message(&**p)
    );
}

/// Stores `out` in a slot whose content was dropped: only the output's
/// bytes are written.
///
/// # Safety
/// As for [`cell`]; the slot is `Consumed` and no reference into it is
/// live.
unsafe fn store<F: Future>(ptr: NonNull<Header>, out: Result<F::Output, TaskError>) {
    // SAFETY: as the caller guarantees: nothing in the slot is live, so
    // writing the output field overwrites nothing.
    unsafe {
        let c = cell::<F>(ptr);
        std::ptr::addr_of_mut!((*c.slot.get()).output).write(ManuallyDrop::new(out));
        c.stage.set(Stage::Finished);
    }
}

/// Drops the future and stores what the task ends with: `out`, or, if the
/// future's destructor panics, that panic (as tokio does; asyncio's
/// exception raised in a `finally` replaces the return value or the
/// `CancelledError`). Returns whether it stored a panic of the
/// destructor.
///
/// # Safety
/// As for [`drop_slot_caught`]; the slot holds the future.
unsafe fn finish<F: Future>(ptr: NonNull<Header>, out: Result<F::Output, TaskError>) -> bool {
    // SAFETY: as the caller guarantees.
    unsafe {
        match drop_slot_caught::<F>(ptr) {
            None => {
                store::<F>(ptr, out);
                false
            }
            Some(p) => {
                // The value the destructor's panic replaces.
                if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| drop(out))) {
                    log_destructor_panic(&p);
                }
                store::<F>(ptr, Err(error_for(ptr, Some(p))));
                true
            }
        }
    }
}

/// The error a task that ends without a value stores: it names the task.
///
/// # Safety
/// `ptr` is the header of a live task; loop thread only.
unsafe fn error_for(ptr: NonNull<Header>, payload: Option<Payload>) -> TaskError {
    // SAFETY: as the caller guarantees.
    let h = unsafe { ptr.as_ref() };
    let name = h.name();
    match payload {
        None => TaskError::cancelled(h.id, name),
        Some(p) => TaskError::panicked(h.id, name, p),
    }
}

/// # Safety
/// `ptr` points to a live `RawCell<F>` whose reference the caller holds;
/// loop thread only; no stage access is live.
unsafe fn poll<F: Future>(ptr: NonNull<Header>) -> Polled {
    // SAFETY: as the caller guarantees (for the whole block), and the
    // waker's vtable functions uphold `RawWaker`'s contract.
    unsafe {
        // A waker that borrows the caller's reference: no count change
        // unless the future clones it. `ManuallyDrop` keeps it from
        // releasing a reference it does not own.
        let waker = ManuallyDrop::new(Waker::from_raw(RawWaker::new(
            ptr.as_ptr() as *const (),
            &WAKER_VTABLE,
        )));
        let mut cx = Context::from_waker(&waker);
        let c = cell::<F>(ptr);
        if c.stage.get() != Stage::Running {
            return Polled::Finished;
        }
        // The future lives in the heap block until it is dropped in place,
        // so it never moves: pinning it is sound.
        let fut = Pin::new_unchecked(&mut *(*c.slot.get()).future);
        match panic::catch_unwind(AssertUnwindSafe(|| fut.poll(&mut cx))) {
            Ok(Poll::Pending) => Polled::Pending,
            Ok(Poll::Ready(out)) => {
                if finish::<F>(ptr, Ok(out)) {
                    Polled::Panicked
                } else {
                    Polled::Finished
                }
            }
            Err(payload) => {
                // The poll's panic is what the task ends with; one from the
                // destructor after it is only logged.
                drop_slot::<F>(ptr);
                store::<F>(ptr, Err(error_for(ptr, Some(payload))));
                Polled::Panicked
            }
        }
    }
}

/// # Safety
/// As for [`poll`].
unsafe fn cancel<F: Future>(ptr: NonNull<Header>) -> bool {
    // SAFETY: as the caller guarantees. The cancellation error is made
    // before the drop: a destructor may rename the task, the error names
    // it as it was when cancelled (a panic's error is made after).
    unsafe {
        let err = error_for(ptr, None);
        finish::<F>(ptr, Err(err))
    }
}

/// # Safety
/// As for [`poll`]; `dst` is valid for a write of
/// `Result<F::Output, TaskError>`.
unsafe fn take_output<F: Future>(ptr: NonNull<Header>, dst: *mut ()) {
    // SAFETY: as the caller guarantees.
    unsafe {
        let c = cell::<F>(ptr);
        // Callers ask the state word first (`Join::Ready`).
        assert_eq!(c.stage.get(), Stage::Finished, "task output taken twice");
        c.stage.set(Stage::Consumed);
        let out = ManuallyDrop::into_inner(std::ptr::addr_of!((*c.slot.get()).output).read());
        dst.cast::<Result<F::Output, TaskError>>().write(out);
    }
}

/// # Safety
/// As for [`poll`].
unsafe fn output_ptr<F: Future>(ptr: NonNull<Header>) -> *const () {
    // SAFETY: as the caller guarantees.
    unsafe {
        let c = cell::<F>(ptr);
        match c.stage.get() {
            Stage::Finished => {
                let out: *const Result<F::Output, TaskError> = &*(*c.slot.get()).output;
                out.cast()
            }
            _ => std::ptr::null(),
        }
    }
}

/// # Safety
/// As for [`poll`].
unsafe fn drop_stage<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: as the caller guarantees.
    unsafe { drop_slot::<F>(ptr) }
}

/// # Safety
/// `ptr` is the header of a `RawCell<F>` made by `RawRef::new` whose last
/// reference is gone; its `!Send` contents were dropped on the loop thread
/// unless this is the loop thread.
unsafe fn dealloc<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: as the caller guarantees; the allocation came from
    // `Box<RawCell<F>>` in `RawRef::new` and the pointer carries the
    // whole cell's provenance. `stage` says which field of the slot is
    // still live (normally none: the loop drops it first), and the union
    // does not drop it by itself.
    unsafe {
        let mut cell = Box::from_raw(ptr.cast::<RawCell<F>>().as_ptr());
        let stage = cell.stage.get();
        cell.slot.get_mut().drop_live(stage);
        drop(cell)
    }
}

// ---- the waker ---------------------------------------------------------

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_waker, wake_owned, wake_by_ref, drop_waker);

/// # Safety
/// `data` is the header of a live task, and the waker being cloned owns
/// (or borrows from the poll harness) a reference to it. Any thread: only
/// the atomic count is touched.
unsafe fn clone_waker(data: *const ()) -> RawWaker {
    // SAFETY: as the caller guarantees: the header is alive.
    unsafe { (*(data as *const Header)).incr_ref() };
    RawWaker::new(data, &WAKER_VTABLE)
}

/// # Safety
/// `data` is the header of a live task and carries one owned reference,
/// which this consumes. Any thread: the reference goes to the scheduler as
/// a `Notified`, which reads only immutable fields off the loop thread.
unsafe fn wake_owned(data: *const ()) {
    // SAFETY: as the caller guarantees.
    unsafe { RawRef::from_raw(data) }.schedule();
}

/// # Safety
/// As for [`clone_waker`].
unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the header is alive; the clone's reference is the one
    // `wake_owned` hands to the scheduler, the caller keeps its own.
    unsafe {
        let _ = clone_waker(data);
        wake_owned(data);
    }
}

/// # Safety
/// `data` is the header of a live task and carries one owned reference,
/// which this releases. Any thread (see the module's invariant on a
/// foreign free).
unsafe fn drop_waker(data: *const ()) {
    // SAFETY: as the caller guarantees.
    drop(unsafe { RawRef::from_raw(data) });
}

/// The output of a done callback's task, given the pointer the callback
/// received.
///
/// # Safety
/// `out` must point to a live `Result<T, TaskError>` that stays put and
/// unchanged for `'a`.
pub(super) unsafe fn callback_arg<'a, T>(out: *const ()) -> &'a Result<T, TaskError> {
    // SAFETY: guaranteed by the caller.
    unsafe { &*(out as *const Result<T, TaskError>) }
}
