//! Twin of to_thread.py.

use std::time::{Duration, Instant};

use crate::py;

pub fn main() {
    solo::run(async {
        let start = Instant::now();
        let out = solo::gather((0..4u64).map(|i| {
            solo::to_thread(move || {
                std::thread::sleep(Duration::from_millis(200));
                i * i
            })
        }))
        .await;
        println!("results: {out:?}");
        let quick = start.elapsed() < Duration::from_millis(600);
        println!("four 0.2 s calls done in under 0.6 s: {}", py(quick));
    });
}
