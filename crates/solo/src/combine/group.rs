//! `TaskGroup`: structured concurrency (asyncio 3.11's `TaskGroup`).
//!
//! Owns: the group's membership, when it fails and aborts, `join` and
//! `run`. Must not: poll member tasks itself (they are tasks of the loop).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::Location;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use super::group_error::{ChildError, TaskGroupError};
use super::CatchUnwind;
use crate::runtime::with_core;
use crate::sync::Event;
use crate::task::LocalTask;
use crate::{Task, TaskError};

struct Inner<E> {
    /// Members whose future has not been dropped yet.
    live: Cell<usize>,
    tasks: RefCell<Vec<LocalTask>>,
    /// Every failure, in order, until a `join` takes them.
    errors: RefCell<Vec<ChildError<E>>>,
    /// How many failures a `join` took: later joins report as many.
    reported: Cell<usize>,
    /// A member failed: the group is aborting.
    failed: Cell<bool>,
    /// `join` returned: no more members.
    closed: Cell<bool>,
    /// Set while no member is live: every `join` waits on it.
    empty: Event,
    /// `run`'s waker: woken at the first failure, to drop the body.
    body_waker: Cell<Option<Waker>>,
}

impl<E: 'static> Inner<E> {
    fn fail(self: &Rc<Self>, e: ChildError<E>) {
        self.errors.borrow_mut().push(e);
        self.abort();
    }

    /// Interrupts `run`'s body and cancels every member. As in asyncio,
    /// the members are cancelled from a callback at the loop's next turn:
    /// members already ready in this turn run first, and one that fails
    /// too is reported, not cancelled.
    fn abort(self: &Rc<Self>) {
        if !self.failed.replace(true) {
            if let Some(w) = self.body_waker.take() {
                w.wake();
            }
            let group = self.clone();
            crate::call_soon(move || group.cancel_all());
        }
    }
}

impl<E> Inner<E> {
    /// The failures for a `join`: by value for the first one, then one
    /// [`ChildError::ReportedToEarlierJoin`] per failure.
    fn take_errors(&self) -> Result<(), TaskGroupError<E>> {
        let mut errors = std::mem::take(&mut *self.errors.borrow_mut());
        if errors.is_empty() {
            errors.extend((0..self.reported.get()).map(|_| ChildError::ReportedToEarlierJoin));
        } else {
            self.reported.set(errors.len());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(TaskGroupError::new(errors))
        }
    }

    fn cancel_all(&self) {
        let tasks = self.tasks.borrow().clone();
        for t in &tasks {
            t.cancel();
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
            self.group.empty.set();
        }
    }
}

/// Tasks that are awaited together; the first failure cancels the rest
/// (asyncio's `async with TaskGroup() as tg`).
///
/// Spawn fallible futures with [`spawn`](TaskGroup::spawn), then
/// [`join`](TaskGroup::join); or give the body to [`run`](TaskGroup::run),
/// which also interrupts the body when a task fails, as asyncio does.
/// When a task returns `Err` or panics, every other task of the group is
/// cancelled and `join` returns every failure (a [`TaskGroupError`], like
/// asyncio's `ExceptionGroup`) once they are all gone. After `join`
/// returned, the group is finished: `spawn` panics (asyncio raises
/// `RuntimeError`). Dropping the group without joining cancels its tasks
/// without waiting for them (so does cancelling the task that awaits
/// `join`); Rust has no asynchronous drop.
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
                errors: RefCell::new(Vec::new()),
                reported: Cell::new(0),
                failed: Cell::new(false),
                closed: Cell::new(false),
                empty: Event::new(),
                body_waker: Cell::new(None),
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

    /// Waits until every task of the group has finished, then closes the
    /// group. Returns every failure, if any task failed (the others were
    /// cancelled by then).
    ///
    /// ```
    /// solo::run(async {
    ///     let g = solo::TaskGroup::<String>::new();
    ///     for i in 0..3 {
    ///         g.spawn(async move { Ok(i) });
    ///     }
    ///     assert!(g.join().await.is_ok());
    ///     assert!(g.is_closed());
    /// });
    /// ```
    ///
    /// Several tasks may await `join` of one group (share it in an `Rc`):
    /// all of them finish when the group is empty, and every `join` of a
    /// failed group returns `Err`. The failures themselves (errors are not
    /// `Clone` in general) go by value to the first `join` to finish; the
    /// others get as many [`ChildError::ReportedToEarlierJoin`] instead.
    ///
    /// ```
    /// use std::rc::Rc;
    /// solo::run(async {
    ///     let g = Rc::new(solo::TaskGroup::<&str>::new());
    ///     g.spawn(async { Err::<(), _>("disk full") });
    ///     let g2 = g.clone();
    ///     let shutdown = solo::spawn(async move { g2.join().await.unwrap_err() });
    ///     let supervisor = g.join().await.unwrap_err(); // joined first
    ///     assert_eq!(supervisor.into_failed(), Some("disk full"));
    ///     let other = shutdown.await.unwrap();
    ///     assert_eq!(other.to_string(),
    ///         "task group failed: the failure was returned by an earlier join of this group");
    /// });
    /// ```
    pub async fn join(&self) -> Result<(), TaskGroupError<E>> {
        while self.inner.live.get() > 0 {
            self.inner.empty.wait().await;
        }
        self.inner.tasks.borrow_mut().clear();
        self.inner.closed.set(true);
        self.inner.take_errors()
    }

    /// True once [`join`](TaskGroup::join) (or [`run`](TaskGroup::run))
    /// returned: the group takes no more tasks.
    ///
    /// ```
    /// solo::run(async {
    ///     let g = solo::TaskGroup::<()>::new();
    ///     assert!(!g.is_closed());
    ///     g.join().await.unwrap();
    ///     assert!(g.is_closed());
    /// });
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.closed.get()
    }
}

impl<E: 'static> TaskGroup<E> {
    /// Spawns `future` as a task of the group and returns its handle.
    ///
    /// The handle's output is the `Ok` value; if the future returns
    /// `Err(e)`, `e` becomes one of the group's failures and the handle
    /// reports the task as cancelled. Spawning into a group that already
    /// failed gives a task that is cancelled before it runs.
    ///
    /// # Panics
    ///
    /// When the group is closed ([`join`](TaskGroup::join) returned), as
    /// asyncio raises `RuntimeError`: make a new group instead.
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
        assert!(
            !self.inner.closed.get(),
            "TaskGroup::spawn after join returned: the group is finished; spawn into a new TaskGroup"
        );
        let location = Location::caller();
        let inner = self.inner.clone();
        inner.live.set(inner.live.get() + 1);
        inner.empty.clear();
        let guard = MemberGuard {
            group: inner.clone(),
        };
        let member = async move {
            let guard = guard;
            match CatchUnwind::new(future).await {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => {
                    guard.group.fail(ChildError::Failed(e));
                    // The abort cancels this task too: it never resumes.
                    std::future::pending().await
                }
                Err(p) => {
                    let e = TaskError::panicked_in_current_task(p);
                    guard.group.fail(ChildError::Panicked(e));
                    std::future::pending().await
                }
            }
        };
        let task = with_core(|core| core.spawn(|| member, location));
        let mut tasks = self.inner.tasks.borrow_mut();
        if tasks.len() >= 32 && tasks.len() > 2 * self.inner.live.get() {
            tasks.retain(|t| !t.snapshot().is_complete());
        }
        tasks.push(task.raw().clone());
        drop(tasks);
        if self.inner.failed.get() {
            task.cancel();
        }
        task
    }

    /// Runs `body` with the group, then joins it: asyncio's
    /// `async with TaskGroup() as tg: body`. The body spawns into the
    /// group (it may borrow it). When a task fails, the body is dropped at
    /// once (asyncio cancels it) and the rest are cancelled; if the body
    /// returns `Err`, that also aborts the group and is reported last, as
    /// asyncio does. On success, returns what the body returned.
    ///
    /// ```
    /// # #![allow(unreachable_code)]
    /// use std::time::Duration;
    /// solo::run(async {
    ///     let g = solo::TaskGroup::<&str>::new();
    ///     let err = g
    ///         .run(async {
    ///             g.spawn(async { solo::sleep(Duration::from_millis(10)).await; Err::<(), _>("lost connection") });
    ///             solo::sleep(Duration::from_secs(60)).await; // interrupted at 10 ms
    ///             unreachable!("the body was dropped");
    ///             Ok(())
    ///         })
    ///         .await
    ///         .unwrap_err();
    ///     assert_eq!(err.into_failed(), Some("lost connection"));
    ///
    ///     let g = solo::TaskGroup::<&str>::new();
    ///     let n = g.run(async { Ok(g.spawn(async { Ok(2) }).await.unwrap() * 21) }).await;
    ///     assert_eq!(n.unwrap(), 42);
    /// });
    /// ```
    pub async fn run<B, R>(&self, body: B) -> Result<R, TaskGroupError<E>>
    where
        B: Future<Output = Result<R, E>>,
    {
        let outcome = {
            let mut body = pin!(body);
            poll_fn(|cx| {
                if self.inner.failed.get() {
                    return Poll::Ready(None);
                }
                match body.as_mut().poll(cx) {
                    Poll::Ready(r) => Poll::Ready(Some(r)),
                    Poll::Pending if self.inner.failed.get() => Poll::Ready(None),
                    Poll::Pending => {
                        self.inner.body_waker.set(Some(cx.waker().clone()));
                        Poll::Pending
                    }
                }
            })
            .await
            // An interrupted body is dropped here, before the members end.
        };
        self.inner.body_waker.take();
        let body_error = match outcome {
            Some(Err(e)) => {
                self.inner.abort();
                Some(e)
            }
            Some(Ok(v)) => return self.join().await.map(|()| v),
            None => None,
        };
        let mut errors = match self.join().await {
            Ok(()) => Vec::new(),
            Err(e) => e.into_errors(),
        };
        errors.extend(body_error.map(ChildError::Failed));
        Err(TaskGroupError::new(errors))
    }
}

impl<E> Drop for TaskGroup<E> {
    fn drop(&mut self) {
        if self.inner.live.get() > 0 {
            self.inner.cancel_all();
        }
    }
}
