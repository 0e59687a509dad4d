//! Tasks: the handle users hold, its error type, and task introspection.
//!
//! Owns: the public face of a task ([`Task`], [`TaskError`], [`TaskInfo`]).
//! The state machine lives in `state`, the memory in `raw`, the thread
//! rules and the harness in `local`; scheduling lives in `runtime`, behind
//! the `Schedule` seam. Must not: poll a task (only the loop does).
//!
//! Every `unsafe` block of the task core is in this module (`raw.rs`,
//! `local.rs`, and the two typed casts below).

mod error;
mod local;
mod raw;
mod state;

pub(crate) use error::panic_message;
pub use error::TaskError;

pub(crate) use local::{Current, LocalTask, LoopToken, Notified, Ran, Schedule};
pub(crate) use state::{CancelRequest, Kind};

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use raw::Header;
use state::Snapshot;

/// A task's id, unique within its loop, in spawn order.
///
/// ```
/// solo::run(async {
///     let a = solo::spawn(async {});
///     let b = solo::spawn(async {});
///     assert!(a.id() < b.id());
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub(super) u64);

impl TaskId {
    /// The number behind the id.
    ///
    /// ```
    /// solo::run(async { assert!(solo::spawn(async {}).id().as_u64() >= 1) });
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a task stands.
///
/// ```
/// solo::run(async {
///     let t = solo::spawn(async {});
///     assert_eq!(t.state(), solo::TaskState::Scheduled);
///     solo::yield_now().await;
///     assert_eq!(t.state(), solo::TaskState::Finished);
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting for something to wake it.
    Pending,
    /// In the ready queue.
    Scheduled,
    /// Being polled right now.
    Running,
    /// Finished with a value.
    Finished,
    /// Finished by cancellation.
    Cancelled,
    /// Finished by a panic.
    Panicked,
}

impl TaskState {
    fn of(s: Snapshot) -> TaskState {
        if s.is_complete() {
            if s.is_cancelled() {
                TaskState::Cancelled
            } else if s.is_panicked() {
                TaskState::Panicked
            } else {
                TaskState::Finished
            }
        } else if s.is_running() {
            TaskState::Running
        } else if s.is_scheduled() {
            TaskState::Scheduled
        } else {
            TaskState::Pending
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
            TaskState::Finished => "finished",
            TaskState::Cancelled => "cancelled",
            TaskState::Panicked => "panicked",
        }
    }
}

/// A snapshot of a task: what [`current_task`](crate::current_task) and
/// [`all_tasks`](crate::all_tasks) return.
///
/// Its `Display` reads like asyncio's task repr:
/// `<Task pending name='Task-3' id=3 spawned at src/main.rs:10:5>`.
///
/// ```
/// solo::run(async {
///     let t = solo::spawn(std::future::pending::<()>());
///     t.set_name("fetcher");
///     let info = &solo::all_tasks()[0];
///     assert_eq!(info.name(), "fetcher");
///     assert_eq!(info.id(), t.id());
///     assert!(info.to_string().starts_with("<Task scheduled name='fetcher'"));
/// });
/// ```
#[derive(Clone, Debug)]
pub struct TaskInfo {
    id: TaskId,
    name: String,
    state: TaskState,
    location: &'static Location<'static>,
}

impl TaskInfo {
    fn of(h: &Header) -> TaskInfo {
        TaskInfo {
            id: TaskId(h.id),
            name: h.display_name(),
            state: TaskState::of(h.state.load()),
            location: h.location,
        }
    }

    /// The task's id.
    ///
    /// ```
    /// solo::run(async { assert!(solo::spawn(async { solo::current_task().unwrap().id() }).await.is_ok()) });
    /// ```
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name (`Task-<id>` unless set).
    ///
    /// ```
    /// solo::run(async { assert!(solo::spawn(async { solo::current_task().unwrap().name().to_owned() }).await.unwrap().starts_with("Task-")) });
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The task's state when the snapshot was taken.
    ///
    /// ```
    /// solo::run(async {
    ///     let s = solo::spawn(async { solo::current_task().unwrap().state() }).await.unwrap();
    ///     assert_eq!(s, solo::TaskState::Running);
    /// });
    /// ```
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// Where `spawn` was called.
    ///
    /// ```
    /// solo::run(async {
    ///     let t = solo::spawn(async { solo::current_task().unwrap().location().line() });
    ///     assert_eq!(t.await.unwrap(), line!() - 1);
    /// });
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Task {} name='{}' id={} spawned at {}>",
            self.state.as_str(),
            self.name,
            self.id,
            self.location
        )
    }
}

/// A handle to a spawned task (asyncio's `Task`).
///
/// Awaiting it gives the task's output, or [`TaskError`] if it was
/// cancelled or panicked. Dropping it detaches the task: it keeps running.
/// `Task` is not `Send`: it belongs to its loop's thread.
///
/// # Panics
/// Awaited while unfinished inside another running loop (made by another
/// [`EventLoop`](crate::EventLoop) on the same thread), where it could
/// never finish: asyncio's "attached to a different loop".
///
/// ```
/// solo::run(async {
///     let t = solo::spawn(async { 6 * 7 });
///     assert!(!t.is_done());
///     assert_eq!(t.await.unwrap(), 42);
/// });
/// ```
///
/// The compiler keeps a handle on its loop's thread (cancelling, joining
/// and dropping it touch the task's loop-only state):
///
/// ```compile_fail
/// solo::run(async {
///     let t = solo::spawn(async { 1 });
///     std::thread::spawn(move || t.cancel()); // error: `Task` is not `Send`
/// });
/// ```
pub struct Task<T> {
    raw: LocalTask,
    _marker: PhantomData<T>,
}

/// Allocates a task for the future `make` builds (in place) on `token`'s
/// loop, scheduled by `S`: returns its handle and the loop's reference,
/// to push onto the ready queue (the task is born scheduled).
pub(crate) fn new_task<F, S>(
    make: impl FnOnce() -> F,
    token: &LoopToken,
    id: u64,
    location: &'static Location<'static>,
) -> (Task<F::Output>, LocalTask)
where
    F: Future + 'static,
    S: Schedule,
{
    let raw = LocalTask::new::<F, S>(make, token, Kind::Task, id, location);
    let handle = Task {
        raw: raw.clone(),
        _marker: PhantomData,
    };
    (handle, raw)
}

impl<T> Task<T> {
    pub(crate) fn raw(&self) -> &LocalTask {
        &self.raw
    }

    /// Requests cancellation: the task's future is dropped at its next
    /// scheduling point (its destructors run) and awaiting the task gives
    /// an error whose [`TaskError::is_cancelled`] is true, or, if one of
    /// those destructors panics, that panic ([`TaskError::is_panic`], as
    /// tokio's `JoinError`). Returns false if the task already finished.
    ///
    /// ```
    /// solo::run(async {
    ///     let t = solo::spawn(solo::sleep(std::time::Duration::from_secs(10)));
    ///     assert!(t.cancel());
    ///     assert!(t.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        self.raw.cancel()
    }

    /// True once the task finished (with a value, a panic, or cancelled).
    ///
    /// ```
    /// solo::run(async {
    ///     let t = solo::spawn(async {});
    ///     solo::yield_now().await;
    ///     assert!(t.is_done());
    /// });
    /// ```
    pub fn is_done(&self) -> bool {
        self.raw.snapshot().is_complete()
    }

    /// True if the task finished by cancellation.
    ///
    /// ```
    /// solo::run(async {
    ///     let t = solo::spawn(std::future::pending::<()>());
    ///     t.cancel();
    ///     solo::yield_now().await;
    ///     assert!(t.is_cancelled());
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.raw.snapshot().is_cancelled()
    }

    /// Where the task stands now.
    ///
    /// ```
    /// solo::run(async {
    ///     let t = solo::spawn(std::future::pending::<()>());
    ///     solo::yield_now().await;
    ///     assert_eq!(t.state(), solo::TaskState::Pending);
    /// });
    /// ```
    pub fn state(&self) -> TaskState {
        TaskState::of(self.raw.snapshot())
    }

    /// The task's id.
    ///
    /// ```
    /// solo::run(async { let t = solo::spawn(async {}); println!("{}", t.id()); });
    /// ```
    pub fn id(&self) -> TaskId {
        TaskId(self.raw.id())
    }

    /// The task's name: the one set with [`set_name`](Task::set_name), or
    /// `Task-<id>`.
    ///
    /// ```
    /// solo::run(async { let t = solo::spawn(async {}); assert_eq!(t.name(), format!("Task-{}", t.id())); });
    /// ```
    pub fn name(&self) -> String {
        self.raw.display_name()
    }

    /// Names the task (shown by debug mode, `all_tasks`, and `TaskInfo`).
    ///
    /// ```
    /// solo::run(async { let t = solo::spawn(async {}); t.set_name("crawler"); assert_eq!(t.name(), "crawler"); });
    /// ```
    pub fn set_name(&self, name: impl Into<String>) {
        let name: String = name.into();
        self.raw.set_name(name.into_boxed_str());
    }

    /// Where the task was spawned.
    ///
    /// ```
    /// solo::run(async { let t = solo::spawn(async {}); assert_eq!(t.location().line(), line!()); });
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.raw.location()
    }

    /// Snapshot of the task for logs.
    ///
    /// ```
    /// solo::run(async { let t = solo::spawn(async {}); assert_eq!(t.info().id(), t.id()); });
    /// ```
    pub fn info(&self) -> TaskInfo {
        self.raw.info()
    }
}

impl<T: 'static> Task<T> {
    /// Adds a callback that runs once, after the task finishes, with its
    /// result; callbacks run in the order they were added. As in asyncio,
    /// they are scheduled when the task finishes (or, on a task that
    /// already finished, when added) and run at the loop's next turn — or
    /// just before an `.await` of this handle returns, whichever comes
    /// first.
    /// If the output was already taken by awaiting this handle, the
    /// callback is dropped without running. Callbacks go to the task's own
    /// loop, running or not: one added between two
    /// [`run_until_complete`](crate::EventLoop::run_until_complete) calls
    /// runs at that loop's next turn.
    ///
    /// # Panics
    ///
    /// When the task's loop is closed: the callback could never run
    /// (asyncio raises `RuntimeError("Event loop is closed")`).
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// solo::run(async {
    ///     let seen = Rc::new(RefCell::new(Vec::new()));
    ///     let t = solo::spawn(async { "page" });
    ///     let s = seen.clone();
    ///     t.add_done_callback(move |r| s.borrow_mut().push(*r.as_ref().unwrap()));
    ///     t.await.unwrap();
    ///     assert_eq!(*seen.borrow(), ["page"]);
    /// });
    /// ```
    #[track_caller]
    pub fn add_done_callback(&self, f: impl FnOnce(&Result<T, TaskError>) + 'static) {
        if !self.raw.loop_is_open() {
            panic!(
                "add_done_callback on {}: its event loop (loop {}) is closed, so the \
                 callback could never run (asyncio: \"Event loop is closed\")",
                self.info(),
                self.raw.loop_id()
            );
        }
        let cb: raw::ErasedCallback = Box::new(move |out: *const ()| {
            // SAFETY: the harness passes a pointer to this task's output,
            // which stays put while callbacks run, and whose type is
            // `Result<T, TaskError>` because `self` is a `Task<T>`.
            f(unsafe { raw::callback_arg::<T>(out) })
        });
        self.raw.add_callback(cb);
    }
}

// The handle holds no `T` inline: it is a pointer to the task.
impl<T> Unpin for Task<T> {}

impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if !self.is_done() {
            self.refuse_other_loop();
        }
        // SAFETY: a `Task<T>` is only made (`from_raw`) for a future whose
        // output is `T`.
        unsafe { self.raw.poll_join::<T>(cx) }
    }
}

impl<T> Task<T> {
    /// asyncio's "Task got Future attached to a different loop": awaited
    /// inside another running loop, an unfinished task would wake its
    /// awaiter only when its own loop runs again, which may be never.
    /// (Polled outside any loop, e.g. by `block_on`, it is left to wake
    /// the awaiter from its own loop.)
    fn refuse_other_loop(&self) {
        let own = self.raw.loop_id();
        if let Some(running) = crate::runtime::try_with_core(|c| c.id) {
            if running != own {
                panic!(
                    "{} belongs to another event loop (loop {own}) and was awaited in loop \
                     {running}, where it would never finish: await a task in the loop \
                     that spawned it (asyncio: \"attached to a different loop\")",
                    self.info()
                );
            }
        }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.raw.detach();
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.info(), f)
    }
}
