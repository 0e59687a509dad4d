//! `pingpong`: waking one task from another through bounded channels.
//!
//! Two tasks and two channels of capacity 1. `ping` sends `i` on the first
//! channel and waits for the reply on the second, for `i` in 0..1,000,000;
//! `pong` answers each `i` with `i + 1` and counts. Ping checks every
//! reply, and the root checks the reply sum (n(n+1)/2) and pong's count.
//!
//! Metric: `throughput` (round trips/s): n / the time from spawning the two
//! tasks to joining both.
//!
//! `--quick`: 10,000 round trips.

use std::time::Instant;

use super::{check, per_sec, Metric, Outcome, Scale};
use crate::rt::{OnRuntime, Rt};

/// The workload at a scale.
pub struct PingPong(pub Scale);

impl OnRuntime for PingPong {
    type Output = Outcome;

    fn run<R: Rt>(self) -> Outcome {
        let n = self.0.pick(1_000_000, 100) as u64;
        R::block_on(async move {
            let (to_pong, mut from_ping) = R::channel::<u64>(1);
            let (to_ping, mut from_pong) = R::channel::<u64>(1);
            let start = Instant::now();
            let pong = R::spawn(async move {
                let mut count = 0u64;
                while let Some(i) = R::recv(&mut from_ping).await {
                    if !R::send(&to_ping, i + 1).await {
                        return Err("pong: ping hung up".to_string());
                    }
                    count += 1;
                }
                Ok(count)
            });
            let ping = R::spawn(async move {
                let mut sum = 0u64;
                for i in 0..n {
                    if !R::send(&to_pong, i).await {
                        return Err("ping: pong hung up".to_string());
                    }
                    let reply = R::recv(&mut from_pong).await.ok_or("ping: no reply")?;
                    check("reply", reply, i + 1)?;
                    sum += reply;
                }
                Ok(sum)
            });
            let sum = ping.await.map_err(|e| format!("ping failed: {e}"))??;
            let count = pong.await.map_err(|e| format!("pong failed: {e}"))??;
            let elapsed = start.elapsed();
            check("sum of the replies", sum, n * (n + 1) / 2)?;
            check("messages pong answered", count, n)?;
            Ok(vec![Metric::higher(
                "throughput",
                per_sec(n as usize, elapsed),
                "round trips/s",
            )])
        })
    }
}
