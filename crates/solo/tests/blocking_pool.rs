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
