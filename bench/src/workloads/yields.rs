//! `yield`: switching between ready tasks.
//!
//! Spawn 1,000 tasks that each call the runtime's `yield_now` 1,000 times
//! and return how often they did; the root awaits them all and checks that
//! the counts add up to 1,000,000.
//!
//! Metric: `throughput` (yields/s): 1,000,000 / the time from the first
//! spawn to the last join.
//!
//! `--quick`: 100 tasks × 100 yields.

use std::time::Instant;

use super::{check, per_sec, Metric, Outcome, Scale};
use crate::rt::{OnRuntime, Rt};

/// The workload at a scale.
pub struct Yield(pub Scale);

impl OnRuntime for Yield {
    type Output = Outcome;

    fn run<R: Rt>(self) -> Outcome {
        let tasks = self.0.pick(1_000, 10);
        let yields = self.0.pick(1_000, 10);
        R::block_on(async move {
            let start = Instant::now();
            let handles: Vec<_> = (0..tasks)
                .map(|_| {
                    R::spawn(async move {
                        let mut done = 0usize;
                        for _ in 0..yields {
                            R::yield_now().await;
                            done += 1;
                        }
                        done
                    })
                })
                .collect();
            let mut total = 0;
            for h in handles {
                total += h.await.map_err(|e| format!("a task failed: {e}"))?;
            }
            let elapsed = start.elapsed();
            check("yields done", total, tasks * yields)?;
            Ok(vec![Metric::higher(
                "throughput",
                per_sec(total, elapsed),
                "yields/s",
            )])
        })
    }
}
