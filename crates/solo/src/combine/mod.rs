//! Running many awaitables together: asyncio's `gather`, `wait`,
//! `as_completed` and `TaskGroup`.
//!
//! Owns: the combinators that spawn or watch several tasks at once. They
//! are built on the public task API (spawn, `Task`, cancel) plus two
//! crate-private helpers below. Must not: reach into the scheduler.
//!
//! Like asyncio, [`gather`], [`try_gather`] and [`as_completed`] turn each
//! future into a task right away, so everything starts running in input
//! order at the loop's next turn even before the result is awaited; and
//! dropping (cancelling) the combinator cancels the tasks it made. Called
//! outside a running loop (to hand to `run_until_complete`), they make the
//! tasks when first polled instead.
//! [`gather!`](crate::gather!) is the exception: it polls its futures
//! inline, so they may borrow from the caller.

mod gather;
mod group;
mod group_error;
mod wait;

pub use gather::{gather, try_gather, Gather, TryGather};
pub use group::TaskGroup;
pub use group_error::{ChildError, TaskGroupError};
pub use wait::{as_completed, wait, AsCompleted, ReturnWhen};

#[doc(hidden)]
pub use gather::MaybeDone;

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::runtime::{try_with_core, with_core};
use crate::Task;

/// The tasks a combinator made from its futures.
///
/// Made inside a running loop (the usual case), they are spawned at once.
/// Made outside one (`event_loop.run_until_complete(solo::gather(..))`,
/// asyncio's Python 3.6 idiom), they are spawned in input order when the
/// combinator is first polled, in the loop that polls it.
pub(crate) struct Children<T> {
    tasks: Vec<Task<T>>,
    later: Option<Box<dyn FnOnce() -> Vec<Task<T>>>>,
    len: usize,
}

impl<T> Children<T> {
    /// How many futures were given.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The tasks, spawned now if they were made outside a loop.
    #[track_caller]
    pub(crate) fn tasks(&mut self) -> &mut Vec<Task<T>> {
        if let Some(spawn) = self.later.take() {
            self.tasks = spawn();
        }
        &mut self.tasks
    }

    /// The tasks spawned so far (none while they wait for the first poll).
    pub(crate) fn spawned(&self) -> &[Task<T>] {
        &self.tasks
    }
}

/// Spawns `wrap(f)` for every `f`, in input order, all attributed to the
/// combinator's caller: at once in a running loop, else at the first poll
/// (see [`Children`]).
pub(crate) fn spawn_each<I, G>(
    futures: I,
    location: &'static Location<'static>,
    wrap: impl FnMut(I::Item) -> G,
) -> Children<G::Output>
where
    I: IntoIterator,
    G: Future + 'static,
{
    let wrapped: Vec<G> = futures.into_iter().map(wrap).collect();
    let len = wrapped.len();
    let spawn = move || {
        let spawn_one = |g| with_core(|core| core.spawn(|| g, location));
        wrapped.into_iter().map(spawn_one).collect()
    };
    if try_with_core(|_| ()).is_some() {
        Children {
            tasks: spawn(),
            later: None,
            len,
        }
    } else {
        Children {
            tasks: Vec::new(),
            later: Some(Box::new(spawn)),
            len,
        }
    }
}

pin_project_lite::pin_project! {
    /// Polls a future and turns a panic inside it into `Err(payload)`.
    pub(crate) struct CatchUnwind<F> {
        #[pin]
        future: F,
    }
}

impl<F> CatchUnwind<F> {
    pub(crate) fn new(future: F) -> Self {
        CatchUnwind { future }
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let f = self.project().future;
        match catch_unwind(AssertUnwindSafe(|| f.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(p) => Poll::Ready(Err(p)),
        }
    }
}
