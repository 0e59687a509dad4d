//! asyncio's cancellation of awaited tasks, asked for explicitly:
//! [`Task::cancel_on_drop`], [`wait_for`] and [`shield`].
//!
//! A [`Task`] is a join handle: awaiting it, or dropping a future that
//! awaits it, never cancels it (tokio's `JoinHandle` behaves the same).
//! asyncio instead cancels the awaited task when the awaiter is cancelled
//! and when `wait_for` times out. This module gives that behaviour to
//! those who want it.
//!
//! Owns: the guard and the two functions. Built on the public task API
//! (`cancel`, awaiting a handle). Must not: reach into the task core or
//! the scheduler.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::{Elapsed, Task, TaskError};

impl<T> Task<T> {
    /// Wraps the handle in a guard that cancels the task when the guard is
    /// dropped before the task finished: asyncio's behaviour, where
    /// cancelling a task also cancels the task it is awaiting.
    ///
    /// The guard is awaited like the task. [`CancelOnDrop::detach`] gives
    /// the plain handle back.
    ///
    /// ```
    /// use std::time::Duration;
    /// solo::run(async {
    ///     let inner = solo::spawn(solo::sleep(Duration::from_secs(60)));
    ///     let watch = inner.id();
    ///     let outer = solo::spawn(async move { inner.cancel_on_drop().await });
    ///     solo::yield_now().await;
    ///     outer.cancel(); // drops outer's future, and the guard with it
    ///     assert!(outer.await.unwrap_err().is_cancelled());
    ///     solo::yield_now().await;
    ///     assert!(solo::all_tasks().iter().all(|t| t.id() != watch), "inner was cancelled");
    /// });
    /// ```
    pub fn cancel_on_drop(self) -> CancelOnDrop<T> {
        CancelOnDrop { task: Some(self) }
    }
}

/// A [`Task`] handle that cancels its task when dropped; made by
/// [`Task::cancel_on_drop`].
///
/// ```
/// solo::run(async {
///     let guard: solo::CancelOnDrop<u8> = solo::spawn(async { 5 }).cancel_on_drop();
///     assert_eq!(guard.await.unwrap(), 5);
/// });
/// ```
#[must_use = "dropping the guard cancels the task at once"]
pub struct CancelOnDrop<T> {
    /// `None` only after `detach`.
    task: Option<Task<T>>,
}

impl<T> CancelOnDrop<T> {
    /// Gives back the plain handle: dropping it no longer cancels the task.
    ///
    /// ```
    /// solo::run(async {
    ///     let task = solo::spawn(async { 1 }).cancel_on_drop().detach();
    ///     assert_eq!(task.await.unwrap(), 1);
    /// });
    /// ```
    pub fn detach(mut self) -> Task<T> {
        self.task
            .take()
            .expect("CancelOnDrop: handle already taken")
    }
}

impl<T> Deref for CancelOnDrop<T> {
    type Target = Task<T>;

    fn deref(&self) -> &Task<T> {
        self.task
            .as_ref()
            .expect("CancelOnDrop: handle already taken")
    }
}

impl<T> Future for CancelOnDrop<T> {
    type Output = Result<T, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let task = self
            .task
            .as_mut()
            .expect("CancelOnDrop: handle already taken");
        Pin::new(task).poll(cx)
    }
}

impl<T> Drop for CancelOnDrop<T> {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.cancel();
        }
    }
}

impl<T> fmt::Debug for CancelOnDrop<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelOnDrop")
            .field("task", &self.task)
            .finish()
    }
}

/// Waits for `task` at most `duration`; on expiry cancels it, waits until
/// it is gone, and returns `Err(Elapsed)` (asyncio's `wait_for` on a task).
///
/// [`timeout`](crate::timeout) on a `Task` only stops waiting: the task
/// keeps running, as a join handle should. `wait_for` is the asyncio
/// behaviour. If `wait_for` itself is dropped (its caller is cancelled),
/// the task is cancelled too. If the task is already done, its result is
/// returned even with a zero `duration`; otherwise a zero `duration`
/// cancels it at once (both as in asyncio 3.11 and 3.12). A task that
/// manages to finish while being cancelled gives its result, as in asyncio.
///
/// For a plain future, `timeout` already does this: the future is dropped
/// on expiry.
///
/// ```
/// use std::time::Duration;
/// solo::run(async {
///     let slow = solo::spawn(solo::sleep(Duration::from_secs(60)));
///     let id = slow.id();
///     assert!(solo::wait_for(Duration::from_millis(5), slow).await.is_err());
///     assert!(solo::all_tasks().iter().all(|t| t.id() != id), "cancelled and gone");
///
///     let fast = solo::spawn(async { "page" });
///     assert_eq!(solo::wait_for(Duration::from_secs(1), fast).await.unwrap().unwrap(), "page");
/// });
/// ```
pub async fn wait_for<T>(
    duration: Duration,
    task: Task<T>,
) -> Result<Result<T, TaskError>, Elapsed> {
    let mut guard = task.cancel_on_drop();
    match crate::timeout(duration, &mut guard).await {
        Ok(result) => Ok(result),
        Err(elapsed) => {
            guard.cancel();
            match (&mut guard).await {
                Err(e) if e.is_cancelled() => Err(elapsed),
                finished => Ok(finished),
            }
        }
    }
}

/// Runs `future` as a task that no cancellation of the caller reaches
/// (asyncio's `shield`). This is [`spawn`](crate::spawn) under asyncio's
/// name: awaiting a [`Task`] never cancels it, so a task is already
/// shielded; the name is here for those who look for it.
///
/// ```
/// use std::time::Duration;
/// solo::run(async {
///     let save = solo::shield(async { solo::sleep(Duration::from_millis(20)).await; "saved" });
///     let id = save.id();
///     // The caller gives up waiting; the shielded task goes on.
///     assert!(solo::timeout(Duration::from_millis(1), save).await.is_err());
///     assert!(solo::all_tasks().iter().any(|t| t.id() == id));
/// });
/// ```
#[track_caller]
pub fn shield<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
{
    crate::spawn(future)
}
