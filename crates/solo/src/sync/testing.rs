//! Test helpers: poll a future by hand and count its wakes, without any
//! loop (so the unit tests run under Miri).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A waker, and a function that tells how often it was woken.
pub(crate) fn counting_waker() -> (Waker, impl Fn() -> usize) {
    let count = Arc::new(Count::default());
    let waker = Waker::from(count.clone());
    (waker, move || count.0.load(Ordering::Relaxed))
}

/// A future under test, with its own waker.
pub(crate) struct Probe<F: Future> {
    future: Pin<Box<F>>,
    count: Arc<Count>,
    waker: Waker,
}

impl<F: Future> Probe<F> {
    pub(crate) fn new(future: F) -> Probe<F> {
        let count = Arc::new(Count::default());
        Probe {
            future: Box::pin(future),
            waker: Waker::from(count.clone()),
            count,
        }
    }

    pub(crate) fn poll(&mut self) -> Poll<F::Output> {
        self.future
            .as_mut()
            .poll(&mut Context::from_waker(&self.waker))
    }

    /// Polls, expecting `Ready`.
    #[track_caller]
    pub(crate) fn ready(&mut self) -> F::Output {
        match self.poll() {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("future is pending"),
        }
    }

    /// Polls, expecting `Pending`.
    #[track_caller]
    pub(crate) fn pending(&mut self) {
        assert!(self.poll().is_pending(), "future is ready");
    }

    /// How often the future's waker was woken.
    pub(crate) fn wakes(&self) -> usize {
        self.count.0.load(Ordering::Relaxed)
    }
}
