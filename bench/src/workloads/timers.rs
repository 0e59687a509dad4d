//! `timers` and `timers-100k`: many sleeping tasks, and how late they wake.
//!
//! Spawn n tasks (1,000,000 for `timers`, 100,000 for `timers-100k`). Task
//! `i` draws its duration `d` from a xorshift64 stream with a fixed seed,
//! uniform in 0..1000 ms at microsecond resolution; when first polled it
//! takes `deadline = Instant::now() + d`, sleeps with the runtime's
//! `sleep_until(deadline)` (what its `sleep(d)` does) and, once woken and
//! polled again, returns its lateness `Instant::now() - deadline` — timer
//! resolution plus the time spent queued behind other ready tasks. The
//! root keeps the join handles in a `Vec` and awaits them all.
//!
//! Self-check: every task ran to the end (n results) and none woke before
//! its deadline.
//!
//! Metrics:
//! - `wall` (s): first spawn to last join. The longest sleep is just under
//!   1 s, so the ideal is about 1 s plus the time to start every task.
//! - `beyond_1s` (s): `wall` minus the longest sleep (0.999 s at full scale).
//! - `mean lateness`, `max lateness` (ms), over all tasks.
//! - `RSS per task` (B/task): the process's peak resident set (`VmHWM`)
//!   at the end, minus its resident set (`VmRSS`) just before the first
//!   spawn, divided by n. It includes each task's 8-byte join handle (the
//!   `Vec` is reserved before the baseline, but its pages become resident
//!   as it fills).
//!
//! `--quick`: n / 100 tasks sleeping 0..100 ms.

use std::time::{Duration, Instant};

use super::{check, Metric, Outcome, Scale};
use crate::proc;
use crate::rt::{OnRuntime, Rt};

/// The workload: `tasks` sleeping tasks at a scale.
pub struct Timers {
    tasks: usize,
    span: Duration,
}

impl Timers {
    /// `timers`: 1,000,000 tasks.
    pub fn full(scale: Scale) -> Timers {
        Timers::new(1_000_000, scale)
    }

    /// `timers-100k`: 100,000 tasks.
    pub fn small(scale: Scale) -> Timers {
        Timers::new(100_000, scale)
    }

    fn new(tasks: usize, scale: Scale) -> Timers {
        Timers {
            tasks: scale.pick(tasks, 100),
            span: Duration::from_millis(scale.pick(1000, 10) as u64),
        }
    }
}

/// A xorshift64 generator (Marsaglia's 13/7/17 triple).
pub struct XorShift(u64);

impl XorShift {
    /// The fixed seed every run uses.
    pub const SEED: u64 = 0x2545_F491_4F6C_DD1D;

    /// A generator starting at `seed` (which must not be 0).
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// Signed nanoseconds from `deadline` to now (negative: woke early).
fn lateness(deadline: Instant) -> i64 {
    let now = Instant::now();
    match now.checked_duration_since(deadline) {
        Some(late) => late.as_nanos() as i64,
        None => -(deadline.duration_since(now).as_nanos() as i64),
    }
}

fn ms(nanos: f64) -> f64 {
    nanos / 1e6
}

impl OnRuntime for Timers {
    type Output = Outcome;

    fn run<R: Rt>(self) -> Outcome {
        let Timers { tasks: n, span } = self;
        let span_us = span.as_micros() as u64;
        R::block_on(async move {
            let mut rng = XorShift::new(XorShift::SEED);
            let mut handles = Vec::with_capacity(n);
            let rss0 = proc::rss().map_err(|e| e.to_string())?;
            let start = Instant::now();
            for _ in 0..n {
                let d = Duration::from_micros(rng.next_u64() % span_us);
                handles.push(R::spawn(async move {
                    let deadline = Instant::now() + d;
                    R::sleep_until(deadline).await;
                    lateness(deadline)
                }));
            }
            let (mut fired, mut early, mut sum, mut max) = (0usize, 0usize, 0i128, i64::MIN);
            for h in handles {
                let late = h.await.map_err(|e| format!("a timer task failed: {e}"))?;
                fired += 1;
                early += usize::from(late < 0);
                sum += i128::from(late);
                max = max.max(late);
            }
            let wall = start.elapsed();
            let peak = proc::peak_rss().map_err(|e| e.to_string())?;
            check("timers fired", fired, n)?;
            check("timers that woke before their deadline", early, 0)?;
            let beyond = wall.as_secs_f64() - span.as_secs_f64();
            Ok(vec![
                Metric::lower("wall", wall.as_secs_f64(), "s"),
                Metric::lower("beyond_1s", beyond, "s"),
                Metric::lower("mean_lateness", ms(sum as f64 / n as f64), "ms"),
                Metric::lower("max_lateness", ms(max as f64), "ms"),
                Metric::lower(
                    "rss_per_task",
                    peak.saturating_sub(rss0) as f64 / n as f64,
                    "B/task",
                ),
            ])
        })
    }
}
