//! Tasks: the handle users hold, its error type, and task introspection.
//!
//! Owns: the public face of a task ([`Task`], [`TaskError`], [`TaskInfo`]).
//! The memory and state machine live in `raw`; scheduling lives in
//! `runtime`. Must not: poll a task (only the loop does).

pub(crate) mod raw;

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use raw::{Header, TaskRef};

/// Why a task has no value: it was cancelled, or it panicked.
///
/// asyncio's `CancelledError` and "the task's exception".
///
/// ```
/// solo::run(async {
///     let t = solo::spawn(std::future::pending::<()>());
///     t.cancel();
///     let err = t.await.unwrap_err();
///     assert!(err.is_cancelled());
///     assert_eq!(err.to_string(), "task was cancelled");
/// });
/// ```
pub enum TaskError {
    /// The task was cancelled before it finished.
    Cancelled,
    /// The task panicked; the payload is what `panic!` was given.
    Panicked(Box<dyn Any + Send + 'static>),
}

impl TaskError {
    /// True for [`TaskError::Cancelled`].
    ///
    /// ```
    /// assert!(solo::TaskError::Cancelled.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// True for [`TaskError::Panicked`].
    ///
    /// ```
    /// assert!(!solo::TaskError::Cancelled.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }

    /// The panic payload, for `std::panic::resume_unwind`. Returns the
    /// error back if it is a cancellation.
    ///
    /// ```
    /// let e = solo::TaskError::Panicked(Box::new("boom"));
    /// let payload = e.try_into_panic().ok().unwrap();
    /// assert_eq!(*payload.downcast::<&str>().unwrap(), "boom");
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, TaskError> {
        match self {
            TaskError::Panicked(p) => Ok(p),
            e => Err(e),
        }
    }

    /// The panic message, if the task panicked with a string.
    ///
    /// ```
    /// let e = solo::TaskError::Panicked(Box::new(String::from("bad input")));
    /// assert_eq!(e.panic_message(), Some("bad input"));
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            TaskError::Panicked(p) => p
                .downcast_ref::<&'static str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str)),
            TaskError::Cancelled => None,
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("Cancelled"),
            TaskError::Panicked(p) => write!(f, "Panicked({:?})", panic_message(&**p)),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("task was cancelled"),
            TaskError::Panicked(p) => write!(f, "task panicked: {}", panic_message(&**p)),
        }
    }
}

impl std::error::Error for TaskError {}

/// A readable message for a panic payload.
pub(crate) fn panic_message(p: &(dyn Any + Send)) -> &str {
    p.downcast_ref::<&'static str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<non-string panic payload>")
}

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
pub struct TaskId(u64);

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
    fn of(h: &Header) -> TaskState {
        let s = h.state();
        if s & raw::COMPLETE != 0 {
            if s & raw::CANCELLED != 0 {
                TaskState::Cancelled
            } else if s & raw::PANICKED != 0 {
                TaskState::Panicked
            } else {
                TaskState::Finished
            }
        } else if s & raw::RUNNING != 0 {
            TaskState::Running
        } else if s & raw::SCHEDULED != 0 {
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
    pub(crate) fn of(h: &Header) -> TaskInfo {
        TaskInfo {
            id: TaskId(h.id()),
            name: h.display_name(),
            state: TaskState::of(h),
            location: h.location(),
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
/// ```
/// solo::run(async {
///     let t = solo::spawn(async { 6 * 7 });
///     assert!(!t.is_done());
///     assert_eq!(t.await.unwrap(), 42);
/// });
/// ```
pub struct Task<T> {
    raw: TaskRef,
    _marker: PhantomData<(T, *const ())>,
}

impl<T> Task<T> {
    pub(crate) fn from_raw(raw: TaskRef) -> Task<T> {
        Task {
            raw,
            _marker: PhantomData,
        }
    }

    pub(crate) fn raw(&self) -> &TaskRef {
        &self.raw
    }

    /// Requests cancellation: the task's future is dropped at its next
    /// scheduling point (its destructors run) and awaiting the task gives
    /// `Err(TaskError::Cancelled)`. Returns false if the task already
    /// finished.
    ///
    /// ```
    /// solo::run(async {
    ///     let t = solo::spawn(solo::sleep(std::time::Duration::from_secs(10)));
    ///     assert!(t.cancel());
    ///     assert!(t.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        cancel_raw(&self.raw)
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
        self.raw.header().state() & raw::COMPLETE != 0
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
        self.raw.header().state() & raw::CANCELLED != 0
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
        TaskState::of(self.raw.header())
    }

    /// The task's id.
    ///
    /// ```
    /// solo::run(async { let t = solo::spawn(async {}); println!("{}", t.id()); });
    /// ```
    pub fn id(&self) -> TaskId {
        TaskId(self.raw.header().id())
    }

    /// The task's name: the one set with [`set_name`](Task::set_name), or
    /// `Task-<id>`.
    ///
    /// ```
    /// solo::run(async { let t = solo::spawn(async {}); assert_eq!(t.name(), format!("Task-{}", t.id())); });
    /// ```
    pub fn name(&self) -> String {
        self.raw.header().display_name()
    }

    /// Names the task (shown by debug mode, `all_tasks`, and `TaskInfo`).
    ///
    /// ```
    /// solo::run(async { let t = solo::spawn(async {}); t.set_name("crawler"); assert_eq!(t.name(), "crawler"); });
    /// ```
    pub fn set_name(&self, name: impl Into<String>) {
        let name: String = name.into();
        self.raw
            .header()
            .with_extras(|e| e.name = Some(name.into_boxed_str()));
    }

    /// Where the task was spawned.
    ///
    /// ```
    /// solo::run(async { let t = solo::spawn(async {}); assert_eq!(t.location().line(), line!()); });
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.raw.header().location()
    }

    /// Snapshot of the task for logs.
    ///
    /// ```
    /// solo::run(async { let t = solo::spawn(async {}); assert_eq!(t.info().id(), t.id()); });
    /// ```
    pub fn info(&self) -> TaskInfo {
        TaskInfo::of(self.raw.header())
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
    /// callback is dropped without running.
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
    pub fn add_done_callback(&self, f: impl FnOnce(&Result<T, TaskError>) + 'static) {
        let h = self.raw.header();
        if h.state() & raw::OUTPUT_TAKEN != 0 {
            return;
        }
        let cb: raw::ErasedCallback = Box::new(move |out: *const ()| {
            // SAFETY: the loop passes a pointer to this task's output, whose
            // type is `Result<T, TaskError>` because `self` is a `Task<T>`.
            f(unsafe { raw::callback_arg::<T>(out) })
        });
        h.push_callback(cb);
        if h.state() & raw::COMPLETE != 0 {
            schedule_callbacks(self.raw.clone());
        }
    }
}

/// Runs the done callbacks of a finished task at the loop's next turn
/// (asyncio's `call_soon` of each callback), then frees the output if
/// nobody can take it any more.
pub(crate) fn schedule_callbacks(task: TaskRef) {
    crate::call_soon(move || {
        task.run_callbacks();
        let h = task.header();
        if h.state() & (raw::DETACHED | raw::OUTPUT_TAKEN) == raw::DETACHED {
            h.insert(raw::OUTPUT_TAKEN);
            task.drop_stage();
        }
    });
}

pub(crate) fn cancel_raw(task: &TaskRef) -> bool {
    let h = task.header();
    let s = h.state();
    if s & raw::COMPLETE != 0 {
        return false;
    }
    if s & raw::CANCEL_REQUESTED == 0 {
        h.insert(raw::CANCEL_REQUESTED);
        crate::runtime::schedule(task.clone());
    }
    true
}

// The handle holds no `T` inline: it is a pointer to the task.
impl<T> Unpin for Task<T> {}

impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let h = self.raw.header();
        let s = h.state();
        if s & raw::COMPLETE == 0 {
            h.set_join_waker(cx.waker());
            return Poll::Pending;
        }
        assert!(
            s & raw::OUTPUT_TAKEN == 0,
            "Task polled after it returned its output"
        );
        // Late done callbacks see the output before it moves.
        self.raw.run_callbacks();
        h.insert(raw::OUTPUT_TAKEN);
        if s & raw::PANICKED != 0 {
            h.insert(raw::PANIC_RETRIEVED);
        }
        // SAFETY: `Task<T>` is only made from a future with output `T`
        // (`Core::spawn`), the task is complete and its output not taken.
        Poll::Ready(unsafe { self.raw.take_output::<T>() })
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        let h = self.raw.header();
        h.insert(raw::DETACHED);
        let s = h.state();
        if s & raw::COMPLETE != 0 && s & raw::OUTPUT_TAKEN == 0 && !h.has_callbacks() {
            h.insert(raw::OUTPUT_TAKEN);
            self.raw.drop_stage();
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.info(), f)
    }
}
