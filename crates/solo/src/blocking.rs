//! The blocking pool: where `to_thread` runs closures that would stall the
//! loop (file I/O, `getaddrinfo`, CPU-heavy parsing).
//!
//! Owns: a bounded set of worker threads and their job queue. Threads start
//! on demand up to the limit and exit after idling for a while; jobs beyond
//! the limit wait in FIFO order. Each job submitted claims one idle thread
//! (or starts one), so a burst of N jobs runs min(N, limit) at once even
//! when the idle threads have not woken up yet. A finished job wakes its awaiting task from
//! the worker thread, which goes through the loop's remote queue.
//! Must not: touch loop-local state — every job is `Send`.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use crate::runtime::with_core;

/// A job returns the waker of the task awaiting it, which the worker wakes
/// only after the job stops counting as in flight: a loop woken by it must
/// not still see it running (a paused clock would then park in the poller
/// instead of jumping to the next timer).
type Job = Box<dyn FnOnce() -> Option<Waker> + Send>;

const KEEP_ALIVE: Duration = Duration::from_secs(10);

pub(crate) struct Pool {
    shared: Arc<Shared>,
    max_threads: usize,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    in_flight: AtomicUsize,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Threads waiting for work that no job has claimed yet.
    idle: usize,
    /// Wake-ups handed to idle threads and not yet taken by one.
    wakeups: usize,
    threads: usize,
    shutdown: bool,
    handles: Vec<thread::JoinHandle<()>>,
    next_name: usize,
}

impl Pool {
    pub(crate) fn new(max_threads: usize) -> Pool {
        Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                work: Condvar::new(),
                in_flight: AtomicUsize::new(0),
            }),
            max_threads,
        }
    }

    /// Jobs submitted and not yet finished.
    pub(crate) fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    fn submit(&self, job: Job) {
        self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
        let mut st = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        st.queue.push_back(job);
        if st.idle > 0 {
            // Claimed now, not when the thread wakes: the next job of a
            // burst must not count this thread as free again.
            st.idle -= 1;
            st.wakeups += 1;
            self.shared.work.notify_one();
            return;
        }
        if st.threads < self.max_threads {
            st.threads += 1;
            st.next_name += 1;
            let shared = self.shared.clone();
            let spawned = thread::Builder::new()
                .name(format!("solo-blocking-{}", st.next_name))
                .spawn(move || worker(shared));
            match spawned {
                Ok(h) => {
                    st.handles.retain(|h| !h.is_finished());
                    st.handles.push(h);
                }
                Err(e) => {
                    // The job stays queued for a thread that exists; with
                    // none at all, it waits for the next successful spawn.
                    st.threads -= 1;
                    tracing::error!(target: "solo", "cannot start a blocking thread: {e}");
                }
            }
        }
    }

    /// Lets the queued jobs finish and joins every thread.
    pub(crate) fn shutdown(&self) {
        let handles = {
            let mut st = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
            st.shutdown = true;
            std::mem::take(&mut st.handles)
        };
        self.shared.work.notify_all();
        for h in handles {
            let _ = h.join();
        }
    }
}

fn worker(shared: Arc<Shared>) {
    let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(job) = st.queue.pop_front() {
            drop(st);
            // Jobs catch their own panics (see `to_thread`).
            let waker = job();
            shared.in_flight.fetch_sub(1, Ordering::AcqRel);
            if let Some(w) = waker {
                w.wake();
            }
            st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            continue;
        }
        if st.shutdown {
            break;
        }
        st.idle += 1;
        // Threads are interchangeable: whichever idle thread wakes first
        // takes a wake-up handed to "an idle thread"; the others stay idle.
        let exit = loop {
            let (guard, timeout) = shared
                .work
                .wait_timeout(st, KEEP_ALIVE)
                .unwrap_or_else(|e| e.into_inner());
            st = guard;
            if st.wakeups > 0 {
                st.wakeups -= 1;
                break false;
            }
            if st.shutdown || timeout.timed_out() {
                st.idle -= 1;
                break true;
            }
        };
        if exit && st.queue.is_empty() {
            break;
        }
    }
    st.threads -= 1;
}

struct Slot<T> {
    result: Option<thread::Result<T>>,
    waker: Option<Waker>,
}

/// Runs the blocking closure `f` on the loop's thread pool and waits for
/// its result without blocking the loop (asyncio's `to_thread` /
/// `run_in_executor(None, ...)`).
///
/// If `f` panics, the panic resumes in the task that awaits the result.
/// Dropping the future does not stop `f` (a thread cannot be interrupted);
/// its result is then discarded. Panics outside a running loop.
///
/// ```
/// solo::run(async {
///     let n = solo::to_thread(|| {
///         std::thread::sleep(std::time::Duration::from_millis(10)); // blocking is fine here
///         21 * 2
///     })
///     .await;
///     assert_eq!(n, 42);
/// });
/// ```
#[doc(alias = "spawn_blocking")]
#[doc(alias = "run_in_executor")]
#[track_caller]
pub fn to_thread<F, T>(f: F) -> ToThread<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let slot = Arc::new(Mutex::new(Slot {
        result: None,
        waker: None,
    }));
    let theirs = slot.clone();
    let job: Job = Box::new(move || {
        let r = panic::catch_unwind(AssertUnwindSafe(f));
        let mut s = theirs.lock().unwrap_or_else(|e| e.into_inner());
        s.result = Some(r);
        s.waker.take()
    });
    with_core(|c| c.pool().submit(job));
    ToThread { slot }
}

/// The same as [`to_thread`] (tokio's name).
///
/// ```
/// solo::run(async { assert_eq!(solo::spawn_blocking(|| 1).await, 1) });
/// ```
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> ToThread<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    to_thread(f)
}

/// The future returned by [`to_thread`].
///
/// ```
/// solo::run(async { let f: solo::ToThread<u8> = solo::to_thread(|| 1u8); assert_eq!(f.await, 1); });
/// ```
#[must_use = "the closure runs anyway, but its result is lost unless awaited"]
pub struct ToThread<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> std::fmt::Debug for ToThread<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ToThread { .. }")
    }
}

impl<T> Future for ToThread<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut s = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        match s.result.take() {
            Some(Ok(v)) => Poll::Ready(v),
            Some(Err(p)) => {
                drop(s);
                panic::resume_unwind(p)
            }
            None => {
                match &s.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => s.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}
