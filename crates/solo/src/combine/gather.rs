//! `gather(iter)`, `try_gather(iter)` and the `gather!` macro.

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::panic::{resume_unwind, Location};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::{spawn_each, CatchUnwind, Children};
use crate::{Task, TaskError};

/// Runs every future of `futures` concurrently and returns their outputs
/// in input order (asyncio's `await gather(*aws)`).
///
/// Each future becomes a task at once, so they start in input order at
/// the loop's next turn. If one panics, the others are cancelled and the
/// panic resumes in the caller at once: the first panic in time, whatever
/// its place in the input (asyncio raises the first exception at once too,
/// but leaves the others running). Dropping the returned future cancels the
/// tasks still running. The futures must be `'static` (they are tasks);
/// for borrowing futures use [`gather!`](crate::gather!).
///
/// Called outside a running loop, to hand the result to
/// [`EventLoop::run_until_complete`](crate::EventLoop::run_until_complete)
/// (asyncio's `loop.run_until_complete(gather(*aws))`), it makes the tasks
/// when first polled, in that loop, still in input order.
///
/// ```
/// let mut event_loop = solo::EventLoop::new().unwrap();
/// let all = event_loop.run_until_complete(solo::gather([5, 6].map(|n| async move { n })));
/// assert_eq!(all, [5, 6]);
/// ```
///
/// ```
/// use std::time::Duration;
/// solo::run(async {
///     let doubled = solo::gather((1..=3).map(|i| async move {
///         solo::sleep(Duration::from_millis(10 * (4 - i))).await; // finish in reverse
///         i * 2
///     }))
///     .await;
///     assert_eq!(doubled, [2, 4, 6]); // input order, not completion order
/// });
/// ```
#[track_caller]
pub fn gather<I>(futures: I) -> Gather<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future + 'static,
{
    let location = Location::caller();
    let failure = Rc::new(FirstFailure::new());
    let tasks = spawn_each(futures, location, |f| {
        let failure = failure.clone();
        async move {
            match CatchUnwind::new(f).await {
                Ok(v) => Some(v),
                Err(payload) => failure.record(payload),
            }
        }
    });
    Gather {
        collect: Collect::new(tasks, failure),
    }
}

/// The future returned by [`gather`].
///
/// ```
/// solo::run(async {
///     let g: solo::Gather<u8> = solo::gather([async { 1u8 }]);
///     assert_eq!(g.await, [1]);
/// });
/// ```
#[must_use = "the tasks run anyway, but their outputs are lost unless awaited"]
pub struct Gather<T> {
    collect: Collect<T, Box<dyn Any + Send>>,
}

impl<T> std::fmt::Debug for Gather<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.collect.fmt_as("Gather", f)
    }
}

impl<T> Unpin for Gather<T> {}

impl<T> Future for Gather<T> {
    type Output = Vec<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        self.collect.poll(cx).map(|r| match r {
            Ok(out) => out,
            Err(payload) => resume_unwind(payload),
        })
    }
}

/// The first failure among a combinator's children, in time, and the
/// waker of whoever awaits the combinator.
struct FirstFailure<X> {
    slot: RefCell<Option<X>>,
    waker: RefCell<Option<Waker>>,
}

impl<X> FirstFailure<X> {
    fn new() -> Self {
        FirstFailure {
            slot: RefCell::new(None),
            waker: RefCell::new(None),
        }
    }

    /// Keeps `x` unless a failure came first, and wakes the awaiter at
    /// once (it need not wait for this child's turn in input order).
    fn record<T>(&self, x: X) -> Option<T> {
        let mut slot = self.slot.borrow_mut();
        if slot.is_none() {
            *slot = Some(x);
        }
        drop(slot);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
        None
    }
}

/// Collects the outputs of tasks in input order, or stops at the first
/// failure one of them recorded (each returns `None` when it failed).
struct Collect<T, X> {
    tasks: Children<Option<T>>,
    out: Vec<T>,
    failure: Rc<FirstFailure<X>>,
}

impl<T, X> Collect<T, X> {
    fn new(tasks: Children<Option<T>>, failure: Rc<FirstFailure<X>>) -> Self {
        Collect {
            out: Vec::with_capacity(tasks.len()),
            tasks,
            failure,
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<Vec<T>, X>> {
        let tasks = self.tasks.tasks();
        loop {
            if let Some(x) = self.failure.slot.borrow_mut().take() {
                cancel_from(tasks, 0);
                tasks.clear();
                return Poll::Ready(Err(x));
            }
            if self.out.len() == tasks.len() {
                tasks.clear();
                return Poll::Ready(Ok(std::mem::take(&mut self.out)));
            }
            // Outputs are taken in order; a failure of any child wakes us
            // through `failure`, whatever its place in the input.
            let i = self.out.len();
            match Pin::new(&mut tasks[i]).poll(cx) {
                Poll::Pending => {
                    *self.failure.waker.borrow_mut() = Some(cx.waker().clone());
                    return Poll::Pending;
                }
                Poll::Ready(Ok(Some(v))) => self.out.push(v),
                // The failure is in `failure`; the loop returns it.
                Poll::Ready(Ok(None)) => {}
                Poll::Ready(Err(e)) => {
                    cancel_from(tasks, i + 1);
                    raise(e)
                }
            }
        }
    }

    fn fmt_as(&self, name: &str, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(name)
            .field("tasks", &self.tasks.len())
            .field("done", &self.out.len())
            .finish()
    }
}

impl<T, X> Drop for Collect<T, X> {
    fn drop(&mut self) {
        cancel_from(self.tasks.spawned(), self.out.len());
    }
}

fn cancel_from<T>(tasks: &[Task<T>], from: usize) {
    for t in tasks.iter().skip(from) {
        t.cancel();
    }
}

/// A child of a combinator was cancelled by someone other than the
/// combinator (only someone holding the loop can do it: the loop is
/// closing): that ends the caller too.
fn raise(e: TaskError) -> ! {
    match e.try_into_panic() {
        Ok(p) => resume_unwind(p),
        Err(e) => panic!("a task of solo::gather was cancelled ({e})"),
    }
}

/// How a child of [`try_gather`] failed.
enum TryFailure<E> {
    Err(E),
    Panic(Box<dyn Any + Send>),
}

/// Like [`gather`], for futures that return `Result`: the first `Err` (in
/// time, not in input order) is returned at once and the other tasks are
/// cancelled; if all succeed, their values come back in input order. A
/// panic in a child also ends it at once, resuming in the caller. Called
/// outside a running loop, it makes the tasks when first polled, as
/// [`gather`] does.
///
/// ```
/// use std::time::Duration;
/// solo::run(async {
///     let ok: Result<Vec<u32>, String> =
///         solo::try_gather((1..=3).map(|i| async move { Ok(i) })).await;
///     assert_eq!(ok.unwrap(), [1, 2, 3]);
///
///     let err = solo::try_gather((1..=3).map(|i| async move {
///         if i == 2 { return Err(format!("page {i} failed")); }
///         solo::sleep(Duration::from_secs(60)).await; // cancelled, not waited for
///         Ok(i)
///     }))
///     .await;
///     assert_eq!(err.unwrap_err(), "page 2 failed");
/// });
/// ```
#[track_caller]
pub fn try_gather<I, T, E>(futures: I) -> TryGather<T, E>
where
    I: IntoIterator,
    I::Item: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: 'static,
{
    let location = Location::caller();
    let failure = Rc::new(FirstFailure::new());
    let tasks = spawn_each(futures, location, |f| {
        let failure = failure.clone();
        async move {
            match CatchUnwind::new(f).await {
                Ok(Ok(v)) => Some(v),
                Ok(Err(e)) => failure.record(TryFailure::Err(e)),
                Err(payload) => failure.record(TryFailure::Panic(payload)),
            }
        }
    });
    TryGather {
        collect: Collect::new(tasks, failure),
    }
}

/// The future returned by [`try_gather`].
///
/// ```
/// solo::run(async {
///     let g: solo::TryGather<u8, ()> = solo::try_gather([async { Ok(1u8) }]);
///     assert_eq!(g.await, Ok(vec![1]));
/// });
/// ```
#[must_use = "the tasks run anyway, but their outputs are lost unless awaited"]
pub struct TryGather<T, E> {
    collect: Collect<T, TryFailure<E>>,
}

impl<T, E> std::fmt::Debug for TryGather<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.collect.fmt_as("TryGather", f)
    }
}

impl<T, E> Unpin for TryGather<T, E> {}

impl<T, E> Future for TryGather<T, E> {
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.collect.poll(cx).map(|r| match r {
            Ok(out) => Ok(out),
            Err(TryFailure::Err(e)) => Err(e),
            Err(TryFailure::Panic(payload)) => resume_unwind(payload),
        })
    }
}

pin_project_lite::pin_project! {
    /// One arm of [`gather!`](crate::gather!): a future, then its output.
    #[doc(hidden)]
    pub struct MaybeDone<F: Future> {
        #[pin]
        future: Option<F>,
        output: Option<F::Output>,
    }
}

impl<F: Future> MaybeDone<F> {
    #[doc(hidden)]
    pub fn new(future: F) -> Self {
        MaybeDone {
            future: Some(future),
            output: None,
        }
    }

    /// Polls the future if it is still running; true once it is done.
    #[doc(hidden)]
    pub fn poll_done(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        let mut this = self.project();
        if let Some(f) = this.future.as_mut().as_pin_mut() {
            match f.poll(cx) {
                Poll::Ready(v) => {
                    *this.output = Some(v);
                    this.future.set(None);
                }
                Poll::Pending => return false,
            }
        }
        true
    }

    #[doc(hidden)]
    pub fn take(self: Pin<&mut Self>) -> F::Output {
        self.project()
            .output
            .take()
            .expect("gather!: output taken twice")
    }
}

/// Awaits several futures concurrently and returns their outputs as a
/// tuple (asyncio's `await gather(a, b, c)` with differently typed
/// results). Use it inside an `async` block.
///
/// The futures are polled inline, in argument order, each time any of them
/// wakes, so they need not be `'static` and may borrow local data. A panic
/// in one propagates at once.
///
/// ```
/// use std::time::{Duration, Instant};
/// solo::run(async {
///     let name = String::from("solo");
///     let start = Instant::now();
///     let (n, s, ()) = solo::gather!(
///         async { solo::sleep(Duration::from_millis(30)).await; 1 },
///         async { solo::sleep(Duration::from_millis(30)).await; name.as_str() }, // borrows
///         solo::sleep(Duration::from_millis(30)),
///     );
///     assert_eq!((n, s), (1, "solo"));
///     assert!(start.elapsed() < Duration::from_millis(85)); // concurrent
/// });
/// ```
#[macro_export]
macro_rules! gather {
    ($($fut:expr),+ $(,)?) => {
        $crate::__gather_impl!([] $($fut,)+)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __gather_impl {
    ([$($f:ident)*] $head:expr, $($rest:expr,)*) => {{
        let mut f = ::core::pin::pin!($crate::__private::MaybeDone::new($head));
        $crate::__gather_impl!([$($f)* f] $($rest,)*)
    }};
    ([$($f:ident)*]) => {
        ::core::future::poll_fn(|cx| {
            let mut done = true;
            $( done &= $f.as_mut().poll_done(cx); )*
            if done {
                ::core::task::Poll::Ready(($( $f.as_mut().take(), )*))
            } else {
                ::core::task::Poll::Pending
            }
        })
        .await
    };
}
