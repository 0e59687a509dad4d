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
//! dropping (cancelling) the combinator cancels the tasks it made.
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

use crate::runtime::with_core;
use crate::Task;

/// Spawns `wrap(f)` for every `f`, in input order, all attributed to the
/// combinator's caller.
pub(crate) fn spawn_each<I, G>(
    futures: I,
    location: &'static Location<'static>,
    mut wrap: impl FnMut(I::Item) -> G,
) -> Vec<Task<G::Output>>
where
    I: IntoIterator,
    G: Future + 'static,
{
    let futures = futures.into_iter();
    let mut tasks = Vec::with_capacity(futures.size_hint().0);
    for f in futures {
        let g = wrap(f);
        tasks.push(with_core(|core| core.spawn(g, location)));
    }
    tasks
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
