//! The blocking pool under bursts (issue 17): a burst of N `to_thread`
//! jobs runs min(N, limit) of them at once, also when idle threads left by
//! earlier jobs have not woken yet. Concurrency is observed inside the
//! jobs (how many run at once), not inferred from wall time.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Jobs that wait (a bounded time) until `want` of them run at once, and
/// record the most that ever did.
struct Gate {
    want: usize,
    state: Mutex<GateState>,
    cv: Condvar,
}

#[derive(Default)]
struct GateState {
    running: usize,
    most: usize,
    open: bool,
}

impl Gate {
    fn new(want: usize) -> Arc<Gate> {
        Arc::new(Gate {
            want,
            state: Mutex::default(),
            cv: Condvar::new(),
        })
    }

    fn job(&self) {
        let mut s = self.state.lock().unwrap();
        s.running += 1;
        s.most = s.most.max(s.running);
        if s.running >= self.want {
            s.open = true;
            self.cv.notify_all();
        }
        // Only a pool that under-spawns ever waits this long.
        let (mut s, _) = self
            .cv
            .wait_timeout_while(s, Duration::from_secs(3), |s| !s.open)
            .unwrap();
        s.running -= 1;
    }

    fn most(&self) -> usize {
        self.state.lock().unwrap().most
    }
}

/// Submits `n` gate jobs at once and returns how many ran at once.
async fn burst(n: usize, want: usize) -> usize {
    let gate = Gate::new(want);
    let jobs = (0..n).map(|_| {
        let g = gate.clone();
        solo::to_thread(move || g.job())
    });
    solo::gather(jobs).await;
    gate.most()
}

#[test]
fn bursts_after_idle_periods_start_every_job_at_once() {
    solo::run(async {
        // Warm-up: one idle thread is left behind.
        solo::to_thread(|| ()).await;
        for (idle_ms, n) in [(0, 6), (1, 9), (30, 12), (300, 7)] {
            solo::sleep(Duration::from_millis(idle_ms)).await;
            let most = burst(n, n).await;
            assert_eq!(
                most, n,
                "after {idle_ms} ms idle, {most} of {n} jobs ran at once"
            );
        }
    });
}

#[test]
fn bursts_beyond_the_limit_run_the_limit_at_once() {
    let mut lp = solo::EventLoop::builder()
        .max_blocking_threads(4)
        .build()
        .unwrap();
    lp.run_until_complete(async {
        solo::to_thread(|| ()).await;
        for (idle_ms, n) in [(0, 6), (20, 10), (200, 5)] {
            solo::sleep(Duration::from_millis(idle_ms)).await;
            let most = burst(n, 4).await;
            assert_eq!(
                most, 4,
                "after {idle_ms} ms idle, {most} of {n} jobs ran at once"
            );
        }
    });
}

/// A job whose future is dropped while it waits for a thread never runs
/// (issue: queued `getaddrinfo` calls of a finished crawl kept running).
#[test]
fn a_job_dropped_before_it_starts_never_runs() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let mut lp = solo::Builder::new()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    lp.run_until_complete(async move {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let first = solo::to_thread(move || rx.recv_timeout(Duration::from_secs(30)).is_ok());
        let queued = solo::to_thread(move || r.store(true, Ordering::SeqCst));
        drop(queued);
        tx.send(()).unwrap();
        assert!(first.await);
        // FIFO: this one runs after the dropped one's turn came.
        solo::to_thread(|| ()).await;
    });
    assert!(!ran.load(Ordering::SeqCst), "a dropped job ran");
}

/// The loop's close does not wait for a job nobody awaits: `run` returns
/// while it still runs (it finishes on its own thread).
#[test]
fn run_returns_while_a_detached_job_still_runs() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let released = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    // A pool that waits for the job at close would hang: this releases
    // the job after a while, so that the test fails instead.
    let rel = released.clone();
    let releaser = std::thread::spawn(move || {
        if done_rx.recv_timeout(Duration::from_secs(20)).is_err() {
            rel.store(true, Ordering::SeqCst);
        }
        let _ = tx.send(());
    });
    solo::run(async move {
        let job = solo::to_thread(move || {
            started_tx.send(()).unwrap();
            let _ = rx.recv();
        });
        // A task awaits it and is cancelled by the loop's close.
        let _task = solo::spawn(job);
        solo::to_thread(move || started_rx.recv().unwrap()).await;
    });
    let _ = done_tx.send(());
    assert!(
        !released.load(Ordering::SeqCst),
        "run() waited for a job nobody awaits"
    );
    releaser.join().unwrap();
}

/// What the `#[must_use]` text and `to_thread`'s doc say (the text said
/// "the closure runs anyway"): a `to_thread` future dropped at once,
/// never awaited, cancels its job; the way to fire and forget,
/// `spawn(to_thread(f))`, runs it. (The pool's one thread is kept busy
/// until both are queued, so that no thread can start the dropped job
/// first: with an idle thread that is only unlikely.)
#[test]
fn a_job_dropped_at_once_is_cancelled_and_a_spawned_one_runs() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dropped = Arc::new(AtomicBool::new(false));
    let spawned = Arc::new(AtomicBool::new(false));
    let (d, s) = (dropped.clone(), spawned.clone());
    let mut lp = solo::Builder::new()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    lp.run_until_complete(async move {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let busy = solo::to_thread(move || rx.recv_timeout(Duration::from_secs(30)).is_ok());
        #[allow(unused_must_use)]
        {
            solo::to_thread(move || d.store(true, Ordering::SeqCst));
        }
        let fire_and_forget = solo::spawn(solo::to_thread(move || s.store(true, Ordering::SeqCst)));
        drop(fire_and_forget);
        tx.send(()).unwrap();
        assert!(busy.await);
        // FIFO: this one runs after the other two's turns came.
        solo::to_thread(|| ()).await;
        solo::sleep(Duration::from_millis(20)).await;
    });
    assert!(!dropped.load(Ordering::SeqCst), "a dropped job ran");
    assert!(spawned.load(Ordering::SeqCst), "a spawned job did not run");
}
