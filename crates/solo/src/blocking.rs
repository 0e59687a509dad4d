//! The blocking pool: where `to_thread` runs closures that would stall the
//! loop (file I/O, `getaddrinfo`, CPU-heavy parsing).
//!
//! Owns: a bounded set of worker threads and their job queue. Threads start
//! on demand up to the limit and exit after idling for a while; jobs beyond
//! the limit wait in FIFO order. Each job submitted claims one idle thread
//! (or starts one), so a burst of N jobs runs min(N, limit) at once even
//! when the idle threads have not woken up yet. A finished job wakes its awaiting task from
//! the worker thread, which goes through the loop's remote queue.
//!
//! A job belongs to its [`ToThread`] handle. Dropped before the job
//! starts, the job never runs (it is skipped when its turn comes); dropped
//! while it runs, it runs on (a thread cannot be interrupted) and its
//! result is thrown away. Either way it stops counting as in flight at
//! once, so a paused clock is not held by work nobody awaits, and the
//! loop's close does not wait for it: [`Pool::shutdown`] joins the threads
//! that are idle or only have queued jobs left, and leaves a thread still
//! inside a job to finish on its own, detached (asyncio's `asyncio.run`
//! waits for its default executor instead; a crawl whose dead DNS lookups
//! hang for a minute would not exit).
//! Must not: touch loop-local state — every job is `Send`.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use crate::runtime::with_core;

/// A job returns, if its handle still wants the result, the waker of the
/// task awaiting it (`Some(None)`: nobody polled yet), which the worker
/// wakes only after the job stops counting as in flight: a loop woken by
/// it must not still see it running (a paused clock would then park in
/// the poller instead of jumping to the next timer). `None`: the handle
/// was dropped, and stopped counting the job itself.
type Job = Box<dyn FnOnce() -> Option<Option<Waker>> + Send>;

const KEEP_ALIVE: Duration = Duration::from_secs(10);

pub(crate) struct Pool {
    shared: Arc<Shared>,
    max_threads: usize,
    /// Its threads' names: `{name}-{n}`.
    name: &'static str,
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
    handles: Vec<(usize, thread::JoinHandle<()>)>,
    /// The threads (by name number) inside a job now.
    busy: HashSet<usize>,
    next_name: usize,
}

impl Pool {
    pub(crate) fn new(name: &'static str, max_threads: usize) -> Pool {
        Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                work: Condvar::new(),
                in_flight: AtomicUsize::new(0),
            }),
            max_threads,
            name,
        }
    }

    /// Jobs submitted and not yet finished.
    pub(crate) fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    /// Runs `f` on one of the pool's threads; see [`to_thread`].
    pub(crate) fn run<F, T>(&self, f: F) -> ToThread<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = Arc::new(Mutex::new(Slot {
            stage: Stage::Queued,
            result: None,
            waker: None,
        }));
        let theirs = slot.clone();
        let job: Job = Box::new(move || {
            {
                let mut s = theirs.lock().unwrap_or_else(|e| e.into_inner());
                if s.stage == Stage::Dropped {
                    return None;
                }
                s.stage = Stage::Running;
            }
            let r = panic::catch_unwind(AssertUnwindSafe(f));
            let mut s = theirs.lock().unwrap_or_else(|e| e.into_inner());
            if s.stage == Stage::Dropped {
                drop(s);
                drop(r);
                return None;
            }
            s.stage = Stage::Done;
            s.result = Some(r);
            Some(s.waker.take())
        });
        self.submit(job);
        ToThread {
            slot,
            pool: self.shared.clone(),
        }
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
            let id = st.next_name;
            let spawned = thread::Builder::new()
                .name(format!("{}-{id}", self.name))
                .spawn(move || worker(shared, id));
            match spawned {
                Ok(h) => {
                    st.handles.retain(|(_, h)| !h.is_finished());
                    st.handles.push((id, h));
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

    /// Stops the threads once the queue is empty (a job whose handle was
    /// dropped is skipped) and joins those not inside a job now; a thread
    /// inside one (nobody can await it: the loop's tasks are gone) is
    /// left to finish it, detached, and exits after.
    pub(crate) fn shutdown(&self) {
        let (handles, busy) = {
            let mut st = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
            st.shutdown = true;
            (std::mem::take(&mut st.handles), st.busy.clone())
        };
        self.shared.work.notify_all();
        for (id, h) in handles {
            if !busy.contains(&id) {
                let _ = h.join();
            }
        }
    }
}

fn worker(shared: Arc<Shared>, id: usize) {
    let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(job) = st.queue.pop_front() {
            st.busy.insert(id);
            drop(st);
            // Jobs catch their own panics (see `to_thread`).
            if let Some(waker) = job() {
                shared.in_flight.fetch_sub(1, Ordering::AcqRel);
                if let Some(w) = waker {
                    w.wake();
                }
            }
            st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            st.busy.remove(&id);
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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stage {
    Queued,
    Running,
    Done,
    /// The handle was dropped before the job finished.
    Dropped,
}

struct Slot<T> {
    stage: Stage,
    result: Option<thread::Result<T>>,
    waker: Option<Waker>,
}

/// Runs the blocking closure `f` on the loop's thread pool and waits for
/// its result without blocking the loop (asyncio's `to_thread` /
/// `run_in_executor(None, ...)`).
///
/// If `f` panics, the panic resumes in the task that awaits the result.
///
/// The job is queued when `to_thread` is called, but the returned future
/// owns it, and dropping the future cancels it as a Rust future's drop
/// does: dropped before a thread has started `f`, `f` never runs. That
/// is the case of a future dropped at once without `.await`, even with
/// idle threads (they have normally not picked the job up yet), and of
/// one dropped by an
/// expired [`timeout`](crate::timeout) while it waited for a thread (as
/// asyncio's `wait_for` cancels a job still queued in its executor; tokio's
/// `spawn_blocking` instead runs a job whose handle is dropped). Dropped
/// while `f` runs, `f` is not stopped (a thread cannot be interrupted) and
/// its result is discarded. To fire and forget, spawn it:
/// `solo::spawn(solo::to_thread(f))` runs `f` with nobody awaiting it.
///
/// The loop's close (the end of [`run`](crate::run)) cancels its tasks, so
/// drops these futures, and does not wait for a job still running: it
/// finishes on its own thread, or dies with the process (unlike
/// `asyncio.run`, which waits for its default executor). Panics outside a
/// running loop.
///
/// ```
/// solo::run(async {
///     let n = solo::to_thread(|| {
///         std::thread::sleep(std::time::Duration::from_millis(10)); // blocking is fine here
///         21 * 2
///     })
///     .await;
///     assert_eq!(n, 42);
///
///     // Fire and forget: the spawned task owns the job and runs it.
///     let (tx, rx) = std::sync::mpsc::channel();
///     drop(solo::spawn(solo::to_thread(move || tx.send("flushed").unwrap())));
///     let ten_s = std::time::Duration::from_secs(10);
///     assert_eq!(solo::to_thread(move || rx.recv_timeout(ten_s)).await, Ok("flushed"));
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
    with_core(|c| c.pool().run(f))
}

/// The same as [`to_thread`] (tokio's name, not tokio's drop: dropping
/// the future before the closure starts cancels it; see [`to_thread`]).
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
#[must_use = "dropping it cancels the closure unless a thread has started it; await it, or spawn it to run it unawaited"]
pub struct ToThread<T> {
    slot: Arc<Mutex<Slot<T>>>,
    pool: Arc<Shared>,
}

impl<T> Drop for ToThread<T> {
    fn drop(&mut self) {
        let mut s = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(s.stage, Stage::Queued | Stage::Running) {
            s.stage = Stage::Dropped;
            self.pool.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
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
