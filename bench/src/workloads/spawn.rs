//! `spawn`: task creation, scheduling and joining.
//!
//! From the one root task, spawn 1,000,000 trivial tasks (task `i` returns
//! `i`), keeping their join handles in a `Vec` allocated beforehand, then
//! await the handles in order and sum the results. The sum is checked
//! against n(n-1)/2.
//!
//! Metrics:
//! - `throughput` (tasks/s): n / the time from the first spawn to the last
//!   join (spawn, run and join of every task).
//! - `overhead` (B/task): the runtime's heap bytes per task. With counting
//!   on in the global allocator (see `alloc`), the peak of live heap bytes
//!   during the spawn-and-join phase, above the live bytes just before the
//!   first spawn, divided by n, minus `size_of` the task's future. The
//!   handles' `Vec` is allocated before the baseline, so it is not counted
//!   (8 bytes a handle on every runtime); what is counted is what the
//!   runtime allocates per task: its task cell with the future and its
//!   result slot, and its queues' and tables' growth.
//!
//! `--quick`: 10,000 tasks.

use std::time::Instant;

use super::{check, per_sec, Metric, Outcome, Scale};
use crate::alloc;
use crate::rt::{OnRuntime, Rt};

/// The workload at a scale.
pub struct Spawn(pub Scale);

/// The tasks' future.
async fn trivial(i: u64) -> u64 {
    i
}

impl OnRuntime for Spawn {
    type Output = Outcome;

    fn run<R: Rt>(self) -> Outcome {
        let n = self.0.pick(1_000_000, 100);
        alloc::enable();
        R::block_on(async move {
            let mut handles = Vec::with_capacity(n);
            let base = alloc::reset_peak();
            let start = Instant::now();
            for i in 0..n as u64 {
                handles.push(R::spawn(trivial(i)));
            }
            let mut sum = 0u64;
            for h in handles {
                sum += h.await.map_err(|e| format!("a task failed: {e}"))?;
            }
            let elapsed = start.elapsed();
            let peak = alloc::peak() - base;
            let n64 = n as u64;
            check("sum of the task results", sum, n64 * (n64 - 1) / 2)?;
            let future = std::mem::size_of_val(&trivial(0)) as f64;
            Ok(vec![
                Metric::higher("throughput", per_sec(n, elapsed), "tasks/s"),
                Metric::lower("overhead", peak as f64 / n as f64 - future, "B/task"),
            ])
        })
    }
}
