//! `TaskGroup`: structured concurrency (asyncio 3.11's `TaskGroup`).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::Location;
use std::rc::Rc;
use std::task::{Poll, Waker};

use super::CatchUnwind;
use crate::runtime::with_core;
use crate::task::raw::{self, TaskRef};
use crate::task::{cancel_raw, panic_message};
use crate::Task;

/// Why a [`TaskGroup`] failed: the first task that returned `Err` or
/// panicked.
///
/// ```
/// let e: solo::TaskGroupError<&str> = solo::TaskGroupError::Failed("no route");
/// assert_eq!(e.to_string(), "task group failed: no route");
/// ```
pub enum TaskGroupError<E> {
    /// A task returned `Err(e)`.
    Failed(E),
    /// A task panicked; the payload is what `panic!` was given.
    Panicked(Box<dyn Any + Send + 'static>),
}

impl<E> TaskGroupError<E> {
    /// The error a task returned, if that is what ended the group.
    ///
    /// ```
    /// assert_eq!(solo::TaskGroupError::Failed(3).into_failed(), Some(3));
    /// ```
    pub fn into_failed(self) -> Option<E> {
        match self {
            TaskGroupError::Failed(e) => Some(e),
            TaskGroupError::Panicked(_) => None,
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for TaskGroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskGroupError::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
            TaskGroupError::Panicked(p) => write!(f, "Panicked({:?})", panic_message(&**p)),
        }
    }
}

impl<E: fmt::Display> fmt::Display for TaskGroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskGroupError::Failed(e) => write!(f, "task group failed: {e}"),
            TaskGroupError::Panicked(p) => {
                write!(
                    f,
                    "task group failed: a task panicked: {}",
                    panic_message(&**p)
                )
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for TaskGroupError<E> {}

struct Inner<E> {
    /// Members whose future has not been dropped yet.
    live: Cell<usize>,
    tasks: RefCell<Vec<TaskRef>>,
    error: RefCell<Option<TaskGroupError<E>>>,
    failed: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl<E> Inner<E> {
    fn fail(&self, e: TaskGroupError<E>) {
        if !self.failed.replace(true) {
            *self.error.borrow_mut() = Some(e);
            self.cancel_all();
        }
    }

    fn cancel_all(&self) {
        let tasks = self.tasks.borrow().clone();
        for t in &tasks {
            cancel_raw(t);
        }
    }
}

/// Counts a member as gone when its future is dropped, however it ended.
struct MemberGuard<E> {
    group: Rc<Inner<E>>,
}

impl<E> Drop for MemberGuard<E> {
    fn drop(&mut self) {
        let live = self.group.live.get() - 1;
        self.group.live.set(live);
        if live == 0 {
            if let Some(w) = self.group.waker.take() {
                w.wake();
            }
        }
    }
}

/// Tasks that are awaited together; the first failure cancels the rest
/// (asyncio's `async with TaskGroup() as tg`).
///
/// Spawn fallible futures with [`spawn`](TaskGroup::spawn), then
/// [`join`](TaskGroup::join). When a task returns `Err` or panics, every
/// other task of the group is cancelled and `join` returns that first
/// failure once they are all gone. Dropping the group without joining
/// cancels its tasks (so does cancelling the task that awaits `join`).
///
/// ```
/// use std::time::Duration;
/// solo::run(async {
///     let group = solo::TaskGroup::new();
///     let a = group.spawn(async { solo::sleep(Duration::from_millis(5)).await; Ok::<_, String>(1) });
///     let b = group.spawn(async { Ok(2) });
///     group.join().await.unwrap();
///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
///
///     let group = solo::TaskGroup::new();
///     let slow = group.spawn(async { solo::sleep(Duration::from_secs(60)).await; Ok(()) });
///     group.spawn(async { Err::<(), _>("lost connection") });
///     let err = group.join().await.unwrap_err();
///     assert_eq!(err.into_failed(), Some("lost connection"));
///     assert!(slow.await.unwrap_err().is_cancelled());
/// });
/// ```
pub struct TaskGroup<E> {
    inner: Rc<Inner<E>>,
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("live", &self.inner.live.get())
            .field("failed", &self.inner.failed.get())
            .finish()
    }
}

impl<E> Default for TaskGroup<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> TaskGroup<E> {
    /// An empty group.
    ///
    /// ```
    /// let g: solo::TaskGroup<std::io::Error> = solo::TaskGroup::new();
    /// assert_eq!(g.len(), 0);
    /// ```
    pub fn new() -> Self {
        TaskGroup {
            inner: Rc::new(Inner {
                live: Cell::new(0),
                tasks: RefCell::new(Vec::new()),
                error: RefCell::new(None),
                failed: Cell::new(false),
                waker: Cell::new(None),
            }),
        }
    }

    /// Tasks of the group that have not finished.
    ///
    /// ```
    /// solo::run(async {
    ///     let g = solo::TaskGroup::<()>::new();
    ///     let _t = g.spawn(async { Ok(()) });
    ///     assert_eq!(g.len(), 1);
    ///     g.join().await.unwrap();
    ///     assert_eq!(g.len(), 0);
    /// });
    /// ```
    pub fn len(&self) -> usize {
        self.inner.live.get()
    }

    /// True when no task of the group is running.
    ///
    /// ```
    /// assert!(solo::TaskGroup::<()>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cancels every task of the group; `join` then returns `Ok` unless a
    /// task had already failed.
    ///
    /// ```
    /// solo::run(async {
    ///     let g = solo::TaskGroup::<()>::new();
    ///     let t = g.spawn(async { std::future::pending::<()>().await; Ok(()) });
    ///     g.cancel();
    ///     g.join().await.unwrap();
    ///     assert!(t.is_cancelled());
    /// });
    /// ```
    pub fn cancel(&self) {
        self.inner.cancel_all();
    }

    /// Waits until every task of the group has finished. Returns the first
    /// failure, if any task failed (the others were cancelled by then).
    ///
    /// ```
    /// solo::run(async {
    ///     let g = solo::TaskGroup::<String>::new();
    ///     for i in 0..3 {
    ///         g.spawn(async move { Ok(i) });
    ///     }
    ///     assert!(g.join().await.is_ok());
    /// });
    /// ```
    pub async fn join(&self) -> Result<(), TaskGroupError<E>> {
        poll_fn(|cx| {
            if self.inner.live.get() == 0 {
                self.inner.tasks.borrow_mut().clear();
                return Poll::Ready(());
            }
            self.inner.waker.set(Some(cx.waker().clone()));
            Poll::Pending
        })
        .await;
        match self.inner.error.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl<E: 'static> TaskGroup<E> {
    /// Spawns `future` as a task of the group and returns its handle.
    ///
    /// The handle's output is the `Ok` value; if the future returns
    /// `Err(e)`, `e` becomes the group's failure and the handle reports
    /// the task as cancelled. Spawning into a group that already failed
    /// gives a task that is cancelled before it runs.
    ///
    /// ```
    /// solo::run(async {
    ///     let g = solo::TaskGroup::<std::num::ParseIntError>::new();
    ///     let n = g.spawn(async { "42".parse::<u32>() });
    ///     g.join().await.unwrap();
    ///     assert_eq!(n.await.unwrap(), 42);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(&self, future: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        let location = Location::caller();
        let inner = self.inner.clone();
        inner.live.set(inner.live.get() + 1);
        let guard = MemberGuard {
            group: inner.clone(),
        };
        let member = async move {
            let guard = guard;
            match CatchUnwind::new(future).await {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => {
                    guard.group.fail(TaskGroupError::Failed(e));
                    // `fail` cancelled this task too: it never resumes.
                    std::future::pending().await
                }
                Err(p) => {
                    guard.group.fail(TaskGroupError::Panicked(p));
                    std::future::pending().await
                }
            }
        };
        let task = with_core(|core| core.spawn(member, location));
        let mut tasks = self.inner.tasks.borrow_mut();
        if tasks.len() >= 32 && tasks.len() > 2 * self.inner.live.get() {
            tasks.retain(|t| t.header().state() & raw::COMPLETE == 0);
        }
        tasks.push(task.raw().clone());
        drop(tasks);
        if self.inner.failed.get() {
            task.cancel();
        }
        task
    }
}

impl<E> Drop for TaskGroup<E> {
    fn drop(&mut self) {
        if self.inner.live.get() > 0 {
            self.inner.cancel_all();
        }
    }
}
