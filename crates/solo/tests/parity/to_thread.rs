//! Twin of to_thread.py.

use std::time::{Duration, Instant};

use crate::py;

pub fn main() {
    solo::run(async {
        let start = Instant::now();
        let out = solo::gather((0..4u64).map(|i| {
            solo::to_thread(move || {
                std::thread::sleep(Duration::from_millis(100));
                i * i
            })
        }))
        .await;
        println!("results: {out:?}");
        let quick = start.elapsed() < Duration::from_millis(350);
        println!("four 0.1 s calls done in under 0.35 s: {}", py(quick));
    });
}
