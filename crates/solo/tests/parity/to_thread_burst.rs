//! Twin of to_thread_burst.py.

use std::time::{Duration, Instant};

use crate::py;

pub fn main() {
    solo::run(async {
        solo::to_thread(|| std::thread::sleep(Duration::from_millis(10))).await; // warm-up
        for idle in [0.05, 0.3] {
            solo::sleep(Duration::from_secs_f64(idle)).await;
            let start = Instant::now();
            solo::gather(
                (0..6).map(|_| solo::to_thread(|| std::thread::sleep(Duration::from_millis(200)))),
            )
            .await;
            let quick = start.elapsed() < Duration::from_millis(600);
            println!(
                "after {idle} s idle, six 0.2 s jobs done in under 0.6 s: {}",
                py(quick)
            );
        }
    });
}
